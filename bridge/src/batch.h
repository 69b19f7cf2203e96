/*-------------------------------------------------------------------------
 *
 * batch.h
 *	  Layer 3: applying the messages in hand (batch.c): transactions of
 *	  --batch-size, retries, bisection to the poison message, quarantine.
 *	  The database work and the waiting are the caller's, through
 *	  VbBatchOps, so the decisions run against fakes in the unit tests.
 *
 *-------------------------------------------------------------------------
 */
#ifndef VOLTPAY_BATCH_H
#define VOLTPAY_BATCH_H

#include <stdbool.h>

#include <librdkafka/rdkafka.h>

#include "msglist.h"
#include "util.h"

/* Most transactions sent in one round trip. */
#define VB_BATCH_PIPELINE	4

/* One transaction's messages, in offset order. */
typedef struct VbBatchChunk
{
	rd_kafka_message_t **msgs;
	int			n;
} VbBatchChunk;

typedef struct VbBatchOps
{
	void	   *arg;
	/*
	 * Applies chunks[0..nchunks), each in its own transaction, in one
	 * round trip; *ndone: how many committed (in order).  On failure the
	 * status is its class and chunks[*ndone] is the chunk that failed.
	 */
	VbStatus	(*apply) (void *arg, const VbBatchChunk *chunks, int nchunks,
						  int *ndone, VbError *err);
	/* Stores one message with its error in the quarantine. */
	VbStatus	(*quarantine) (void *arg, rd_kafka_message_t *m, const char *sqlstate,
							   const char *error, bool with_key, bool *stored,
							   VbError *err);
	/*
	 * After a transient error: waits the attempt's backoff (keeping the
	 * group membership); false when the drain deadline passed.
	 */
	bool		(*wait_retry) (void *arg, int attempt, const VbError *err,
							   const char *what);
	/* A message was quarantined: its position moves past it. */
	void		(*quarantined) (void *arg, rd_kafka_message_t *m);
	/* Events may have been written that were not produced. */
	void		(*resync) (void *arg, const char *why);
} VbBatchOps;

/* What to do after an apply. */
typedef enum VbBatchAction
{
	VB_ACT_DONE = 0,			/* committed */
	VB_ACT_RETRY,				/* transient: wait, then the same again */
	VB_ACT_SPLIT,				/* poison in a batch: halves, in order */
	VB_ACT_QUARANTINE,			/* poison, one message: set it aside */
	VB_ACT_FATAL				/* the set-up is wrong: stop */
} VbBatchAction;

/* What to do after a quarantine attempt. */
typedef enum VbQuarantineAction
{
	VB_QACT_DONE = 0,
	VB_QACT_RETRY,				/* transient: wait, then again */
	VB_QACT_WITHOUT_KEY,		/* the key itself fails: again without it */
	VB_QACT_FATAL				/* cannot be stored: no safe way on */
} VbQuarantineAction;

extern VbBatchAction vb_batch_decide(VbStatus st, int nmsgs);
extern VbQuarantineAction vb_quarantine_decide(VbStatus st, bool with_key);
extern int	vb_batch_split(const VbMsgList *l, int lo, int hi);
extern VbStatus vb_batch_apply(VbMsgList *l, int batch_size, const VbBatchOps *ops,
							   VbError *err);

#endif							/* VOLTPAY_BATCH_H */
