/*-------------------------------------------------------------------------
 *
 * consumer.h
 *	  Layer 2: the consumer side (consumer.c): group membership,
 *	  rebalances, the partitions we own and their positions, the messages
 *	  polled and in hand, pausing, offset commits and lag.
 *
 *-------------------------------------------------------------------------
 */
#ifndef VOLTPAY_CONSUMER_H
#define VOLTPAY_CONSUMER_H

#include <stdbool.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "config.h"
#include "msglist.h"

typedef struct VbConsumer VbConsumer;

/* What a rebalance asks of the caller; these run inside a poll. */
typedef struct VbConsumerHooks
{
	void	   *arg;
	/*
	 * Newly assigned partitions: set each element's offset to the next
	 * offset to apply, or RD_KAFKA_OFFSET_INVALID to start from Kafka's
	 * committed offset.  False: the positions could not be read (the
	 * partitions then start from Kafka's committed offsets, and go to the
	 * database's as soon as it answers: vb_consumer_rewind()).
	 */
	bool		(*positions) (void *arg, rd_kafka_topic_partition_list_t *parts);
	/* Partitions are about to go: let what is in flight land. */
	void		(*before_revoke) (void *arg);
	/* Partitions came: their previous owner may have left events. */
	void		(*assigned) (void *arg);
} VbConsumerHooks;

/* Reasons to pause consumption. */
#define VB_PAUSE_DB			0x1
#define VB_PAUSE_FULL		0x2
#define VB_PAUSE_STOP		0x4

/*
 * The messages polled may run ahead of --batch-size while the main loop
 * waits (for delivery reports, say), up to this many batches or bytes;
 * then the partitions are paused.  Pausing purges librdkafka's prefetched
 * messages, so pausing at once would make every batch wait for a new
 * fetch.
 */
#define VB_AHEAD_BATCHES	4
#define VB_AHEAD_BYTES		(64 * 1024 * 1024)

extern VbStatus vb_consumer_new(const VbConfig *conf, const char *brokers,
								const VbConsumerHooks *hooks, VbConsumer **out,
								VbError *err);
extern void vb_consumer_close(VbConsumer *c);

extern int	vb_consumer_poll(VbConsumer *c, int timeout_ms, int max);
extern VbMsgList *vb_consumer_next(VbConsumer *c);
extern VbMsgList *vb_consumer_cur(VbConsumer *c);
extern void vb_consumer_take(VbConsumer *c, int k);
extern void vb_consumer_done(VbConsumer *c);
extern void vb_consumer_pause(VbConsumer *c, unsigned reason, bool on);
extern bool vb_consumer_full(const VbConsumer *c);

extern void vb_consumer_applied(VbConsumer *c, rd_kafka_message_t *const *msgs, int n);
extern rd_kafka_topic_partition_list_t *vb_consumer_assignment(const VbConsumer *c);
extern int	vb_consumer_rewind(VbConsumer *c, const rd_kafka_topic_partition_list_t *positions);
extern int64_t vb_rewind_to(int64_t applied_next, bool unknown, int64_t db_next);
extern void vb_consumer_commit(VbConsumer *c, bool sync);
extern void vb_consumer_update_lag(VbConsumer *c);

/*
 * Whether a partition's database position is past its log end, from the
 * end last cached (librdkafka's watermark of the last fetch, or an earlier
 * ListOffsets: may be old) and one asked for in this pass (-1: none).
 */
typedef enum VbLogEnd
{
	VB_LOGEND_OK,				/* at or below the log end */
	VB_LOGEND_ASK,				/* past a cached end only: ask the broker */
	VB_LOGEND_BEYOND			/* past the broker's current end */
} VbLogEnd;

extern VbLogEnd vb_log_end_verdict(int64_t applied_next, int64_t cached_end, int64_t fresh_end);
extern int	vb_consumer_assigned(const VbConsumer *c, int32_t **partitions);
extern int	vb_consumer_count(const VbConsumer *c);
extern bool vb_consumer_joined(const VbConsumer *c);

#endif							/* VOLTPAY_CONSUMER_H */
