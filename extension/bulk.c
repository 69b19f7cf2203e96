/*-------------------------------------------------------------------------
 *
 * bulk.c
 *	  Multi-row heap insertion into voltpay's own tables.
 *
 * apply_payment_batch() writes every row of a batch through this module
 * (since 0.3.0 the new ids of voltpay.idempotency too, idempotency.c):
 * tuples are buffered in slots and written with table_multi_insert(), the
 * path COPY uses, so the writer tables cost about what COPY costs.  Index
 * entries are added for the tables that have indexes (the outbox, the
 * idempotency table), a unique index's with the unique check (waiting for
 * an in-progress inserter of the same key, unique_violation when it
 * commits); the main writer tables have none.  No triggers, rules,
 * defaults or constraints are evaluated: the tables belong to the
 * extension and the caller supplies every column.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "commands/sequence.h"
#include "executor/executor.h"
#include "nodes/makefuncs.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "voltpay.h"

/* Rows buffered before a flush. */
#define BULK_MAX_SLOTS	1000

struct VpBulkInsert
{
	Relation	rel;
	TupleDesc	desc;			/* unpinned copy: slots need no refcount */
	CommandId	cid;
	BulkInsertState bistate;
	MemoryContext cxt;			/* a flush's work space, reset after it */
	MemoryContext slotcxt;		/* slots and their tuples: the caller's
								 * context */
	TupleTableSlot *slots[BULK_MAX_SLOTS];
	int			nused;
	int			nalloc;
	bool		has_indexes;
	EState	   *estate;
	ResultRelInfo *rri;
	Oid			identity_seq;	/* sequence of the identity column, if any */
};

/*
 * vp_relation_oid
 *	  OID of voltpay.<relname>; ERROR when it does not exist.
 */
Oid
vp_relation_oid(const char *relname)
{
	Oid			nsp = get_namespace_oid("voltpay", false);
	Oid			relid = get_relname_relid(relname, nsp);

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation \"voltpay.%s\" does not exist", relname),
				 errdetail("The voltpay extension's objects are incomplete."),
				 errhint("Reinstall the extension with ALTER EXTENSION voltpay UPDATE or through Liquibase.")));
	return relid;
}

/*
 * vp_bulk_begin
 *	  Opens voltpay.<relname> for bulk insertion (RowExclusiveLock, held to
 *	  the end of the transaction).  The returned state lives in the current
 *	  memory context.
 */
VpBulkInsert *
vp_bulk_begin(const char *relname)
{
	VpBulkInsert *b = palloc0(sizeof(VpBulkInsert));
	Relation	rel;

	rel = table_open(vp_relation_oid(relname), RowExclusiveLock);
	if (rel->rd_rel->relkind != RELKIND_RELATION)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"voltpay.%s\" is not a table", relname),
				 errdetail("apply_payment_batch() writes to plain tables only.")));

	b->rel = rel;
	b->desc = CreateTupleDescCopy(RelationGetDescr(rel));
	b->cid = GetCurrentCommandId(true);
	b->bistate = GetBulkInsertState();
	b->slotcxt = CurrentMemoryContext;
	b->cxt = AllocSetContextCreate(CurrentMemoryContext, "voltpay bulk insert",
								   ALLOCSET_DEFAULT_SIZES);
	b->has_indexes = RelationGetIndexList(rel) != NIL;
	if (b->has_indexes)
	{
		b->estate = CreateExecutorState();
		b->rri = makeNode(ResultRelInfo);
		InitResultRelInfo(b->rri, rel, 1, NULL, 0);
		ExecOpenIndices(b->rri, false);
	}
	return b;
}

/*
 * vp_bulk_nextval
 *	  Next value of the identity column attnum of the bulk's table.
 */
int64
vp_bulk_nextval(VpBulkInsert *b, int16 attnum)
{
	if (!OidIsValid(b->identity_seq))
		b->identity_seq = getIdentitySequence(RelationGetRelid(b->rel), attnum,
											  false);
	return nextval_internal(b->identity_seq, false);
}

/*
 * bulk_flush
 *	  Writes the buffered rows, then their index entries.
 */
static void
bulk_flush(VpBulkInsert *b)
{
	MemoryContext old;
	int			i;

	if (b->nused == 0)
		return;

	old = MemoryContextSwitchTo(b->cxt);
	table_multi_insert(b->rel, b->slots, b->nused, b->cid, 0, b->bistate);

	if (b->has_indexes)
	{
		for (i = 0; i < b->nused; i++)
		{
			List	   *recheck;

			recheck = ExecInsertIndexTuples(b->rri, b->slots[i], b->estate,
											false, false, NULL, NIL);
			list_free(recheck);
			ResetPerTupleExprContext(b->estate);
		}
	}

	MemoryContextSwitchTo(old);
	/* frees the tuples: their space serves the next rows */
	for (i = 0; i < b->nused; i++)
		ExecClearTuple(b->slots[i]);
	b->nused = 0;
	MemoryContextReset(b->cxt);
}

/*
 * vp_bulk_add
 *	  Buffers one row (values/nulls in the table's column order); flushes
 *	  when the buffer is full.
 */
void
vp_bulk_add(VpBulkInsert *b, Datum *values, bool *nulls)
{
	TupleTableSlot *slot;
	HeapTuple	tuple;
	MemoryContext old;

	if (b->nused == BULK_MAX_SLOTS)
		bulk_flush(b);

	if (b->nused == b->nalloc)
	{
		old = MemoryContextSwitchTo(b->slotcxt);
		b->slots[b->nalloc++] = MakeSingleTupleTableSlot(b->desc,
														 &TTSOpsHeapTuple);
		MemoryContextSwitchTo(old);
	}
	slot = b->slots[b->nused++];

	/*
	 * The slot owns the tuple (shouldFree), so that heap_multi_insert()'s
	 * materialisation does not copy it again, and frees it after the flush.
	 * It is formed in the slots' context (the apply's batch context, kept for
	 * the session), whose freed space the next rows reuse: no memory is given
	 * back and faulted in again per flush.
	 */
	old = MemoryContextSwitchTo(b->slotcxt);
	tuple = heap_form_tuple(b->desc, values, nulls);
	MemoryContextSwitchTo(old);
	ExecStoreHeapTuple(tuple, slot, true);
}

/*
 * vp_bulk_end
 *	  Flushes what is buffered and closes the table (keeping its lock).
 */
void
vp_bulk_end(VpBulkInsert *b)
{
	int			i;

	bulk_flush(b);
	FreeBulkInsertState(b->bistate);
	for (i = 0; i < b->nalloc; i++)
		ExecDropSingleTupleTableSlot(b->slots[i]);
	if (b->has_indexes)
	{
		ExecCloseIndices(b->rri);
		FreeExecutorState(b->estate);
	}
	table_close(b->rel, NoLock);
	MemoryContextDelete(b->cxt);
	pfree(b);
}
