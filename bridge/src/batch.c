/*
 *-------------------------------------------------------------------------
 *
 * batch.c
 *	  Applying batches, and the main loop with its drain.
 *
 * A batch is one database transaction.  Transient errors (see db.c) are
 * retried with exponential backoff and jitter, consumption paused and the
 * consumer still polled (rebalances, group membership).  Any other error
 * means a message of the batch makes apply_payment_batch() raise: the
 * batch is split in halves, each applied in its own transaction, in
 * order, until the single offending message is found; it is quarantined
 * with quarantine_message() (raw bytes, SQLSTATE, message) and the rest
 * is applied.  Working in offset order keeps the recorded positions
 * honest: a position never passes a message that is not yet applied or
 * quarantined.  Setup errors (28, 3D, 3F, 42: missing function, missing
 * rights) are fatal instead: quarantining every message would be wrong.
 *
 *-------------------------------------------------------------------------
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"
#include "consumer_int.h"

typedef enum BatchRc
{
	BATCH_OK = 0,
	BATCH_ABANDONED,			/* shutdown deadline passed mid-batch */
	BATCH_FATAL
} BatchRc;

/* What the row callback needs, and what it counts. */
typedef struct BatchCtx
{
	rd_kafka_message_t **msgs;
	int			n;
	uint64_t	applied;
	uint64_t	duplicate;
	uint64_t	rejected;
} BatchCtx;

/*
 * Transactions of up to --batch-size messages sent to the database in one
 * pipeline (vb_db_apply()) when that many are at hand: the server applies
 * them back to back while the bridge hands the committed ones over.
 */
#define BATCH_PIPELINE		4

static void batch_update_lag(void);

/* When the last transaction committed (or the pipeline was sent). */
static int64_t batch_clock_us;

static int64_t batch_publish_idle_at;
static int64_t batch_next_lag_ms;
static int64_t batch_next_commit_ms;

/* Offsets are committed to Kafka at most this often (and at shutdown). */
#define BATCH_COMMIT_INTERVAL_MS	1000
static int64_t batch_next_backlog_ms;

/*
 * batch_on_row
 *	  One result row of apply_payment_batch() (after the COMMIT).
 */
static void
batch_on_row(void *arg, int ordinal, const char *message_id, const char *status,
			 const char *reason, const char *detail, const char *trace_id)
{
	BatchCtx   *ctx = arg;
	rd_kafka_message_t *m;
	VbLogCtx	c;

	if (ordinal < 1 || ordinal > ctx->n)
		return;
	m = ctx->msgs[ordinal - 1];
	c = cons_ctx(m);
	c.message_id = message_id;
	c.trace_id = trace_id;
	if (strcmp(status, "applied") == 0)
	{
		ctx->applied++;
		if (message_id)
			vb_outbox_note_message(message_id, rd_kafka_message_timestamp(m, NULL));
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
			vb_outbox_note_message(message_id, rd_kafka_message_timestamp(m, NULL));
		vb_log(VB_LOG_WARN, &c, "rejected (%s): quarantined, dead letter queued",
			   reason ? reason : status);
	}
}

/*
 * batch_on_event
 *	  One outbox event of a batch that has just committed: to the outbox's
 *	  queue (produced while the next batch is applied).
 */
static void
batch_on_event(void *arg, VbEvent *e)
{
	(void) arg;
	vb_outbox_produce_applied(e);
}

/*
 * batch_applied
 *	  Messages are in the database: the partitions' next offsets move.
 */
static void
batch_applied(rd_kafka_message_t **msgs, int n)
{
	for (int i = 0; i < n; i++)
	{
		ConsPart   *p = cons_part(msgs[i]->partition);

		if (msgs[i]->offset + 1 > p->applied_next)
			p->applied_next = msgs[i]->offset + 1;
		p->touched = true;
	}
}

/*
 * batch_on_done
 *	  One transaction committed: positions move, counters and the batch
 *	  histograms (its duration: since the previous one committed, or since
 *	  it was sent) are updated.
 */
static void
batch_on_done(void *arg)
{
	BatchCtx   *ctx = arg;
	int64_t		now = vb_wall_us();

	batch_applied(ctx->msgs, ctx->n);
	vb_metric_add(VB_C_APPLIED, ctx->applied);
	vb_metric_add(VB_C_DUPLICATE, ctx->duplicate);
	vb_metric_add(VB_C_REJECTED, ctx->rejected);
	vb_metric_add(VB_C_BATCHES, 1);
	vb_metric_batch(ctx->n, (double) (now - batch_clock_us) / 1e6);
	batch_clock_us = now;
}

/*
 * batch_retry_wait
 *	  Backoff after a transient database error: consumption paused, the
 *	  consumer polled meanwhile.  False when the shutdown deadline passed
 *	  (the batch is then abandoned: nothing of it is committed anywhere).
 */
static bool
batch_retry_wait(int *attempt, const VbDbError *err, const char *what)
{
	VbLogCtx	c = VB_LOGCTX_INIT;
	int			delay;
	int64_t		until;

	(*attempt)++;
	delay = vb_backoff_ms(*attempt);
	c.sqlstate = err->sqlstate;
	c.error = err->message;
	vb_log(VB_LOG_WARN, &c, "database %s failed (transient): retry %d in %d ms, consumption paused",
		   what, *attempt, delay);
	vb_metric_retry(VB_R_DB);
	vb_consumer_pause(VB_PAUSE_DB, true);
	until = vb_now_ms() + delay;
	while (vb_now_ms() < until && !vb_past_deadline())
	{
		int64_t		left = until - vb_now_ms();

		vb_consumer_keepalive(left > 100 ? 100 : (int) (left < 0 ? 0 : left));
		vb_producer_poll();
		if (vb_now_ms() >= batch_next_lag_ms)
		{
			/* The lag keeps growing while the database is away: show it. */
			batch_update_lag();
			batch_next_lag_ms = vb_now_ms() + 1000;
		}
	}
	if (vb_past_deadline())
	{
		vb_warn("shutdown deadline reached: the batch in hand is abandoned "
				"(nothing of it is committed; it will be read again)");
		return false;
	}
	return true;
}

/*
 * batch_quarantine
 *	  Stores the one message whose apply raised, with its SQLSTATE and
 *	  error, and moves its partition's position past it.  If even that
 *	  fails on the record key, it is stored without the key; if it still
 *	  fails, the bridge cannot make progress safely: fatal.
 */
static BatchRc
batch_quarantine(ConsMsg *cm, const char *sqlstate, const char *error, bool with_key)
{
	rd_kafka_message_t *m = cm->rkm;
	int			attempt = 0;

	for (;;)
	{
		VbDbError	err;
		VbDbStatus	st;
		bool		stored = false;
		VbLogCtx	c = cons_ctx(m);

		if (cm->revoked)
			return BATCH_OK;
		st = vb_db_quarantine(m, vb_conf.input_topic, with_key, sqlstate, error, &stored, &err);
		if (st == VB_DB_OK)
		{
			c.sqlstate = sqlstate;
			c.error = error;
			vb_log(VB_LOG_WARN, &c, "message quarantined: its apply raised an error%s",
				   stored ? "" : " (it was already quarantined)");
			vb_metric_add(VB_C_QUARANTINED, 1);
			vb_outbox_resync("a message was quarantined");
			batch_applied(&m, 1);
			return BATCH_OK;
		}
		if (st == VB_DB_TRANSIENT)
		{
			if (!batch_retry_wait(&attempt, &err, "quarantine"))
				return BATCH_ABANDONED;
			continue;
		}
		c.sqlstate = err.sqlstate;
		c.error = err.message;
		if (st == VB_DB_POISON && with_key)
		{
			vb_log(VB_LOG_WARN, &c, "quarantine failed: trying again without the record key");
			with_key = false;
			continue;
		}
		vb_log(VB_LOG_ERROR, &c, "cannot quarantine the message");
		vb_set_fatal("a poison message cannot be quarantined");
		return BATCH_FATAL;
	}
}

/*
 * batch_apply_range
 *	  Applies cons_cur.m[lo..hi) (revoked messages left out) in one
 *	  transaction, retrying transient errors and isolating poison by
 *	  halving, in order.  With failed, the first attempt has already been
 *	  made and failed so.
 */
static BatchRc
batch_apply_range(int lo, int hi, const VbDbError *failed)
{
	int			attempt = 0;

	for (;;)
	{
		rd_kafka_message_t **arr = malloc(sizeof(*arr) * (size_t) (hi - lo + 1));
		int		   *idx = malloc(sizeof(int) * (size_t) (hi - lo + 1));
		int			n = 0;
		BatchCtx	ctx = {0};
		VbDbError	err;
		VbDbStatus	st;
		int			half,
					mid,
					seen;
		BatchRc		rc;

		for (int i = lo; i < hi; i++)
			if (!cons_cur.m[i].revoked)
			{
				idx[n] = i;
				arr[n++] = cons_cur.m[i].rkm;
			}
		if (n == 0)
		{
			free(arr);
			free(idx);
			return BATCH_OK;
		}
		ctx.msgs = arr;
		ctx.n = n;
		if (failed)
		{
			err = *failed;
			st = err.status;
			failed = NULL;
		}
		else
		{
			VbApplyChunk chunk = {arr, n, &ctx};
			const int64_t *acks;
			int			nacks = vb_outbox_acks(&acks);
			int64_t		deleted = 0;
			int			ndone;

			batch_clock_us = vb_wall_us();
			st = vb_db_apply(&chunk, 1, vb_conf.input_topic, acks, nacks, &deleted,
							 batch_on_row, batch_on_event, batch_on_done, &ndone, &err);
			if (ndone > 0)
				vb_outbox_acked(nacks, deleted);
		}
		if (st == VB_DB_OK)
		{
			if (attempt > 0)
				vb_info("database back: batch applied after %d retries", attempt);
			free(arr);
			free(idx);
			return BATCH_OK;
		}
		/* A commit whose outcome is unknown may have queued events. */
		vb_outbox_resync("a batch failed");
		if (st == VB_DB_TRANSIENT)
		{
			free(arr);
			free(idx);
			if (!batch_retry_wait(&attempt, &err, "apply"))
				return BATCH_ABANDONED;
			continue;
		}
		if (st == VB_DB_FATAL)
		{
			VbLogCtx	c = VB_LOGCTX_INIT;

			c.sqlstate = err.sqlstate;
			c.error = err.message;
			vb_log(VB_LOG_ERROR, &c, "apply_payment_batch failed on the set-up, not on a message");
			free(arr);
			free(idx);
			vb_set_fatal("database set-up error");
			return BATCH_FATAL;
		}

		/* A poison message: find it. */
		if (n == 1)
		{
			int			i = idx[0];

			free(arr);
			free(idx);
			return batch_quarantine(&cons_cur.m[i], err.sqlstate, err.primary, true);
		}
		{
			VbLogCtx	c = cons_ctx(arr[0]);

			c.offset = -1;
			c.partition = -1;
			c.sqlstate = err.sqlstate;
			c.error = err.message;
			vb_log(VB_LOG_WARN, &c, "batch of %d messages raised an error: isolating the message", n);
		}
		half = n / 2;
		seen = 0;
		mid = lo;
		while (seen < half)
		{
			if (!cons_cur.m[mid].revoked)
				seen++;
			mid++;
		}
		free(arr);
		free(idx);
		rc = batch_apply_range(lo, mid, NULL);
		if (rc != BATCH_OK)
			return rc;
		return batch_apply_range(mid, hi, NULL);
	}
}

/*
 * batch_apply_pipelined
 *	  Applies cons_cur.m[lo..hi) in transactions of up to --batch-size
 *	  messages, up to BATCH_PIPELINE of them per round trip.  When one
 *	  fails, those before it are committed and none after it ran: it goes
 *	  through batch_apply_range() (retries, poison isolation), then the rest.
 */
static BatchRc
batch_apply_pipelined(int lo, int hi)
{
	rd_kafka_message_t **arr = malloc(sizeof(*arr) * (size_t) (hi - lo + 1));
	BatchRc		rc = BATCH_OK;

	while (lo < hi && rc == BATCH_OK)
	{
		VbApplyChunk chunks[BATCH_PIPELINE];
		BatchCtx	ctx[BATCH_PIPELINE];
		int			bound[BATCH_PIPELINE + 1];
		int			nc = 0,
					used = 0,
					i = lo,
					ndone = 0;
		const int64_t *acks;
		int			nacks;
		int64_t		deleted = 0;
		VbDbError	err;
		VbDbStatus	st;

		bound[0] = lo;
		while (i < hi && nc < BATCH_PIPELINE)
		{
			int			start = used;

			for (; i < hi && used - start < vb_conf.batch_size; i++)
				if (!cons_cur.m[i].revoked)
					arr[used++] = cons_cur.m[i].rkm;
			bound[nc + 1] = i;
			if (used == start)
				break;			/* only revoked messages left */
			memset(&ctx[nc], 0, sizeof(BatchCtx));
			ctx[nc].msgs = arr + start;
			ctx[nc].n = used - start;
			chunks[nc].msgs = arr + start;
			chunks[nc].n = used - start;
			chunks[nc].arg = &ctx[nc];
			nc++;
		}
		if (nc == 0)
			break;
		nacks = vb_outbox_acks(&acks);
		batch_clock_us = vb_wall_us();
		st = vb_db_apply(chunks, nc, vb_conf.input_topic, acks, nacks, &deleted,
						 batch_on_row, batch_on_event, batch_on_done, &ndone, &err);
		if (ndone > 0)
			vb_outbox_acked(nacks, deleted);
		if (st == VB_DB_OK)
		{
			lo = bound[nc];
			continue;
		}
		rc = batch_apply_range(bound[ndone], bound[ndone + 1], &err);
		lo = bound[ndone + 1];
	}
	free(arr);
	return rc;
}

/*
 * batch_hex
 *	  Hex of up to 32 bytes, for the error text of a bad key.
 */
static void
batch_hex(const void *p, size_t len, char *out, size_t size)
{
	const unsigned char *b = p;
	size_t		o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < len && i < 32 && o + 3 < size; i++)
		o += (size_t) snprintf(out + o, size - o, "%02x", b[i]);
	if (len > 32 && o + 4 < size)
		snprintf(out + o, size - o, "...");
}

/*
 * batch_apply_cur
 *	  Applies cons_cur.  A record key that is not UTF-8 text cannot reach
 *	  the database as text: such a message is quarantined without its key,
 *	  in its place in the order.
 */
static BatchRc
batch_apply_cur(void)
{
	int			seg = 0;
	BatchRc		rc = BATCH_OK;

	for (int i = 0; i < cons_cur.n && rc == BATCH_OK; i++)
	{
		rd_kafka_message_t *m = cons_cur.m[i].rkm;

		if (m->key && !vb_utf8_valid(m->key, m->key_len))
		{
			char		hex[80];
			char		why[160];

			rc = batch_apply_pipelined(seg, i);
			if (rc != BATCH_OK)
				break;
			batch_hex(m->key, m->key_len, hex, sizeof(hex));
			snprintf(why, sizeof(why), "record key is not UTF-8 text (hex %s)", hex);
			rc = batch_quarantine(&cons_cur.m[i], "22021", why, false);
			seg = i + 1;
		}
	}
	if (rc == BATCH_OK)
		rc = batch_apply_pipelined(seg, cons_cur.n);
	vb_consumer_pause(VB_PAUSE_DB, false);
	return rc;
}

/*
 * batch_commit
 *	  Commits to Kafka the next offsets of the partitions applied since the
 *	  last commit: asynchronously at most once a second and not while a
 *	  rebalance is known to be under way (see consumer.c), synchronously at
 *	  shutdown.  Kafka's offsets are for lag tools and a fallback: the
 *	  positions that count are the database's.
 */
static void
batch_commit(bool sync)
{
	rd_kafka_topic_partition_list_t *l;
	rd_kafka_resp_err_t err;
	int64_t		now = vb_now_ms();

	if (!cons_rk)
		return;
	if (!sync)
	{
		if (now < batch_next_commit_ms)
			return;
		if (cons_rebalancing_since && now - cons_rebalancing_since < 60000)
			return;
		batch_next_commit_ms = now + BATCH_COMMIT_INTERVAL_MS;
	}
	l = rd_kafka_topic_partition_list_new(16);
	for (int32_t p = 0; cons_part_peek(p) != NULL; p++)
	{
		ConsPart   *cp = cons_part_peek(p);

		if ((cp->touched || sync || cons_commit_all) && cp->assigned && cp->applied_next >= 0)
			rd_kafka_topic_partition_list_add(l, vb_conf.input_topic, p)->offset = cp->applied_next;
		cp->touched = false;
	}
	cons_commit_all = false;
	if (l->cnt > 0)
	{
		err = rd_kafka_commit(cons_rk, l, sync ? 0 : 1);
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
 * batch_process_next
 *	  Moves up to BATCH_PIPELINE x --batch-size messages from `next` to
 *	  `cur`, applies them (transactions of --batch-size), commits their
 *	  offsets to Kafka, and lets the outbox know.
 */
static BatchRc
batch_process_next(void)
{
	int			max = BATCH_PIPELINE * vb_conf.batch_size;
	int			k = cons_next.n < max ? cons_next.n : max;
	BatchRc		rc;

	if (cons_cur.cap < k)
	{
		cons_cur.cap = k;
		cons_cur.m = realloc(cons_cur.m, sizeof(ConsMsg) * (size_t) k);
	}
	memcpy(cons_cur.m, cons_next.m, sizeof(ConsMsg) * (size_t) k);
	cons_cur.n = k;
	cons_cur.bytes = 0;
	for (int i = 0; i < k; i++)
	{
		size_t		b = cons_cur.m[i].rkm->len + cons_cur.m[i].rkm->key_len;

		cons_cur.bytes += b;
		cons_next.bytes -= b;
	}
	cons_cur.first_ms = cons_next.first_ms;
	memmove(cons_next.m, cons_next.m + k, sizeof(ConsMsg) * (size_t) (cons_next.n - k));
	cons_next.n -= k;
	if (cons_next.n > 0)
		cons_next.first_ms = vb_now_ms();
	if (!cons_next_full())
		vb_consumer_pause(VB_PAUSE_FULL, false);
	if (cons_consumed)
	{
		vb_metric_add(VB_C_CONSUMED, cons_consumed);
		cons_consumed = 0;
	}

	rc = batch_apply_cur();
	if (rc == BATCH_OK)
	{
		int64_t		oldest = -1;

		for (int i = 0; i < cons_cur.n; i++)
		{
			int64_t		ts = rd_kafka_message_timestamp(cons_cur.m[i].rkm, NULL);

			if (ts >= 0 && (oldest < 0 || ts < oldest))
				oldest = ts;
		}
		vb_debug("batch of %d applied (%d events in flight); it filled in %" PRId64 " ms, its oldest record is %" PRId64 " ms old",
				 k, vb_outbox_inflight(), vb_now_ms() - cons_cur.first_ms,
				 oldest >= 0 ? vb_wall_us() / 1000 - oldest : -1);
		batch_commit(false);
		cons_publish_due = true;
	}
	cons_batch_clear(&cons_cur);
	return rc;
}

/*
 * batch_publish
 *	  One step of the outbox pump on every pass of the main loop (it lands
 *	  delivery reports); it fetches new events after each batch, every
 *	  second when idle (DBA republishes, events left by a failure), and
 *	  right away while a backlog remains.  Only once the group is joined:
 *	  the outbox is read for the partitions we own.
 */
static void
batch_publish(void)
{
	int64_t		now = vb_now_ms();
	bool		fetch = vb_consumer_joined() && (cons_publish_due || now >= batch_publish_idle_at);

	switch (vb_outbox_pump(fetch))
	{
		case VB_PUBLISH_DONE:
			if (fetch)
			{
				cons_publish_due = false;
				batch_publish_idle_at = now + 1000;
			}
			break;
		case VB_PUBLISH_MORE:
			cons_publish_due = true;
			break;
		case VB_PUBLISH_FAILED:
			vb_metric_retry(VB_R_PUBLISH);
			cons_publish_due = true;
			break;
		case VB_PUBLISH_FATAL:
			vb_set_fatal("the producer cannot publish any more");
			break;
	}
}

/*
 * batch_publish_drain
 *	  At shutdown: publish what the outbox holds for our partitions and
 *	  land it, until the drain deadline; then purge what is still in
 *	  flight (it stays in the outbox for the next start).
 */
static void
batch_publish_drain(void)
{
	const int64_t *acks;

	while (!vb_past_deadline())
	{
		VbPublish	r = vb_outbox_pump(vb_consumer_joined());

		if (r == VB_PUBLISH_FATAL)
			break;
		if (r == VB_PUBLISH_DONE && vb_outbox_inflight() == 0 && vb_outbox_acks(&acks) == 0)
			return;
		vb_producer_poll_wait(10);
		vb_consumer_keepalive(0);
	}
	if (vb_outbox_inflight() > 0)
		vb_outbox_abandon();
	if (vb_past_deadline())
		vb_warn("shutdown deadline reached before the outbox was empty: "
				"the rest is published after the restart");
}

/*
 * batch_end_offsets
 *	  While consumption is paused no fetch response refreshes librdkafka's
 *	  cached high watermarks: ask the brokers for the end offsets of the
 *	  partitions in l (ListOffsets, at most every 2 s, 500 ms at most).
 *	  Returns a list with the end offsets, or NULL (then the cache serves).
 */
static rd_kafka_topic_partition_list_t *
batch_end_offsets(const rd_kafka_topic_partition_list_t *l)
{
	static int64_t next_ms;
	rd_kafka_topic_partition_list_t *q;
	rd_kafka_resp_err_t err;

	if (!cons_paused() || l->cnt == 0 || vb_now_ms() < next_ms)
		return NULL;
	next_ms = vb_now_ms() + 2000;
	q = rd_kafka_topic_partition_list_copy(l);
	for (int i = 0; i < q->cnt; i++)
		q->elems[i].offset = RD_KAFKA_OFFSET_END;	/* "latest" */
	err = rd_kafka_offsets_for_times(cons_rk, q, 500);
	if (err)
	{
		vb_debug("end offsets while paused: %s", rd_kafka_err2str(err));
		rd_kafka_topic_partition_list_destroy(q);
		return NULL;
	}
	return q;
}

/*
 * batch_update_lag
 *	  Per assigned partition: the high watermark (cached from fetches, or
 *	  asked for while paused) minus the next offset to apply (or the
 *	  consumer position while that is unknown).
 */
static void
batch_update_lag(void)
{
	rd_kafka_topic_partition_list_t *l = cons_assigned_list();
	rd_kafka_topic_partition_list_t *ends = batch_end_offsets(l);
	int32_t    *parts = malloc(sizeof(int32_t) * (size_t) (l->cnt + 1));
	int64_t    *lags = malloc(sizeof(int64_t) * (size_t) (l->cnt + 1));
	int			n = 0;

	if (l->cnt > 0)
		rd_kafka_position(cons_rk, l);
	for (int i = 0; i < l->cnt; i++)
	{
		int64_t		lo,
					hi,
					pos;
		ConsPart   *p = cons_part(l->elems[i].partition);

		if (rd_kafka_get_watermark_offsets(cons_rk, vb_conf.input_topic,
										   l->elems[i].partition, &lo, &hi) != RD_KAFKA_RESP_ERR_NO_ERROR)
			lo = hi = -1;
		if (ends && !ends->elems[i].err && ends->elems[i].offset > p->known_end)
			p->known_end = ends->elems[i].offset;
		if (p->known_end > hi)
			hi = p->known_end;
		if (hi < 0)
			continue;
		if (p->applied_next > hi && !p->warned_beyond)
		{
			VbLogCtx	c = VB_LOGCTX_INIT;

			c.topic = vb_conf.input_topic;
			c.partition = l->elems[i].partition;
			c.offset = p->applied_next;
			vb_log(VB_LOG_ERROR, &c, "the database's position %" PRId64 " is beyond the end of the log (%" PRId64 "): "
				   "the topic was recreated or this is another cluster; messages below the position count as "
				   "duplicates until a DBA resets it with voltpay.set_partition_position()",
				   p->applied_next, hi);
			p->warned_beyond = true;
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
 * batch_tick
 *	  Periodic chores of the main loop: liveness, readiness, producer
 *	  events, lag (every second), outbox backlog (every 10 s).
 */
static void
batch_tick(void)
{
	int64_t		now = vb_now_ms();

	vb_metric_tick();
	vb_producer_poll();
	if (cons_consumed)
	{
		vb_metric_add(VB_C_CONSUMED, cons_consumed);
		cons_consumed = 0;
	}
	vb_metric_ready(vb_db_is_connected(), vb_consumer_joined(), vb_consumer_count());
	batch_commit(false);
	if (now >= batch_next_lag_ms)
	{
		batch_update_lag();
		batch_next_lag_ms = now + 1000;
	}
	if (now >= batch_next_backlog_ms && vb_consumer_joined() && vb_db_is_connected())
	{
		vb_outbox_update_backlog();
		batch_next_backlog_ms = now + 10000;
	}
}

/*
 * vb_consumer_run
 *	  The main loop: fill a batch, apply it, commit offsets, publish the
 *	  outbox; until SIGINT/SIGTERM or a fatal error.  Then the drain: stop
 *	  fetching, finish the batch in hand, publish, commit, leave the group,
 *	  all within the shutdown deadline.  Returns 0, or 1 after a fatal
 *	  error.
 */
int
vb_consumer_run(void)
{
	BatchRc		rc = BATCH_OK;

	while (!vb_stopping())
	{
		batch_tick();
		cons_fill();
		if (vb_stopping())
			break;
		if (cons_next.n > 0 && (rc = batch_process_next()) != BATCH_OK)
			break;
		batch_publish();
	}

	vb_info("stopping: finishing the batch in hand (%d messages), publishing, committing; "
			"%d s at most", cons_next.n, vb_conf.shutdown_timeout_s);
	(void) vb_drain_deadline_ms();
	vb_consumer_pause(VB_PAUSE_STOP, true);
	while (rc == BATCH_OK && cons_next.n > 0 && !vb_past_deadline())
		rc = batch_process_next();
	if (rc == BATCH_OK && cons_next.n > 0)
		vb_warn("%d polled messages not applied (deadline): they will be read again", cons_next.n);
	if (rc != BATCH_FATAL && vb_consumer_joined())
		batch_publish_drain();
	batch_commit(true);
	batch_tick();
	cons_close();
	return atomic_load(&vb_fatal) ? VB_EXIT_FATAL : VB_EXIT_OK;
}
