/*-------------------------------------------------------------------------
 *
 * applier.h
 *	  Layer 4: the main loop's struct, and what the loop does with the
 *	  database (applier.c): the batch operations and the hooks that read
 *	  positions.  Only loop.c uses it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef VOLTPAY_APPLIER_H
#define VOLTPAY_APPLIER_H

#include <pthread.h>

#include "batch.h"
#include "consumer.h"
#include "db.h"
#include "fanout.h"
#include "outbox.h"
#include "spanq.h"
#include "tracer.h"
#include "zipkin.h"

typedef struct VbLoop VbLoop;

/*
 * A lane: one database connection that applies batches, with (when
 * --db-connections > 1) its own thread (lanes.c).  With one connection
 * the only lane is the loop's `ctl`, on the loop's connection, in the
 * main thread.
 */
typedef struct VbLane
{
	VbLoop	   *loop;
	int			id;				/* 0..nlanes-1; -1: the control connection */
	VbDb	   *db;
	int64_t		batch_clock_us; /* last commit, or when the pipeline went */
	int64_t    *acks;			/* the acknowledgements it carries (copy) */
	int			capacks;
	/* lanes.c, under the loop's lock */
	VbMsgList	view;			/* this round's messages: a slice of `cur` */
	pthread_t	thread;
	bool		started;
	bool		has_work;		/* a round's slice handed over, not done */
	bool		in_db;			/* inside a database call */
	bool		retrying;		/* waiting a retry backoff */
	int64_t		done_us;		/* when it finished its slice (vb_now_us) */
	VbStatus	status;			/* of its last slice */
	VbError		err;
} VbLane;

struct VbLoop
{
	const VbConfig *conf;
	VbDb	   *db;				/* positions, the outbox; the only lane's
								 * with one connection */
	VbConsumer *consumer;
	VbOutbox   *outbox;
	VbTracer   *tracer;			/* NULL: no span export */
	VbSpanQueue *spans;
	VbZipkin   *zipkin;
	VbLane		ctl;			/* the connection `db` as a lane */
	VbLane	   *lanes;			/* nlanes: &ctl when 1 */
	int			nlanes;
	VbPartMap	map;			/* partition -> lane */
	VbAckClaim	ackclaim;
	/* lanes.c: with threads, everything above is used under `lock` */
	bool		threaded;
	pthread_mutex_t lock;
	pthread_cond_t work;		/* lanes wait for a slice, or quit */
	pthread_cond_t done;		/* the main thread waits for lanes */
	int			running;		/* lanes with a slice */
	int			in_db;			/* lanes inside a database call */
	bool		quit;
	bool		publish_due;	/* new events may be in the outbox */
	int64_t		publish_idle_at;	/* next fetch when nothing is due */
	int64_t		next_lag_ms;
	int64_t		next_backlog_ms;
};

/*
 * applier.c: VbBatchOps and VbDbHooks members (arg: VbLane), the
 * consumer's positions hook (arg: VbLoop)
 */
extern VbStatus vb_applier_apply(void *arg, const VbBatchChunk *chunks, int nchunks,
								 int *ndone, VbError *err);
extern VbStatus vb_applier_quarantine(void *arg, rd_kafka_message_t *m, const char *sqlstate,
									  const char *error, bool with_key, bool *stored,
									  VbError *err);
extern void vb_applier_quarantined(void *arg, rd_kafka_message_t *m);
extern void vb_applier_resync(void *arg, const char *why);
extern bool vb_applier_positions(void *arg, rd_kafka_topic_partition_list_t *parts);
extern VbStatus vb_applier_reconnected(void *arg, VbError *err);
extern void vb_applier_db_wait(void *arg);
extern VbStatus vb_applier_trace_start(VbLoop *L, VbError *err);
extern void vb_applier_trace_stop(VbLoop *L);

#endif							/* VOLTPAY_APPLIER_H */
