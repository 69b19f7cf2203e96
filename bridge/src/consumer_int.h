/*-------------------------------------------------------------------------
 *
 * consumer_int.h
 *	  State shared by consumer.c (group, rebalances, polling) and batch.c
 *	  (applying batches, the main loop).  Private to those two files.
 *
 *-------------------------------------------------------------------------
 */
#ifndef VOLTPAY_CONSUMER_INT_H
#define VOLTPAY_CONSUMER_INT_H

#include "bridge.h"

typedef struct ConsMsg
{
	rd_kafka_message_t *rkm;
	bool		revoked;		/* partition revoked while in `cur` */
} ConsMsg;

typedef struct ConsBatch
{
	ConsMsg    *m;
	int			n;
	int			cap;
	int64_t		first_ms;		/* when its first message arrived */
	size_t		bytes;			/* keys and values held */
} ConsBatch;

/*
 * `next` may run ahead of --batch-size while the main loop waits (for
 * delivery reports, say), up to this many batches or bytes; then the
 * partitions are paused.  Pausing purges librdkafka's prefetched messages,
 * so pausing at once would make every batch wait for a new fetch.
 */
#define CONS_AHEAD_BATCHES	4
#define CONS_AHEAD_BYTES	(64 * 1024 * 1024)

extern bool cons_next_full(void);
extern bool cons_paused(void);

typedef struct ConsPart
{
	bool		assigned;
	bool		touched;		/* applied since the last offset commit */
	int64_t		applied_next;	/* next offset to apply; -1: unknown */
	bool		warned_beyond;	/* "position beyond the log end" logged */
	int64_t		known_end;		/* end offset last asked for while paused */
} ConsPart;

extern rd_kafka_t *cons_rk;
extern ConsBatch cons_cur;		/* being applied */
extern ConsBatch cons_next;		/* filling */
extern uint64_t cons_consumed;	/* polled, not yet added to the metric */
extern bool cons_publish_due;	/* new events may be in the outbox */
extern int64_t cons_rebalancing_since;	/* a commit met a rebalance; 0: no */
extern bool cons_commit_all;	/* a commit failed: next one sends every position */

extern ConsPart *cons_part(int32_t p);
extern ConsPart *cons_part_peek(int32_t p);
extern rd_kafka_topic_partition_list_t *cons_assigned_list(void);
extern VbLogCtx cons_ctx(const rd_kafka_message_t *m);
extern void cons_batch_clear(ConsBatch *b);
extern void cons_fill(void);
extern void cons_close(void);

#endif							/* VOLTPAY_CONSUMER_INT_H */
