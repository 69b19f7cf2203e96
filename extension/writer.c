/*-------------------------------------------------------------------------
 *
 * writer.c
 *	  Phase 5 of apply_payment_batch(): the rows of the applied payments in
 *	  the writer tables (payment, payment_party, payment_remittance,
 *	  payment_notification) and every outbox event, written with multi-row
 *	  heap inserts (bulk.c) in input order, so per-account order is kept.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "voltpay.h"
#include "apply_int.h"

/*
 * writer_outbox_add
 *	  Adds one outbox event; with batch->want_events, keeps a copy of it in
 *	  the batch context for the result.
 */
static void
writer_outbox_add(VpBulkInsert *outbox, ApplyBatch *batch, ApplyItem *it,
				  const char *kind, const char *key, bytea *value,
				  const VpHeaders *headers)
{
	Datum		values[8];
	bool		nulls[8] = {false};
	int64		event_id = vp_bulk_nextval(outbox, 1);

	values[0] = Int64GetDatum(event_id);
	values[1] = CStringGetTextDatum(kind);
	values[2] = key ? CStringGetTextDatum(key) : (Datum) 0;
	nulls[2] = key == NULL;
	values[3] = PointerGetDatum(value);
	values[4] = JsonbPGetDatum(vp_headers_jsonb(headers));
	values[5] = it->has_id ? UUIDPGetDatum(&it->message_id) : (Datum) 0;
	nulls[5] = !it->has_id;
	values[6] = Int32GetDatum(it->partition);
	nulls[6] = !it->has_coord;
	values[7] = TimestampTzGetDatum(batch->now);
	vp_bulk_add(outbox, values, nulls);

	if (batch->want_events)
	{
		MemoryContext old = MemoryContextSwitchTo(batch->cxt);
		ApplyEvent *ev = &batch->events[batch->nevents++];
		int			i;

		Assert(batch->nevents <= 2 * batch->n);
		ev->item = it - batch->items;
		ev->event_id = event_id;
		ev->kind = kind;		/* a literal */
		ev->key = key ? pstrdup(key) : NULL;
		ev->value = palloc(VARSIZE_ANY(value));
		memcpy(ev->value, value, VARSIZE_ANY(value));
		ev->headers.n = headers->n;
		for (i = 0; i < headers->n; i++)
		{
			ev->headers.keys[i] = headers->keys[i]; /* literals */
			ev->headers.values[i] = pstrdup(headers->values[i]);
		}
		MemoryContextSwitchTo(old);
	}
}

/*
 * writer_party
 *	  Adds one payment_party row.
 */
static void
writer_party(VpBulkInsert *party, Datum payment_id, const char *role,
			 const VpParty *p)
{
	Datum		values[5];
	bool		nulls[5] = {false};

	values[0] = payment_id;
	values[1] = CStringGetTextDatum(role);
	values[2] = CStringGetTextDatum(p->name);
	values[3] = CStringGetTextDatum(p->iban);
	values[4] = p->bic ? CStringGetTextDatum(p->bic) : (Datum) 0;
	nulls[4] = p->bic == NULL;
	vp_bulk_add(party, values, nulls);
}

static bytea *
writer_bytea(const char *s)
{
	size_t		len = strlen(s);
	bytea	   *b = palloc(len + VARHDRSZ);

	SET_VARSIZE(b, len + VARHDRSZ);
	memcpy(VARDATA(b), s, len);
	return b;
}

/*
 * vp_apply_write
 *	  Phase 5: writer tables and outbox, in input order.  Rows are formed in
 *	  a per-row context; bulk.c copies them into its buffer.
 */
void
vp_apply_write(ApplyBatch *batch)
{
	VpBulkInsert *payment = NULL,
			   *party = NULL,
			   *remittance = NULL,
			   *notification = NULL,
			   *outbox = NULL;
	MemoryContext rowcxt;
	VpHeaders	headers;
	int			i;

	rowcxt = AllocSetContextCreate(CurrentMemoryContext, "voltpay write row",
								   ALLOCSET_DEFAULT_SIZES);
	for (i = 0; i < batch->n; i++)
	{
		ApplyItem  *it = &batch->items[i];
		MemoryContext old;

		if (it->status == APPLY_APPLIED)
		{
			VpPayment  *p = it->payment;
			Datum		values[10];
			bool		nulls[10] = {false};
			Datum		pid;

			if (payment == NULL)
			{
				payment = vp_bulk_begin("payment");
				party = vp_bulk_begin("payment_party");
				remittance = vp_bulk_begin("payment_remittance");
				notification = vp_bulk_begin("payment_notification");
			}
			if (outbox == NULL)
				outbox = vp_bulk_begin("outbox");

			old = MemoryContextSwitchTo(rowcxt);
			pid = UUIDPGetDatum(&p->payment_id);
			values[0] = pid;
			values[1] = UUIDPGetDatum(&p->message_id);
			values[2] = CStringGetTextDatum(p->account_id);
			values[3] = DirectFunctionCall3(numeric_in, CStringGetDatum(p->amount),
											ObjectIdGetDatum(InvalidOid),
											Int32GetDatum(-1));
			values[4] = CStringGetTextDatum(p->currency);
			values[5] = TimestampTzGetDatum(p->created_at);
			values[6] = TimestampTzGetDatum(batch->now);
			values[7] = batch->topic ? CStringGetTextDatum(batch->topic) : (Datum) 0;
			nulls[7] = batch->topic == NULL;
			values[8] = Int32GetDatum(it->partition);
			nulls[8] = !it->has_coord;
			values[9] = Int64GetDatum(it->offset);
			nulls[9] = !it->has_coord;
			vp_bulk_add(payment, values, nulls);

			writer_party(party, pid, "debtor", &p->debtor);
			writer_party(party, pid, "creditor", &p->creditor);
			if (p->remittance_info)
			{
				values[1] = CStringGetTextDatum(p->remittance_info);
				vp_bulk_add(remittance, values, nulls);
			}
			if (p->customer_email)
			{
				values[1] = CStringGetTextDatum(p->customer_email);
				vp_bulk_add(notification, values, nulls);
			}

			vp_event_headers(&headers, &p->message_id, "payment_applied",
							 it->traceparent);
			writer_outbox_add(outbox, batch, it, "read", p->account_id,
							  writer_bytea(vp_event_read(p, batch->now)), &headers);
			if (p->customer_email)
			{
				vp_event_headers(&headers, &p->message_id, "payment_email",
								 it->traceparent);
				writer_outbox_add(outbox, batch, it, "email", p->account_id,
								  writer_bytea(vp_event_email(p)), &headers);
			}
			MemoryContextSwitchTo(old);
		}
		else if (it->dead_letter)
		{
			if (outbox == NULL)
				outbox = vp_bulk_begin("outbox");
			old = MemoryContextSwitchTo(rowcxt);
			vp_dead_letter_headers(&headers, it->has_id ? &it->message_id : NULL,
								   vp_reason_code(it->reason), it->detail,
								   batch->topic, it->partition, it->offset,
								   it->has_coord, it->traceparent);
			writer_outbox_add(outbox, batch, it, "dead_letter", it->key,
							  it->payload ? it->payload : writer_bytea(""), &headers);
			MemoryContextSwitchTo(old);
		}
		MemoryContextReset(rowcxt);
	}

	if (payment)
	{
		vp_bulk_end(payment);
		vp_bulk_end(party);
		vp_bulk_end(remittance);
		vp_bulk_end(notification);
	}
	if (outbox)
		vp_bulk_end(outbox);
	MemoryContextDelete(rowcxt);
	CommandCounterIncrement();
}
