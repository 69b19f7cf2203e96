/*-------------------------------------------------------------------------
 *
 * apply_int.h
 *	  Internal state of one apply_payment_batch() call, shared by apply.c
 *	  (phases 1, 4 and the result), positions.c (phases 2 and 6),
 *	  idempotency.c (phase 3) and writer.c (phase 5).
 *
 *-------------------------------------------------------------------------
 */
#ifndef VOLTPAY_APPLY_INT_H
#define VOLTPAY_APPLY_INT_H

#include "executor/spi.h"
#include "utils/date.h"
#include "utils/hsearch.h"

#include "voltpay.h"

typedef enum ApplyStatus
{
	APPLY_PENDING = 0,
	APPLY_APPLIED,
	APPLY_DUPLICATE,
	APPLY_REJECTED
} ApplyStatus;

/* What the batch knows of one input message. */
typedef struct ApplyItem
{
	ApplyStatus status;
	VpReason	reason;
	char	   *detail;
	bool		has_id;
	pg_uuid_t	message_id;
	VpPayment  *payment;		/* valid messages only, in the batch context */
	uint8		hash[VP_HASH_LEN];
	const char *rawkey;			/* record key's bytes, or NULL: no key */
	size_t		rawkeylen;
	const char *key;			/* the key as text, NULL when there is none or
								 * it is not text (invalid_key) */
	bytea	   *payload;		/* raw value or NULL */
	bool		has_coord;
	int32		partition;
	int64		offset;
	bool		has_ts;
	TimestampTz kafka_ts;
	char		traceparent[VP_TRACEPARENT_LEN + 1];	/* of its events */
	int			first;			/* earlier item with the same id, or -1 */
	bool		dead_letter;	/* quarantined now: emit a dead-letter event */
} ApplyItem;

/* Recorded state of one idempotency id seen by this batch. */
typedef struct ApplyIdEntry
{
	pg_uuid_t	id;				/* hash key */
	int			first;			/* first item carrying this id */
	bool		inserted;		/* inserted by this batch */
	bool		found;			/* found already recorded */
	uint8		hash[VP_HASH_LEN];	/* recorded payload hash when found */
	DateADT		processed_on;
} ApplyIdEntry;

/* One partition of the batch. */
typedef struct ApplyPartition
{
	int32		partition;
	int64		recorded;		/* next offset recorded before the batch, -1 */
	int64		next_offset;	/* max offset in the batch + 1 */
	int64		applied;
	int64		duplicate;
	int64		rejected;
} ApplyPartition;

/*
 * An outbox event queued by the batch, kept for the result of
 * apply_payment_batch_events(); in the batch's memory context.
 */
typedef struct ApplyEvent
{
	int			item;			/* index of its message */
	int64		event_id;
	const char *kind;
	const char *key;			/* NULL: no key */
	bytea	   *value;
	VpHeaders	headers;
} ApplyEvent;

typedef struct ApplyBatch
{
	int			n;
	ApplyItem  *items;
	const char *topic;
	bool		quarantine;
	TimestampTz now;
	HTAB	   *ids;
	int			npartitions;
	ApplyPartition *partitions;
	MemoryContext cxt;			/* the call's batch context */
	bool		want_events;	/* keep the queued events for the result */
	int			nevents;
	ApplyEvent *events;			/* 2 per message at most, input order */
} ApplyBatch;


/* positions.c */
extern void vp_apply_positions(ApplyBatch *batch);
extern void vp_apply_record_positions(ApplyBatch *batch);

/* idempotency.c */
extern void vp_apply_idempotency(ApplyBatch *batch);
extern void vp_apply_classify(ApplyBatch *batch);

/* writer.c */
extern void vp_apply_write(ApplyBatch *batch);

#endif							/* VOLTPAY_APPLY_INT_H */
