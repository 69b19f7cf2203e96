/*-------------------------------------------------------------------------
 *
 * applier.c
 *	  Layer 4: what the main loop does with the database.  The operations
 *	  the batch logic runs through (VbBatchOps: apply through the
 *	  pipeline, carrying the outbox's acknowledgements; quarantine), the
 *	  handling of each committed transaction's rows and events, and the
 *	  hooks that read the recorded positions: at assignment, and after a
 *	  reconnect, when a promoted standby may have lost transactions.
 *
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>

#include "applier.h"
#include "lifecycle.h"
#include "log.h"
#include "metrics.h"

/* What one transaction's callbacks need, and what they count. */
typedef struct LoopChunk
{
	VbLoop	   *loop;
	rd_kafka_message_t **msgs;
	int			n;
	uint64_t	applied;
	uint64_t	duplicate;
	uint64_t	rejected;
} LoopChunk;

/*
 * applier_on_row
 *	  One message's result row of a committed transaction.
 */
static void
applier_on_row(void *arg, int ordinal, const char *message_id, const char *status,
			const char *reason, const char *detail, const char *trace_id)
{
	LoopChunk  *ctx = arg;
	rd_kafka_message_t *m;
	VbLogCtx	c;

	if (ordinal < 1 || ordinal > ctx->n)
		return;
	m = ctx->msgs[ordinal - 1];
	c = vb_msg_ctx(m, ctx->loop->conf->input_topic);
	c.message_id = message_id;
	c.trace_id = trace_id;
	if (strcmp(status, "applied") == 0)
	{
		ctx->applied++;
		if (message_id)
			vb_outbox_note_message(ctx->loop->outbox, message_id,
								   rd_kafka_message_timestamp(m, NULL));
		vb_log(VB_LOG_DEBUG, &c, "applied");
	}
	else if (strcmp(status, "duplicate") == 0)
	{
		ctx->duplicate++;
		c.error = detail;
		vb_log(VB_LOG_INFO, &c, "duplicate, not applied again");
	}
	else
	{
		ctx->rejected++;
		c.error = detail;
		if (message_id)
			vb_outbox_note_message(ctx->loop->outbox, message_id,
								   rd_kafka_message_timestamp(m, NULL));
		vb_log(VB_LOG_WARN, &c, "rejected (%s): quarantined, dead letter queued",
			   reason ? reason : status);
	}
}

/*
 * applier_on_event
 *	  One outbox event of a committed transaction: to the outbox, produced
 *	  while the next transaction runs.
 */
static void
applier_on_event(void *arg, VbEvent *e)
{
	LoopChunk  *ctx = arg;

	vb_outbox_take_event(ctx->loop->outbox, e);
}

/*
 * applier_on_done
 *	  One transaction committed: positions move, counters and the batch
 *	  histograms (its duration: since the previous one committed, or since
 *	  the pipeline was sent).
 */
static void
applier_on_done(void *arg)
{
	LoopChunk  *ctx = arg;
	VbLoop	   *L = ctx->loop;
	int64_t		now = vb_wall_us();

	vb_consumer_applied(L->consumer, ctx->msgs, ctx->n);
	vb_metric_add(VB_C_APPLIED, ctx->applied);
	vb_metric_add(VB_C_DUPLICATE, ctx->duplicate);
	vb_metric_add(VB_C_REJECTED, ctx->rejected);
	vb_metric_add(VB_C_BATCHES, 1);
	vb_metric_batch(ctx->n, (double) (now - L->batch_clock_us) / 1e6);
	L->batch_clock_us = now;
}

/*
 * vb_applier_apply (VbBatchOps.apply)
 *	  The transactions through the database's pipeline, carrying the
 *	  outbox's waiting acknowledgements in the first.
 */
VbStatus
vb_applier_apply(void *arg, const VbBatchChunk *chunks, int nchunks, int *ndone, VbError *err)
{
	static const VbApplyCallbacks cb = {applier_on_row, applier_on_event, applier_on_done};
	VbLoop	   *L = arg;
	VbApplyChunk ac[VB_BATCH_PIPELINE];
	LoopChunk	ctx[VB_BATCH_PIPELINE];
	const int64_t *acks;
	int			nacks = vb_outbox_acks(L->outbox, &acks);
	int64_t		deleted = 0;
	VbStatus	st;

	if (nchunks > VB_BATCH_PIPELINE)
		nchunks = VB_BATCH_PIPELINE;
	for (int i = 0; i < nchunks; i++)
	{
		memset(&ctx[i], 0, sizeof(LoopChunk));
		ctx[i].loop = L;
		ctx[i].msgs = chunks[i].msgs;
		ctx[i].n = chunks[i].n;
		ac[i].msgs = chunks[i].msgs;
		ac[i].n = chunks[i].n;
		ac[i].arg = &ctx[i];
	}
	L->batch_clock_us = vb_wall_us();
	st = vb_db_apply(L->db, ac, nchunks, L->conf->input_topic, acks, nacks, &deleted,
					 &cb, ndone, err);
	if (*ndone > 0)
		vb_outbox_acked(L->outbox, nacks);
	return st;
}

/*
 * loop_quarantine (VbBatchOps.quarantine)
 */
VbStatus
vb_applier_quarantine(void *arg, rd_kafka_message_t *m, const char *sqlstate, const char *error,
				bool with_key, bool *stored, VbError *err)
{
	VbLoop	   *L = arg;

	return vb_db_quarantine(L->db, m, L->conf->input_topic, with_key, sqlstate, error,
							stored, err);
}

/*
 * vb_applier_quarantined (VbBatchOps.quarantined)
 */
void
vb_applier_quarantined(void *arg, rd_kafka_message_t *m)
{
	VbLoop	   *L = arg;

	vb_metric_add(VB_C_QUARANTINED, 1);
	vb_consumer_applied(L->consumer, &m, 1);
}

/*
 * vb_applier_resync (VbBatchOps.resync)
 */
void
vb_applier_resync(void *arg, const char *why)
{
	VbLoop	   *L = arg;

	vb_outbox_resync(L->outbox, why);
}

/*
 * vb_applier_positions (VbConsumerHooks.positions)
 *	  Newly assigned partitions start at the positions the database
 *	  recorded.  A short retry (sleeping, inside the rebalance callback)
 *	  when the database is away; after that they start from Kafka's
 *	  committed offsets, which may be ahead of a database that failed
 *	  over, so the connection is dropped: nothing is applied before the
 *	  reconnect hook has read the positions and moved those partitions to
 *	  them (vb_consumer_rewind()).
 */
static void
applier_position_cb(void *arg, int32_t partition, int64_t next_offset)
{
	rd_kafka_topic_partition_list_t *parts = arg;
	rd_kafka_topic_partition_t *tp = NULL;

	for (int i = 0; i < parts->cnt && !tp; i++)
		if (parts->elems[i].partition == partition)
			tp = &parts->elems[i];
	if (tp)
		tp->offset = next_offset;
}

bool
vb_applier_positions(void *arg, rd_kafka_topic_partition_list_t *parts)
{
	VbLoop	   *L = arg;
	VbError		err;

	for (int attempt = 1;; attempt++)
	{
		if (vb_db_positions(L->db, L->conf->input_topic, applier_position_cb, parts, &err) == VB_OK)
			return true;
		if (err.status != VB_TRANSIENT || attempt >= 4 || vb_stopping())
			break;
		vb_metric_retry(VB_R_DB);
		for (int64_t until = vb_now_ms() + 250 * (1 << attempt);
			 vb_now_ms() < until && !vb_stopping();)
			vb_sleep_ms(50);
	}
	{
		VbLogCtx	c = VB_LOGCTX_INIT;

		c.sqlstate = err.sqlstate;
		c.error = err.message;
		vb_log(VB_LOG_WARN, &c, "cannot read partition positions from the database: "
			   "starting from Kafka's committed offsets until it answers");
	}
	vb_db_close(L->db);
	for (int i = 0; i < parts->cnt; i++)
		parts->elems[i].offset = RD_KAFKA_OFFSET_INVALID;
	return false;
}

/*
 * vb_applier_reconnected (VbDbHooks.on_reconnect)
 *	  A new connection may reach another server (a promoted standby) that
 *	  lost the last transactions: the partitions whose recorded positions
 *	  are behind what was applied go back to them, the outbox forgets what
 *	  it knew by event id, and the call that reconnected is refused, so
 *	  the batch in hand is built again without the messages read again
 *	  later.  When the positions cannot be read the connection is dropped,
 *	  so the next call checks again.
 */
VbStatus
vb_applier_reconnected(void *arg, VbError *err)
{
	VbLoop	   *L = arg;
	rd_kafka_topic_partition_list_t *parts;
	int			n;

	if (!L->consumer || !L->outbox)
		return VB_OK;
	parts = vb_consumer_assignment(L->consumer);
	if (parts->cnt > 0 &&
		vb_db_positions(L->db, L->conf->input_topic, applier_position_cb, parts, err) != VB_OK)
	{
		rd_kafka_topic_partition_list_destroy(parts);
		vb_db_close(L->db);
		return err->status;
	}
	n = vb_consumer_rewind(L->consumer, parts);
	rd_kafka_topic_partition_list_destroy(parts);
	if (n == 0)
		return VB_OK;
	vb_outbox_forget(L->outbox);
	return vb_error_set(err, VB_TRANSIENT, NULL,
						"after reconnecting, the database's positions of %d partitions are behind "
						"what was applied: reading them again from there", n);
}

