/*-------------------------------------------------------------------------
 *
 * positions.c
 *	  Recorded positions of the source partitions, for apply_payment_batch():
 *	  messages below a partition's recorded next offset are duplicates
 *	  (phase 2), and each batch records its partitions' next offsets and
 *	  counters in the same transaction (phase 6).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "voltpay.h"
#include "apply_int.h"
#include "spi_util.h"

/* Plans kept for the session. */
static SPIPlanPtr positions_plan_read = NULL;
static SPIPlanPtr positions_plan_record = NULL;

static int
positions_cmp(const void *a, const void *b)
{
	int32		pa = ((const ApplyPartition *) a)->partition;
	int32		pb = ((const ApplyPartition *) b)->partition;

	return (pa > pb) - (pa < pb);
}

/*
 * positions_find
 *	  The batch's entry for a partition (the array is sorted).
 */
static ApplyPartition *
positions_find(ApplyBatch *batch, int32 partition)
{
	ApplyPartition key;

	key.partition = partition;
	return bsearch(&key, batch->partitions, batch->npartitions,
				   sizeof(ApplyPartition), positions_cmp);
}

/*
 * vp_apply_positions
 *	  Phase 2: loads the recorded positions of the batch's partitions and
 *	  marks messages below them as duplicates.
 */
void
vp_apply_positions(ApplyBatch *batch)
{
	Oid			argtypes[2] = {TEXTOID, INT4ARRAYOID};
	Datum		args[2];
	Datum	   *parts;
	SPIPlanPtr	plan;
	uint64		r;
	int			i,
				n = 0;

	if (batch->topic == NULL)
		return;

	/* Distinct partitions, sorted. */
	batch->partitions = palloc0(sizeof(ApplyPartition) * Max(batch->n, 1));
	for (i = 0; i < batch->n; i++)
	{
		if (batch->items[i].has_coord)
			batch->partitions[n++].partition = batch->items[i].partition;
	}
	qsort(batch->partitions, n, sizeof(ApplyPartition), positions_cmp);
	batch->npartitions = 0;
	for (i = 0; i < n; i++)
	{
		if (batch->npartitions == 0 ||
			batch->partitions[batch->npartitions - 1].partition != batch->partitions[i].partition)
		{
			ApplyPartition *p = &batch->partitions[batch->npartitions++];

			p->partition = batch->partitions[i].partition;
			p->recorded = -1;
			p->next_offset = -1;
			p->applied = p->duplicate = p->rejected = 0;
		}
	}
	if (batch->npartitions == 0)
		return;

	parts = palloc(sizeof(Datum) * batch->npartitions);
	for (i = 0; i < batch->npartitions; i++)
		parts[i] = Int32GetDatum(batch->partitions[i].partition);
	args[0] = CStringGetTextDatum(batch->topic);
	args[1] = PointerGetDatum(construct_array(parts, batch->npartitions, INT4OID,
											  4, true, TYPALIGN_INT));

	plan = vp_spi_plan(&positions_plan_read,
					   "SELECT partition, next_offset FROM voltpay.partition_position"
					   " WHERE topic = $1 AND partition = ANY ($2)",
					   2, argtypes);
	vp_spi_exec(plan, args, NULL, true, SPI_OK_SELECT, "reading partition positions");
	for (r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		int32		partition = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
		int64		next = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
		ApplyPartition *p = positions_find(batch, partition);

		if (p)
			p->recorded = next;
	}

	for (i = 0; i < batch->n; i++)
	{
		ApplyItem  *it = &batch->items[i];
		ApplyPartition *p;

		if (!it->has_coord)
			continue;
		p = positions_find(batch, it->partition);
		if (p->recorded >= 0 && it->offset < p->recorded)
		{
			it->status = APPLY_DUPLICATE;
			it->reason = VP_OK;
			it->detail = psprintf("Offset " INT64_FORMAT " of partition %d is below the recorded position " INT64_FORMAT ".",
								  it->offset, it->partition, p->recorded);
		}
	}
}

/*
 * vp_apply_record_positions
 *	  Phase 6: each partition's next offset (never moved backwards) and
 *	  counters.  Partitions are written in order, like the ids.
 */
void
vp_apply_record_positions(ApplyBatch *batch)
{
	Oid			argtypes[6] = {TEXTOID, INT4ARRAYOID, INT8ARRAYOID,
	INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID};
	Datum		args[6];
	Datum	   *cols[5];
	SPIPlanPtr	plan;
	int			i,
				c;

	if (batch->npartitions == 0)
		return;

	for (i = 0; i < batch->n; i++)
	{
		ApplyItem  *it = &batch->items[i];
		ApplyPartition *p;

		if (!it->has_coord)
			continue;
		p = positions_find(batch, it->partition);
		p->next_offset = Max(p->next_offset, it->offset + 1);
		if (it->status == APPLY_APPLIED)
			p->applied++;
		else if (it->status == APPLY_DUPLICATE)
			p->duplicate++;
		else
			p->rejected++;
	}

	for (c = 0; c < 5; c++)
		cols[c] = palloc(sizeof(Datum) * batch->npartitions);
	for (i = 0; i < batch->npartitions; i++)
	{
		ApplyPartition *p = &batch->partitions[i];

		cols[0][i] = Int32GetDatum(p->partition);
		cols[1][i] = Int64GetDatum(p->next_offset);
		cols[2][i] = Int64GetDatum(p->applied);
		cols[3][i] = Int64GetDatum(p->duplicate);
		cols[4][i] = Int64GetDatum(p->rejected);
	}
	args[0] = CStringGetTextDatum(batch->topic);
	args[1] = PointerGetDatum(construct_array(cols[0], batch->npartitions,
											  INT4OID, 4, true, TYPALIGN_INT));
	for (c = 1; c < 5; c++)
		args[c + 1] = PointerGetDatum(construct_array(cols[c], batch->npartitions,
													  INT8OID, 8, FLOAT8PASSBYVAL,
													  TYPALIGN_DOUBLE));

	plan = vp_spi_plan(&positions_plan_record,
					   "INSERT INTO voltpay.partition_position AS p"
					   " (topic, partition, next_offset, applied, duplicate, rejected, last_apply_at)"
					   " SELECT $1, u.part, u.next, u.a, u.d, u.r, now()"
					   " FROM unnest($2, $3, $4, $5, $6) AS u (part, next, a, d, r)"
					   " ORDER BY u.part"
					   " ON CONFLICT (topic, partition) DO UPDATE SET"
					   " next_offset = GREATEST(p.next_offset, EXCLUDED.next_offset),"
					   " applied = p.applied + EXCLUDED.applied,"
					   " duplicate = p.duplicate + EXCLUDED.duplicate,"
					   " rejected = p.rejected + EXCLUDED.rejected,"
					   " last_apply_at = EXCLUDED.last_apply_at",
					   6, argtypes);
	vp_spi_exec(plan, args, NULL, false, SPI_OK_INSERT, "recording partition positions");
}
