/*-------------------------------------------------------------------------
 *
 * apply.c
 *	  voltpay.apply_payment_batch(): validates and applies a batch of raw
 *	  Kafka payment messages exactly once, in the caller's transaction.
 *
 * One call works in phases, each over the whole batch:
 *
 *	1. parse and validate every message (message.c), in a per-row memory
 *	   context; valid payments are copied into the batch context;
 *	2. messages below their partition's recorded position are duplicates;
 *	3. idempotency (idempotency.c): the batch's message ids recorded in id
 *	   order (so that concurrent batches lock in the same order and cannot
 *	   deadlock); ids already recorded with the same payload hash are
 *	   duplicates, with another hash idempotency_conflict.  Repeats of an id
 *	   inside the batch follow the same rules against its first occurrence;
 *	4. rejected messages are quarantined (one row per topic/partition/
 *	   offset) unless quarantine is false;
 *	5. writer tables and outbox events are written with multi-row heap
 *	   inserts (writer.c, bulk.c), in input order, so per-account order is
 *	   kept;
 *	6. each partition's next offset and counters are recorded (positions.c,
 *	   which also does phase 2).
 *
 * A bad message never raises an ERROR; a bad call (arrays of different
 * lengths, NULL arrays) does.  Nothing is committed here.
 *
 * apply_payment_batch_events() runs the same phases and also returns the
 * outbox events of phase 5, so a publisher need not read them back.
 *
 * apply_record_batch() (0.3.0) is apply_payment_batch_events() with the
 * record keys and traceparent headers as bytea[], the bytes Kafka carried:
 * a key that is not text is then the message's invalid_key rejection
 * instead of an ERROR of the whole call, and a traceparent that is not
 * text is one that is not valid.  The text[] functions read the same bytes.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/cryptohash.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/hsearch.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "voltpay.h"
#include "apply_int.h"
#include "spi_util.h"

PG_FUNCTION_INFO_V1(apply_payment_batch);
PG_FUNCTION_INFO_V1(apply_payment_batch_events);
PG_FUNCTION_INFO_V1(apply_record_batch);

/* Plans kept for the session. */
static SPIPlanPtr apply_plan_reject = NULL;

/*
 * Memory of the batches: kept for the session (apply_run()), its first
 * block APPLY_KEPT_BYTES, which holds a batch of 500 messages with its
 * rows (about 3.5 MB).
 */
#define APPLY_KEPT_BYTES	(4 * 1024 * 1024)
static MemoryContext apply_session_cxt = NULL;
static bool apply_session_busy = false;

/*
 * apply_array
 *	  Deconstructs a one-dimensional array argument; ERROR on more
 *	  dimensions.  A NULL array gives -1 elements.
 */
static int
apply_array(FunctionCallInfo fcinfo, int argno, const char *name,
			Datum **elems, bool **nulls)
{
	ArrayType  *arr;
	int16		typlen;
	bool		typbyval;
	char		typalign;
	int			n;

	if (PG_ARGISNULL(argno))
		return -1;
	arr = PG_GETARG_ARRAYTYPE_P(argno);
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("argument \"%s\" must be a one-dimensional array", name),
				 errdetail("It has %d dimensions.", ARR_NDIM(arr))));
	get_typlenbyvalalign(ARR_ELEMTYPE(arr), &typlen, &typbyval, &typalign);
	deconstruct_array(arr, ARR_ELEMTYPE(arr), typlen, typbyval, typalign,
					  elems, nulls, &n);
	return n;
}

/*
 * apply_cstring
 *	  A text or bytea array element as a NUL-terminated string, or NULL
 *	  when its bytes hold a NUL (a traceparent header may be any bytes; such
 *	  a one is simply not a valid traceparent).
 */
static char *
apply_cstring(Datum d)
{
	struct varlena *v = PG_DETOAST_DATUM_PACKED(d);
	size_t		len = VARSIZE_ANY_EXHDR(v);

	if (memchr(VARDATA_ANY(v), '\0', len) != NULL)
		return NULL;
	return pnstrdup(VARDATA_ANY(v), len);
}

/*
 * apply_check_length
 *	  ERROR unless an optional array argument matches the batch length.
 */
static void
apply_check_length(int n, int got, const char *name)
{
	if (got >= 0 && got != n)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("argument \"%s\" has %d elements but \"payloads\" has %d",
						name, got, n),
				 errdetail("Every array argument of apply_payment_batch() describes the same messages, one element each.")));
}

/*
 * apply_hash
 *	  SHA-256 of a raw value, with a context the caller created for the
 *	  batch rather than one per value.
 */
static void
apply_hash(pg_cryptohash_ctx *ctx, const char *data, size_t len, uint8 *out)
{
	if (pg_cryptohash_init(ctx) < 0 ||
		pg_cryptohash_update(ctx, (const uint8 *) data, len) < 0 ||
		pg_cryptohash_final(ctx, out, VP_HASH_LEN) < 0)
		elog(ERROR, "voltpay: could not compute SHA-256: %s",
			 pg_cryptohash_error(ctx));
}

static char *
apply_strdup(const char *s)
{
	return s ? pstrdup(s) : NULL;
}

/*
 * apply_copy_payment
 *	  Deep copy of a parsed payment into the current memory context.
 */
static VpPayment *
apply_copy_payment(const VpPayment *src)
{
	VpPayment  *p = palloc(sizeof(VpPayment));

	*p = *src;
	p->account_id = apply_strdup(src->account_id);
	p->amount = apply_strdup(src->amount);
	p->debtor.name = apply_strdup(src->debtor.name);
	p->debtor.iban = apply_strdup(src->debtor.iban);
	p->debtor.bic = apply_strdup(src->debtor.bic);
	p->creditor.name = apply_strdup(src->creditor.name);
	p->creditor.iban = apply_strdup(src->creditor.iban);
	p->creditor.bic = apply_strdup(src->creditor.bic);
	p->remittance_info = apply_strdup(src->remittance_info);
	p->customer_email = apply_strdup(src->customer_email);
	return p;
}

/*
 * apply_reject
 *	  Marks an item rejected with a reason and a detail sentence.
 */
static void
apply_reject(ApplyItem *it, VpReason reason, char *detail)
{
	it->status = APPLY_REJECTED;
	it->reason = reason;
	it->detail = detail;
}

/*
 * apply_parse
 *	  Phase 1: parse and validate every message.  Garbage of the parser
 *	  goes into a context reset for each row.
 */
static void
apply_parse(ApplyBatch *batch)
{
	MemoryContext batchcxt = CurrentMemoryContext;
	MemoryContext rowcxt;
	pg_cryptohash_ctx *sha = pg_cryptohash_create(PG_SHA256);
	int			i;

	rowcxt = AllocSetContextCreate(CurrentMemoryContext, "voltpay apply row",
								   ALLOCSET_DEFAULT_SIZES);
	for (i = 0; i < batch->n; i++)
	{
		ApplyItem  *it = &batch->items[i];
		const char *data = NULL;
		size_t		len = 0;
		VpPayment	parsed;
		VpReason	reason;
		char	   *detail = NULL;
		MemoryContext old;

		CHECK_FOR_INTERRUPTS();
		if (it->payload)
		{
			data = VARDATA_ANY(it->payload);
			len = VARSIZE_ANY_EXHDR(it->payload);
		}
		apply_hash(sha, data ? data : "", len, it->hash);

		memset(&parsed, 0, sizeof(parsed));
		old = MemoryContextSwitchTo(rowcxt);
		reason = vp_message_parse(data, len, it->rawkey, it->rawkeylen,
								  &parsed, &detail);
		MemoryContextSwitchTo(old);

		/* stored and sent on as text only when it is text */
		if (it->rawkey != NULL && vp_check_key(it->rawkey, it->rawkeylen, NULL))
			it->key = pnstrdup(it->rawkey, it->rawkeylen);

		it->has_id = parsed.has_message_id;
		if (it->has_id)
			it->message_id = parsed.message_id;
		if (reason == VP_OK)
			it->payment = apply_copy_payment(&parsed);
		else
			apply_reject(it, reason,
						 pstrdup(detail ? detail : "The message breaks the message contract."));
		MemoryContextReset(rowcxt);
	}
	MemoryContextDelete(rowcxt);
	pg_cryptohash_free(sha);
	(void) batchcxt;
}

/*
 * apply_quarantine
 *	  Phase 4: stores each rejected message once per coordinates.
 */
static void
apply_quarantine(ApplyBatch *batch)
{
	Oid			argtypes[9] = {UUIDOID, TEXTOID, TEXTOID, TEXTOID, BYTEAOID,
	TEXTOID, INT4OID, INT8OID, TIMESTAMPTZOID};
	SPIPlanPtr	plan = NULL;
	int			i;

	if (!batch->quarantine)
		return;
	for (i = 0; i < batch->n; i++)
	{
		ApplyItem  *it = &batch->items[i];
		Datum		args[9];
		char		nulls[9];

		if (it->status != APPLY_REJECTED)
			continue;
		if (plan == NULL)
			plan = vp_spi_plan(&apply_plan_reject,
							   "INSERT INTO voltpay.rejected_message"
							   " (message_id, reason, detail, record_key, payload,"
							   "  src_topic, src_partition, src_offset, kafka_timestamp)"
							   " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
							   " ON CONFLICT (src_topic, src_partition, src_offset) DO NOTHING"
							   " RETURNING rejection_id",
							   9, argtypes);
		memset(nulls, ' ', sizeof(nulls));
		args[0] = it->has_id ? UUIDPGetDatum(&it->message_id) : (Datum) 0;
		nulls[0] = it->has_id ? ' ' : 'n';
		args[1] = CStringGetTextDatum(vp_reason_code(it->reason));
		args[2] = CStringGetTextDatum(it->detail);
		args[3] = it->key ? CStringGetTextDatum(it->key) : (Datum) 0;
		nulls[3] = it->key ? ' ' : 'n';
		args[4] = PointerGetDatum(it->payload);
		nulls[4] = it->payload ? ' ' : 'n';
		args[5] = batch->topic ? CStringGetTextDatum(batch->topic) : (Datum) 0;
		nulls[5] = batch->topic ? ' ' : 'n';
		args[6] = Int32GetDatum(it->partition);
		nulls[6] = it->has_coord ? ' ' : 'n';
		args[7] = Int64GetDatum(it->offset);
		nulls[7] = it->has_coord ? ' ' : 'n';
		args[8] = TimestampTzGetDatum(it->kafka_ts);
		nulls[8] = it->has_ts ? ' ' : 'n';
		vp_spi_exec(plan, args, nulls, false, SPI_OK_INSERT_RETURNING,
					"quarantining a message");
		it->dead_letter = SPI_processed > 0;
	}
}

/*
 * apply_text_array
 *	  text[] of n C strings.
 */
static Datum
apply_text_array(int n, const char *const *strs)
{
	Datum		elems[VP_MAX_HEADERS];
	int			i;

	for (i = 0; i < n; i++)
		elems[i] = CStringGetTextDatum(strs[i]);
	return PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT));
}

/*
 * Header names of the events: a few sets of literals (vp_event_headers(),
 * vp_dead_letter_headers()), each made into a text[] once per batch.
 */
#define APPLY_NAME_SETS		4
typedef struct ApplyNames
{
	int			nsets;
	VpHeaders	sets[APPLY_NAME_SETS];	/* keys only */
	Datum		arrays[APPLY_NAME_SETS];
} ApplyNames;

/*
 * apply_header_names
 *	  text[] of the header names of h, from the cache when the same
 *	  literals were seen (made in the current context, the batch's, else).
 */
static Datum
apply_header_names(ApplyNames *names, const VpHeaders *h, MemoryContext cxt)
{
	MemoryContext old;
	Datum		arr;
	int			i;

	for (i = 0; i < names->nsets; i++)
	{
		if (names->sets[i].n == h->n &&
			memcmp(names->sets[i].keys, h->keys, sizeof(h->keys[0]) * h->n) == 0)
			return names->arrays[i];
	}
	old = MemoryContextSwitchTo(cxt);
	arr = apply_text_array(h->n, h->keys);
	MemoryContextSwitchTo(old);
	if (names->nsets < APPLY_NAME_SETS)
	{
		names->sets[names->nsets].n = h->n;
		memcpy(names->sets[names->nsets].keys, h->keys, sizeof(h->keys[0]) * h->n);
		names->arrays[names->nsets++] = arr;
	}
	return arr;
}

/*
 * apply_output
 *	  One result row per message, in input order; with the batch's events
 *	  (apply_payment_batch_events()), one row per event instead, the
 *	  message's columns repeated, and one row with NULL event columns for a
 *	  message that queued none.  Rows are formed in a context reset per row.
 */
static void
apply_output(ApplyBatch *batch, ReturnSetInfo *rsinfo)
{
	MemoryContext rowcxt = AllocSetContextCreate(CurrentMemoryContext,
												 "voltpay result row",
												 ALLOCSET_DEFAULT_SIZES);
	int			natts = batch->want_events ? 13 : 7;
	int			ev = 0;
	int			i;
	ApplyNames	names;

	names.nsets = 0;

	for (i = 0; i < batch->n; i++)
	{
		ApplyItem  *it = &batch->items[i];
		Datum		values[13];
		bool		nulls[13] = {false};
		const char *status;
		MemoryContext old;

		switch (it->status)
		{
			case APPLY_APPLIED:
				status = "applied";
				break;
			case APPLY_DUPLICATE:
				status = "duplicate";
				break;
			case APPLY_REJECTED:
				status = "rejected";
				break;
			default:
				elog(ERROR, "voltpay: message %d left unclassified", i + 1);
		}
		old = MemoryContextSwitchTo(rowcxt);
		values[0] = Int32GetDatum(i + 1);
		values[1] = it->has_id ? UUIDPGetDatum(&it->message_id) : (Datum) 0;
		nulls[1] = !it->has_id;
		values[2] = CStringGetTextDatum(status);
		nulls[3] = it->status != APPLY_REJECTED;
		values[3] = nulls[3] ? (Datum) 0 : CStringGetTextDatum(vp_reason_code(it->reason));
		nulls[4] = it->detail == NULL;
		values[4] = it->detail ? CStringGetTextDatum(it->detail) : (Datum) 0;
		nulls[5] = it->payment == NULL;
		values[5] = it->payment ? UUIDPGetDatum(&it->payment->payment_id) : (Datum) 0;
		values[6] = PointerGetDatum(cstring_to_text_with_len(it->traceparent + 3, 32));
		if (!batch->want_events)
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		else if (ev >= batch->nevents || batch->events[ev].item != i)
		{
			memset(nulls + 7, true, natts - 7);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
		else
		{
			for (; ev < batch->nevents && batch->events[ev].item == i; ev++)
			{
				ApplyEvent *e = &batch->events[ev];

				values[7] = Int64GetDatum(e->event_id);
				values[8] = CStringGetTextDatum(e->kind);
				nulls[9] = e->key == NULL;
				values[9] = e->key ? CStringGetTextDatum(e->key) : (Datum) 0;
				values[10] = PointerGetDatum(e->value);
				values[11] = apply_header_names(&names, &e->headers, batch->cxt);
				values[12] = apply_text_array(e->headers.n, e->headers.values);
				tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
			}
		}
		MemoryContextSwitchTo(old);
		MemoryContextReset(rowcxt);
	}
	if (batch->want_events && ev != batch->nevents)
		elog(ERROR, "voltpay: %d of %d outbox events left out of the result",
			 batch->nevents - ev, batch->nevents);
	MemoryContextDelete(rowcxt);
}

/*
 * apply_batch
 *	  Both SQL functions: the arguments of apply_payment_batch(), the
 *	  result with or without the events; everything of the batch in
 *	  batchcxt, which the caller empties.
 */
static void
apply_batch(FunctionCallInfo fcinfo, bool want_events, MemoryContext batchcxt)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext old;
	ApplyBatch	batch;
	Datum	   *keys,
			   *payloads,
			   *parts = NULL,
			   *offs = NULL,
			   *tss = NULL,
			   *tps = NULL;
	bool	   *keynulls,
			   *paynulls,
			   *partnulls = NULL,
			   *offnulls = NULL,
			   *tsnulls = NULL,
			   *tpnulls = NULL;
	int			nkeys,
				n,
				nparts,
				noffs,
				nts,
				ntp,
				i;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("arguments \"keys\" and \"payloads\" must not be null"),
				 errdetail("Pass one element per message; an element, not the array, may be NULL.")));
	if (GetDatabaseEncoding() != PG_UTF8)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("voltpay requires a UTF8 database"),
				 errdetail("This database's encoding is %s.", GetDatabaseEncodingName())));

	InitMaterializedSRF(fcinfo, 0);

	old = MemoryContextSwitchTo(batchcxt);

	nkeys = apply_array(fcinfo, 0, "keys", &keys, &keynulls);
	n = apply_array(fcinfo, 1, "payloads", &payloads, &paynulls);
	apply_check_length(n, nkeys, "keys");
	nparts = apply_array(fcinfo, 3, "partitions", &parts, &partnulls);
	noffs = apply_array(fcinfo, 4, "offsets", &offs, &offnulls);
	nts = apply_array(fcinfo, 5, "timestamps", &tss, &tsnulls);
	ntp = apply_array(fcinfo, 6, "traceparents", &tps, &tpnulls);
	apply_check_length(n, nparts, "partitions");
	apply_check_length(n, noffs, "offsets");
	apply_check_length(n, nts, "timestamps");
	apply_check_length(n, ntp, "traceparents");
	if ((nparts >= 0) != (noffs >= 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("arguments \"partitions\" and \"offsets\" must be given together"),
				 errdetail("A message's Kafka coordinates are its partition and its offset.")));
	if (nparts >= 0 && PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("argument \"topic\" is required with \"partitions\" and \"offsets\""),
				 errdetail("Recorded positions are per topic and partition.")));

	memset(&batch, 0, sizeof(batch));
	batch.n = n;
	batch.items = palloc0(sizeof(ApplyItem) * Max(n, 1));
	batch.topic = PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2));
	batch.quarantine = PG_ARGISNULL(7) ? true : PG_GETARG_BOOL(7);
	batch.now = GetCurrentTransactionStartTimestamp();
	batch.cxt = batchcxt;
	batch.want_events = want_events;
	if (want_events)
		batch.events = palloc(sizeof(ApplyEvent) * 2 * Max(n, 1));

	for (i = 0; i < n; i++)
	{
		ApplyItem  *it = &batch.items[i];

		if (!keynulls[i])
		{
			/* text[] or bytea[]: the bytes either way */
			struct varlena *k = PG_DETOAST_DATUM_PACKED(keys[i]);

			it->rawkey = VARDATA_ANY(k);
			it->rawkeylen = VARSIZE_ANY_EXHDR(k);
		}
		it->payload = paynulls[i] ? NULL : DatumGetByteaPP(payloads[i]);
		if (nparts >= 0)
		{
			if (partnulls[i] || offnulls[i])
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("partition and offset of message %d must not be null", i + 1),
						 errdetail("With coordinates, every message needs its partition and offset.")));
			it->has_coord = true;
			it->partition = DatumGetInt32(parts[i]);
			it->offset = DatumGetInt64(offs[i]);
			if (it->partition < 0 || it->offset < 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("invalid coordinates of message %d: partition %d, offset " INT64_FORMAT,
								i + 1, it->partition, it->offset),
						 errdetail("Kafka partitions and offsets are zero or more.")));
		}
		if (nts >= 0 && !tsnulls[i])
		{
			it->has_ts = true;
			it->kafka_ts = DatumGetTimestampTz(tss[i]);
		}
		vp_trace_child(ntp >= 0 && !tpnulls[i] ? apply_cstring(tps[i]) : NULL,
					   it->traceparent);
	}

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "voltpay: SPI_connect failed");
	MemoryContextSwitchTo(batchcxt);

	apply_parse(&batch);
	vp_apply_positions(&batch);
	vp_apply_idempotency(&batch);
	vp_apply_classify(&batch);
	apply_quarantine(&batch);
	vp_apply_write(&batch);
	vp_apply_record_positions(&batch);
	apply_output(&batch, rsinfo);

	SPI_finish();
	MemoryContextSwitchTo(old);
}

/*
 * apply_run
 *	  apply_batch() in the session's batch context, emptied afterwards and
 *	  kept for the next batch, so that its memory is not given back to the
 *	  system and faulted in again each batch (it was 8% of the apply's CPU:
 *	  docs/bench-apply.md).  A call made while another runs (a DBA's
 *	  trigger on a voltpay table could make one) gets a context of its
 *	  own.  After an error the kept context is emptied by the next call.
 */
static Datum
apply_run(FunctionCallInfo fcinfo, bool want_events)
{
	MemoryContext batchcxt;

	if (apply_session_busy)
	{
		batchcxt = AllocSetContextCreate(CurrentMemoryContext, "voltpay apply batch",
										 ALLOCSET_DEFAULT_SIZES);
		apply_batch(fcinfo, want_events, batchcxt);
		MemoryContextDelete(batchcxt);
		return (Datum) 0;
	}

	if (apply_session_cxt == NULL)
		apply_session_cxt = AllocSetContextCreate(TopMemoryContext,
												  "voltpay apply session",
												  APPLY_KEPT_BYTES,
												  APPLY_KEPT_BYTES,
												  ALLOCSET_DEFAULT_MAXSIZE);
	else
		MemoryContextReset(apply_session_cxt);
	apply_session_busy = true;
	PG_TRY();
	{
		apply_batch(fcinfo, want_events, apply_session_cxt);
	}
	PG_FINALLY();
	{
		apply_session_busy = false;
	}
	PG_END_TRY();
	MemoryContextReset(apply_session_cxt);
	return (Datum) 0;
}

/*
 * apply_payment_batch
 *	  SQL: voltpay.apply_payment_batch(keys, payloads, topic, partitions,
 *	  offsets, timestamps, traceparents, quarantine).  See the file header.
 */
Datum
apply_payment_batch(PG_FUNCTION_ARGS)
{
	return apply_run(fcinfo, false);
}

/*
 * apply_payment_batch_events
 *	  SQL: voltpay.apply_payment_batch_events(), the same with the outbox
 *	  events the batch queued in the result.
 */
Datum
apply_payment_batch_events(PG_FUNCTION_ARGS)
{
	return apply_run(fcinfo, true);
}

/*
 * apply_record_batch
 *	  SQL: voltpay.apply_record_batch(keys bytea[], payloads bytea[], topic,
 *	  partitions, offsets, timestamps, traceparents bytea[], quarantine):
 *	  apply_payment_batch_events() on raw keys and traceparents.
 */
Datum
apply_record_batch(PG_FUNCTION_ARGS)
{
	return apply_run(fcinfo, true);
}
