/*-------------------------------------------------------------------------
 *
 * consumer.c
 *	  Layer 2: the consumer side of the bridge: group membership,
 *	  rebalances, the messages polled (`next`) and in hand (`cur`),
 *	  pausing, positions, offset commits and lag.
 *
 * Anything that polls the consumer (filling, retry waits, waits for
 * delivery reports) appends messages to `next`, so no polled message is
 * ever dropped, and the rebalance callback can see both lists: it drops
 * revoked partitions' messages from `next` and marks those of `cur`
 * revoked, so a batch is never applied for partitions the bridge no
 * longer owns (the callback only runs inside a poll, never inside a
 * transaction).
 *
 * Positions: the database is the source of truth.  On assignment the
 * positions hook gives each partition the next offset the database
 * recorded; Kafka's committed offset (or auto.offset.reset=earliest)
 * serves only partitions the database has never seen.  Offsets are also
 * committed to Kafka, at most once a second, for lag tools.
 *
 *-------------------------------------------------------------------------
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consumer_int.h"
#include "lifecycle.h"
#include "log.h"
#include "metrics.h"

/*
 * vb_cons_part
 *	  The table entry of partition p, growing the table.
 */
ConsPart *
vb_cons_part(VbConsumer *c, int32_t p)
{
	if (p < 0)
		return NULL;
	if (p >= c->nparts)
	{
		int			n = p + 64;

		c->parts = vb_xrealloc(c->parts, sizeof(ConsPart) * (size_t) n);
		for (int i = c->nparts; i < n; i++)
		{
			c->parts[i].assigned = false;
			c->parts[i].touched = false;
			c->parts[i].applied_next = -1;
			c->parts[i].warned_beyond = false;
			c->parts[i].known_end = -1;
			c->parts[i].unknown = false;
		}
		c->nparts = n;
	}
	return &c->parts[p];
}

static bool
cons_owns(void *arg, int32_t p)
{
	VbConsumer *c = arg;

	return p >= 0 && p < c->nparts && c->parts[p].assigned;
}

/*
 * vb_cons_assigned_list
 *	  The partitions we own, as a list (caller destroys).
 */
rd_kafka_topic_partition_list_t *
vb_cons_assigned_list(const VbConsumer *c)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(16);

	for (int i = 0; i < c->nparts; i++)
		if (c->parts[i].assigned)
			rd_kafka_topic_partition_list_add(l, c->conf->input_topic, i);
	return l;
}

/*
 * vb_consumer_assignment
 *	  The partitions we own as a list with no offsets (caller destroys).
 */
rd_kafka_topic_partition_list_t *
vb_consumer_assignment(const VbConsumer *c)
{
	rd_kafka_topic_partition_list_t *l = vb_cons_assigned_list(c);

	for (int i = 0; i < l->cnt; i++)
		l->elems[i].offset = RD_KAFKA_OFFSET_INVALID;
	return l;
}

/*
 * vb_consumer_assigned
 *	  The ids of the partitions we own (malloc'd; caller frees); returns
 *	  how many.
 */
int
vb_consumer_assigned(const VbConsumer *c, int32_t **partitions)
{
	int			n = 0;

	*partitions = vb_xmalloc(sizeof(int32_t) * (size_t) (c->nparts + 1));
	for (int i = 0; i < c->nparts; i++)
		if (c->parts[i].assigned)
			(*partitions)[n++] = i;
	return n;
}

/*
 * vb_consumer_count / vb_consumer_joined
 *	  How many partitions we own; whether the group assigned us partitions
 *	  (possibly none) and has not taken them away as lost since.
 */
int
vb_consumer_count(const VbConsumer *c)
{
	int			n = 0;

	for (int i = 0; i < c->nparts; i++)
		n += c->parts[i].assigned;
	return n;
}

bool
vb_consumer_joined(const VbConsumer *c)
{
	return c->joined;
}

/*
 * vb_consumer_pause
 *	  Pauses every assigned partition while any reason is set (database
 *	  retry, full batch, shutdown), resumes when none is.  librdkafka
 *	  purges prefetched messages on pause and resumes from the last
 *	  message handed to us, so nothing is skipped.
 */
void
vb_consumer_pause(VbConsumer *c, unsigned reason, bool on)
{
	unsigned	old = c->pause_mask;
	rd_kafka_topic_partition_list_t *l;

	if (on)
		c->pause_mask |= reason;
	else
		c->pause_mask &= ~reason;
	if ((old != 0) == (c->pause_mask != 0))
		return;
	l = vb_cons_assigned_list(c);
	if (l->cnt > 0)
	{
		rd_kafka_resp_err_t err = c->pause_mask ?
			rd_kafka_pause_partitions(c->rk, l) :
			rd_kafka_resume_partitions(c->rk, l);

		if (err)
			vb_warn("cannot %s consumption: %s", c->pause_mask ? "pause" : "resume",
					rd_kafka_err2str(err));
		else
			vb_debug("consumption %s (%d partitions)", c->pause_mask ? "paused" : "resumed",
					 l->cnt);
	}
	rd_kafka_topic_partition_list_destroy(l);
}

/*
 * vb_consumer_full
 *	  `next` holds as much as it may run ahead (then a caller that polls
 *	  while waiting for something else pauses consumption: pausing purges
 *	  librdkafka's prefetched messages, so the main loop's own filling
 *	  never does).
 */
bool
vb_consumer_full(const VbConsumer *c)
{
	return c->next.n >= VB_AHEAD_BATCHES * c->conf->batch_size * c->conf->db_connections ||
		c->next.bytes >= VB_AHEAD_BYTES;
}

/*
 * cons_take
 *	  One polled message or event: errors are logged, messages of
 *	  partitions we own go to `next`.  True for a message kept.
 */
static bool
cons_take(VbConsumer *c, rd_kafka_message_t *m)
{
	if (m->err)
	{
		VbLogCtx	ctx = vb_msg_ctx(m, c->conf->input_topic);

		if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
		{
			ctx.offset = -1;
			if (!m->rkt)
				ctx.topic = NULL, ctx.partition = -1;
			vb_log(VB_LOG_WARN, &ctx, "consumer error: %s: %s",
				   rd_kafka_err2name(m->err), rd_kafka_message_errstr(m));
			vb_metric_error(VB_E_KAFKA);
		}
		rd_kafka_message_destroy(m);
		return false;
	}
	if (!cons_owns(c, m->partition))
	{
		VbLogCtx	ctx = vb_msg_ctx(m, c->conf->input_topic);

		vb_log(VB_LOG_DEBUG, &ctx, "message of a partition not assigned: dropped, not applied");
		rd_kafka_message_destroy(m);
		return false;
	}
	/* The clock is read only for a list's first message. */
	vb_msglist_push(&c->next, m, c->next.n == 0 ? vb_now_ms() : 0);
	return true;
}

/*
 * vb_consumer_poll
 *	  Polls once, waiting up to timeout_ms, then takes what librdkafka
 *	  already holds while `next` has fewer than max messages.  Serves
 *	  rebalances and errors, keeps group membership
 *	  (max.poll.interval.ms).  Returns how many messages were kept.
 */
int
vb_consumer_poll(VbConsumer *c, int timeout_ms, int max)
{
	rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, timeout_ms);
	int			kept = 0;

	if (m)
	{
		kept += cons_take(c, m);
		while (c->next.n < max && (m = rd_kafka_consumer_poll(c->rk, 0)) != NULL)
			kept += cons_take(c, m);
	}
	if (kept)
		vb_metric_add(VB_C_CONSUMED, (uint64_t) kept);
	return kept;
}

/*
 * vb_consumer_next / vb_consumer_cur
 *	  The messages polled, and those in hand (being applied).
 */
VbMsgList *
vb_consumer_next(VbConsumer *c)
{
	return &c->next;
}

VbMsgList *
vb_consumer_cur(VbConsumer *c)
{
	return &c->cur;
}

/*
 * vb_consumer_take
 *	  Moves the first k polled messages into hand; consumption resumes if
 *	  it was paused for a full `next`.
 */
void
vb_consumer_take(VbConsumer *c, int k)
{
	vb_msglist_move(&c->cur, &c->next, k, vb_now_ms());
	if (!vb_consumer_full(c))
		vb_consumer_pause(c, VB_PAUSE_FULL, false);
}

/*
 * vb_consumer_done
 *	  The messages in hand are finished with: destroyed.
 */
void
vb_consumer_done(VbConsumer *c)
{
	vb_msglist_clear(&c->cur);
}

/*
 * vb_consumer_applied
 *	  Messages are in the database (applied or quarantined): their
 *	  partitions' next offsets move.
 */
void
vb_consumer_applied(VbConsumer *c, rd_kafka_message_t *const *msgs, int n)
{
	for (int i = 0; i < n; i++)
	{
		ConsPart   *p = vb_cons_part(c, msgs[i]->partition);

		if (msgs[i]->offset + 1 > p->applied_next)
			p->applied_next = msgs[i]->offset + 1;
		p->touched = true;
	}
}

/*
 * cons_set_positions
 *	  Newly assigned partitions start at the positions the hook gives;
 *	  their table entries are reset.
 */
static void
cons_set_positions(VbConsumer *c, rd_kafka_topic_partition_list_t *parts)
{
	int			known = 0;
	bool		read = true;

	for (int i = 0; i < parts->cnt; i++)
		parts->elems[i].offset = RD_KAFKA_OFFSET_INVALID;
	if (c->hooks.positions)
		read = c->hooks.positions(c->hooks.arg, parts);
	for (int i = 0; i < parts->cnt; i++)
	{
		rd_kafka_topic_partition_t *tp = &parts->elems[i];
		ConsPart   *p = vb_cons_part(c, tp->partition);

		if (tp->offset >= 0)
			known++;
		p->applied_next = tp->offset >= 0 ? tp->offset : -1;
		p->touched = false;
		p->warned_beyond = false;
		p->known_end = -1;
		p->unknown = !read;
	}
	vb_info("positions of %d of %d assigned partitions from the database, the others from Kafka",
			known, parts->cnt);
}

/*
 * cons_revoke
 *	  Forgets revoked partitions: their messages leave `next` and are
 *	  marked revoked in `cur`.
 */
static void
cons_revoke(VbConsumer *c, const rd_kafka_topic_partition_list_t *parts)
{
	int			dropped;

	for (int i = 0; i < parts->cnt; i++)
	{
		ConsPart   *p = vb_cons_part(c, parts->elems[i].partition);

		if (p)
			p->assigned = false;
	}
	dropped = vb_msglist_drop_unassigned(&c->next, cons_owns, c);
	for (int i = 0; i < c->cur.n; i++)
	{
		if (!cons_owns(c, c->cur.m[i].rkm->partition) && !c->cur.m[i].revoked)
		{
			c->cur.m[i].revoked = true;
			dropped++;
		}
	}
	if (dropped)
		vb_info("dropped %d unapplied messages of revoked partitions", dropped);
}

/*
 * cons_list_str
 *	  "0,1,5" for a log line.
 */
static void
cons_list_str(const rd_kafka_topic_partition_list_t *parts, char *buf, size_t size)
{
	size_t		len = 0;

	buf[0] = '\0';
	for (int i = 0; i < parts->cnt && len + 16 < size; i++)
		len += (size_t) snprintf(buf + len, size - len, "%s%d", i ? "," : "",
								 parts->elems[i].partition);
	if (len + 16 >= size)
		snprintf(buf + len, size - len, ",...");
}

/*
 * cons_rebalance_hold
 *	  Tracks whether a rebalance is under way, for holding offset commits.
 *	  A revocation starts or continues one; with the COOPERATIVE protocol
 *	  it is followed at once by an (empty) assignment and then by a second
 *	  round, so only an assignment that does not follow a revocation within
 *	  a second ends it.
 */
static void
cons_rebalance_hold(VbConsumer *c, bool revoke)
{
	int64_t		now = vb_now_ms();

	if (revoke)
	{
		c->last_revoke_ms = now;
		c->rebalancing_since = now;
	}
	else if (now - c->last_revoke_ms < 1000)
		c->rebalancing_since = now;
	else
		c->rebalancing_since = 0;
}

/*
 * cons_rebalance_cb
 *	  Assignments at the database's positions; revocations drop the
 *	  partitions' unapplied messages.  Handles the COOPERATIVE protocol
 *	  (incremental) and the EAGER one (whole assignment).
 */
static void
cons_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
				  rd_kafka_topic_partition_list_t *parts, void *opaque)
{
	VbConsumer *c = opaque;
	bool		cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
	rd_kafka_error_t *error = NULL;
	rd_kafka_resp_err_t ret = RD_KAFKA_RESP_ERR_NO_ERROR;
	char		list[512];

	cons_rebalance_hold(c, err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS);
	cons_list_str(parts, list, sizeof(list));
	switch (err)
	{
		case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
			cons_set_positions(c, parts);
			if (cooperative)
				error = rd_kafka_incremental_assign(rk, parts);
			else
				ret = rd_kafka_assign(rk, parts);
			if (!error && !ret)
			{
				for (int i = 0; i < parts->cnt; i++)
					vb_cons_part(c, parts->elems[i].partition)->assigned = true;
				if (c->pause_mask && parts->cnt > 0 && (ret = rd_kafka_pause_partitions(rk, parts)) != 0)
					vb_warn("cannot pause the new partitions: %s", rd_kafka_err2str(ret));
				ret = RD_KAFKA_RESP_ERR_NO_ERROR;
			}
			c->joined = true;
			if (c->hooks.assigned)
				c->hooks.assigned(c->hooks.arg);
			vb_info("%s assignment: +%d partitions [%s] of %s", cooperative ? "incremental" : "eager",
					parts->cnt, list, c->conf->input_topic);
			break;

		case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
			if (c->hooks.before_revoke)
				c->hooks.before_revoke(c->hooks.arg);
			if (rd_kafka_assignment_lost(rk))
			{
				vb_warn("partitions lost (session timed out?): [%s]; their unapplied messages are dropped",
						list);
				c->joined = false;	/* until the group assigns again */
			}
			cons_revoke(c, parts);
			if (cooperative)
				error = rd_kafka_incremental_unassign(rk, parts);
			else
				ret = rd_kafka_assign(rk, NULL);
			vb_info("%s revocation: -%d partitions [%s]", cooperative ? "incremental" : "eager",
					parts->cnt, list);
			break;

		default:
			vb_error("rebalance failed: %s", rd_kafka_err2str(err));
			cons_revoke(c, parts);
			ret = rd_kafka_assign(rk, NULL);
			break;
	}
	if (error)
	{
		vb_error("rebalance: incremental (un)assign failed: %s", rd_kafka_error_string(error));
		rd_kafka_error_destroy(error);
	}
	else if (ret)
		vb_error("rebalance: assign failed: %s", rd_kafka_err2str(ret));
}

/*
 * cons_error_cb
 *	  librdkafka errors are informational (it retries), except
 *	  RD_KAFKA_RESP_ERR__FATAL, which stops the bridge after the drain.
 */
static void
cons_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	(void) opaque;
	vb_kafka_error(rk, err, reason, "consumer");
}

/*
 * cons_commit_cb
 *	  Outcome of an offset commit (informational: positions live in the
 *	  database).
 */
static void
cons_commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
			   rd_kafka_topic_partition_list_t *offsets, void *opaque)
{
	VbConsumer *c = opaque;

	(void) rk;
	for (int i = 0; offsets && i < offsets->cnt && !err; i++)
		if (offsets->elems[i].err)
			err = offsets->elems[i].err;
	if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
		c->commit_all = true;
	if (err == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS ||
		err == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION)
	{
		if (!c->rebalancing_since)
			c->rebalancing_since = vb_now_ms();
		vb_debug("offset commit during a rebalance (%s): commits held until it ends",
				 rd_kafka_err2name(err));
		return;
	}
	if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
	{
		vb_metric_error(VB_E_COMMIT);
		vb_warn("offset commit failed: %s (positions are kept in the database)",
				rd_kafka_err2str(err));
	}
	else if (!err)
		vb_debug("committed offsets of %d partitions", offsets ? offsets->cnt : 0);
}

/*
 * cons_configure
 *	  The consumer's librdkafka configuration: the bridge's fixed
 *	  settings, then the -X properties.
 */
static VbStatus
cons_configure(const VbConfig *conf, rd_kafka_conf_t *kconf, const char *brokers,
			   VbError *err)
{
	static const char *const fixed[][2] = {
		{"client.id", "voltpay-bridge"},
		{"enable.auto.commit", "false"},
		{"enable.auto.offset.store", "false"},
		{"partition.assignment.strategy", "cooperative-sticky"},
		{"isolation.level", "read_committed"},
		{"auto.offset.reset", "earliest"},
		/*
		 * Memory whatever the backlog (bench/memory.sh, docs/bench-memory.md):
		 * prefetch about 8 MiB (two dozen batches), not librdkafka's 64
		 * MiB, and fetch responses of at most 4 MiB, not 50 MiB (a larger
		 * first record batch still comes whole).
		 */
		{"queued.max.messages.kbytes", "8192"},
		{"fetch.max.bytes", "4194304"},
	};

	if (vb_kconf_set(kconf, "bootstrap.servers", brokers, err) != VB_OK ||
		vb_kconf_set(kconf, "group.id", conf->group, err) != VB_OK)
		return VB_FATAL;
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (vb_kconf_set(kconf, fixed[i][0], fixed[i][1], err) != VB_OK)
			return VB_FATAL;
	/* The mock cluster: rebalances without the 45 s default wait. */
	if (conf->embedded_kafka &&
		(vb_kconf_set(kconf, "session.timeout.ms", "6000", err) != VB_OK ||
		 vb_kconf_set(kconf, "fetch.wait.max.ms", "10", err) != VB_OK))
		return VB_FATAL;
	return vb_config_apply_props(conf, kconf, VB_PROP_CONSUMER, err);
}

/*
 * vb_consumer_new
 *	  Creates the consumer and subscribes to the input topic.
 */
VbStatus
vb_consumer_new(const VbConfig *conf, const char *brokers, const VbConsumerHooks *hooks,
				VbConsumer **out, VbError *err)
{
	rd_kafka_conf_t *kconf = rd_kafka_conf_new();
	rd_kafka_topic_partition_list_t *sub;
	rd_kafka_resp_err_t kerr;
	VbConsumer *c;
	char		errstr[512];

	*out = NULL;
	if (cons_configure(conf, kconf, brokers, err) != VB_OK)
	{
		rd_kafka_conf_destroy(kconf);
		return VB_FATAL;
	}
	c = vb_xcalloc(1, sizeof(VbConsumer));
	c->conf = conf;
	c->hooks = *hooks;
	rd_kafka_conf_set_opaque(kconf, c);
	rd_kafka_conf_set_log_cb(kconf, vb_log_rdkafka);
	rd_kafka_conf_set_error_cb(kconf, cons_error_cb);
	rd_kafka_conf_set_rebalance_cb(kconf, cons_rebalance_cb);
	rd_kafka_conf_set_offset_commit_cb(kconf, cons_commit_cb);
	c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, kconf, errstr, sizeof(errstr));
	if (!c->rk)
	{
		rd_kafka_conf_destroy(kconf);
		free(c);
		return vb_error_set(err, VB_FATAL, NULL, "%s", errstr);
	}
	kconf = NULL;				/* now owned by c->rk */
	if ((kerr = rd_kafka_poll_set_consumer(c->rk)) == RD_KAFKA_RESP_ERR_NO_ERROR)
	{
		sub = rd_kafka_topic_partition_list_new(1);
		rd_kafka_topic_partition_list_add(sub, conf->input_topic, RD_KAFKA_PARTITION_UA);
		kerr = rd_kafka_subscribe(c->rk, sub);
		rd_kafka_topic_partition_list_destroy(sub);
	}
	if (kerr)
	{
		vb_error_set(err, VB_FATAL, NULL, "cannot subscribe to %s: %s", conf->input_topic,
					 rd_kafka_err2str(kerr));
		rd_kafka_destroy(c->rk);
		free(c);
		return VB_FATAL;
	}
	vb_info("consumer %s joining group %s on %s", rd_kafka_name(c->rk), conf->group,
			conf->input_topic);
	*out = c;
	return VB_OK;
}

/*
 * vb_consumer_close
 *	  Drops unapplied messages, leaves the group (the revocation callback
 *	  runs once more), destroys the consumer.
 */
void
vb_consumer_close(VbConsumer *c)
{
	rd_kafka_resp_err_t err;

	if (!c)
		return;
	vb_msglist_clear(&c->next);
	vb_msglist_clear(&c->cur);
	err = rd_kafka_consumer_close(c->rk);
	if (err)
		vb_warn("closing the consumer: %s", rd_kafka_err2str(err));
	vb_msglist_free(&c->next);
	vb_msglist_free(&c->cur);
	rd_kafka_destroy(c->rk);
	free(c->parts);
	free(c);
	vb_info("consumer closed");
}
