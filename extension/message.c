/*-------------------------------------------------------------------------
 *
 * message.c
 *	  Parses one Kafka record value against message contract v1
 *	  (docs/message-contract.md) into a VpPayment.  The SQL function
 *	  validate_message() is in message_sql.c and the JSON pass (steps 3
 *	  and 4 below) in message_json.c, so that this file needs from the
 *	  backend only palloc, StringInfo and the encoding functions
 *	  (fuzz/extension builds both outside the server).
 *
 * The checks run in the contract's order and the first failure wins:
 *
 *	  0. the record key, when there is one: valid UTF-8 without NUL bytes
 *		 (invalid_key), since it is compared with account_id and stored as
 *		 text;
 *	  1. empty value, size (at most VP_MAX_MESSAGE_BYTES);
 *	  2. UTF-8 (no NUL bytes);
 *	  3. a pre-scan of the raw bytes for the nesting depth: deeper than
 *		 VP_MAX_JSON_DEPTH is refused before the parser runs, because
 *		 PostgreSQL's recursive-descent parser calls check_stack_depth(),
 *		 which raises an ERROR, and its callbacks cannot stop it;
 *	  4. PostgreSQL's JSON parser (common/jsonapi.h) with semantic callbacks
 *		 that find duplicate keys at every depth and collect the scalars of
 *		 the top-level fields and of the debtor/creditor fields; then the
 *		 value must be an object;
 *	  5. the fields, in this order: message_id, payment_id, account_id, the
 *		 record key, currency, amount, debtor, creditor, remittance_info,
 *		 customer_email, created_at.
 *
 * Nothing here raises an ERROR for bad input; only out-of-memory can.
 * Everything is palloc'd in CurrentMemoryContext, which the caller resets.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "mb/pg_wchar.h"

#include "message_int.h"

/* Most bytes of a record key shown in hexadecimal in a detail. */
#define MSG_KEY_HEX_BYTES	32

/* Most characters of remittance_info. */
#define MSG_MAX_REMITTANCE	140

/* The party fields' paths in details, debtor's then creditor's. */
static const char *const msg_party_paths[2][MSG_N_PARTY] = {
	{"debtor.name", "debtor.iban", "debtor.bic"},
	{"creditor.name", "creditor.iban", "creditor.bic"}
};

/*
 * vp_reason_code
 *	  The stable text code of a reason; NULL for VP_OK.
 */
const char *
vp_reason_code(VpReason reason)
{
	switch (reason)
	{
		case VP_OK:
			return NULL;
		case VP_EMPTY_VALUE:
			return "empty_value";
		case VP_TOO_LARGE:
			return "too_large";
		case VP_INVALID_JSON:
			return "invalid_json";
		case VP_MISSING_FIELD:
			return "missing_field";
		case VP_INVALID_FIELD:
			return "invalid_field";
		case VP_KEY_MISMATCH:
			return "key_mismatch";
		case VP_UNKNOWN_CURRENCY:
			return "unknown_currency";
		case VP_INVALID_AMOUNT:
			return "invalid_amount";
		case VP_INVALID_IBAN:
			return "invalid_iban";
		case VP_IDEMPOTENCY_CONFLICT:
			return "idempotency_conflict";
		case VP_INVALID_KEY:
			return "invalid_key";
	}
	return NULL;
}

/*
 * vp_too_large_detail
 *	  The detail of a too_large rejection.
 */
char *
vp_too_large_detail(size_t len)
{
	return psprintf("The value has %zu bytes, more than the %d bytes (64 KiB) allowed.",
					len, VP_MAX_MESSAGE_BYTES);
}

/*
 * vp_check_key
 *	  True when a record key of keylen bytes is text: valid UTF-8 without
 *	  NUL bytes.  Otherwise *detail (when detail is not NULL) receives a
 *	  sentence with the offset of the first bad byte and the key's first
 *	  MSG_KEY_HEX_BYTES bytes in hexadecimal, so that the rejected row still
 *	  shows which key it was.
 */
bool
vp_check_key(const char *key, size_t keylen, char **detail)
{
	int			valid;
	StringInfoData hex;

	if (keylen > (size_t) PG_INT32_MAX)
		valid = pg_encoding_verifymbstr(PG_UTF8, key, PG_INT32_MAX);
	else
		valid = pg_encoding_verifymbstr(PG_UTF8, key, (int) keylen);
	if ((size_t) valid == keylen)
		return true;
	if (detail == NULL)
		return false;

	initStringInfo(&hex);
	for (size_t i = 0; i < keylen && i < MSG_KEY_HEX_BYTES; i++)
		appendStringInfo(&hex, "%02x", (unsigned char) key[i]);
	if (keylen > MSG_KEY_HEX_BYTES)
		appendStringInfoString(&hex, "...");
	*detail = psprintf("The record key is not text: %s at offset %d (key %zu bytes, \\x%s).",
					   key[valid] == '\0' ? "it contains a NUL byte" : "invalid UTF-8 byte sequence",
					   valid, keylen, hex.data);
	return false;
}

/*
 * msg_get_string
 *	  Fetches a field that must be a JSON string.  Returns VP_OK with *s set
 *	  (NULL when an optional field is absent or null), or the reason and a
 *	  detail.
 */
static VpReason
msg_get_string(const MsgValue *v, const char *name, bool required,
			   char **s, char **detail)
{
	*s = NULL;
	if (v->kind == MSG_ABSENT || v->kind == MSG_NULL)
	{
		if (!required)
			return VP_OK;
		*detail = psprintf("Required field \"%s\" is %s.", name,
						   v->kind == MSG_ABSENT ? "missing" : "null");
		return VP_MISSING_FIELD;
	}
	if (v->kind != MSG_STRING)
	{
		*detail = psprintf("Field \"%s\" must be a JSON string, not %s.",
						   name, vp_msg_kind_name(v->kind));
		return VP_INVALID_FIELD;
	}
	*s = v->text;
	return VP_OK;
}

/*
 * msg_bad
 *	  Completes a validator's predicate into a detail sentence and returns
 *	  the reason.
 */
static VpReason
msg_bad(VpReason reason, const char *name, const char *predicate, char **detail)
{
	*detail = psprintf("Field \"%s\" %s.", name, predicate);
	return reason;
}

/*
 * msg_check_party
 *	  Checks the debtor or creditor object (which) into *party.
 */
static VpReason
msg_check_party(MsgState *st, int which, VpParty *party, char **detail)
{
	const char *pname = vp_msg_top_names[which == 0 ? MSG_F_DEBTOR : MSG_F_CREDITOR];
	const MsgValue *obj = &st->top[which == 0 ? MSG_F_DEBTOR : MSG_F_CREDITOR];
	const MsgValue *f = st->parties[which];
	const char *name;
	char	   *s;
	char	   *why;
	VpReason	r;

	if (obj->kind == MSG_ABSENT || obj->kind == MSG_NULL)
	{
		*detail = psprintf("Required field \"%s\" is %s.", pname,
						   obj->kind == MSG_ABSENT ? "missing" : "null");
		return VP_MISSING_FIELD;
	}
	if (obj->kind != MSG_OBJECT)
	{
		*detail = psprintf("Field \"%s\" must be a JSON object, not %s.",
						   pname, vp_msg_kind_name(obj->kind));
		return VP_INVALID_FIELD;
	}

	name = msg_party_paths[which][MSG_P_NAME];
	if ((r = msg_get_string(&f[MSG_P_NAME], name, true, &s, detail)) != VP_OK)
		return r;
	if (!vp_check_name(s, &why))
		return msg_bad(VP_INVALID_FIELD, name, why, detail);
	party->name = s;

	name = msg_party_paths[which][MSG_P_IBAN];
	if ((r = msg_get_string(&f[MSG_P_IBAN], name, true, &s, detail)) != VP_OK)
		return r;
	if (!vp_check_iban(s, &party->iban, &why))
		return msg_bad(VP_INVALID_IBAN, name, why, detail);

	name = msg_party_paths[which][MSG_P_BIC];
	if ((r = msg_get_string(&f[MSG_P_BIC], name, false, &s, detail)) != VP_OK)
		return r;
	party->bic = NULL;
	if (s != NULL && !vp_check_bic(s, &party->bic, &why))
		return msg_bad(VP_INVALID_FIELD, name, why, detail);
	return VP_OK;
}

/*
 * msg_check_fields
 *	  The field rules, in contract order, on a parsed object.
 */
static VpReason
msg_check_fields(MsgState *st, const char *key, VpPayment *out, char **detail)
{
	char	   *s;
	char	   *why;
	const MsgValue *amount;
	VpReason	r;

	/* message_id */
	if ((r = msg_get_string(&st->top[MSG_F_MESSAGE_ID], "message_id", true, &s, detail)) != VP_OK)
		return r;
	if (!vp_parse_uuid(s, &out->message_id))
		return msg_bad(VP_INVALID_FIELD, "message_id",
					   "is not a UUID (8-4-4-4-12 hexadecimal digits)", detail);
	out->has_message_id = true;

	/* payment_id */
	if ((r = msg_get_string(&st->top[MSG_F_PAYMENT_ID], "payment_id", true, &s, detail)) != VP_OK)
		return r;
	if (!vp_parse_uuid(s, &out->payment_id))
		return msg_bad(VP_INVALID_FIELD, "payment_id",
					   "is not a UUID (8-4-4-4-12 hexadecimal digits)", detail);

	/* account_id, then the record key */
	if ((r = msg_get_string(&st->top[MSG_F_ACCOUNT_ID], "account_id", true, &s, detail)) != VP_OK)
		return r;
	if (!vp_check_account_id(s, &why))
		return msg_bad(VP_INVALID_FIELD, "account_id", why, detail);
	out->account_id = s;
	if (key != NULL && strcmp(key, s) != 0)
	{
		*detail = psprintf("Field \"account_id\" (\"%s\") differs from the record key (\"%s\").",
						   vp_msg_quote(s), vp_msg_quote(key));
		return VP_KEY_MISMATCH;
	}

	/* currency */
	if ((r = msg_get_string(&st->top[MSG_F_CURRENCY], "currency", true, &s, detail)) != VP_OK)
		return r;
	out->minor_unit = vp_currency_minor_unit(s);
	if (out->minor_unit < 0)
	{
		*detail = psprintf("Field \"currency\" (\"%s\") is not an active ISO 4217 currency code in upper case.",
						   vp_msg_quote(s));
		return VP_UNKNOWN_CURRENCY;
	}
	memcpy(out->currency, s, 4);

	/* amount: a string or the literal text of a JSON number */
	amount = &st->top[MSG_F_AMOUNT];
	if (amount->kind == MSG_ABSENT || amount->kind == MSG_NULL)
	{
		*detail = psprintf("Required field \"amount\" is %s.",
						   amount->kind == MSG_ABSENT ? "missing" : "null");
		return VP_MISSING_FIELD;
	}
	if (amount->kind != MSG_STRING && amount->kind != MSG_NUMBER)
	{
		*detail = psprintf("Field \"amount\" must be a decimal string or a JSON number, not %s.",
						   vp_msg_kind_name(amount->kind));
		return VP_INVALID_FIELD;
	}
	if (!vp_parse_amount(amount->text, out->minor_unit, &out->amount, &why))
	{
		if (amount->kind == MSG_STRING)
			return msg_bad(VP_INVALID_AMOUNT, "amount", why, detail);
		*detail = psprintf("Field \"amount\" (the JSON number %s) %s.",
						   vp_msg_quote(amount->text), why);
		return VP_INVALID_AMOUNT;
	}

	/* debtor, creditor */
	if ((r = msg_check_party(st, 0, &out->debtor, detail)) != VP_OK)
		return r;
	if ((r = msg_check_party(st, 1, &out->creditor, detail)) != VP_OK)
		return r;

	/* remittance_info */
	if ((r = msg_get_string(&st->top[MSG_F_REMITTANCE_INFO], "remittance_info", false, &s, detail)) != VP_OK)
		return r;
	if (s != NULL && vp_utf8_length(s) > MSG_MAX_REMITTANCE)
	{
		*detail = psprintf("Field \"remittance_info\" has %d characters, more than %d.",
						   vp_utf8_length(s), MSG_MAX_REMITTANCE);
		return VP_INVALID_FIELD;
	}
	out->remittance_info = s;

	/* customer_email */
	if ((r = msg_get_string(&st->top[MSG_F_CUSTOMER_EMAIL], "customer_email", false, &s, detail)) != VP_OK)
		return r;
	if (s != NULL && !vp_check_email(s, &why))
		return msg_bad(VP_INVALID_FIELD, "customer_email", why, detail);
	out->customer_email = s;

	/* created_at */
	if ((r = msg_get_string(&st->top[MSG_F_CREATED_AT], "created_at", true, &s, detail)) != VP_OK)
		return r;
	if (!vp_parse_rfc3339(s, &out->created_at, &why))
		return msg_bad(VP_INVALID_FIELD, "created_at", why, detail);

	return VP_OK;
}

/*
 * vp_message_parse
 *	  Parses and validates one record (raw key and value) against contract
 *	  v1; see voltpay.h.  On failure *out holds what was parsed before the
 *	  failing rule (has_message_id tells whether message_id is usable).
 */
VpReason
vp_message_parse(const char *data, size_t len, const char *rawkey,
				 size_t keylen, VpPayment *out, char **detail)
{
	MsgState   *st;
	char	   *buf;
	char	   *key = NULL;
	int			valid;
	VpReason	r;

	memset(out, 0, sizeof(VpPayment));
	*detail = NULL;

	if (rawkey != NULL)
	{
		if (!vp_check_key(rawkey, keylen, detail))
			return VP_INVALID_KEY;
		key = pnstrdup(rawkey, keylen);
	}

	if (data == NULL || len == 0)
	{
		*detail = pstrdup(data == NULL ? "The value is null." : "The value is empty.");
		return VP_EMPTY_VALUE;
	}
	if (len > VP_MAX_MESSAGE_BYTES)
	{
		*detail = vp_too_large_detail(len);
		return VP_TOO_LARGE;
	}

	valid = pg_encoding_verifymbstr(PG_UTF8, data, (int) len);
	if (valid < (int) len)
	{
		if (data[valid] == '\0')
			*detail = psprintf("The value is not valid UTF-8: it contains a NUL byte at offset %d.",
							   valid);
		else
			*detail = psprintf("The value is not valid UTF-8: invalid byte sequence at offset %d.",
							   valid);
		return VP_INVALID_JSON;
	}

	if (!vp_msg_prescan(data, len, detail))
		return VP_INVALID_JSON;

	buf = palloc(len + 1);
	memcpy(buf, data, len);
	buf[len] = '\0';
	st = palloc0(sizeof(MsgState));
	if (!vp_msg_parse_json(buf, len, st, detail))
		return VP_INVALID_JSON;

	r = msg_check_fields(st, key, out, detail);
	Assert((r == VP_OK) == (*detail == NULL));
	return r;
}
