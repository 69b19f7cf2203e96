/*-------------------------------------------------------------------------
 *
 * db.h
 *	  Layer 1: the bridge's database connection (db.c) and its apply
 *	  pipeline (pipeline.c).
 *
 * Every call returns a VbStatus; on failure the VbError holds the SQLSTATE
 * and a one-line message, and the status is the error's class (see
 * vb_db_classify()).  The caller passes what the calls need; the only
 * calls back out of this layer are the VbDbHooks: on_wait, which a
 * pipelined apply runs while the server works, on_reconnect, and
 * on_block around waits that block.
 *
 *-------------------------------------------------------------------------
 */
#ifndef VOLTPAY_DB_H
#define VOLTPAY_DB_H

#include <stdbool.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "event.h"
#include "util.h"

typedef struct VbDb VbDb;

typedef struct VbDbHooks
{
	void	   *arg;
	/* While a pipelined apply waits for the server (must not use the db). */
	void		(*on_wait) (void *arg);

	/*
	 * After a reconnect, before the call that reconnected goes on: the
	 * caller may check the new server's state (it may use the database)
	 * and refuse the call with a status other than VB_OK.
	 */
	VbStatus	(*on_reconnect) (void *arg, VbError *err);

	/*
	 * Around a wait that blocks on the server (a pipelined apply's poll, a
	 * connect): true before, false after.  The caller may let other
	 * threads run meanwhile; this connection is not touched in between.
	 * NULL: nothing.
	 */
	void		(*on_block) (void *arg, bool blocking);
} VbDbHooks;

/* One message's row of apply_payment_batch_events(), after the COMMIT. */
typedef void (*VbApplyRowFn) (void *arg, int ordinal, const char *message_id,
							  const char *status, const char *reason,
							  const char *detail, const char *trace_id);

/* One event of the apply's result, after the COMMIT; it may take the
 * event's fields over (leaving them NULL). */
typedef void (*VbApplyEventFn) (void *arg, VbEvent *e);

/* A chunk committed (after its rows and events were handed over). */
typedef void (*VbApplyDoneFn) (void *arg);

typedef struct VbApplyCallbacks
{
	VbApplyRowFn row;
	VbApplyEventFn event;
	VbApplyDoneFn done;
} VbApplyCallbacks;

/* One transaction's worth of messages for vb_db_apply(). */
typedef struct VbApplyChunk
{
	rd_kafka_message_t **msgs;
	int			n;
	void	   *arg;			/* for the callbacks */
	const char **traceparents;	/* NULL, or per message one to send instead
								 * of its header (NULL: the header) */
} VbApplyChunk;

/* db.c */
extern VbDb *vb_db_new(const char *conninfo, const char *role, const VbDbHooks *hooks);
extern void vb_db_set_app_name(VbDb *db, const char *name);
extern void vb_db_set_stall_timeout(VbDb *db, int seconds);
extern bool vb_db_stalled(int64_t now_ms, int64_t last_result_ms, int64_t stall_ms);
extern void vb_db_free(VbDb *db);
extern VbStatus vb_db_connect(VbDb *db, VbError *err);
extern bool vb_db_is_connected(const VbDb *db);
extern void vb_db_close(VbDb *db);
extern VbStatus vb_db_classify(const char *sqlstate);
extern VbStatus vb_db_quarantine(VbDb *db, const rd_kafka_message_t *m,
								 const char *topic, bool with_key,
								 const char *sqlstate, const char *error,
								 bool *stored, VbError *err);
extern VbStatus vb_db_positions(VbDb *db, const char *topic,
								void (*fn) (void *arg, int32_t partition,
											int64_t next_offset),
								void *arg, VbError *err);
extern VbStatus vb_db_outbox_fetch(VbDb *db, int max, const int32_t *partitions,
								   int npartitions, const int64_t *exclude,
								   int nexclude, VbEvent **events,
								   int *nevents, VbError *err);
extern VbStatus vb_db_outbox_ack(VbDb *db, const int64_t *ids, int n,
								 int64_t *deleted, VbError *err);
extern VbStatus vb_db_outbox_count(VbDb *db, int cap, const int32_t *partitions,
								   int npartitions, int64_t *count,
								   VbError *err);

/* pipeline.c */
extern VbStatus vb_db_apply(VbDb *db, const VbApplyChunk *chunks, int nchunks,
							const char *topic, const int64_t *acks, int nacks,
							int64_t *deleted, const VbApplyCallbacks *cb,
							int *ndone, VbError *err);

#endif							/* VOLTPAY_DB_H */
