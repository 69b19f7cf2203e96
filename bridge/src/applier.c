/*-------------------------------------------------------------------------
 *
 * applier.c
 *	  Layer 4: what the main loop does with the database.  The operations
 *	  the batch logic runs through (VbBatchOps: apply through the
 *	  pipeline, carrying the outbox's acknowledgements; quarantine), the
 *	  handling of each committed transaction's rows and events, and the
 *	  hooks that read the recorded positions: at assignment, and after a
 *	  reconnect, when a promoted standby may have lost transactions.
 *	  Trace context: the input's tracestate goes on with its events, log
 *	  lines about a message name its writer span (span_id), and with
 *	  --zipkin-url the tracer (tracer.c) is told each step.
 *
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>

#include "applier.h"
#include "lifecycle.h"
#include "log.h"
#include "metrics.h"

/* The default size of the span export queue: spans, not payments. */
#define APPLIER_SPAN_QUEUE	20000
/* db.query.text of the apply spans. */
#define APPLIER_STATEMENT	"SELECT r.* FROM voltpay.apply_record_batch($1, $2, $3, $4, $5, $6, $7) AS r"

/*
 * A message's log line, held until its events were seen: they name its
 * writer span (the span id of their traceparent).
 */
typedef struct RowLog
{
	int			level;			/* -1: none held */
	int			ordinal;
	char	   *message_id;
	char	   *reason;
	char	   *detail;
	char	   *trace_id;
	char		span_id[VB_SPAN_ID_LEN + 1];
} RowLog;

/* What one transaction's callbacks need, and what they count. */
typedef struct LoopChunk
{
	VbLoop	   *loop;
	VbLane	   *lane;
	rd_kafka_message_t **msgs;
	int			n;
	uint64_t	applied;
	uint64_t	duplicate;
	uint64_t	rejected;
	int			ordinal;		/* of the last row */
	const char *tracestate;		/* the last row's input tracestate, or NULL */
	size_t		tracestate_len;
	RowLog		log;
	/* with a tracer: the times of this transaction, its sampled payments */
	int64_t		consumed_us;
	int64_t		sent_us;
	int64_t		commit_us;
	const char **origins;		/* per message: our traceparent, or NULL */
	char	   *origin_buf;
	VbTrPayment **traced;
	int			ntraced;
	int			captraced;
	VbTrPayment *cur;
} LoopChunk;

/*
 * applier_log_flush
 *	  Writes the held log line, if any.
 */
static void
applier_log_flush(LoopChunk *ctx)
{
	RowLog	   *l = &ctx->log;
	VbLogCtx	c;

	if (l->level < 0)
		return;
	c = vb_msg_ctx(ctx->msgs[l->ordinal - 1], ctx->loop->conf->input_topic);
	c.message_id = l->message_id;
	c.trace_id = l->trace_id;
	c.span_id = l->span_id[0] ? l->span_id : NULL;
	c.error = l->detail;
	if (l->level == VB_LOG_DEBUG)
		vb_log(VB_LOG_DEBUG, &c, "applied");
	else
		vb_log(l->level, &c, "rejected (%s): quarantined, dead letter queued",
			   l->reason ? l->reason : "rejected");
	free(l->message_id);
	free(l->reason);
	free(l->detail);
	free(l->trace_id);
	memset(l, 0, sizeof(*l));
	l->level = -1;
}

/*
 * applier_log_hold
 *	  Holds a message's line until its events are seen.
 */
static void
applier_log_hold(LoopChunk *ctx, int level, int ordinal, const char *message_id,
				 const char *reason, const char *detail, const char *trace_id)
{
	RowLog	   *l = &ctx->log;

	l->level = level;
	l->ordinal = ordinal;
	l->message_id = message_id ? vb_xstrdup(message_id) : NULL;
	l->reason = reason ? vb_xstrdup(reason) : NULL;
	l->detail = detail ? vb_xstrdup(detail) : NULL;
	l->trace_id = trace_id ? vb_xstrdup(trace_id) : NULL;
	l->span_id[0] = '\0';
}

/*
 * applier_header
 *	  The last value of a consumed message's header name (not
 *	  NUL-terminated; *len its length), or NULL.
 */
static const char *
applier_header(const rd_kafka_message_t *m, const char *name, size_t *len)
{
	rd_kafka_headers_t *hdrs;
	const void *val;
	size_t		size;

	if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR ||
		rd_kafka_header_get_last(hdrs, name, &val, &size) != RD_KAFKA_RESP_ERR_NO_ERROR ||
		!val)
		return NULL;
	*len = size;
	return val;
}

/*
 * applier_record
 *	  The tracer's view of a consumed message.
 */
static VbTrRecord
applier_record(const rd_kafka_message_t *m)
{
	VbTrRecord	r = {NULL, 0, NULL, m->partition, m->offset, rd_kafka_message_timestamp(m, NULL)};

	r.traceparent = applier_header(m, "traceparent", &r.traceparent_len);
	return r;
}

/*
 * applier_tracestate
 *	  The input's tracestate header, when it has a valid traceparent (W3C:
 *	  no tracestate without one) and the value is text; else NULL.
 */
static const char *
applier_tracestate(const rd_kafka_message_t *m, size_t *len)
{
	const char *ts = applier_header(m, "tracestate", len);
	const char *tp;
	size_t		tplen = 0;
	VbTraceCtx	c;

	if (!ts || *len == 0 || memchr(ts, '\0', *len) || !vb_utf8_valid(ts, *len))
		return NULL;
	tp = applier_header(m, "traceparent", &tplen);
	return vb_traceparent_parse(tp, tplen, &c) ? ts : NULL;
}

/*
 * applier_add_tracestate
 *	  Adds the input's tracestate to an event that has none (the extension
 *	  keeps only the traceparent).
 */
static void
applier_add_tracestate(VbEvent *e, const char *ts, size_t len)
{
	if (vb_event_header(e, "tracestate"))
		return;
	e->header_names = vb_xrealloc(e->header_names, sizeof(char *) * (size_t) (e->nheaders + 1));
	e->header_values = vb_xrealloc(e->header_values, sizeof(char *) * (size_t) (e->nheaders + 1));
	e->header_names[e->nheaders] = vb_xstrdup("tracestate");
	e->header_values[e->nheaders] = vb_xmemdup0(ts, len);
	e->nheaders++;
}

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

	applier_log_flush(ctx);
	ctx->cur = NULL;
	if (ordinal < 1 || ordinal > ctx->n)
		return;
	ctx->ordinal = ordinal;
	m = ctx->msgs[ordinal - 1];
	ctx->tracestate = applier_tracestate(m, &ctx->tracestate_len);
	if (ctx->loop->tracer)
	{
		VbTrRow		row;

		if (ctx->commit_us == 0)
		{
			/* The first row: sent with the pipeline, or at the last COMMIT. */
			ctx->sent_us = ctx->lane->batch_clock_us;
			ctx->commit_us = vb_wall_us();
		}
		row = (VbTrRow) {applier_record(m), message_id, status, reason, trace_id,
		ctx->consumed_us, ctx->sent_us, ctx->commit_us};
		row.rec.origin = ctx->origins ? ctx->origins[ordinal - 1] : NULL;
		if ((ctx->cur = vb_tracer_row(ctx->loop->tracer, &row)) != NULL)
		{
			vb_grow((void **) &ctx->traced, &ctx->captraced, ctx->ntraced + 1,
					sizeof(VbTrPayment *));
			ctx->traced[ctx->ntraced++] = ctx->cur;
		}
	}
	c = vb_msg_ctx(m, ctx->loop->conf->input_topic);
	c.message_id = message_id;
	c.trace_id = trace_id;
	if (strcmp(status, "applied") == 0)
	{
		ctx->applied++;
		if (message_id)
			vb_outbox_note_message(ctx->loop->outbox, message_id,
								   rd_kafka_message_timestamp(m, NULL));
		if (vb_log_enabled(VB_LOG_DEBUG))
			applier_log_hold(ctx, VB_LOG_DEBUG, ordinal, message_id, NULL, NULL, trace_id);
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
		if (vb_log_enabled(VB_LOG_WARN))
			applier_log_hold(ctx, VB_LOG_WARN, ordinal, message_id, reason ? reason : status,
							 detail, trace_id);
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

	if (ctx->log.level >= 0 && !ctx->log.span_id[0])
	{
		const char *tp = vb_event_header(e, "traceparent");
		VbTraceCtx	c;

		if (tp && vb_traceparent_parse(tp, strlen(tp), &c))
			memcpy(ctx->log.span_id, c.span_id, sizeof(c.span_id));
	}
	if (ctx->tracestate)
		applier_add_tracestate(e, ctx->tracestate, ctx->tracestate_len);
	vb_tracer_event(ctx->loop->tracer, ctx->cur, e);
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

	applier_log_flush(ctx);
	if (L->tracer)
		vb_tracer_batch(L->tracer, ctx->traced, ctx->ntraced, ctx->n, ctx->sent_us,
						ctx->commit_us ? ctx->commit_us : now);
	ctx->ntraced = 0;
	ctx->cur = NULL;
	vb_consumer_applied(L->consumer, ctx->msgs, ctx->n);
	vb_metric_add(VB_C_APPLIED, ctx->applied);
	vb_metric_add(VB_C_DUPLICATE, ctx->duplicate);
	vb_metric_add(VB_C_REJECTED, ctx->rejected);
	vb_metric_add(VB_C_BATCHES, 1);
	vb_metric_batch(ctx->n, (double) (now - ctx->lane->batch_clock_us) / 1e6);
	ctx->lane->batch_clock_us = now;
}

/*
 * applier_origins
 *	  With a tracer: for each message of the chunk without a valid
 *	  traceparent, one of ours to send instead (the tracer decides its
 *	  sampling); NULL for the others.  The chunk frees them.
 */
static const char **
applier_origins(VbLoop *L, LoopChunk *ctx)
{
	ctx->origins = vb_xcalloc((size_t) ctx->n, sizeof(char *));
	ctx->origin_buf = vb_xmalloc((size_t) ctx->n * 56);
	for (int i = 0; i < ctx->n; i++)
	{
		VbTrRecord	r = applier_record(ctx->msgs[i]);
		VbTraceCtx	c;

		if (vb_traceparent_parse(r.traceparent, r.traceparent_len, &c))
			continue;
		vb_tracer_origin(L->tracer, ctx->origin_buf + 56 * i);
		ctx->origins[i] = ctx->origin_buf + 56 * i;
	}
	return ctx->origins;
}

/*
 * applier_take_acks
 *	  The outbox's waiting acknowledgements this lane's next call carries:
 *	  all of them unless another lane carries them (vb_ackclaim_take()),
 *	  copied, since the outbox's list may grow while the call waits.
 */
static int
applier_take_acks(VbLane *lane)
{
	VbLoop	   *L = lane->loop;
	const int64_t *ids;
	int			n = vb_ackclaim_take(&L->ackclaim, lane->id, vb_outbox_acks(L->outbox, &ids));

	if (n > 0)
	{
		vb_grow((void **) &lane->acks, &lane->capacks, n, sizeof(int64_t));
		memcpy(lane->acks, ids, sizeof(int64_t) * (size_t) n);
	}
	return n;
}

/*
 * vb_applier_apply (VbBatchOps.apply)
 *	  The transactions through the lane's pipeline, carrying the outbox's
 *	  waiting acknowledgements in the first (when no other lane carries
 *	  them).
 */
VbStatus
vb_applier_apply(void *arg, const VbBatchChunk *chunks, int nchunks, int *ndone, VbError *err)
{
	static const VbApplyCallbacks cb = {applier_on_row, applier_on_event, applier_on_done};
	VbLane	   *lane = arg;
	VbLoop	   *L = lane->loop;
	VbApplyChunk ac[VB_BATCH_PIPELINE];
	LoopChunk	ctx[VB_BATCH_PIPELINE];
	int			nacks = applier_take_acks(lane);
	int64_t		deleted = 0;
	VbStatus	st;
	int			acked;

	int64_t		consumed_us = 0;

	if (nchunks > VB_BATCH_PIPELINE)
		nchunks = VB_BATCH_PIPELINE;
	if (L->tracer)
		consumed_us = vb_wall_us() -
			(vb_now_ms() - vb_consumer_cur(L->consumer)->first_ms) * 1000;
	for (int i = 0; i < nchunks; i++)
	{
		memset(&ctx[i], 0, sizeof(LoopChunk));
		ctx[i].loop = L;
		ctx[i].lane = lane;
		ctx[i].log.level = -1;
		ctx[i].consumed_us = consumed_us;
		ctx[i].msgs = chunks[i].msgs;
		ctx[i].n = chunks[i].n;
		ac[i].msgs = chunks[i].msgs;
		ac[i].n = chunks[i].n;
		ac[i].arg = &ctx[i];
		ac[i].traceparents = L->tracer ? applier_origins(L, &ctx[i]) : NULL;
	}
	lane->batch_clock_us = vb_wall_us();
	st = vb_db_apply(lane->db, ac, nchunks, L->conf->input_topic, lane->acks, nacks, &deleted,
					 &cb, ndone, err);
	for (int i = 0; i < nchunks; i++)
	{
		free(ctx[i].traced);	/* handed to the tracer at each commit */
		free(ctx[i].origins);
		free(ctx[i].origin_buf);
	}
	if ((acked = vb_ackclaim_release(&L->ackclaim, lane->id, *ndone > 0)) > 0)
		vb_outbox_acked(L->outbox, acked);
	return st;
}

/*
 * loop_quarantine (VbBatchOps.quarantine)
 */
VbStatus
vb_applier_quarantine(void *arg, rd_kafka_message_t *m, const char *sqlstate, const char *error,
				bool with_key, bool *stored, VbError *err)
{
	VbLane	   *lane = arg;
	VbLoop	   *L = lane->loop;
	VbStatus	st = vb_db_quarantine(lane->db, m, L->conf->input_topic, with_key, sqlstate,
									  error, stored, err);

	if (st == VB_OK && *stored && L->tracer)
	{
		VbTrRecord	rec = applier_record(m);

		vb_tracer_quarantined(L->tracer, &rec, sqlstate, error);
	}
	return st;
}

/*
 * vb_applier_quarantined (VbBatchOps.quarantined)
 */
void
vb_applier_quarantined(void *arg, rd_kafka_message_t *m)
{
	VbLoop	   *L = ((VbLane *) arg)->loop;

	vb_metric_add(VB_C_QUARANTINED, 1);
	vb_consumer_applied(L->consumer, &m, 1);
}

/*
 * vb_applier_resync (VbBatchOps.resync)
 */
void
vb_applier_resync(void *arg, const char *why)
{
	VbLoop	   *L = ((VbLane *) arg)->loop;

	vb_outbox_resync(L->outbox, why);
}

/*
 * vb_applier_positions (VbConsumerHooks.positions)
 *	  Newly assigned partitions start at the positions the database
 *	  recorded.  A short retry (sleeping, inside the rebalance callback)
 *	  when the database is away; after that they start from Kafka's
 *	  committed offsets, which may be ahead of a database that failed
 *	  over, so the connections are dropped: nothing is applied before the
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
	/*
	 * Every connection that applies: each reconnects, so its reconnect
	 * hook reads the positions before it applies anything.  (With lanes
	 * this runs in the main thread between transactions: see lanes.c.)
	 */
	vb_db_close(L->db);
	for (int i = 0; i < L->nlanes; i++)
		if (L->lanes[i].db != L->db)
			vb_db_close(L->lanes[i].db);
	for (int i = 0; i < parts->cnt; i++)
		parts->elems[i].offset = RD_KAFKA_OFFSET_INVALID;
	return false;
}

/*
 * vb_applier_reconnected (VbDbHooks.on_reconnect)
 *	  A new connection (of any lane) may reach another server (a promoted
 *	  standby) that lost the last transactions: the partitions whose recorded positions
 *	  are behind what was applied go back to them, the outbox forgets what
 *	  it knew by event id, and the call that reconnected is refused, so
 *	  the batch in hand is built again without the messages read again
 *	  later.  When the positions cannot be read the connection is dropped,
 *	  so the next call checks again.
 */
VbStatus
vb_applier_reconnected(void *arg, VbError *err)
{
	VbLane	   *lane = arg;
	VbLoop	   *L = lane->loop;
	rd_kafka_topic_partition_list_t *parts;
	int			n;

	if (!L->consumer || !L->outbox)
		return VB_OK;
	parts = vb_consumer_assignment(L->consumer);
	if (parts->cnt > 0 &&
		vb_db_positions(lane->db, L->conf->input_topic, applier_position_cb, parts, err) != VB_OK)
	{
		rd_kafka_topic_partition_list_destroy(parts);
		vb_db_close(lane->db);
		return err->status;
	}
	n = vb_consumer_rewind(L->consumer, parts);
	rd_kafka_topic_partition_list_destroy(parts);
	if (n == 0)
		return VB_OK;
	vb_outbox_forget(L->outbox);
	vb_ackclaim_forget(&L->ackclaim);
	return vb_error_set(err, VB_TRANSIENT, NULL,
						"after reconnecting, the database's positions of %d partitions are behind "
						"what was applied: reading them again from there", n);
}


/*
 * vb_applier_db_wait (VbDbHooks.on_wait)
 *	  While a lane's apply runs on the server: produce the previous
 *	  batches' events, serve delivery reports, and show the lag once a
 *	  second: a statement that does not answer (a stalled connection, a
 *	  lock) must not freeze the lag gauges at their last value.
 */
void
vb_applier_db_wait(void *arg)
{
	VbLoop	   *L = ((VbLane *) arg)->loop;

	if (L->consumer && vb_now_ms() >= L->next_lag_ms)
	{
		vb_consumer_update_lag(L->consumer);
		L->next_lag_ms = vb_now_ms() + 1000;
	}
	if (!L->outbox)
		return;
	vb_outbox_produce_pending(L->outbox);
	vb_outbox_poll(L->outbox, 0);
}

/*
 * applier_delivered (the outbox's delivery hook)
 */
static void
applier_delivered(void *arg, const char *message_id, int kind, int err)
{
	VbLoop	   *L = arg;

	vb_tracer_delivered(L->tracer, message_id, kind, err);
	vb_tracer_expire(L->tracer, vb_now_ms());
}

/*
 * vb_applier_trace_start
 *	  With --zipkin-url: the span queue, its exporter's thread, the tracer,
 *	  and the outbox's delivery hook.  Nothing without it.
 */
VbStatus
vb_applier_trace_start(VbLoop *L, VbError *err)
{
	const VbConfig *conf = L->conf;
	VbTracerConf tc = {conf->trace_sample_ratio, "voltpay-bridge", conf->input_topic,
		conf->group, {conf->read_topic, conf->email_topic, conf->dead_letter_topic},
	APPLIER_STATEMENT, 10000, 30000};

	if (!conf->zipkin_url || !conf->zipkin_url[0])
		return VB_OK;
	L->spans = vb_spanq_new(APPLIER_SPAN_QUEUE);
	if (vb_zipkin_start(conf->zipkin_url, tc.service, L->spans, &L->zipkin, err) != VB_OK)
	{
		vb_spanq_free(L->spans);
		L->spans = NULL;
		return err->status;
	}
	L->tracer = vb_tracer_new(&tc, L->spans);
	vb_outbox_on_delivered(L->outbox, applier_delivered, L);
	vb_info("tracing: %g of the messages without a traceparent sampled, "
			"the others follow their sampled flag", conf->trace_sample_ratio);
	return VB_OK;
}

/*
 * vb_applier_trace_stop
 *	  After the outbox closed: the open payments end, the exporter posts
 *	  what it holds (2 s at most), everything is freed.
 */
void
vb_applier_trace_stop(VbLoop *L)
{
	if (!L->spans)
		return;
	vb_tracer_free(L->tracer);
	L->tracer = NULL;
	vb_zipkin_stop(L->zipkin, 2000);
	L->zipkin = NULL;
	vb_spanq_free(L->spans);
	L->spans = NULL;
}
