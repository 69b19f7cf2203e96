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

#include "batch.h"
#include "consumer.h"
#include "db.h"
#include "outbox.h"
#include "spanq.h"
#include "tracer.h"
#include "zipkin.h"

typedef struct VbLoop VbLoop;

struct VbLoop
{
	const VbConfig *conf;
	VbDb	   *db;
	VbConsumer *consumer;
	VbOutbox   *outbox;
	VbTracer   *tracer;			/* NULL: no span export */
	VbSpanQueue *spans;
	VbZipkin   *zipkin;
	int64_t		batch_clock_us; /* last commit, or when the pipeline went */
	bool		publish_due;	/* new events may be in the outbox */
	int64_t		publish_idle_at;	/* next fetch when nothing is due */
	int64_t		next_lag_ms;
	int64_t		next_backlog_ms;
};

/* applier.c: VbBatchOps and VbConsumerHooks/VbDbHooks members (arg: VbLoop) */
extern VbStatus vb_applier_apply(void *arg, const VbBatchChunk *chunks, int nchunks,
								 int *ndone, VbError *err);
extern VbStatus vb_applier_quarantine(void *arg, rd_kafka_message_t *m, const char *sqlstate,
									  const char *error, bool with_key, bool *stored,
									  VbError *err);
extern void vb_applier_quarantined(void *arg, rd_kafka_message_t *m);
extern void vb_applier_resync(void *arg, const char *why);
extern bool vb_applier_positions(void *arg, rd_kafka_topic_partition_list_t *parts);
extern VbStatus vb_applier_reconnected(void *arg, VbError *err);
extern VbStatus vb_applier_trace_start(VbLoop *L, VbError *err);
extern void vb_applier_trace_stop(VbLoop *L);

#endif							/* VOLTPAY_APPLIER_H */
