/*-------------------------------------------------------------------------
 *
 * idempotency.c
 *	  Phase 3 of apply_payment_batch(): records the batch's new message ids
 *	  in voltpay.idempotency and classifies the other messages as
 *	  duplicates or idempotency conflicts.
 *
 * The primary key of voltpay.idempotency is what makes two concurrent
 * applies of one message apply it once.  Two ways to record the ids, in id
 * order either way (so that concurrent batches wait for each other's ids
 * in the same order and cannot deadlock):
 *
 *	  fast: one SELECT of the batch's ids that are already recorded (their
 *		  payload hashes), then the others written with one multi-row heap
 *		  insert (bulk.c) and their index entries with the unique check, in
 *		  a subtransaction.  An id another transaction records meanwhile
 *		  makes the unique check wait for it and, when it commits, raise
 *		  unique_violation: the subtransaction is rolled back, and the
 *		  batch takes the other way;
 *	  safe: INSERT ... ON CONFLICT (message_id) DO NOTHING RETURNING of the
 *		  ids (speculative insertion: waits the same way and never raises),
 *		  then one SELECT of those it did not insert.
 *
 * The fast way costs less per message (no executor, no speculative
 * insertion lock per row, one heap write per page): docs/bench-apply.md.
 * Both leave the same rows.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "voltpay.h"
#include "apply_int.h"
#include "spi_util.h"

/* Plans kept for the session. */
static SPIPlanPtr idem_plan_insert = NULL;
static SPIPlanPtr idem_plan_select = NULL;

static int
idem_cmp(const void *a, const void *b)
{
	return memcmp(*(const pg_uuid_t *const *) a, *(const pg_uuid_t *const *) b,
				  UUID_LEN);
}

/*
 * idem_arrays
 *	  uuid[] and bytea[] (the payload hashes) of the ids ids[0..n), in
 *	  args[0] and args[1].
 */
static void
idem_arrays(ApplyBatch *batch, pg_uuid_t **ids, int n, Datum *args)
{
	Datum	   *idd = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *hd = palloc(sizeof(Datum) * Max(n, 1));
	int			i;

	for (i = 0; i < n; i++)
	{
		ApplyIdEntry *e = hash_search(batch->ids, ids[i], HASH_FIND, NULL);
		bytea	   *h = palloc(VP_HASH_LEN + VARHDRSZ);

		SET_VARSIZE(h, VP_HASH_LEN + VARHDRSZ);
		memcpy(VARDATA(h), batch->items[e->first].hash, VP_HASH_LEN);
		idd[i] = UUIDPGetDatum(ids[i]);
		hd[i] = PointerGetDatum(h);
	}
	args[0] = PointerGetDatum(construct_array(idd, n, UUIDOID, UUID_LEN,
											  false, TYPALIGN_CHAR));
	args[1] = PointerGetDatum(construct_array(hd, n, BYTEAOID, -1,
											  false, TYPALIGN_INT));
}

/*
 * idem_read
 *	  Marks found, with their recorded hash and day, the ids among ids[0..n)
 *	  that are recorded and that this batch did not insert.
 */
static void
idem_read(ApplyBatch *batch, pg_uuid_t **ids, int n)
{
	Oid			argtypes[2] = {UUIDARRAYOID, BYTEAARRAYOID};
	Datum		args[2];
	SPIPlanPtr	plan;
	uint64		r;

	idem_arrays(batch, ids, n, args);
	plan = vp_spi_plan(&idem_plan_select,
					   "SELECT message_id, payload_hash, processed_on FROM voltpay.idempotency"
					   " WHERE message_id = ANY ($1)",
					   1, argtypes);
	vp_spi_exec(plan, args, NULL, false, SPI_OK_SELECT, "reading message ids");
	for (r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		ApplyIdEntry *e;
		bytea	   *h;

		e = hash_search(batch->ids,
						DatumGetUUIDP(SPI_getbinval(tup, desc, 1, &isnull)),
						HASH_FIND, NULL);
		if (e == NULL || e->inserted)
			continue;
		h = DatumGetByteaPP(SPI_getbinval(tup, desc, 2, &isnull));
		memset(e->hash, 0, VP_HASH_LEN);
		memcpy(e->hash, VARDATA_ANY(h), Min(VARSIZE_ANY_EXHDR(h), VP_HASH_LEN));
		e->processed_on = DatumGetDateADT(SPI_getbinval(tup, desc, 3, &isnull));
		e->found = true;
	}
}

/*
 * idem_insert_safe
 *	  The safe way (file header) for the ids ids[0..n), sorted.
 */
static void
idem_insert_safe(ApplyBatch *batch, pg_uuid_t **ids, int n)
{
	Oid			argtypes[2] = {UUIDARRAYOID, BYTEAARRAYOID};
	Datum		args[2];
	SPIPlanPtr	plan;
	pg_uuid_t **rest;
	int			nrest = 0;
	uint64		r;
	int			i;

	idem_arrays(batch, ids, n, args);
	plan = vp_spi_plan(&idem_plan_insert,
					   "INSERT INTO voltpay.idempotency (message_id, processed_on, payload_hash)"
					   " SELECT u.id, current_date, u.h FROM unnest($1, $2) AS u (id, h)"
					   " ORDER BY u.id"
					   " ON CONFLICT (message_id) DO NOTHING RETURNING message_id",
					   2, argtypes);
	vp_spi_exec(plan, args, NULL, false, SPI_OK_INSERT_RETURNING, "recording message ids");
	for (r = 0; r < SPI_processed; r++)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull);
		ApplyIdEntry *e = hash_search(batch->ids, DatumGetUUIDP(d), HASH_FIND, NULL);

		if (e)
			e->inserted = true;
	}
	if (SPI_processed == (uint64) n)
		return;

	/* Some ids were recorded meanwhile: fetch their hashes. */
	rest = palloc(sizeof(pg_uuid_t *) * n);
	for (i = 0; i < n; i++)
	{
		ApplyIdEntry *e = hash_search(batch->ids, ids[i], HASH_FIND, NULL);

		if (!e->inserted)
			rest[nrest++] = ids[i];
	}
	idem_read(batch, rest, nrest);
}

/*
 * idem_insert_fast
 *	  The fast way (file header) for the ids ids[0..n), sorted, none of
 *	  them recorded when idem_read() looked.  Returns false, with nothing
 *	  written, when another transaction recorded one of them meanwhile.
 */
static bool
idem_insert_fast(ApplyBatch *batch, pg_uuid_t **ids, int n)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	Datum		today = DateADTGetDatum(GetSQLCurrentDate());
	volatile bool done = false;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		VpBulkInsert *b = vp_bulk_begin("idempotency");
		int			i;

		for (i = 0; i < n; i++)
		{
			ApplyIdEntry *e = hash_search(batch->ids, ids[i], HASH_FIND, NULL);
			Datum		values[3];
			bool		nulls[3] = {false};
			bytea	   *h = palloc(VP_HASH_LEN + VARHDRSZ);

			SET_VARSIZE(h, VP_HASH_LEN + VARHDRSZ);
			memcpy(VARDATA(h), batch->items[e->first].hash, VP_HASH_LEN);
			values[0] = UUIDPGetDatum(ids[i]);
			values[1] = today;
			values[2] = PointerGetDatum(h);
			vp_bulk_add(b, values, nulls);
		}
		vp_bulk_end(b);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		done = true;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		if (edata->sqlerrcode != ERRCODE_UNIQUE_VIOLATION)
			ReThrowError(edata);
		FreeErrorData(edata);
	}
	PG_END_TRY();

	if (done)
	{
		int			i;

		for (i = 0; i < n; i++)
		{
			ApplyIdEntry *e = hash_search(batch->ids, ids[i], HASH_FIND, NULL);

			e->inserted = true;
		}
	}
	return done;
}

/*
 * vp_apply_idempotency
 *	  Phase 3: records the batch's new message ids (first occurrences of
 *	  the pending items) and marks the recorded ones found, with their
 *	  hash; vp_apply_classify() then classifies every pending item.
 */
void
vp_apply_idempotency(ApplyBatch *batch)
{
	HASHCTL		ctl;
	pg_uuid_t **ids;
	pg_uuid_t **fresh;
	int			nfirst = 0;
	int			nfresh = 0;
	int			i;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(pg_uuid_t);
	ctl.entrysize = sizeof(ApplyIdEntry);
	ctl.hcxt = CurrentMemoryContext;
	batch->ids = hash_create("voltpay batch ids", Max(batch->n, 16), &ctl,
							 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	ids = palloc(sizeof(pg_uuid_t *) * Max(batch->n, 1));
	for (i = 0; i < batch->n; i++)
	{
		ApplyItem  *it = &batch->items[i];
		ApplyIdEntry *e;
		bool		found;

		it->first = -1;
		if (it->status != APPLY_PENDING)
			continue;
		e = hash_search(batch->ids, &it->message_id, HASH_ENTER, &found);
		if (found)
		{
			it->first = e->first;
			continue;
		}
		e->first = i;
		e->inserted = false;
		e->found = false;
		ids[nfirst++] = &it->message_id;
	}
	if (nfirst == 0)
		return;
	qsort(ids, nfirst, sizeof(pg_uuid_t *), idem_cmp);

	/* Recorded before: their hashes.  The others, in id order. */
	idem_read(batch, ids, nfirst);
	fresh = palloc(sizeof(pg_uuid_t *) * nfirst);
	for (i = 0; i < nfirst; i++)
	{
		ApplyIdEntry *e = hash_search(batch->ids, ids[i], HASH_FIND, NULL);

		if (!e->found)
			fresh[nfresh++] = ids[i];
	}
	if (nfresh == 0)
		return;
	if (!idem_insert_fast(batch, fresh, nfresh))
		idem_insert_safe(batch, fresh, nfresh);
}

/*
 * vp_apply_classify
 *	  Phase 3, continued: every pending item becomes applied, duplicate or
 *	  rejected (idempotency_conflict).
 */
void
vp_apply_classify(ApplyBatch *batch)
{
	int			i;

	for (i = 0; i < batch->n; i++)
	{
		ApplyItem  *it = &batch->items[i];
		ApplyIdEntry *e;
		const uint8 *ref;

		if (it->status != APPLY_PENDING)
			continue;
		e = hash_search(batch->ids, &it->message_id, HASH_FIND, NULL);
		Assert(e != NULL);

		if (it->first < 0 && e->inserted)
		{
			it->status = APPLY_APPLIED;
			continue;
		}
		if (!e->inserted && !e->found)
		{
			/* Recorded when we tried, gone when we looked: a sweep raced us. */
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("message id %s changed concurrently",
							vp_uuid_text(&it->message_id)),
					 errdetail("Its idempotency row was deleted while the batch was being applied."),
					 errhint("Apply the batch again.")));
		}
		ref = e->inserted ? batch->items[e->first].hash : e->hash;
		if (memcmp(ref, it->hash, VP_HASH_LEN) == 0)
		{
			it->status = APPLY_DUPLICATE;
			if (e->inserted)
				it->detail = psprintf("Message %s repeats message %d of this batch.",
									  vp_uuid_text(&it->message_id), e->first + 1);
			else
				it->detail = psprintf("Message %s was applied on %s.",
									  vp_uuid_text(&it->message_id),
									  DatumGetCString(DirectFunctionCall1(date_out,
																		  DateADTGetDatum(e->processed_on))));
		}
		else
		{
			it->status = APPLY_REJECTED;
			it->reason = VP_IDEMPOTENCY_CONFLICT;
			it->detail = psprintf("Message id %s was already applied with a different payload.",
								  vp_uuid_text(&it->message_id));
		}
	}
}
