/*-------------------------------------------------------------------------
 *
 * db.c
 *	  Layer 1: the bridge's database connection: one libpq connection with
 *	  search_path empty, SET ROLE to the writer role, and prepared
 *	  statements for the functions the voltpay_writer role may execute
 *	  (apply_record_batch() since extension 0.3.0: record keys as bytes);
 *	  the single-statement calls (quarantine, positions, outbox fetch, ack
 *	  and count).  The pipelined apply is in pipeline.c.
 *
 * Parameters are sent in binary (pgwire.c), so raw Kafka payloads reach
 * bytea untouched.  Every PGresult is checked and cleared here; callers
 * see a VbStatus and, on failure, a VbError with the SQLSTATE and a
 * one-line message.
 *
 * Error classes (vb_db_classify(), first two characters of the SQLSTATE):
 *	  08 40 53 57 58, 25, 55P03, or no connection: transient, retried
 *	  28 3D 3F 42: fatal (the set-up is wrong, not a message)
 *	  anything else: poison (the batch holds a message that fails)
 *
 *-------------------------------------------------------------------------
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_int.h"
#include "log.h"
#include "metrics.h"

typedef struct DbStmt
{
	const char *name;
	const char *sql;
	int			nparams;
	Oid			types[9];
} DbStmt;

static const DbStmt db_stmts[] = {
	{"vb_apply",
		"SELECT r.ordinal, r.message_id::text, r.status, r.reason, r.detail, r.trace_id,"
		"       r.event_id, r.event_kind, r.event_key, r.event_value, r.header_names, r.header_values"
		"  FROM voltpay.apply_record_batch($1, $2, $3, $4, $5, $6, $7) AS r",
		7, {VB_OID_BYTEA_ARR, VB_OID_BYTEA_ARR, VB_OID_TEXT, VB_OID_INT4_ARR, VB_OID_INT8_ARR,
	VB_OID_TSTZ_ARR, VB_OID_BYTEA_ARR}},
	{"vb_quarantine",
		"SELECT voltpay.quarantine_message($1, $2, $3, $4, $5, $6, $7, $8, $9)",
		9, {VB_OID_TEXT, VB_OID_BYTEA, VB_OID_TEXT, VB_OID_INT4, VB_OID_INT8, VB_OID_TSTZ,
	VB_OID_TEXT, VB_OID_TEXT, VB_OID_TEXT}},
	{"vb_positions",
		"SELECT p.partition, p.next_offset FROM voltpay.partition_positions($1) AS p",
	1, {VB_OID_TEXT}},
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
	3, {VB_OID_INT4, VB_OID_INT4_ARR, VB_OID_INT8_ARR}},
	{"vb_ack", "SELECT voltpay.outbox_ack($1)", 1, {VB_OID_INT8_ARR}},
	{"vb_count", "SELECT pg_catalog.count(*) FROM voltpay.outbox_fetch($1, $2) AS o",
	2, {VB_OID_INT4, VB_OID_INT4_ARR}},
};

#define DB_NSTMTS ((int) (sizeof(db_stmts) / sizeof(db_stmts[0])))

/*
 * vb_db_new
 *	  A connection object for conninfo (libpq conninfo or URL; "": the PG*
 *	  variables), SET ROLE role after connecting unless it is "".  Not
 *	  connected yet.
 */
VbDb *
vb_db_new(const char *conninfo, const char *role, const VbDbHooks *hooks)
{
	VbDb	   *db = vb_xcalloc(1, sizeof(VbDb));

	db->conninfo = vb_xstrdup(conninfo ? conninfo : "");
	db->role = vb_xstrdup(role ? role : "");
	db->app_name = vb_xstrdup("voltpay-bridge");
	if (hooks)
		db->hooks = *hooks;
	return db;
}

/*
 * vb_db_set_app_name
 *	  The fallback_application_name of the next connects (the conninfo's
 *	  application_name wins): tells the connections of one bridge apart in
 *	  pg_stat_activity.
 */
void
vb_db_set_app_name(VbDb *db, const char *name)
{
	free(db->app_name);
	db->app_name = vb_xstrdup(name);
}

/*
 * vb_db_stalled
 *	  Whether an apply that last heard from its connection at
 *	  last_result_ms has waited too long by now_ms (stall_ms; 0: never).
 */
bool
vb_db_stalled(int64_t now_ms, int64_t last_result_ms, int64_t stall_ms)
{
	return stall_ms > 0 && now_ms - last_result_ms >= stall_ms;
}

/*
 * vb_db_set_stall_timeout
 *	  How long an apply waits for its next result before it gives the
 *	  connection up (--db-stall-timeout); 0: for ever.
 */
void
vb_db_set_stall_timeout(VbDb *db, int seconds)
{
	db->stall_ms = (int64_t) seconds * 1000;
}

/*
 * vb_db_free
 *	  Closes the connection and frees everything.
 */
void
vb_db_free(VbDb *db)
{
	if (!db)
		return;
	vb_db_close(db);
	vb_buf_free(&db->bufs.keys);
	vb_buf_free(&db->bufs.values);
	vb_buf_free(&db->bufs.partitions);
	vb_buf_free(&db->bufs.offsets);
	vb_buf_free(&db->bufs.timestamps);
	vb_buf_free(&db->bufs.traceparents);
	vb_buf_free(&db->bufs.acks);
	free(db->conninfo);
	free(db->role);
	free(db->app_name);
	free(db);
}

/*
 * vb_db_classify
 *	  The class of a SQLSTATE (see the file header); NULL or malformed:
 *	  transient (the connection is in doubt).
 */
VbStatus
vb_db_classify(const char *sqlstate)
{
	static const char *const transient[] = {"08", "40", "53", "57", "58", "25"};
	static const char *const fatal[] = {"28", "3D", "3F", "42"};

	if (!sqlstate || strlen(sqlstate) != 5)
		return VB_TRANSIENT;
	if (strcmp(sqlstate, "55P03") == 0)
		return VB_TRANSIENT;
	for (size_t i = 0; i < sizeof(transient) / sizeof(transient[0]); i++)
		if (strncmp(sqlstate, transient[i], 2) == 0)
			return VB_TRANSIENT;
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		if (strncmp(sqlstate, fatal[i], 2) == 0)
			return VB_FATAL;
	return VB_POISON;
}

/*
 * vb_db_fail
 *	  Records why res (NULL: the connection) failed, clears res, rolls back
 *	  an open transaction or drops a broken connection, counts the error
 *	  and returns its class.
 */
VbStatus
vb_db_fail(VbDb *db, PGresult *res, const char *what, VbError *err)
{
	const char *sqlstate = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorMessage(res) : NULL;
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	bool		has_sqlstate = sqlstate != NULL;
	bool		connected = vb_db_is_connected(db);

	if (!msg || !*msg)
		msg = db->conn ? PQerrorMessage(db->conn) : "no connection";
	if (!msg || !*msg)
		msg = "unknown error";
	vb_error_set(err, connected ? vb_db_classify(sqlstate) : VB_TRANSIENT,
				 sqlstate ? sqlstate : "08006", "%s: %s", what, msg);
	snprintf(err->primary, sizeof(err->primary), "%s", primary ? primary : msg);
	vb_one_line(err->primary);
	if (res)
		PQclear(res);

	if (connected && (err->status != VB_TRANSIENT || has_sqlstate))
	{
		if (PQtransactionStatus(db->conn) != PQTRANS_IDLE)
		{
			PGresult   *r = PQexecParams(db->conn, "ROLLBACK", 0, NULL, NULL, NULL, NULL, 0);

			if (PQresultStatus(r) != PGRES_COMMAND_OK)
				vb_db_close(db);
			PQclear(r);
		}
	}
	else
		vb_db_close(db);
	vb_metric_error(err->status == VB_TRANSIENT ? VB_E_DB_TRANSIENT :
					err->status == VB_FATAL ? VB_E_DB_FATAL : VB_E_DB_POISON);
	return err->status;
}

/*
 * db_command
 *	  Runs a parameterless command (BEGIN, COMMIT, SET ROLE ...).
 */
static VbStatus
db_command(VbDb *db, const char *sql, VbError *err)
{
	PGresult   *res = PQexecParams(db->conn, sql, 0, NULL, NULL, NULL, NULL, 0);

	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
		return vb_db_fail(db, res, sql, err);
	PQclear(res);
	return VB_OK;
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
 * db_set_role
 *	  SET ROLE to the configured role, if any.
 */
static VbStatus
db_set_role(VbDb *db, VbError *err)
{
	char	   *ident;
	char	   *sql;
	VbStatus	st;

	if (!*db->role)
		return VB_OK;
	ident = PQescapeIdentifier(db->conn, db->role, strlen(db->role));
	if (!ident)
		return vb_db_fail(db, NULL, "quoting the role name", err);
	sql = vb_xmalloc(strlen(ident) + 16);
	sprintf(sql, "SET ROLE %s", ident);
	PQfreemem(ident);
	st = db_command(db, sql, err);
	free(sql);
	return st;
}

/*
 * vb_db_connect
 *	  (Re)connects: libpq conninfo from --db, PG* variables for the rest;
 *	  search_path empty; SET ROLE; prepares the statements.
 */
VbStatus
vb_db_connect(VbDb *db, VbError *err)
{
	const char *keys[12];
	const char *vals[12];
	char	   *options;
	const char *pgoptions = getenv("PGOPTIONS");
	PGconn	   *conn;
	int			k = 0;

	vb_db_close(db);
	if (pgoptions && *pgoptions)
	{
		options = vb_xmalloc(strlen(pgoptions) + 32);
		sprintf(options, "%s -csearch_path=", pgoptions);
	}
	else
		options = vb_xstrdup("-csearch_path=");
	keys[k] = "fallback_application_name", vals[k++] = db->app_name;
	keys[k] = "client_encoding", vals[k++] = "UTF8";
	keys[k] = "connect_timeout", vals[k++] = "10";
	/* A dead network path fails within about 30 s instead of hanging. */
	keys[k] = "keepalives_idle", vals[k++] = "10";
	keys[k] = "keepalives_interval", vals[k++] = "5";
	keys[k] = "keepalives_count", vals[k++] = "3";
	keys[k] = "tcp_user_timeout", vals[k++] = "30000";
	keys[k] = "options", vals[k++] = options;
	keys[k] = "dbname", vals[k++] = db->conninfo;
	keys[k] = NULL, vals[k] = NULL;

	/* Into a local: with on_block, another thread may look at db->conn. */
	if (db->hooks.on_block)
		db->hooks.on_block(db->hooks.arg, true);
	conn = PQconnectdbParams(keys, vals, 1);
	if (db->hooks.on_block)
		db->hooks.on_block(db->hooks.arg, false);
	db->conn = conn;
	free(options);
	if (!db->conn || PQstatus(db->conn) != CONNECTION_OK)
	{
		vb_error_set(err, VB_TRANSIENT, "08001", "cannot connect to the database: %s",
					 db->conn ? PQerrorMessage(db->conn) : "out of memory");
		vb_db_close(db);
		vb_metric_error(VB_E_DB_CONNECT);
		return VB_TRANSIENT;
	}
	PQsetNoticeProcessor(db->conn, db_notice, NULL);

	if (db_command(db, "SELECT pg_catalog.set_config('search_path', '', false)", err) != VB_OK ||
		db_set_role(db, err) != VB_OK)
		return err->status;
	for (int i = 0; i < DB_NSTMTS; i++)
	{
		PGresult   *res = PQprepare(db->conn, db_stmts[i].name, db_stmts[i].sql,
									db_stmts[i].nparams, db_stmts[i].types);

		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			return vb_db_fail(db, res, "preparing statements (is the voltpay extension installed, "
							  "version 0.3.0 or later? ALTER EXTENSION voltpay UPDATE)", err);
		PQclear(res);
	}
	vb_info("database connected: %s@%s:%s/%s as role %s, server %d",
			PQuser(db->conn), PQhost(db->conn), PQport(db->conn), PQdb(db->conn),
			*db->role ? db->role : PQuser(db->conn), PQserverVersion(db->conn));
	db->ever_connected = true;
	return VB_OK;
}

/*
 * vb_db_is_connected
 *	  Whether the connection is up (as libpq last saw it).
 */
bool
vb_db_is_connected(const VbDb *db)
{
	return db->conn && PQstatus(db->conn) == CONNECTION_OK;
}

/*
 * vb_db_close
 *	  Drops the connection; the next call reconnects.
 */
void
vb_db_close(VbDb *db)
{
	if (db->conn)
		PQfinish(db->conn);
	db->conn = NULL;
}

/*
 * vb_db_ready
 *	  Connected, reconnecting if the connection was lost: the start of
 *	  every call.  After a reconnect the on_reconnect hook runs (its own
 *	  calls do not run it again) and may refuse the call.
 */
VbStatus
vb_db_ready(VbDb *db, VbError *err)
{
	VbStatus	st;

	if (vb_db_is_connected(db))
		return VB_OK;
	if ((st = vb_db_connect(db, err)) != VB_OK)
		return st;
	if (!db->hooks.on_reconnect || db->in_reconnect)
		return VB_OK;
	db->in_reconnect = true;
	st = db->hooks.on_reconnect(db->hooks.arg, err);
	db->in_reconnect = false;
	return st;
}

/*
 * vb_db_traceparent
 *	  The message's W3C traceparent header if it is text, else NULL.
 */
const char *
vb_db_traceparent(const rd_kafka_message_t *m, size_t *len)
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
 * db_dup
 *	  Copy of a binary column value with a NUL after it; NULL for SQL NULL.
 */
static char *
db_dup(const PGresult *res, int r, int c, size_t *len)
{
	if (PQgetisnull(res, r, c))
	{
		if (len)
			*len = 0;
		return NULL;
	}
	if (len)
		*len = (size_t) PQgetlength(res, r, c);
	return vb_xmemdup0(PQgetvalue(res, r, c), (size_t) PQgetlength(res, r, c));
}

/*
 * db_event_headers
 *	  The header name and value arrays (binary text[]) of row r, columns
 *	  names and vals, into e.  A malformed pair is logged and left out.
 */
static void
db_event_headers(const PGresult *res, int r, int names, int vals, VbEvent *e)
{
	char	  **v = NULL;
	int			nv = 0;

	if (PQgetisnull(res, r, names))
		return;
	if (!vb_pg_text_array(PQgetvalue(res, r, names), (size_t) PQgetlength(res, r, names),
						  &e->header_names, &e->nheaders) ||
		PQgetisnull(res, r, vals) ||
		!vb_pg_text_array(PQgetvalue(res, r, vals), (size_t) PQgetlength(res, r, vals),
						  &v, &nv) || nv != e->nheaders)
	{
		vb_warn("outbox event %" PRId64 ": malformed headers, sent without them",
				e->event_id);
		vb_pg_strv_free(v, nv);
		vb_pg_strv_free(e->header_names, e->nheaders);
		e->header_names = NULL;
		e->nheaders = 0;
		return;
	}
	e->header_values = v;
}

/*
 * vb_db_event_from_row
 *	  Decodes one event of a binary result row; cols gives the columns of
 *	  event_id, kind, key, value, message_id, source partition (-1: none),
 *	  header names and header values.
 */
void
vb_db_event_from_row(const PGresult *res, int r, const int cols[8], VbEvent *e)
{
	memset(e, 0, sizeof(*e));
	e->event_id = vb_pg_get_i64(PQgetvalue(res, r, cols[0]));
	e->kind_name = db_dup(res, r, cols[1], NULL);
	e->kind = vb_event_kind(e->kind_name);
	e->key = db_dup(res, r, cols[2], &e->key_len);
	e->value = db_dup(res, r, cols[3], &e->value_len);
	e->message_id = db_dup(res, r, cols[4], NULL);
	e->src_partition = cols[5] < 0 || PQgetisnull(res, r, cols[5]) ? -1 :
		vb_pg_get_i32(PQgetvalue(res, r, cols[5]));
	db_event_headers(res, r, cols[6], cols[7], e);
}

/*
 * vb_db_quarantine
 *	  quarantine_message() for one message in its own transaction, with its
 *	  traceparent header (the dead letter continues the trace); the record
 *	  key is sent only when with_key.  *stored is false when the message was
 *	  already quarantined.
 */
VbStatus
vb_db_quarantine(VbDb *db, const rd_kafka_message_t *m, const char *topic, bool with_key,
				 const char *sqlstate, const char *error, bool *stored, VbError *err)
{
	const char *values[9];
	int			lengths[9];
	int			formats[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
	size_t		tplen = 0;
	const char *tp = vb_db_traceparent(m, &tplen);
	int32_t		part = (int32_t) htonl((uint32_t) m->partition);
	VbBuf		off = {0},
				ts = {0};
	int64_t		tsms = rd_kafka_message_timestamp(m, NULL);
	PGresult   *res;
	VbStatus	st;

	if (vb_db_ready(db, err) != VB_OK)
		return err->status;
	vb_pg_put_i64(&off, m->offset);
	if (tsms >= 0)
		vb_pg_put_i64(&ts, vb_pg_tstz_from_unix_ms(tsms));

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

	st = db_command(db, "BEGIN", err);
	if (st == VB_OK)
	{
		res = PQexecPrepared(db->conn, "vb_quarantine", 9, values, lengths, formats, 1);
		if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
			st = vb_db_fail(db, res, "quarantine_message", err);
		else
		{
			*stored = !PQgetisnull(res, 0, 0) && PQgetvalue(res, 0, 0)[0] != 0;
			PQclear(res);
			st = db_command(db, "COMMIT", err);
		}
	}
	vb_buf_free(&off);
	vb_buf_free(&ts);
	return st;
}

/*
 * vb_db_positions
 *	  partition_positions(topic): fn gets each recorded partition's next
 *	  offset.
 */
VbStatus
vb_db_positions(VbDb *db, const char *topic,
				void (*fn) (void *arg, int32_t partition, int64_t next_offset),
				void *arg, VbError *err)
{
	const char *values[1] = {topic};
	PGresult   *res;

	if (vb_db_ready(db, err) != VB_OK)
		return err->status;
	res = PQexecPrepared(db->conn, "vb_positions", 1, values, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		return vb_db_fail(db, res, "partition_positions", err);
	for (int r = 0; r < PQntuples(res); r++)
		fn(arg, (int32_t) atoi(PQgetvalue(res, r, 0)),
		   strtoll(PQgetvalue(res, r, 1), NULL, 10));
	PQclear(res);
	return VB_OK;
}

/*
 * vb_db_outbox_fetch
 *	  outbox_fetch(max + nexclude, partitions) without the events of
 *	  exclude[] (those already in flight): up to max of the oldest other
 *	  events of our source partitions (and of none), in event_id order,
 *	  headers as name/value arrays.  Free with vb_events_free().
 */
VbStatus
vb_db_outbox_fetch(VbDb *db, int max, const int32_t *partitions, int npartitions,
				   const int64_t *exclude, int nexclude,
				   VbEvent **events, int *nevents, VbError *err)
{
	static const int cols[8] = {0, 1, 2, 3, 4, 5, 6, 7};
	VbBuf		parts = {0};
	VbBuf		excl = {0};
	int32_t		maxn = (int32_t) htonl((uint32_t) (max + nexclude));
	const char *values[3];
	int			lengths[3];
	int			formats[3] = {1, 1, 1};
	PGresult   *res;
	VbEvent    *ev;
	int			n;

	*events = NULL;
	*nevents = 0;
	if (vb_db_ready(db, err) != VB_OK)
		return err->status;
	vb_pg_int4_array(&parts, partitions, npartitions);
	vb_pg_int8_array(&excl, exclude, nexclude);
	values[0] = (const char *) &maxn;
	lengths[0] = 4;
	values[1] = parts.data;
	lengths[1] = (int) parts.len;
	values[2] = excl.data;
	lengths[2] = (int) excl.len;
	res = PQexecPrepared(db->conn, "vb_fetch", 3, values, lengths, formats, 1);
	vb_buf_free(&parts);
	vb_buf_free(&excl);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		return vb_db_fail(db, res, "outbox_fetch", err);

	n = PQntuples(res);
	ev = vb_xcalloc((size_t) n + 1, sizeof(VbEvent));
	for (int r = 0; r < n; r++)
		vb_db_event_from_row(res, r, cols, &ev[r]);
	PQclear(res);
	*events = ev;
	*nevents = n;
	return VB_OK;
}

/*
 * vb_db_outbox_ack
 *	  outbox_ack(ids) in a transaction with synchronous_commit off: *deleted
 *	  gets how many were still pending.  An acknowledgement lost in a crash
 *	  only means the events are published again (at-least-once), so it need
 *	  not wait for a WAL flush; batches keep the server's setting.
 */
VbStatus
vb_db_outbox_ack(VbDb *db, const int64_t *ids, int n, int64_t *deleted, VbError *err)
{
	VbBuf		arr = {0};
	const char *values[1];
	int			lengths[1];
	int			formats[1] = {1};
	PGresult   *res;

	if (vb_db_ready(db, err) != VB_OK)
		return err->status;
	vb_pg_int8_array(&arr, ids, n);
	values[0] = arr.data;
	lengths[0] = (int) arr.len;
	if (db_command(db, "BEGIN", err) != VB_OK ||
		db_command(db, "SET LOCAL synchronous_commit TO off", err) != VB_OK)
	{
		vb_buf_free(&arr);
		return err->status;
	}
	res = PQexecPrepared(db->conn, "vb_ack", 1, values, lengths, formats, 0);
	vb_buf_free(&arr);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		return vb_db_fail(db, res, "outbox_ack", err);
	*deleted = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return db_command(db, "COMMIT", err);
}

/*
 * vb_db_outbox_count
 *	  Pending events of our partitions, counted up to cap.
 */
VbStatus
vb_db_outbox_count(VbDb *db, int cap, const int32_t *partitions, int npartitions,
				   int64_t *count, VbError *err)
{
	VbBuf		parts = {0};
	int32_t		capn = (int32_t) htonl((uint32_t) cap);
	const char *values[2];
	int			lengths[2];
	int			formats[2] = {1, 1};
	PGresult   *res;

	if (vb_db_ready(db, err) != VB_OK)
		return err->status;
	vb_pg_int4_array(&parts, partitions, npartitions);
	values[0] = (const char *) &capn;
	lengths[0] = 4;
	values[1] = parts.data;
	lengths[1] = (int) parts.len;
	res = PQexecPrepared(db->conn, "vb_count", 2, values, lengths, formats, 0);
	vb_buf_free(&parts);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		return vb_db_fail(db, res, "outbox count", err);
	*count = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return VB_OK;
}
