/*-------------------------------------------------------------------------
 *
 * db.c
 *	  The bridge's database side: one libpq connection with search_path
 *	  empty, SET ROLE to the writer role, and prepared statements for the
 *	  five functions the voltpay_writer role may execute.
 *
 * Parameters are sent in binary (arrays built here in PostgreSQL's array
 * wire format), so raw Kafka payloads reach bytea untouched.  Every
 * PGresult is checked and cleared here; callers see a VbDbStatus and,
 * on failure, a VbDbError with the SQLSTATE and a one-line message.
 *
 * Error classes (first two characters of the SQLSTATE):
 *	  08 40 53 57 58, 25, 55P03, or no connection: transient, retried
 *	  28 3D 3F 42: fatal (the set-up is wrong, not a message)
 *	  anything else: the batch holds a poison message
 *
 *-------------------------------------------------------------------------
 */
#include <arpa/inet.h>
#include <poll.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "bridge.h"

/* Type OIDs (stable, from pg_type.dat). */
#define OID_BOOL		16
#define OID_BYTEA		17
#define OID_INT8		20
#define OID_INT4		23
#define OID_TEXT		25
#define OID_BYTEA_ARR	1001
#define OID_INT4_ARR	1007
#define OID_TEXT_ARR	1009
#define OID_INT8_ARR	1016
#define OID_TSTZ		1184
#define OID_TSTZ_ARR	1185

/* Microseconds from the Unix epoch to PostgreSQL's (2000-01-01). */
#define PG_EPOCH_US		INT64_C(946684800000000)

typedef struct DbStmt
{
	const char *name;
	const char *sql;
	int			nparams;
	Oid			types[9];
} DbStmt;

enum
{
	STMT_APPLY = 0,
	STMT_QUARANTINE,
	STMT_POSITIONS,
	STMT_FETCH,
	STMT_ACK,
	STMT_COUNT,
	STMT__N
};

static const DbStmt db_stmts[STMT__N] = {
	{"vb_apply",
		"SELECT r.ordinal, r.message_id::text, r.status, r.reason, r.detail, r.trace_id,"
		"       r.event_id, r.event_kind, r.event_key, r.event_value, r.header_names, r.header_values"
		"  FROM voltpay.apply_payment_batch_events($1, $2, $3, $4, $5, $6, $7) AS r",
		7, {OID_TEXT_ARR, OID_BYTEA_ARR, OID_TEXT, OID_INT4_ARR, OID_INT8_ARR, OID_TSTZ_ARR,
	OID_TEXT_ARR}},
	{"vb_quarantine",
		"SELECT voltpay.quarantine_message($1, $2, $3, $4, $5, $6, $7, $8, $9)",
	9, {OID_TEXT, OID_BYTEA, OID_TEXT, OID_INT4, OID_INT8, OID_TSTZ, OID_TEXT, OID_TEXT, OID_TEXT}},
	{"vb_positions",
		"SELECT p.partition, p.next_offset FROM voltpay.partition_positions($1) AS p",
	1, {OID_TEXT}},
	{"vb_fetch",
		"SELECT o.event_id, o.kind, o.event_key, o.event_value, o.message_id::text,"
		"       o.src_partition, h.names, h.vals"
		"  FROM voltpay.outbox_fetch($1, $2) AS o"
		"  LEFT JOIN LATERAL ("
		"       SELECT pg_catalog.array_agg(e.key ORDER BY e.key),"
		"              pg_catalog.array_agg(e.value ORDER BY e.key)"
		"         FROM pg_catalog.jsonb_each_text(o.headers) AS e) AS h(names, vals) ON true"
		" WHERE o.event_id <> ALL ($3)"
		" ORDER BY o.event_id",
	3, {OID_INT4, OID_INT4_ARR, OID_INT8_ARR}},
	{"vb_ack", "SELECT voltpay.outbox_ack($1)", 1, {OID_INT8_ARR}},
	{"vb_count", "SELECT pg_catalog.count(*) FROM voltpay.outbox_fetch($1, $2) AS o",
	2, {OID_INT4, OID_INT4_ARR}},
};

/* A growable byte buffer for binary parameters. */
typedef struct DbBuf
{
	char	   *data;
	size_t		len;
	size_t		cap;
} DbBuf;

static PGconn *db_conn;
static DbBuf db_bufs[7];

static bool db_text_array(const char *p, int len, char ***out, int *nout);
static char *db_dup(const PGresult *res, int r, int c, size_t *len);

/*
 * db_reserve / db_put_*
 *	  Append to a DbBuf, in network byte order.
 */
static void
db_reserve(DbBuf *b, size_t more)
{
	if (b->len + more <= b->cap)
		return;
	while (b->len + more > b->cap)
		b->cap = b->cap ? b->cap * 2 : 4096;
	b->data = realloc(b->data, b->cap);
	if (!b->data)
	{
		fprintf(stderr, "voltpay-bridge: out of memory\n");
		abort();
	}
}

static void
db_put_i32(DbBuf *b, int32_t v)
{
	uint32_t	n = htonl((uint32_t) v);

	db_reserve(b, 4);
	memcpy(b->data + b->len, &n, 4);
	b->len += 4;
}

static void
db_put_i64(DbBuf *b, int64_t v)
{
	db_put_i32(b, (int32_t) ((uint64_t) v >> 32));
	db_put_i32(b, (int32_t) ((uint64_t) v & 0xffffffffu));
}

static void
db_put_bytes(DbBuf *b, const void *p, size_t len)
{
	db_reserve(b, len);
	if (len)
		memcpy(b->data + b->len, p, len);
	b->len += len;
}

/*
 * db_array_begin
 *	  Header of a one-dimensional binary array of n elements.
 */
static void
db_array_begin(DbBuf *b, Oid elem, int n)
{
	b->len = 0;
	db_put_i32(b, n > 0 ? 1 : 0);	/* ndim */
	db_put_i32(b, 1);				/* flags: may have nulls */
	db_put_i32(b, (int32_t) elem);
	if (n > 0)
	{
		db_put_i32(b, n);			/* dimension */
		db_put_i32(b, 1);			/* lower bound */
	}
}

/*
 * db_array_elem
 *	  One element of a binary array: length and bytes, or NULL when p is.
 */
static void
db_array_elem(DbBuf *b, const void *p, size_t len)
{
	if (!p)
	{
		db_put_i32(b, -1);
		return;
	}
	db_put_i32(b, (int32_t) len);
	db_put_bytes(b, p, len);
}

/*
 * db_get_i32
 *	  Network-order integers out of a binary result value.
 */
static int32_t
db_get_i32(const char *p)
{
	uint32_t	n;

	memcpy(&n, p, 4);
	return (int32_t) ntohl(n);
}

static int64_t
db_get_i64(const char *p)
{
	return (int64_t) (((uint64_t) (uint32_t) db_get_i32(p) << 32) |
					  (uint32_t) db_get_i32(p + 4));
}

/*
 * db_classify
 *	  Maps a failed result (or a lost connection) onto a VbDbStatus.
 */
static VbDbStatus
db_classify(const char *sqlstate)
{
	static const char *const transient[] = {"08", "40", "53", "57", "58", "25"};
	static const char *const fatal[] = {"28", "3D", "3F", "42"};

	if (!db_conn || PQstatus(db_conn) != CONNECTION_OK || !sqlstate || strlen(sqlstate) != 5)
		return VB_DB_TRANSIENT;
	if (strcmp(sqlstate, "55P03") == 0)
		return VB_DB_TRANSIENT;
	for (size_t i = 0; i < sizeof(transient) / sizeof(transient[0]); i++)
		if (strncmp(sqlstate, transient[i], 2) == 0)
			return VB_DB_TRANSIENT;
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		if (strncmp(sqlstate, fatal[i], 2) == 0)
			return VB_DB_FATAL;
	return VB_DB_POISON;
}

/*
 * db_fail
 *	  Records why res (NULL: the connection) failed, clears res, rolls back
 *	  an open transaction or drops a broken connection, and returns the
 *	  error's class.
 */
static VbDbStatus
db_fail(PGresult *res, const char *what, VbDbError *err)
{
	const char *sqlstate = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorMessage(res) : NULL;
	bool		has_sqlstate = sqlstate != NULL;
	char		tmp[sizeof(err->message)];

	if (!msg || !*msg)
		msg = db_conn ? PQerrorMessage(db_conn) : "no connection";
	if (!msg || !*msg)
		msg = "unknown error";
	snprintf(tmp, sizeof(tmp), "%s: %s", what, msg);
	vb_one_line(tmp);
	memcpy(err->message, tmp, sizeof(tmp));
	snprintf(err->sqlstate, sizeof(err->sqlstate), "%s", sqlstate ? sqlstate : "08006");
	{
		const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;

		snprintf(err->primary, sizeof(err->primary), "%s", primary ? primary : msg);
		vb_one_line(err->primary);
	}
	err->status = db_classify(sqlstate);
	if (res)
		PQclear(res);

	if (db_conn && PQstatus(db_conn) == CONNECTION_OK &&
		(err->status != VB_DB_TRANSIENT || has_sqlstate))
	{
		if (PQtransactionStatus(db_conn) != PQTRANS_IDLE)
		{
			PGresult   *r = PQexecParams(db_conn, "ROLLBACK", 0, NULL, NULL, NULL, NULL, 0);

			if (PQresultStatus(r) != PGRES_COMMAND_OK)
				vb_db_close();
			PQclear(r);
		}
	}
	else
		vb_db_close();
	if (err->status == VB_DB_TRANSIENT)
		vb_metric_error(VB_E_DB_TRANSIENT);
	else if (err->status == VB_DB_FATAL)
		vb_metric_error(VB_E_DB_FATAL);
	else
		vb_metric_error(VB_E_DB_POISON);
	return err->status;
}

/*
 * db_command
 *	  Runs a parameterless command (BEGIN, COMMIT, SET ROLE ...).
 */
static VbDbStatus
db_command(const char *sql, VbDbError *err)
{
	PGresult   *res = PQexecParams(db_conn, sql, 0, NULL, NULL, NULL, NULL, 0);

	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
		return db_fail(res, sql, err);
	PQclear(res);
	return VB_DB_OK;
}

/*
 * db_notice
 *	  Server notices and warnings go to the log.
 */
static void
db_notice(void *arg, const char *message)
{
	char		tmp[1024];

	(void) arg;
	snprintf(tmp, sizeof(tmp), "%s", message);
	vb_one_line(tmp);
	vb_log(VB_LOG_INFO, NULL, "database notice: %s", tmp);
}

/*
 * vb_db_connect
 *	  (Re)connects: libpq conninfo from --db, PG* variables for the rest;
 *	  search_path empty; SET ROLE --db-role; prepares the statements.
 *	  False with err filled on failure.
 */
bool
vb_db_connect(VbDbError *err)
{
	const char *keys[12];
	const char *vals[12];
	char	   *options;
	const char *pgoptions = getenv("PGOPTIONS");
	int			k = 0;

	vb_db_close();
	if (pgoptions && *pgoptions)
	{
		options = malloc(strlen(pgoptions) + 32);
		sprintf(options, "%s -csearch_path=", pgoptions);
	}
	else
		options = strdup("-csearch_path=");
	keys[k] = "fallback_application_name", vals[k++] = "voltpay-bridge";
	keys[k] = "client_encoding", vals[k++] = "UTF8";
	keys[k] = "connect_timeout", vals[k++] = "10";
	/* A dead network path fails within about 30 s instead of hanging. */
	keys[k] = "keepalives_idle", vals[k++] = "10";
	keys[k] = "keepalives_interval", vals[k++] = "5";
	keys[k] = "keepalives_count", vals[k++] = "3";
	keys[k] = "tcp_user_timeout", vals[k++] = "30000";
	keys[k] = "options", vals[k++] = options;
	keys[k] = "dbname", vals[k++] = vb_conf.db;
	keys[k] = NULL, vals[k] = NULL;

	db_conn = PQconnectdbParams(keys, vals, 1);
	free(options);
	if (!db_conn || PQstatus(db_conn) != CONNECTION_OK)
	{
		snprintf(err->message, sizeof(err->message), "cannot connect to the database: %s",
				 db_conn ? PQerrorMessage(db_conn) : "out of memory");
		vb_one_line(err->message);
		snprintf(err->sqlstate, sizeof(err->sqlstate), "08001");
		snprintf(err->primary, sizeof(err->primary), "%.500s", err->message);
		err->status = VB_DB_TRANSIENT;
		vb_db_close();
		vb_metric_error(VB_E_DB_CONNECT);
		return false;
	}
	PQsetNoticeProcessor(db_conn, db_notice, NULL);

	if (db_command("SELECT pg_catalog.set_config('search_path', '', false)", err) != VB_DB_OK)
		return false;
	if (vb_conf.db_role && *vb_conf.db_role)
	{
		char	   *ident = PQescapeIdentifier(db_conn, vb_conf.db_role, strlen(vb_conf.db_role));
		char	   *sql = malloc(strlen(ident) + 16);

		sprintf(sql, "SET ROLE %s", ident);
		PQfreemem(ident);
		if (db_command(sql, err) != VB_DB_OK)
		{
			free(sql);
			return false;
		}
		free(sql);
	}
	for (int i = 0; i < STMT__N; i++)
	{
		PGresult   *res = PQprepare(db_conn, db_stmts[i].name, db_stmts[i].sql,
									db_stmts[i].nparams, db_stmts[i].types);

		if (PQresultStatus(res) != PGRES_COMMAND_OK)
		{
			db_fail(res, "preparing statements (is the voltpay extension installed, "
					"version 0.2.0 or later? ALTER EXTENSION voltpay UPDATE)", err);
			return false;
		}
		PQclear(res);
	}
	vb_info("database connected: %s@%s:%s/%s as role %s, server %d",
			PQuser(db_conn), PQhost(db_conn), PQport(db_conn), PQdb(db_conn),
			vb_conf.db_role && *vb_conf.db_role ? vb_conf.db_role : PQuser(db_conn),
			PQserverVersion(db_conn));
	return true;
}

/*
 * vb_db_ensure
 *	  Connected, reconnecting if the connection was lost.
 */
bool
vb_db_ensure(VbDbError *err)
{
	if (vb_db_is_connected())
		return true;
	return vb_db_connect(err);
}

/*
 * vb_db_is_connected
 *	  Whether the connection is up (as libpq last saw it).
 */
bool
vb_db_is_connected(void)
{
	return db_conn && PQstatus(db_conn) == CONNECTION_OK;
}

/*
 * vb_db_close
 *	  Drops the connection (and at exit the parameter buffers).
 */
void
vb_db_close(void)
{
	if (db_conn)
		PQfinish(db_conn);
	db_conn = NULL;
}

/*
 * db_free_buffers
 *	  Frees the reusable parameter buffers.
 */
static void
db_free_buffers(void)
{
	for (size_t i = 0; i < sizeof(db_bufs) / sizeof(db_bufs[0]); i++)
	{
		free(db_bufs[i].data);
		db_bufs[i].data = NULL;
		db_bufs[i].len = db_bufs[i].cap = 0;
	}
}

/*
 * db_ready
 *	  Connection check at the start of each call.
 */
static bool
db_ready(VbDbError *err)
{
	if (vb_db_ensure(err))
		return true;
	return false;
}

/*
 * db_traceparent
 *	  The message's W3C traceparent header if it is text, else NULL.
 */
static const char *
db_traceparent(rd_kafka_message_t *m, size_t *len)
{
	rd_kafka_headers_t *hdrs;
	const void *val;
	size_t		size;

	if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR ||
		rd_kafka_header_get_last(hdrs, "traceparent", &val, &size) != RD_KAFKA_RESP_ERR_NO_ERROR ||
		!val || size == 0 || size > 256 || !vb_utf8_valid(val, size))
		return NULL;
	*len = size;
	return val;
}

/*
 * db_event_kind
 *	  VB_KIND_* of an outbox kind name.
 */
static int
db_event_kind(const char *name)
{
	if (strcmp(name, "read") == 0)
		return VB_KIND_READ;
	if (strcmp(name, "email") == 0)
		return VB_KIND_EMAIL;
	if (strcmp(name, "dead_letter") == 0)
		return VB_KIND_DEAD_LETTER;
	return VB_KIND_UNKNOWN;
}

/*
 * db_event_headers
 *	  The header name and value arrays (binary text[]) of row r, columns
 *	  c and c + 1, into e.  A malformed pair is logged and left out.
 */
static void
db_event_headers(const PGresult *res, int r, int c, VbEvent *e)
{
	char	  **vals = NULL;
	int			nvals = 0;

	if (PQgetisnull(res, r, c))
		return;
	if (!db_text_array(PQgetvalue(res, r, c), PQgetlength(res, r, c),
					   &e->header_names, &e->nheaders) ||
		PQgetisnull(res, r, c + 1) ||
		!db_text_array(PQgetvalue(res, r, c + 1), PQgetlength(res, r, c + 1),
					   &vals, &nvals) || nvals != e->nheaders)
	{
		vb_warn("outbox event %" PRId64 ": malformed headers, sent without them",
				e->event_id);
		for (int i = 0; i < nvals; i++)
			free(vals[i]);
		free(vals);
		vals = NULL;
		for (int i = 0; i < e->nheaders; i++)
			free(e->header_names[i]);
		free(e->header_names);
		e->header_names = NULL;
		e->nheaders = 0;
	}
	e->header_values = vals;
}

/*
 * db_apply_rows
 *	  Hands the committed apply result (binary) over: fn gets each
 *	  message's row once, efn each event, in event order.
 */
static void
db_apply_rows(const PGresult *res, VbApplyRowFn fn, VbApplyEventFn efn, void *arg)
{
	int			last = 0;

	for (int r = 0; r < PQntuples(res); r++)
	{
		int			ordinal = db_get_i32(PQgetvalue(res, r, 0));

		if (ordinal != last && fn)
			fn(arg, ordinal,
			   PQgetisnull(res, r, 1) ? NULL : PQgetvalue(res, r, 1),
			   PQgetvalue(res, r, 2),
			   PQgetisnull(res, r, 3) ? NULL : PQgetvalue(res, r, 3),
			   PQgetisnull(res, r, 4) ? NULL : PQgetvalue(res, r, 4),
			   PQgetisnull(res, r, 5) ? NULL : PQgetvalue(res, r, 5));
		last = ordinal;
		if (efn && !PQgetisnull(res, r, 6))
		{
			VbEvent		e = {0};

			e.event_id = db_get_i64(PQgetvalue(res, r, 6));
			e.kind_name = db_dup(res, r, 7, NULL);
			e.kind = db_event_kind(e.kind_name);
			e.key = db_dup(res, r, 8, &e.key_len);
			e.value = db_dup(res, r, 9, &e.value_len);
			e.message_id = db_dup(res, r, 1, NULL);
			e.src_partition = -1;
			db_event_headers(res, r, 10, &e);
			efn(arg, &e);
			vb_db_events_free_one(&e);
		}
	}
}

/*
 * db_wait_busy
 *	  Until a result can be read without blocking: meanwhile the outbox
 *	  produces earlier batches' events and serves delivery reports, so
 *	  that work overlaps the server's.  Returns at once if the connection
 *	  fails (PQgetResult() then reports it).
 */
static void
db_wait_busy(void)
{
	while (PQisBusy(db_conn))
	{
		struct pollfd pfd = {.fd = PQsocket(db_conn), .events = POLLIN};

		vb_outbox_wait_work();
		if (pfd.fd < 0 || poll(&pfd, 1, 5) < 0 || !PQconsumeInput(db_conn))
			return;
	}
}

/* What each query of an apply pipeline is, to tell its results apart. */
typedef enum DbQuery
{
	DBQ_BEGIN,
	DBQ_ACK,
	DBQ_APPLY,
	DBQ_COMMIT
} DbQuery;

static const char *const db_query_names[] = {
	"BEGIN", "outbox_ack", "apply_payment_batch_events", "COMMIT"
};

/*
 * db_apply_params
 *	  The binary parameters of apply_payment_batch_events() for n messages
 *	  of topic, built in db_bufs (valid until the next call).
 */
static void
db_apply_params(rd_kafka_message_t **msgs, int n, const char *topic,
				const char **values, int *lengths)
{
	db_array_begin(&db_bufs[0], OID_TEXT, n);
	db_array_begin(&db_bufs[1], OID_BYTEA, n);
	db_array_begin(&db_bufs[3], OID_INT4, n);
	db_array_begin(&db_bufs[4], OID_INT8, n);
	db_array_begin(&db_bufs[5], OID_TSTZ, n);
	db_array_begin(&db_bufs[6], OID_TEXT, n);
	for (int i = 0; i < n; i++)
	{
		rd_kafka_message_t *m = msgs[i];
		int64_t		ts = rd_kafka_message_timestamp(m, NULL);
		size_t		tplen = 0;
		const char *tp = db_traceparent(m, &tplen);

		db_array_elem(&db_bufs[0], m->key, m->key_len);
		db_array_elem(&db_bufs[1], m->payload, m->len);
		db_put_i32(&db_bufs[3], 4);
		db_put_i32(&db_bufs[3], m->partition);
		db_put_i32(&db_bufs[4], 8);
		db_put_i64(&db_bufs[4], m->offset);
		if (ts < 0)
			db_put_i32(&db_bufs[5], -1);
		else
		{
			db_put_i32(&db_bufs[5], 8);
			db_put_i64(&db_bufs[5], ts * 1000 - PG_EPOCH_US);
		}
		db_array_elem(&db_bufs[6], tp, tplen);
	}
	for (int i = 0; i < 7; i++)
	{
		values[i] = i == 2 ? topic : db_bufs[i].data;
		lengths[i] = i == 2 ? (int) strlen(topic) : (int) db_bufs[i].len;
	}
}

/*
 * vb_db_apply
 *	  Applies chunks[0..nchunks), each in its own transaction, sent at once
 *	  in libpq's pipeline mode with one sync point at the end:
 *		BEGIN; [outbox_ack(acks), first chunk only]; apply; COMMIT; ...
 *	  The server runs them back to back.  As each chunk's COMMIT succeeds,
 *	  fn gets each of its messages' result row, efn each event it queued,
 *	  in event order (efn may take the event's fields over), and dfn the
 *	  chunk; *ndone counts them.  After a failure the server skips
 *	  everything up to the sync point, so no later chunk is applied: the
 *	  failed transaction is rolled back (the acknowledgements with it when
 *	  it is the first) and the class of the failure returned.  *deleted
 *	  gets how many acknowledged events were still pending.
 */
VbDbStatus
vb_db_apply(const VbApplyChunk *chunks, int nchunks, const char *topic,
			const int64_t *acks, int nacks, int64_t *deleted,
			VbApplyRowFn fn, VbApplyEventFn efn, VbApplyDoneFn dfn,
			int *ndone, VbDbError *err)
{
	DbQuery    *kind;
	int		   *chunk_of;
	int			nq = 0;
	int			q = 0;
	int			nulls = 0;
	PGresult   *failed = NULL;
	const char *failed_what = NULL;
	PGresult   *apply_res = NULL;
	bool		synced = false;
	int			formats[7] = {1, 1, 1, 1, 1, 1, 1};
	VbDbStatus	st;

	*ndone = 0;
	if (!db_ready(err))
		return err->status;
	if (!PQenterPipelineMode(db_conn))
		return db_fail(NULL, "entering pipeline mode", err);

	kind = malloc(sizeof(DbQuery) * (size_t) (4 * nchunks));
	chunk_of = malloc(sizeof(int) * (size_t) (4 * nchunks));
	for (int c = 0; c < nchunks; c++)
	{
		const char *values[7];
		int			lengths[7];

		kind[nq] = DBQ_BEGIN, chunk_of[nq++] = c;
		PQsendQueryParams(db_conn, "BEGIN", 0, NULL, NULL, NULL, NULL, 0);
		if (c == 0 && nacks > 0)
		{
			int			ackf[1] = {1};

			db_array_begin(&db_bufs[2], OID_INT8, nacks);
			for (int i = 0; i < nacks; i++)
			{
				db_put_i32(&db_bufs[2], 8);
				db_put_i64(&db_bufs[2], acks[i]);
			}
			values[0] = db_bufs[2].data;
			lengths[0] = (int) db_bufs[2].len;
			kind[nq] = DBQ_ACK, chunk_of[nq++] = c;
			PQsendQueryPrepared(db_conn, "vb_ack", 1, values, lengths, ackf, 0);
		}
		/* libpq copies the parameters into its buffer: db_bufs are free again. */
		db_apply_params(chunks[c].msgs, chunks[c].n, topic, values, lengths);
		kind[nq] = DBQ_APPLY, chunk_of[nq++] = c;
		PQsendQueryPrepared(db_conn, "vb_apply", 7, values, lengths, formats, 1);
		kind[nq] = DBQ_COMMIT, chunk_of[nq++] = c;
		PQsendQueryParams(db_conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0);
	}
	if (!PQpipelineSync(db_conn))
	{
		free(kind);
		free(chunk_of);
		st = db_fail(NULL, "sending the batch", err);
		vb_db_close();
		return st;
	}

	/*
	 * One result and a NULL per query, then the sync point.  Two NULLs in a
	 * row mean nothing more will come: libpq gave up on the connection
	 * (after a lost connection it can report it so while its status still
	 * says CONNECTION_OK).
	 */
	while (!synced && PQstatus(db_conn) == CONNECTION_OK)
	{
		PGresult   *res;
		ExecStatusType rst;

		db_wait_busy();
		res = PQgetResult(db_conn);
		if (res == NULL)
		{
			if (++nulls > 1 || ++q > nq)
				break;
			continue;
		}
		nulls = 0;
		rst = PQresultStatus(res);
		if (rst == PGRES_PIPELINE_SYNC)
			synced = true;
		else if ((rst == PGRES_TUPLES_OK || rst == PGRES_COMMAND_OK) && q < nq && !failed)
		{
			switch (kind[q])
			{
				case DBQ_ACK:
					if (deleted && PQntuples(res) == 1)
						*deleted = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
					break;
				case DBQ_APPLY:
					PQclear(apply_res);
					apply_res = res;
					continue;
				case DBQ_COMMIT:
					if (strcmp(PQcmdStatus(res), "COMMIT") != 0)
					{
						/* "ROLLBACK": the transaction had failed. */
						failed = res;
						failed_what = "COMMIT (rolled back)";
						continue;
					}
					/* Committed: hand the chunk over while the next runs. */
					if (apply_res)
						db_apply_rows(apply_res, fn, efn, chunks[chunk_of[q]].arg);
					PQclear(apply_res);
					apply_res = NULL;
					(*ndone)++;
					if (dfn)
						dfn(chunks[chunk_of[q]].arg);
					break;
				case DBQ_BEGIN:
					break;
			}
		}
		else if (rst != PGRES_PIPELINE_ABORTED && !failed)
		{
			failed = res;
			failed_what = q < nq ? db_query_names[kind[q]] : "batch";
			continue;
		}
		PQclear(res);
	}
	PQclear(apply_res);
	if (!synced && !failed)
		failed_what = q < nq ? db_query_names[kind[q]] : "batch";
	free(kind);
	free(chunk_of);
	if (synced)
		PQexitPipelineMode(db_conn);
	if (!failed && synced)
		return VB_DB_OK;
	st = db_fail(failed, failed_what, err);
	/* No sync point: the connection's state is unknown, drop it. */
	if (!synced && db_conn)
		vb_db_close();
	return st;
}

/*
 * vb_db_quarantine
 *	  quarantine_message() for one message in its own transaction, with its
 *	  traceparent header (the dead letter continues the trace); the record
 *	  key is sent only when with_key.  *stored is false when the message was
 *	  already quarantined.
 */
VbDbStatus
vb_db_quarantine(rd_kafka_message_t *m, const char *topic, bool with_key,
				 const char *sqlstate, const char *error, bool *stored,
				 VbDbError *err)
{
	const char *values[9];
	int			lengths[9];
	int			formats[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
	size_t		tplen = 0;
	const char *tp = db_traceparent(m, &tplen);
	int32_t		part = (int32_t) htonl((uint32_t) m->partition);
	DbBuf		off = {0},
				ts = {0};
	int64_t		tsms = rd_kafka_message_timestamp(m, NULL);
	PGresult   *res;
	VbDbStatus	st = VB_DB_OK;

	if (!db_ready(err))
		return err->status;
	db_put_i64(&off, m->offset);
	if (tsms >= 0)
		db_put_i64(&ts, tsms * 1000 - PG_EPOCH_US);

	values[0] = with_key ? m->key : NULL;
	lengths[0] = (int) m->key_len;
	values[1] = m->payload;
	lengths[1] = (int) m->len;
	values[2] = topic;
	lengths[2] = (int) strlen(topic);
	values[3] = (const char *) &part;
	lengths[3] = 4;
	values[4] = off.data;
	lengths[4] = 8;
	values[5] = tsms >= 0 ? ts.data : NULL;
	lengths[5] = 8;
	values[6] = sqlstate && *sqlstate ? sqlstate : NULL;
	lengths[6] = values[6] ? (int) strlen(sqlstate) : 0;
	values[7] = error;
	lengths[7] = error ? (int) strlen(error) : 0;
	values[8] = tp;
	lengths[8] = (int) tplen;

	if (db_command("BEGIN", err) != VB_DB_OK)
		st = err->status;
	else
	{
		res = PQexecPrepared(db_conn, "vb_quarantine", 9, values, lengths, formats, 1);
		if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
			st = db_fail(res, "quarantine_message", err);
		else
		{
			*stored = !PQgetisnull(res, 0, 0) && PQgetvalue(res, 0, 0)[0] != 0;
			PQclear(res);
			if (db_command("COMMIT", err) != VB_DB_OK)
				st = err->status;
		}
	}
	free(off.data);
	free(ts.data);
	return st;
}

/*
 * vb_db_positions
 *	  partition_positions(topic): fn gets each recorded partition's next
 *	  offset.
 */
VbDbStatus
vb_db_positions(const char *topic,
				void (*fn) (void *arg, int32_t partition, int64_t next_offset),
				void *arg, VbDbError *err)
{
	const char *values[1] = {topic};
	PGresult   *res;

	if (!db_ready(err))
		return err->status;
	res = PQexecPrepared(db_conn, "vb_positions", 1, values, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		return db_fail(res, "partition_positions", err);
	for (int r = 0; r < PQntuples(res); r++)
		fn(arg, (int32_t) atoi(PQgetvalue(res, r, 0)),
		   strtoll(PQgetvalue(res, r, 1), NULL, 10));
	PQclear(res);
	return VB_DB_OK;
}

/*
 * db_partitions_param
 *	  The int[] of source partitions for outbox_fetch(), into buf.
 */
static void
db_partitions_param(DbBuf *buf, const int32_t *partitions, int n)
{
	db_array_begin(buf, OID_INT4, n);
	for (int i = 0; i < n; i++)
	{
		db_put_i32(buf, 4);
		db_put_i32(buf, partitions[i]);
	}
}

/*
 * db_text_array
 *	  Parses a binary text[] value into n malloc'd strings (NULL elements
 *	  become "").  False when malformed.
 */
static bool
db_text_array(const char *p, int len, char ***out, int *nout)
{
	const char *end = p + len;
	int			ndim,
				n;

	*out = NULL;
	*nout = 0;
	if (len < 12)
		return false;
	ndim = db_get_i32(p);
	if (ndim == 0)
		return true;
	if (ndim != 1 || len < 20)
		return false;
	n = db_get_i32(p + 12);
	p += 20;
	if (n < 0 || n > 100000)
		return false;
	*out = calloc((size_t) n + 1, sizeof(char *));
	for (int i = 0; i < n; i++)
	{
		int32_t		elen;

		if (end - p < 4)
			return false;
		elen = db_get_i32(p);
		p += 4;
		if (elen < 0)
			elen = 0;
		if (end - p < elen)
			return false;
		(*out)[i] = strndup(p, (size_t) elen);
		(*nout)++;
		p += elen;
	}
	return true;
}

/*
 * db_dup
 *	  Copy of a binary column value with a NUL after it; NULL for SQL NULL.
 */
static char *
db_dup(const PGresult *res, int r, int c, size_t *len)
{
	char	   *s;
	int			l;

	if (PQgetisnull(res, r, c))
	{
		if (len)
			*len = 0;
		return NULL;
	}
	l = PQgetlength(res, r, c);
	s = malloc((size_t) l + 1);
	memcpy(s, PQgetvalue(res, r, c), (size_t) l);
	s[l] = '\0';
	if (len)
		*len = (size_t) l;
	return s;
}

/*
 * vb_db_outbox_fetch
 *	  outbox_fetch(max + nexclude, partitions) without the events of
 *	  exclude[] (those already in flight): up to max of the oldest other
 *	  events of our source partitions (and of none), in event_id order,
 *	  headers as name/value arrays.  Free with vb_db_events_free().
 */
VbDbStatus
vb_db_outbox_fetch(int max, const int32_t *partitions, int npartitions,
				   const int64_t *exclude, int nexclude,
				   VbEvent **events, int *nevents, VbDbError *err)
{
	DbBuf		parts = {0};
	DbBuf		excl = {0};
	int32_t		maxn = (int32_t) htonl((uint32_t) (max + nexclude));
	const char *values[3];
	int			lengths[3];
	int			formats[3] = {1, 1, 1};
	PGresult   *res;
	VbEvent    *ev;
	int			n;

	*events = NULL;
	*nevents = 0;
	if (!db_ready(err))
		return err->status;
	db_partitions_param(&parts, partitions, npartitions);
	db_array_begin(&excl, OID_INT8, nexclude);
	for (int i = 0; i < nexclude; i++)
	{
		db_put_i32(&excl, 8);
		db_put_i64(&excl, exclude[i]);
	}
	values[0] = (const char *) &maxn;
	lengths[0] = 4;
	values[1] = parts.data;
	lengths[1] = (int) parts.len;
	values[2] = excl.data;
	lengths[2] = (int) excl.len;
	res = PQexecPrepared(db_conn, "vb_fetch", 3, values, lengths, formats, 1);
	free(parts.data);
	free(excl.data);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		return db_fail(res, "outbox_fetch", err);

	n = PQntuples(res);
	ev = calloc((size_t) n + 1, sizeof(VbEvent));
	for (int r = 0; r < n; r++)
	{
		VbEvent    *e = &ev[r];

		e->event_id = db_get_i64(PQgetvalue(res, r, 0));
		e->kind_name = db_dup(res, r, 1, NULL);
		e->kind = db_event_kind(e->kind_name);
		e->key = db_dup(res, r, 2, &e->key_len);
		e->value = db_dup(res, r, 3, &e->value_len);
		e->message_id = db_dup(res, r, 4, NULL);
		e->src_partition = PQgetisnull(res, r, 5) ? -1 : db_get_i32(PQgetvalue(res, r, 5));
		db_event_headers(res, r, 6, e);
	}
	PQclear(res);
	*events = ev;
	*nevents = n;
	return VB_DB_OK;
}

/*
 * vb_db_events_free_one
 *	  Frees what one event holds (not the event itself).
 */
void
vb_db_events_free_one(VbEvent *e)
{
	free(e->kind_name);
	free(e->key);
	free(e->value);
	free(e->message_id);
	for (int h = 0; h < e->nheaders; h++)
	{
		free(e->header_names[h]);
		if (e->header_values)
			free(e->header_values[h]);
	}
	free(e->header_names);
	free(e->header_values);
}

/*
 * vb_db_events_free
 *	  Frees what vb_db_outbox_fetch() returned.
 */
void
vb_db_events_free(VbEvent *events, int n)
{
	if (!events)
		return;
	for (int i = 0; i < n; i++)
		vb_db_events_free_one(&events[i]);
	free(events);
}

/*
 * vb_db_outbox_ack
 *	  outbox_ack(ids) in a transaction with synchronous_commit off: *deleted
 *	  gets how many were still pending.  An acknowledgement lost in a crash
 *	  only means the events are published again (at-least-once), so it need
 *	  not wait for a WAL flush; batches keep the server's setting.
 */
VbDbStatus
vb_db_outbox_ack(const int64_t *ids, int n, int64_t *deleted, VbDbError *err)
{
	DbBuf		arr = {0};
	const char *values[1];
	int			lengths[1];
	int			formats[1] = {1};
	PGresult   *res;

	if (!db_ready(err))
		return err->status;
	db_array_begin(&arr, OID_INT8, n);
	for (int i = 0; i < n; i++)
	{
		db_put_i32(&arr, 8);
		db_put_i64(&arr, ids[i]);
	}
	values[0] = arr.data;
	lengths[0] = (int) arr.len;
	if (db_command("BEGIN", err) != VB_DB_OK ||
		db_command("SET LOCAL synchronous_commit TO off", err) != VB_DB_OK)
	{
		free(arr.data);
		return err->status;
	}
	res = PQexecPrepared(db_conn, "vb_ack", 1, values, lengths, formats, 0);
	free(arr.data);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		return db_fail(res, "outbox_ack", err);
	*deleted = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	if (db_command("COMMIT", err) != VB_DB_OK)
		return err->status;
	return VB_DB_OK;
}

/*
 * vb_db_outbox_count
 *	  Pending events of our partitions, counted up to cap.
 */
VbDbStatus
vb_db_outbox_count(int cap, const int32_t *partitions, int npartitions,
				   int64_t *count, VbDbError *err)
{
	DbBuf		parts = {0};
	int32_t		capn = (int32_t) htonl((uint32_t) cap);
	const char *values[2];
	int			lengths[2];
	int			formats[2] = {1, 1};
	PGresult   *res;

	if (!db_ready(err))
		return err->status;
	db_partitions_param(&parts, partitions, npartitions);
	values[0] = (const char *) &capn;
	lengths[0] = 4;
	values[1] = parts.data;
	lengths[1] = (int) parts.len;
	res = PQexecPrepared(db_conn, "vb_count", 2, values, lengths, formats, 0);
	free(parts.data);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		return db_fail(res, "outbox count", err);
	*count = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return VB_DB_OK;
}

/*
 * vb_db_shutdown
 *	  Closes the connection and frees the parameter buffers (at exit).
 */
void
vb_db_shutdown(void)
{
	vb_db_close();
	db_free_buffers();
}
