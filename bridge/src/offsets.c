/*-------------------------------------------------------------------------
 *
 * offsets.c
 *	  Layer 2: offset commits and consumer lag of the partitions we own,
 *	  built on the consumer's struct (consumer_int.h).
 *
 * Kafka's offsets are for lag tools and a fallback: the positions that
 * count are the database's.  They are committed asynchronously at most
 * once a second and not while a rebalance is known to be under way, and
 * synchronously at shutdown.
 *
 * Lag per partition: the high watermark (cached from fetches, or asked
 * for with ListOffsets while consumption is paused, since no fetch
 * response refreshes it then) minus the next offset to apply.
 *
 *-------------------------------------------------------------------------
 */
#include <inttypes.h>
#include <stdlib.h>

#include "consumer_int.h"
#include "lifecycle.h"
#include "log.h"
#include "metrics.h"

/*
 * vb_consumer_commit
 *	  Commits the next offsets of the partitions applied since the last
 *	  commit (every assigned one when sync, or after a failed commit).
 */
void
vb_consumer_commit(VbConsumer *c, bool sync)
{
	rd_kafka_topic_partition_list_t *l;
	rd_kafka_resp_err_t err;
	int64_t		now = vb_now_ms();

	if (!sync)
	{
		if (now < c->next_commit_ms)
			return;
		if (c->rebalancing_since && now - c->rebalancing_since < 60000)
			return;
		c->next_commit_ms = now + CONS_COMMIT_INTERVAL_MS;
	}
	l = rd_kafka_topic_partition_list_new(16);
	for (int32_t p = 0; p < c->nparts; p++)
	{
		ConsPart   *cp = &c->parts[p];

		if ((cp->touched || sync || c->commit_all) && cp->assigned && cp->applied_next >= 0)
			rd_kafka_topic_partition_list_add(l, c->conf->input_topic, p)->offset = cp->applied_next;
		cp->touched = false;
	}
	c->commit_all = false;
	if (l->cnt > 0)
	{
		err = rd_kafka_commit(c->rk, l, sync ? 0 : 1);
		if (err)
		{
			vb_metric_error(VB_E_COMMIT);
			vb_warn("offset commit failed: %s (positions are kept in the database)",
					rd_kafka_err2str(err));
		}
		else
			vb_metric_add(VB_C_COMMITS, 1);
	}
	rd_kafka_topic_partition_list_destroy(l);
}

/*
 * off_end_offsets
 *	  While consumption is paused, or when a position looked past a cached
 *	  end: the end offsets of the partitions in l (ListOffsets, at most
 *	  every 2 s, 500 ms at most).  Returns a list, or NULL (then
 *	  librdkafka's cache serves).
 */
static rd_kafka_topic_partition_list_t *
off_end_offsets(VbConsumer *c, const rd_kafka_topic_partition_list_t *l)
{
	rd_kafka_topic_partition_list_t *q;
	rd_kafka_resp_err_t err;

	if ((c->pause_mask == 0 && !c->ends_wanted) || l->cnt == 0 || vb_now_ms() < c->next_ends_ms)
		return NULL;
	c->next_ends_ms = vb_now_ms() + 2000;
	c->ends_wanted = false;
	q = rd_kafka_topic_partition_list_copy(l);
	for (int i = 0; i < q->cnt; i++)
		q->elems[i].offset = RD_KAFKA_OFFSET_END;	/* "latest" */
	err = rd_kafka_offsets_for_times(c->rk, q, 500);
	if (err)
	{
		vb_debug("end offsets while paused: %s", rd_kafka_err2str(err));
		rd_kafka_topic_partition_list_destroy(q);
		return NULL;
	}
	return q;
}

/*
 * off_warn_beyond
 *	  Once per assignment: the database's position is past the log end.
 */
static void
off_warn_beyond(VbConsumer *c, ConsPart *p, int32_t partition, int64_t hi)
{
	VbLogCtx	ctx = VB_LOGCTX_INIT;

	if (p->warned_beyond)
		return;
	ctx.topic = c->conf->input_topic;
	ctx.partition = partition;
	ctx.offset = p->applied_next;
	vb_log(VB_LOG_ERROR, &ctx, "the database's position %" PRId64 " is beyond the end of the log (%" PRId64 "): "
		   "the topic was recreated or this is another cluster; messages below the position count as "
		   "duplicates until a DBA resets it with voltpay.set_partition_position()",
		   p->applied_next, hi);
	p->warned_beyond = true;
}

/*
 * vb_log_end_verdict
 *	  A position past a cached end proves nothing: librdkafka's watermark
 *	  is as old as the partition's last fetch response (minutes, for a
 *	  partition that comes back after a rebalance), so only the broker's
 *	  current end, asked for, can show the log is shorter than what was
 *	  applied from it.
 */
VbLogEnd
vb_log_end_verdict(int64_t applied_next, int64_t cached_end, int64_t fresh_end)
{
	if (applied_next < 0)
		return VB_LOGEND_OK;
	if (fresh_end >= 0)
		return applied_next > fresh_end ? VB_LOGEND_BEYOND : VB_LOGEND_OK;
	return cached_end >= 0 && applied_next > cached_end ? VB_LOGEND_ASK : VB_LOGEND_OK;
}

/*
 * vb_consumer_update_lag
 *	  Per assigned partition: the high watermark minus the next offset to
 *	  apply (or the consumer position while that is unknown), to the lag
 *	  gauges.
 */
void
vb_consumer_update_lag(VbConsumer *c)
{
	rd_kafka_topic_partition_list_t *l = vb_cons_assigned_list(c);
	rd_kafka_topic_partition_list_t *ends = off_end_offsets(c, l);
	int32_t    *parts = vb_xmalloc(sizeof(int32_t) * (size_t) (l->cnt + 1));
	int64_t    *lags = vb_xmalloc(sizeof(int64_t) * (size_t) (l->cnt + 1));
	int			n = 0;

	if (l->cnt > 0 && rd_kafka_position(c->rk, l) != RD_KAFKA_RESP_ERR_NO_ERROR)
		for (int i = 0; i < l->cnt; i++)
			l->elems[i].offset = RD_KAFKA_OFFSET_INVALID;	/* unknown: low watermark */
	for (int i = 0; i < l->cnt; i++)
	{
		int64_t		lo,
					hi,
					pos,
					fresh = -1;
		ConsPart   *p = vb_cons_part(c, l->elems[i].partition);

		if (rd_kafka_get_watermark_offsets(c->rk, c->conf->input_topic,
										   l->elems[i].partition, &lo, &hi) != RD_KAFKA_RESP_ERR_NO_ERROR)
			lo = hi = -1;
		if (ends && !ends->elems[i].err && ends->elems[i].offset >= 0)
			fresh = ends->elems[i].offset;
		if (fresh > p->known_end)
			p->known_end = fresh;
		if (p->known_end > hi)
			hi = p->known_end;
		if (hi < 0)
			continue;
		switch (vb_log_end_verdict(p->applied_next, hi, fresh))
		{
			case VB_LOGEND_BEYOND:
				off_warn_beyond(c, p, l->elems[i].partition, fresh);
				break;
			case VB_LOGEND_ASK:
				c->ends_wanted = true;
				break;
			case VB_LOGEND_OK:
				break;
		}
		pos = p->applied_next >= 0 ? p->applied_next : l->elems[i].offset;
		if (pos < 0)
			pos = lo >= 0 ? lo : 0;
		parts[n] = l->elems[i].partition;
		lags[n++] = hi > pos ? hi - pos : 0;
	}
	vb_metric_set_lag(parts, lags, n);
	free(parts);
	free(lags);
	if (ends)
		rd_kafka_topic_partition_list_destroy(ends);
	rd_kafka_topic_partition_list_destroy(l);
}

/*
 * vb_rewind_to
 *	  Where a partition must go to after a reconnect: applied_next is what
 *	  this bridge applied up to (-1: nothing), unknown whether it was
 *	  assigned without the database's position (it could not be read),
 *	  db_next what the database recorded (RD_KAFKA_OFFSET_INVALID:
 *	  nothing).  The database's position when it is behind, or whatever it
 *	  is when the partition started without it; the log start when the
 *	  database recorded nothing where something was applied or assumed;
 *	  else RD_KAFKA_OFFSET_INVALID (stay).
 */
int64_t
vb_rewind_to(int64_t applied_next, bool unknown, int64_t db_next)
{
	if (unknown)
		return db_next >= 0 ? db_next : RD_KAFKA_OFFSET_BEGINNING;
	if (applied_next < 0)
		return RD_KAFKA_OFFSET_INVALID;
	if (db_next < 0)
		return RD_KAFKA_OFFSET_BEGINNING;
	return db_next < applied_next ? db_next : RD_KAFKA_OFFSET_INVALID;
}

/* The partitions being rewound, for vb_msglist_drop_unassigned(). */
static bool
off_not_rewound(void *arg, int32_t partition)
{
	const rd_kafka_topic_partition_list_t *seek = arg;

	for (int i = 0; i < seek->cnt; i++)
		if (seek->elems[i].partition == partition)
			return false;
	return true;
}

/*
 * vb_consumer_rewind
 *	  After a reconnect: positions holds the database's next offset of each
 *	  assigned partition (RD_KAFKA_OFFSET_INVALID: none recorded).  Where
 *	  it is behind what this bridge applied, the database lost transactions
 *	  (an asynchronous failover); a partition assigned while the positions
 *	  could not be read started from Kafka's committed offset, which may
 *	  be ahead of the database.  Either goes to the database's position
 *	  (vb_rewind_to()), its polled messages dropped and those in hand
 *	  marked revoked, so they are read again in order.  Returns how many
 *	  partitions moved.
 */
int
vb_consumer_rewind(VbConsumer *c, const rd_kafka_topic_partition_list_t *positions)
{
	rd_kafka_topic_partition_list_t *seek = rd_kafka_topic_partition_list_new(8);
	rd_kafka_error_t *error;
	int			n;

	for (int i = 0; i < positions->cnt; i++)
	{
		const rd_kafka_topic_partition_t *tp = &positions->elems[i];
		ConsPart   *p = vb_cons_part(c, tp->partition);
		VbLogCtx	ctx = VB_LOGCTX_INIT;
		int64_t		to = vb_rewind_to(p->applied_next, p->unknown, tp->offset);

		if (!p->assigned || to == RD_KAFKA_OFFSET_INVALID)
			continue;
		ctx.topic = c->conf->input_topic;
		ctx.partition = tp->partition;
		ctx.offset = tp->offset;
		if (p->unknown)
			vb_log(VB_LOG_INFO, &ctx, "the database answers again: the partition goes to %s",
				   tp->offset >= 0 ? "its position" : "the start of the log (no position recorded)");
		else
			vb_log(VB_LOG_WARN, &ctx, "the database's position is behind what was applied (%" PRId64 "): "
				   "it lost transactions (failover?); reading again from %s", p->applied_next,
				   tp->offset >= 0 ? "its position" : "the start of the log");
		p->unknown = false;
		rd_kafka_topic_partition_list_add(seek, c->conf->input_topic, tp->partition)->offset = to;
		p->applied_next = tp->offset >= 0 ? tp->offset : -1;
		p->touched = true;
	}
	n = seek->cnt;
	if (n == 0)
	{
		rd_kafka_topic_partition_list_destroy(seek);
		return 0;
	}
	vb_msglist_drop_unassigned(&c->next, off_not_rewound, seek);
	for (int i = 0; i < c->cur.n; i++)
		if (!off_not_rewound(seek, c->cur.m[i].rkm->partition))
			c->cur.m[i].revoked = true;
	error = rd_kafka_seek_partitions(c->rk, seek, 5000);
	if (error)
	{
		vb_metric_error(VB_E_KAFKA);
		vb_error("cannot seek back %d partitions: %s", n, rd_kafka_error_string(error));
		vb_set_fatal("cannot go back to the database's positions");
		rd_kafka_error_destroy(error);
	}
	else
		for (int i = 0; i < seek->cnt; i++)
			if (seek->elems[i].err)
			{
				vb_error("cannot seek partition %d back: %s", seek->elems[i].partition,
						 rd_kafka_err2str(seek->elems[i].err));
				vb_set_fatal("cannot go back to the database's positions");
			}
	rd_kafka_topic_partition_list_destroy(seek);
	return n;
}
