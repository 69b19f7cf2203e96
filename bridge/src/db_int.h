/*-------------------------------------------------------------------------
 *
 * db_int.h
 *	  What db.c gives pipeline.c, the one file built on it: the
 *	  connection struct and the helpers both use.  Private to the two.
 *
 *-------------------------------------------------------------------------
 */
#ifndef VOLTPAY_DB_INT_H
#define VOLTPAY_DB_INT_H

#include <libpq-fe.h>

#include "db.h"
#include "pgwire.h"

/* The parameters of one apply_payment_batch_events() call, and the acks. */
typedef struct DbApplyBufs
{
	VbBuf		keys;			/* text[] */
	VbBuf		values;			/* bytea[] */
	VbBuf		partitions;		/* int4[] */
	VbBuf		offsets;		/* int8[] */
	VbBuf		timestamps;		/* timestamptz[] */
	VbBuf		traceparents;	/* text[] */
	VbBuf		acks;			/* int8[] of outbox_ack() */
} DbApplyBufs;

struct VbDb
{
	PGconn	   *conn;
	char	   *conninfo;
	char	   *role;
	char	   *app_name;		/* fallback_application_name */
	VbDbHooks	hooks;
	bool		ever_connected;	/* a later connect is a reconnect */
	bool		in_reconnect;	/* on_reconnect is running */
	int64_t		stall_ms;		/* longest wait for an apply result; 0: none */
	DbApplyBufs bufs;			/* reused by every apply */
};

extern VbStatus vb_db_ready(VbDb *db, VbError *err);
extern VbStatus vb_db_fail(VbDb *db, PGresult *res, const char *what, VbError *err);
extern const char *vb_db_traceparent(const rd_kafka_message_t *m, size_t *len);
extern void vb_db_event_from_row(const PGresult *res, int r, const int cols[8], VbEvent *e);

#endif							/* VOLTPAY_DB_INT_H */
