/*-------------------------------------------------------------------------
 *
 * consumer.c
 *	  The consumer side of the bridge: group membership, rebalances,
 *	  batching, applying batches with retries and poison isolation, and
 *	  the main loop with its drain.
 *
 * Two batches exist: `next` fills from the consumer; `cur` is the one
 * being applied.  Anything that polls the consumer (filling, retry waits,
 * waits for delivery reports) appends messages to `next`, so no polled
 * message is ever dropped, and the rebalance callback can see both: it
 * drops revoked partitions' messages from `next` and marks those of `cur`
 * revoked, so a batch is never applied for partitions the bridge no longer
 * owns (the callback only runs inside a poll, never inside a transaction).
 *
 * Positions: the database is the source of truth.  On assignment each
 * partition is assigned at the next offset partition_positions() recorded;
 * Kafka's committed offset (or auto.offset.reset=earliest) only for
 * partitions the database has never seen.  Offsets are also committed to
 * Kafka after each batch, for lag tools.
 *
 *-------------------------------------------------------------------------
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"
#include "consumer_int.h"

rd_kafka_t *cons_rk;
ConsBatch	cons_cur;
ConsBatch	cons_next;
static ConsPart *cons_parts;
static int	cons_nparts;
static unsigned cons_pause_mask;
static bool cons_joined;
uint64_t	cons_consumed;

/* Publishing schedule (batch.c reads and writes it too). */
bool		cons_publish_due;

/*
 * Set when an offset commit is answered "rebalance in progress" or a
 * revocation begins, cleared when the rebalance ends (see
 * cons_rebalance_hold): batch.c holds commits meanwhile, because
 * librdkafka 2.0 treats a commit answered ILLEGAL_GENERATION (sent just as
 * the generation moves) as a lost assignment (librdkafka issue #4059).
 */
int64_t		cons_rebalancing_since;
bool		cons_commit_all;

/*
 * cons_part
 *	  The partition table entry of partition p, growing the table.
 */
ConsPart *
cons_part(int32_t p)
{
	if (p < 0)
		return NULL;
	if (p >= cons_nparts)
	{
		int			n = p + 64;

		cons_parts = realloc(cons_parts, sizeof(ConsPart) * n);
		for (int i = cons_nparts; i < n; i++)
		{
			cons_parts[i].assigned = false;
			cons_parts[i].touched = false;
			cons_parts[i].applied_next = -1;
			cons_parts[i].warned_beyond = false;
			cons_parts[i].known_end = -1;
		}
		cons_nparts = n;
	}
	return &cons_parts[p];
}

/*
 * cons_part_peek
 *	  The entry of partition p, NULL past the end of the table.
 */
ConsPart *
cons_part_peek(int32_t p)
{
	return (p >= 0 && p < cons_nparts) ? &cons_parts[p] : NULL;
}

/*
 * cons_assigned_list
 *	  The partitions we own, as a list (caller destroys).
 */
rd_kafka_topic_partition_list_t *
cons_assigned_list(void)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(16);

	for (int i = 0; i < cons_nparts; i++)
		if (cons_parts[i].assigned)
			rd_kafka_topic_partition_list_add(l, vb_conf.input_topic, i);
	return l;
}

/*
 * vb_consumer_assigned
 *	  The ids of the partitions we own (malloc'd; caller frees); returns
 *	  how many.
 */
int
vb_consumer_assigned(int32_t **partitions)
{
	int			n = 0;

	*partitions = malloc(sizeof(int32_t) * (cons_nparts + 1));
	for (int i = 0; i < cons_nparts; i++)
		if (cons_parts[i].assigned)
			(*partitions)[n++] = i;
	return n;
}

/*
 * vb_consumer_joined
 *	  Whether the group assigned us partitions (possibly none) and has not
 *	  taken them away as lost since.
 */
bool
vb_consumer_joined(void)
{
	return cons_joined;
}

/*
 * vb_consumer_pause
 *	  Pauses every assigned partition while any reason is set (database
 *	  retry, full batch, shutdown), resumes when none is.  librdkafka
 *	  purges prefetched messages on pause and resumes from the last
 *	  message handed to us, so nothing is skipped.
 */
void
vb_consumer_pause(unsigned reason, bool on)
{
	unsigned	old = cons_pause_mask;
	rd_kafka_topic_partition_list_t *l;

	if (on)
		cons_pause_mask |= reason;
	else
		cons_pause_mask &= ~reason;
	if ((old != 0) == (cons_pause_mask != 0) || !cons_rk)
		return;
	l = cons_assigned_list();
	if (l->cnt > 0)
	{
		rd_kafka_resp_err_t err = cons_pause_mask ?
			rd_kafka_pause_partitions(cons_rk, l) :
			rd_kafka_resume_partitions(cons_rk, l);

		if (err)
			vb_warn("cannot %s consumption: %s", cons_pause_mask ? "pause" : "resume",
					rd_kafka_err2str(err));
		else
			vb_debug("consumption %s (%d partitions)", cons_pause_mask ? "paused" : "resumed",
					 l->cnt);
	}
	rd_kafka_topic_partition_list_destroy(l);
}

/*
 * cons_batch_push / cons_batch_clear
 */
static void
cons_batch_push(ConsBatch *b, rd_kafka_message_t *rkm)
{
	if (b->n == b->cap)
	{
		b->cap = b->cap ? b->cap * 2 : 1024;
		b->m = realloc(b->m, sizeof(ConsMsg) * b->cap);
	}
	if (b->n == 0)
		b->first_ms = vb_now_ms();
	b->m[b->n].rkm = rkm;
	b->m[b->n].revoked = false;
	b->n++;
	b->bytes += rkm->len + rkm->key_len;
}

/*
 * cons_paused
 *	  Whether consumption is paused (for any reason).
 */
bool
cons_paused(void)
{
	return cons_pause_mask != 0;
}

/*
 * cons_next_full
 *	  `next` holds as much as it may run ahead (see consumer_int.h).
 */
bool
cons_next_full(void)
{
	return cons_next.n >= CONS_AHEAD_BATCHES * vb_conf.batch_size ||
		cons_next.bytes >= CONS_AHEAD_BYTES;
}

/*
 * cons_batch_clear
 *	  Destroys the messages of a batch and empties it.
 */
void
cons_batch_clear(ConsBatch *b)
{
	for (int i = 0; i < b->n; i++)
		rd_kafka_message_destroy(b->m[i].rkm);
	b->n = 0;
	b->bytes = 0;
}

/*
 * cons_ctx
 *	  A log context for one message.
 */
VbLogCtx
cons_ctx(const rd_kafka_message_t *m)
{
	VbLogCtx	c = VB_LOGCTX_INIT;

	c.topic = m->rkt ? rd_kafka_topic_name(m->rkt) : vb_conf.input_topic;
	c.partition = m->partition;
	c.offset = m->offset;
	return c;
}

/*
 * cons_take
 *	  One polled message or event: errors are logged, messages of
 *	  partitions we own go to `next`.
 */
static void
cons_take(rd_kafka_message_t *m)
{
	ConsPart   *p;

	if (m->err)
	{
		VbLogCtx	c = cons_ctx(m);

		if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
		{
			c.offset = -1;
			if (!m->rkt)
				c.topic = NULL, c.partition = -1;
			vb_log(VB_LOG_WARN, &c, "consumer error: %s: %s",
				   rd_kafka_err2name(m->err), rd_kafka_message_errstr(m));
			vb_metric_error(VB_E_KAFKA);
		}
		rd_kafka_message_destroy(m);
		return;
	}
	p = cons_part(m->partition);
	if (!p || !p->assigned)
	{
		VbLogCtx	c = cons_ctx(m);

		vb_log(VB_LOG_DEBUG, &c, "message of a partition not assigned: dropped, not applied");
		rd_kafka_message_destroy(m);
		return;
	}
	cons_consumed++;
	cons_batch_push(&cons_next, m);
}

/*
 * vb_consumer_keepalive
 *	  Polls the consumer while the main loop waits for something else
 *	  (database retry, delivery reports): serves rebalances and errors,
 *	  keeps group membership (max.poll.interval.ms), and keeps messages.
 */
void
vb_consumer_keepalive(int timeout_ms)
{
	rd_kafka_message_t *m;

	if (!cons_rk)
		return;
	m = rd_kafka_consumer_poll(cons_rk, timeout_ms);
	if (m)
	{
		cons_take(m);
		while ((m = rd_kafka_consumer_poll(cons_rk, 0)) != NULL)
			cons_take(m);
	}
	if (cons_next_full())
		vb_consumer_pause(VB_PAUSE_FULL, true);
	vb_metric_tick();
	vb_metric_ready(vb_db_is_connected(), cons_joined, vb_consumer_count());
}

/*
 * cons_position_cb
 *	  partition_positions() row: the offset to assign at.
 */
static void
cons_position_cb(void *arg, int32_t partition, int64_t next_offset)
{
	rd_kafka_topic_partition_list_t *parts = arg;
	rd_kafka_topic_partition_t *tp =
		rd_kafka_topic_partition_list_find(parts, vb_conf.input_topic, partition);

	if (tp)
		tp->offset = next_offset;
}

/*
 * cons_set_positions
 *	  Sets the offsets of newly assigned partitions to the positions the
 *	  database recorded.  A short retry when the database is away; after
 *	  that Kafka's committed offsets are used (never ahead of the database,
 *	  since they are committed after it; the database's idempotency absorbs
 *	  what is read again).
 */
static void
cons_set_positions(rd_kafka_topic_partition_list_t *parts)
{
	VbDbError	err;
	int			attempt = 0;
	int			known = 0;

	for (;;)
	{
		if (vb_db_positions(vb_conf.input_topic, cons_position_cb, parts, &err) == VB_DB_OK)
			break;
		if (err.status != VB_DB_TRANSIENT || ++attempt >= 4 || vb_stopping())
		{
			VbLogCtx	c = VB_LOGCTX_INIT;

			c.sqlstate = err.sqlstate;
			c.error = err.message;
			vb_log(VB_LOG_WARN, &c, "cannot read partition positions from the database: "
				   "starting from Kafka's committed offsets (duplicates are detected by the database)");
			for (int i = 0; i < parts->cnt; i++)
				parts->elems[i].offset = RD_KAFKA_OFFSET_INVALID;
			return;
		}
		vb_metric_retry(VB_R_DB);
		for (int64_t until = vb_now_ms() + 250 * (1 << attempt); vb_now_ms() < until;)
			rd_kafka_poll(cons_rk, 50);
	}
	for (int i = 0; i < parts->cnt; i++)
	{
		rd_kafka_topic_partition_t *tp = &parts->elems[i];
		ConsPart   *p = cons_part(tp->partition);

		if (tp->offset >= 0)
			known++;
		p->applied_next = tp->offset >= 0 ? tp->offset : -1;
		p->touched = false;
		p->warned_beyond = false;
		p->known_end = -1;
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
cons_revoke(const rd_kafka_topic_partition_list_t *parts)
{
	int			w = 0;
	int			dropped = 0;

	for (int i = 0; i < parts->cnt; i++)
	{
		ConsPart   *p = cons_part(parts->elems[i].partition);

		if (p)
			p->assigned = false;
	}
	for (int i = 0; i < cons_next.n; i++)
	{
		ConsPart   *p = cons_part(cons_next.m[i].rkm->partition);

		if (!p->assigned)
		{
			cons_next.bytes -= cons_next.m[i].rkm->len + cons_next.m[i].rkm->key_len;
			rd_kafka_message_destroy(cons_next.m[i].rkm);
			dropped++;
		}
		else
			cons_next.m[w++] = cons_next.m[i];
	}
	cons_next.n = w;
	for (int i = 0; i < cons_cur.n; i++)
	{
		if (!cons_part(cons_cur.m[i].rkm->partition)->assigned && !cons_cur.m[i].revoked)
		{
			cons_cur.m[i].revoked = true;
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
 *	  A revocation starts or continues one; with the COOPERATIVE protocol it
 *	  is followed at once by an (empty) assignment and then by a second
 *	  round, so only an assignment that does not follow a revocation within
 *	  a second ends it.
 */
static void
cons_rebalance_hold(bool revoke)
{
	static int64_t last_revoke_ms;
	int64_t		now = vb_now_ms();

	if (revoke)
	{
		last_revoke_ms = now;
		cons_rebalancing_since = now;
	}
	else if (now - last_revoke_ms < 1000)
		cons_rebalancing_since = now;
	else
		cons_rebalancing_since = 0;
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
	bool		cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
	rd_kafka_error_t *error = NULL;
	rd_kafka_resp_err_t ret = RD_KAFKA_RESP_ERR_NO_ERROR;
	char		list[512];

	(void) opaque;
	cons_rebalance_hold(err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS);
	cons_list_str(parts, list, sizeof(list));
	switch (err)
	{
		case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
			cons_set_positions(parts);
			if (cooperative)
				error = rd_kafka_incremental_assign(rk, parts);
			else
				ret = rd_kafka_assign(rk, parts);
			if (!error && !ret)
			{
				for (int i = 0; i < parts->cnt; i++)
					cons_part(parts->elems[i].partition)->assigned = true;
				if (cons_pause_mask && parts->cnt > 0)
					rd_kafka_pause_partitions(rk, parts);
			}
			cons_joined = true;
			cons_publish_due = true;
			/* The previous owner may have left events of these partitions. */
			vb_outbox_resync("new partitions");
			vb_info("%s assignment: +%d partitions [%s] of %s", cooperative ? "incremental" : "eager",
					parts->cnt, list, vb_conf.input_topic);
			break;

		case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
			/* Let what is in flight land before the partitions go. */
			vb_outbox_settle(10000);
			if (rd_kafka_assignment_lost(rk))
			{
				vb_warn("partitions lost (session timed out?): [%s]; their unapplied messages are dropped",
						list);
				cons_joined = false;	/* until the group assigns again */
			}
			cons_revoke(parts);
			if (cooperative)
				error = rd_kafka_incremental_unassign(rk, parts);
			else
				ret = rd_kafka_assign(rk, NULL);
			vb_info("%s revocation: -%d partitions [%s]", cooperative ? "incremental" : "eager",
					parts->cnt, list);
			break;

		default:
			vb_error("rebalance failed: %s", rd_kafka_err2str(err));
			cons_revoke(parts);
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
	if (err == RD_KAFKA_RESP_ERR__FATAL)
	{
		char		buf[512];
		rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, buf, sizeof(buf));
		char		why[700];

		snprintf(why, sizeof(why), "consumer: %s: %s", rd_kafka_err2name(orig), buf);
		vb_set_fatal(why);
		return;
	}
	vb_metric_error(VB_E_KAFKA);
	vb_log(err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ? VB_LOG_ERROR : VB_LOG_WARN, NULL,
		   "consumer: %s: %s", rd_kafka_err2name((rd_kafka_resp_err_t) err), reason);
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
	(void) rk;
	(void) opaque;
	for (int i = 0; offsets && i < offsets->cnt && !err; i++)
		if (offsets->elems[i].err)
			err = offsets->elems[i].err;
	if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
		cons_commit_all = true;
	if (err == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS ||
		err == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION)
	{
		if (!cons_rebalancing_since)
			cons_rebalancing_since = vb_now_ms();
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
 * vb_consumer_new
 *	  Creates the consumer and subscribes to the input topic.
 */
bool
vb_consumer_new(const char *brokers, char *errstr, size_t size)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_topic_partition_list_t *sub;
	rd_kafka_resp_err_t err;

	if (!vb_conf_set(conf, "bootstrap.servers", brokers, errstr, size) ||
		!vb_conf_set(conf, "group.id", vb_conf.group, errstr, size) ||
		!vb_conf_set(conf, "client.id", "voltpay-bridge", errstr, size) ||
		!vb_conf_set(conf, "enable.auto.commit", "false", errstr, size) ||
		!vb_conf_set(conf, "enable.auto.offset.store", "false", errstr, size) ||
		!vb_conf_set(conf, "partition.assignment.strategy", "cooperative-sticky", errstr, size) ||
		!vb_conf_set(conf, "isolation.level", "read_committed", errstr, size) ||
		!vb_conf_set(conf, "auto.offset.reset", "earliest", errstr, size) ||
		/* Prefetch a few dozen batches, not librdkafka's 64 MiB. */
		!vb_conf_set(conf, "queued.max.messages.kbytes", "16384", errstr, size) ||
		(vb_conf.embedded_kafka &&
		 (!vb_conf_set(conf, "session.timeout.ms", "6000", errstr, size) ||
		  !vb_conf_set(conf, "fetch.wait.max.ms", "10", errstr, size))) ||
		vb_config_apply_props(conf, VB_PROP_CONSUMER, errstr, size) != 0)
	{
		rd_kafka_conf_destroy(conf);
		return false;
	}
	rd_kafka_conf_set_log_cb(conf, vb_log_rdkafka);
	rd_kafka_conf_set_error_cb(conf, cons_error_cb);
	rd_kafka_conf_set_rebalance_cb(conf, cons_rebalance_cb);
	rd_kafka_conf_set_offset_commit_cb(conf, cons_commit_cb);

	cons_rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, size);
	if (!cons_rk)
	{
		rd_kafka_conf_destroy(conf);
		return false;
	}
	conf = NULL;				/* now owned by cons_rk */
	rd_kafka_poll_set_consumer(cons_rk);

	sub = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(sub, vb_conf.input_topic, RD_KAFKA_PARTITION_UA);
	err = rd_kafka_subscribe(cons_rk, sub);
	rd_kafka_topic_partition_list_destroy(sub);
	if (err)
	{
		snprintf(errstr, size, "cannot subscribe to %s: %s", vb_conf.input_topic,
				 rd_kafka_err2str(err));
		rd_kafka_destroy(cons_rk);
		cons_rk = NULL;
		return false;
	}
	vb_info("consumer %s joining group %s on %s", rd_kafka_name(cons_rk), vb_conf.group,
			vb_conf.input_topic);
	return true;
}


/*
 * cons_fill
 *	  Polls until `next` holds --batch-size messages, or --batch-wait-ms
 *	  have passed since its first message, or (while it is empty) 200 ms
 *	  have passed (10 ms while outbox events are in flight or due), or the
 *	  bridge is stopping.
 */
void
cons_fill(void)
{
	/* While the outbox needs attention, come back to the pump soon. */
	int64_t		idle_until = vb_now_ms() +
		(vb_outbox_inflight() > 0 || cons_publish_due ? 10 : 200);
	rd_kafka_message_t *first;

	/*
	 * Take what librdkafka already holds (up to the batches one pipeline
	 * sends).  A full batch waiting: apply at once, the last batches'
	 * events are produced while it runs.  Otherwise produce them before
	 * waiting for messages.
	 */
	while (cons_next.n < CONS_AHEAD_BATCHES * vb_conf.batch_size && !vb_stopping() &&
		   (first = rd_kafka_consumer_poll(cons_rk, 0)) != NULL)
		cons_take(first);
	if (cons_next.n < vb_conf.batch_size)
		vb_outbox_produce_pending();

	for (;;)
	{
		int64_t		now = vb_now_ms();
		int64_t		timeout;
		rd_kafka_message_t *m;

		if (vb_stopping() || cons_next.n >= vb_conf.batch_size)
			return;
		if (cons_next.n > 0)
		{
			int64_t		due = cons_next.first_ms + vb_conf.batch_wait_ms;

			if (now >= due)
				return;
			timeout = due - now;
		}
		else
		{
			if (now >= idle_until)
				return;
			timeout = idle_until - now;
		}
		if (timeout > 100)
			timeout = 100;
		/* Events in flight: serve their delivery reports promptly. */
		if (vb_outbox_inflight() > 0)
		{
			vb_producer_poll();
			if (timeout > 5)
				timeout = 5;
		}
		m = rd_kafka_consumer_poll(cons_rk, (int) timeout);
		if (m)
		{
			cons_take(m);
			while (cons_next.n < vb_conf.batch_size &&
				   (m = rd_kafka_consumer_poll(cons_rk, 0)) != NULL)
				cons_take(m);
		}
		vb_metric_tick();
	}
}

/*
 * cons_close
 *	  Drops unapplied messages, leaves the group (the revocation callback
 *	  runs once more), destroys the consumer.
 */
void
cons_close(void)
{
	rd_kafka_resp_err_t err;

	if (!cons_rk)
		return;
	cons_batch_clear(&cons_next);
	cons_batch_clear(&cons_cur);
	err = rd_kafka_consumer_close(cons_rk);
	if (err)
		vb_warn("closing the consumer: %s", rd_kafka_err2str(err));
	cons_batch_clear(&cons_next);
	rd_kafka_destroy(cons_rk);
	cons_rk = NULL;
	free(cons_next.m);
	free(cons_cur.m);
	memset(&cons_next, 0, sizeof(cons_next));
	memset(&cons_cur, 0, sizeof(cons_cur));
	free(cons_parts);
	cons_parts = NULL;
	cons_nparts = 0;
	cons_joined = false;
	vb_info("consumer closed");
}

/*
 * vb_consumer_close
 *	  Closes the consumer if it is still open (start-up failures).
 */
void
vb_consumer_close(void)
{
	cons_close();
}

/*
 * vb_consumer_count
 *	  How many partitions we own.
 */
int
vb_consumer_count(void)
{
	int			n = 0;

	for (int i = 0; i < cons_nparts; i++)
		n += cons_parts[i].assigned;
	return n;
}
