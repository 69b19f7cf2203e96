/*-------------------------------------------------------------------------
 *
 * message_sql.c
 *	  validate_message(): checks one record against message contract v1
 *	  (message.c) without applying it, from SQL.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/detoast.h"
#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"

#include "voltpay.h"

PG_FUNCTION_INFO_V1(validate_message);
PG_FUNCTION_INFO_V1(validate_message_bytea);

/*
 * msg_validate
 *	  Both validate_message() functions: the key is argument 1, as text or
 *	  as bytea (either way its bytes); the rest as described below.
 */
static Datum
msg_validate(FunctionCallInfo fcinfo)
{
	TupleDesc	tupdesc;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};
	const char *key = NULL;
	size_t		keylen = 0;
	VpPayment	payment;
	VpReason	reason;
	char	   *detail = NULL;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);

	if (!PG_ARGISNULL(1))
	{
		/* text and bytea share the varlena layout */
		struct varlena *k = PG_DETOAST_DATUM_PACKED(PG_GETARG_DATUM(1));

		key = VARDATA_ANY(k);
		keylen = VARSIZE_ANY_EXHDR(k);
	}

	memset(&payment, 0, sizeof(payment));
	if (key != NULL && !vp_check_key(key, keylen, &detail))
		reason = VP_INVALID_KEY;
	else if (PG_ARGISNULL(0))
		reason = vp_message_parse(NULL, 0, key, keylen, &payment, &detail);
	else
	{
		Size		rawsize = toast_raw_datum_size(PG_GETARG_DATUM(0)) - VARHDRSZ;

		if (rawsize > VP_MAX_MESSAGE_BYTES)
		{
			reason = VP_TOO_LARGE;
			detail = vp_too_large_detail(rawsize);
		}
		else
		{
			bytea	   *payload = PG_GETARG_BYTEA_PP(0);

			reason = vp_message_parse(VARDATA_ANY(payload),
									  VARSIZE_ANY_EXHDR(payload),
									  key, keylen, &payment, &detail);
		}
	}

	values[0] = BoolGetDatum(reason == VP_OK);
	if (payment.has_message_id)
	{
		pg_uuid_t  *id = palloc(sizeof(pg_uuid_t));

		*id = payment.message_id;
		values[1] = UUIDPGetDatum(id);
	}
	else
		nulls[1] = true;
	if (reason == VP_OK)
	{
		nulls[2] = true;
		nulls[3] = true;
	}
	else
	{
		values[2] = CStringGetTextDatum(vp_reason_code(reason));
		values[3] = CStringGetTextDatum(detail);
	}

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * validate_message(payload bytea, key text)
 *		returns (valid boolean, message_id uuid, reason text, detail text)
 *
 *	  Checks one raw value against contract v1 without applying it.  A NULL
 *	  payload is empty_value.  message_id is set whenever it could be parsed,
 *	  even when a later rule rejects the message; reason and detail are NULL
 *	  for a valid message.  A payload over the size limit is rejected
 *	  without being detoasted.
 */
Datum
validate_message(PG_FUNCTION_ARGS)
{
	return msg_validate(fcinfo);
}

/*
 * validate_message_bytea(payload bytea, key bytea)
 *	  validate_message() with the record key as raw bytes (0.3.0), as the
 *	  bridge receives it: a key that is not valid UTF-8 or holds a NUL byte
 *	  is invalid_key.
 */
Datum
validate_message_bytea(PG_FUNCTION_ARGS)
{
	return msg_validate(fcinfo);
}
