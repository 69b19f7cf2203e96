/*-------------------------------------------------------------------------
 *
 * pipeline.c
 *	  Layer 1: the apply pipeline.  Up to a few transactions, each
 *		BEGIN; [outbox_ack(acks), first transaction only];
 *		apply_record_batch(...); COMMIT
 *	  sent at once in libpq's pipeline mode with one sync point at the end,
 *	  so the server runs them back to back in one round trip.
 *
 * As each transaction's COMMIT succeeds its result is handed over (the
 * callbacks' row, event and done), while the server runs the next; while
 * waiting, the caller's on_wait hook does other work (the outbox produces
 * the events of earlier transactions).  After a failure the server skips
 * everything up to the sync point, so no later transaction is applied:
 * the failed one is rolled back (the acknowledgements with it when it is
 * the first) and the class of the failure returned.
 *
 *-------------------------------------------------------------------------
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_int.h"
#include "log.h"
#include "metrics.h"

/* What each query of a pipeline is, to tell its results apart. */
typedef enum PipeQuery
{
	PQ_BEGIN,
	PQ_ACK,
	PQ_APPLY,
	PQ_COMMIT
} PipeQuery;

static const char *const pipe_query_names[] = {
	"BEGIN", "outbox_ack", "apply_record_batch", "COMMIT"
};

/* The queries sent, in order, and the chunk each belongs to. */
typedef struct PipeSent
{
	PipeQuery  *kind;
	int		   *chunk;
	int			n;
} PipeSent;

/*
 * pipe_wait_busy
 *	  Until a result can be read without blocking; meanwhile the on_wait
 *	  hook runs, and on_block is told around each poll.  Returns at once
 *	  if the connection fails (PQgetResult() then reports it).  False when
 *	  nothing came for db->stall_ms since last_result_ms (vb_db_stalled):
 *	  a stalled path or a backend that stopped answering, which TCP
 *	  keepalives do not end while a peer acknowledges.
 */
static bool
pipe_wait_busy(VbDb *db, int64_t last_result_ms)
{
	while (PQisBusy(db->conn))
	{
		struct pollfd pfd = {.fd = PQsocket(db->conn), .events = POLLIN};
		int			rc = -1;

		if (db->hooks.on_wait)
			db->hooks.on_wait(db->hooks.arg);
		if (pfd.fd >= 0)
		{
			if (db->hooks.on_block)
				db->hooks.on_block(db->hooks.arg, true);
			rc = poll(&pfd, 1, 5);
			if (db->hooks.on_block)
				db->hooks.on_block(db->hooks.arg, false);
		}
		if (rc < 0 || !PQconsumeInput(db->conn))
			return true;
		if (PQisBusy(db->conn) && vb_db_stalled(vb_now_ms(), last_result_ms, db->stall_ms))
			return false;
	}
	return true;
}

/*
 * pipe_params
 *	  The binary parameters of apply_record_batch() for n messages of
 *	  topic, built in db->bufs (valid until the next call): keys and
 *	  traceparent headers as raw bytes (the extension rejects a key that
 *	  is not text as invalid_key and ignores a traceparent that is not);
 *	  the chunk's own traceparent instead of a message's header where it
 *	  has one (the tracer's, for a message that starts a trace).
 */
static void
pipe_params(VbDb *db, const VbApplyChunk *chunk, const char *topic,
			const char **values, int *lengths)
{
	rd_kafka_message_t **msgs = chunk->msgs;
	int			n = chunk->n;
	DbApplyBufs *b = &db->bufs;
	VbBuf	   *order[7] = {&b->keys, &b->values, NULL, &b->partitions, &b->offsets,
	&b->timestamps, &b->traceparents};

	vb_pg_array_begin(&b->keys, VB_OID_BYTEA, n);
	vb_pg_array_begin(&b->values, VB_OID_BYTEA, n);
	vb_pg_array_begin(&b->partitions, VB_OID_INT4, n);
	vb_pg_array_begin(&b->offsets, VB_OID_INT8, n);
	vb_pg_array_begin(&b->timestamps, VB_OID_TSTZ, n);
	vb_pg_array_begin(&b->traceparents, VB_OID_BYTEA, n);
	for (int i = 0; i < n; i++)
	{
		rd_kafka_message_t *m = msgs[i];
		size_t		tplen = 0;
		const char *tp;

		if (chunk->traceparents && chunk->traceparents[i])
		{
			tp = chunk->traceparents[i];
			tplen = strlen(tp);
		}
		else
			tp = vb_db_traceparent(m, &tplen);

		vb_pg_array_elem(&b->keys, m->key, m->key_len);
		vb_pg_array_elem(&b->values, m->payload, m->len);
		vb_pg_array_int4(&b->partitions, m->partition);
		vb_pg_array_int8(&b->offsets, m->offset);
		vb_pg_array_tstz_ms(&b->timestamps, rd_kafka_message_timestamp(m, NULL));
		vb_pg_array_elem(&b->traceparents, tp, tplen);
	}
	for (int i = 0; i < 7; i++)
	{
		values[i] = order[i] ? order[i]->data : topic;
		lengths[i] = order[i] ? (int) order[i]->len : (int) strlen(topic);
	}
}

/*
 * pipe_send
 *	  Queues the queries of every chunk and the sync point.  False when
 *	  libpq refused one (the connection is then in doubt).
 */
static bool
pipe_send(VbDb *db, const VbApplyChunk *chunks, int nchunks, const char *topic,
		  const int64_t *acks, int nacks, PipeSent *sent)
{
	static const int formats[7] = {1, 1, 1, 1, 1, 1, 1};

	for (int c = 0; c < nchunks; c++)
	{
		const char *values[7];
		int			lengths[7];

		sent->kind[sent->n] = PQ_BEGIN, sent->chunk[sent->n++] = c;
		if (!PQsendQueryParams(db->conn, "BEGIN", 0, NULL, NULL, NULL, NULL, 0))
			return false;
		if (c == 0 && nacks > 0)
		{
			vb_pg_int8_array(&db->bufs.acks, acks, nacks);
			values[0] = db->bufs.acks.data;
			lengths[0] = (int) db->bufs.acks.len;
			sent->kind[sent->n] = PQ_ACK, sent->chunk[sent->n++] = c;
			if (!PQsendQueryPrepared(db->conn, "vb_ack", 1, values, lengths, formats, 0))
				return false;
		}
		/* libpq copies the parameters into its buffer: db->bufs are free again. */
		pipe_params(db, &chunks[c], topic, values, lengths);
		sent->kind[sent->n] = PQ_APPLY, sent->chunk[sent->n++] = c;
		if (!PQsendQueryPrepared(db->conn, "vb_apply", 7, values, lengths, formats, 1))
			return false;
		sent->kind[sent->n] = PQ_COMMIT, sent->chunk[sent->n++] = c;
		if (!PQsendQueryParams(db->conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0))
			return false;
	}
	return PQpipelineSync(db->conn) == 1;
}

/*
 * pipe_hand_over
 *	  Hands a committed apply result (binary) over: the row callback gets
 *	  each message's row once, the event callback each event, in event
 *	  order.
 */
static void
pipe_hand_over(const PGresult *res, const VbApplyCallbacks *cb, void *arg)
{
	static const int cols[8] = {6, 7, 8, 9, 1, -1, 10, 11};
	int			last = 0;

	for (int r = 0; r < PQntuples(res); r++)
	{
		int			ordinal = vb_pg_get_i32(PQgetvalue(res, r, 0));

		if (ordinal != last && cb->row)
			cb->row(arg, ordinal,
					PQgetisnull(res, r, 1) ? NULL : PQgetvalue(res, r, 1),
					PQgetvalue(res, r, 2),
					PQgetisnull(res, r, 3) ? NULL : PQgetvalue(res, r, 3),
					PQgetisnull(res, r, 4) ? NULL : PQgetvalue(res, r, 4),
					PQgetisnull(res, r, 5) ? NULL : PQgetvalue(res, r, 5));
		last = ordinal;
		if (cb->event && !PQgetisnull(res, r, 6))
		{
			VbEvent		e;

			vb_db_event_from_row(res, r, cols, &e);
			cb->event(arg, &e);
			vb_event_clear(&e);
		}
	}
}

/*
 * vb_db_apply
 *	  Applies chunks[0..nchunks), each in its own transaction, in one
 *	  pipeline (see the file header).  *ndone counts the chunks committed
 *	  (and handed over); *deleted gets how many acknowledged events were
 *	  still pending.  VB_OK when all committed; otherwise the failure's
 *	  class, with chunks[*ndone] the one that failed.
 */
VbStatus
vb_db_apply(VbDb *db, const VbApplyChunk *chunks, int nchunks, const char *topic,
			const int64_t *acks, int nacks, int64_t *deleted,
			const VbApplyCallbacks *cb, int *ndone, VbError *err)
{
	PipeSent	sent;
	int			q = 0;
	int			nulls = 0;
	PGresult   *failed = NULL;
	const char *failed_what = NULL;
	PGresult   *apply_res = NULL;
	bool		synced = false;
	bool		stalled = false;
	int64_t		last_result_ms;
	VbStatus	st;

	*ndone = 0;
	if (vb_db_ready(db, err) != VB_OK)
		return err->status;
	if (!PQenterPipelineMode(db->conn))
		return vb_db_fail(db, NULL, "entering pipeline mode", err);

	sent.kind = vb_xmalloc(sizeof(PipeQuery) * (size_t) (4 * nchunks));
	sent.chunk = vb_xmalloc(sizeof(int) * (size_t) (4 * nchunks));
	sent.n = 0;
	if (!pipe_send(db, chunks, nchunks, topic, acks, nacks, &sent))
	{
		free(sent.kind);
		free(sent.chunk);
		st = vb_db_fail(db, NULL, "sending the batch", err);
		vb_db_close(db);		/* the pipeline's state is unknown */
		return st;
	}

	/*
	 * One result and a NULL per query, then the sync point.  Two NULLs in a
	 * row mean nothing more will come: libpq gave up on the connection
	 * (after a lost connection it can report it so while its status still
	 * says CONNECTION_OK).
	 */
	last_result_ms = vb_now_ms();
	while (!synced && PQstatus(db->conn) == CONNECTION_OK)
	{
		PGresult   *res;
		ExecStatusType rst;

		if (!pipe_wait_busy(db, last_result_ms))
		{
			stalled = true;
			break;
		}
		res = PQgetResult(db->conn);
		if (res == NULL)
		{
			if (++nulls > 1 || ++q > sent.n)
				break;
			continue;
		}
		last_result_ms = vb_now_ms();
		nulls = 0;
		rst = PQresultStatus(res);
		if (rst == PGRES_PIPELINE_SYNC)
			synced = true;
		else if ((rst == PGRES_TUPLES_OK || rst == PGRES_COMMAND_OK) && q < sent.n && !failed)
		{
			switch (sent.kind[q])
			{
				case PQ_ACK:
					if (deleted && PQntuples(res) == 1)
						*deleted = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
					break;
				case PQ_APPLY:
					PQclear(apply_res);
					apply_res = res;
					continue;
				case PQ_COMMIT:
					if (strcmp(PQcmdStatus(res), "COMMIT") != 0)
					{
						/* "ROLLBACK": the transaction had failed. */
						failed = res;
						failed_what = "COMMIT (rolled back)";
						continue;
					}
					/* Committed: hand the chunk over while the next runs. */
					if (apply_res)
						pipe_hand_over(apply_res, cb, chunks[sent.chunk[q]].arg);
					PQclear(apply_res);
					apply_res = NULL;
					(*ndone)++;
					if (cb->done)
						cb->done(chunks[sent.chunk[q]].arg);
					break;
				case PQ_BEGIN:
					break;
			}
		}
		else if (rst != PGRES_PIPELINE_ABORTED && !failed)
		{
			failed = res;
			failed_what = q < sent.n ? pipe_query_names[sent.kind[q]] : "batch";
			continue;
		}
		PQclear(res);
	}
	PQclear(apply_res);
	if (!synced && !failed)
		failed_what = q < sent.n ? pipe_query_names[sent.kind[q]] : "batch";
	free(sent.kind);
	free(sent.chunk);
	if (stalled)
	{
		/*
		 * Given up: the server may still commit what it has (the positions
		 * it records tell the retry on the next connection, as after any
		 * lost connection).
		 */
		PQclear(failed);
		vb_db_close(db);
		vb_metric_error(VB_E_DB_TRANSIENT);
		return vb_error_set(err, VB_TRANSIENT, "08006",
							"apply: no result for %lld s (--db-stall-timeout): connection dropped, "
							"%d of %d transactions committed before",
							(long long) (db->stall_ms / 1000), *ndone, nchunks);
	}
	if (synced && !PQexitPipelineMode(db->conn))
	{
		/* Results left unread: the next call starts on a new connection. */
		vb_warn("cannot leave pipeline mode: %s", PQerrorMessage(db->conn));
		vb_db_close(db);
		if (!failed)
			return VB_OK;		/* every result was read: all committed */
		synced = false;
	}
	if (!failed && synced)
		return VB_OK;
	st = vb_db_fail(db, failed, failed_what, err);
	/* No sync point: the connection's state is unknown, drop it. */
	if (!synced)
		vb_db_close(db);
	return st;
}
