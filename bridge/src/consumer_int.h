/*-------------------------------------------------------------------------
 *
 * consumer_int.h
 *	  The consumer's struct, shared by consumer.c (the handle, polling,
 *	  rebalances) and offsets.c (commits and lag, built on it).  Private
 *	  to those two files; everyone else goes through consumer.h.
 *
 *-------------------------------------------------------------------------
 */
#ifndef VOLTPAY_CONSUMER_INT_H
#define VOLTPAY_CONSUMER_INT_H

#include "consumer.h"

/* Offsets are committed to Kafka at most this often (and at shutdown). */
#define CONS_COMMIT_INTERVAL_MS	1000

typedef struct ConsPart
{
	bool		assigned;
	bool		touched;		/* applied since the last offset commit */
	int64_t		applied_next;	/* next offset to apply; -1: unknown */
	bool		warned_beyond;	/* "position beyond the log end" logged */
	int64_t		known_end;		/* end offset last asked for while paused */
	bool		unknown;		/* assigned without the database's position */
} ConsPart;

struct VbConsumer
{
	const VbConfig *conf;
	VbConsumerHooks hooks;
	rd_kafka_t *rk;
	VbMsgList	next;			/* filling */
	VbMsgList	cur;			/* being applied */
	ConsPart   *parts;
	int			nparts;
	unsigned	pause_mask;
	bool		joined;
	int64_t		next_commit_ms;
	int64_t		next_ends_ms;	/* next ListOffsets while paused */
	bool		ends_wanted;	/* a position is past a cached end: ask */
	int64_t		last_revoke_ms;

	/*
	 * Set when an offset commit is answered "rebalance in progress" or a
	 * revocation begins, cleared when the rebalance ends
	 * (cons_rebalance_hold): commits are held meanwhile, because
	 * librdkafka 2.0 treats a commit answered ILLEGAL_GENERATION (sent
	 * just as the generation moves) as a lost assignment (librdkafka issue
	 * #4059).
	 */
	int64_t		rebalancing_since;
	bool		commit_all;		/* a commit failed: the next sends every
								 * position */
};

extern ConsPart *vb_cons_part(VbConsumer *c, int32_t p);
extern rd_kafka_topic_partition_list_t *vb_cons_assigned_list(const VbConsumer *c);

#endif							/* VOLTPAY_CONSUMER_INT_H */
