/*-------------------------------------------------------------------------
 *
 * outbox.c
 *	  Bodies and headers of the downstream events.
 *
 * Events are compact JSON.  voltpay.republish_payment() (SQL) builds the
 * same documents from the writer tables; the pgTAP suite checks that both
 * agree.  Event format, version 1 (docs/message-contract.md):
 *
 *	payment_applied (kind 'read'): event, version, message_id, payment_id,
 *		account_id, amount (string), currency, debtor {name, iban, bic},
 *		creditor {name, iban, bic}, remittance_info, created_at, applied_at
 *	payment_email (kind 'email'): event, version, message_id, payment_id,
 *		account_id, customer_email, amount, currency, creditor_name,
 *		created_at
 *
 * Timestamps are RFC 3339 in UTC with microseconds.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "utils/datetime.h"
#include "utils/json.h"
#include "utils/jsonb.h"

#include "voltpay.h"

/*
 * vp_uuid_text
 *	  Canonical lower-case text of a UUID, palloc'd.
 */
char *
vp_uuid_text(const pg_uuid_t *u)
{
	static const char hex[] = "0123456789abcdef";
	char	   *s = palloc(37);
	char	   *o = s;
	int			i;

	for (i = 0; i < UUID_LEN; i++)
	{
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*o++ = '-';
		*o++ = hex[u->data[i] >> 4];
		*o++ = hex[u->data[i] & 0x0F];
	}
	*o = '\0';
	return s;
}

/*
 * outbox_digits
 *	  Writes v (0 <= v < 10^width) as width decimal digits.
 */
static char *
outbox_digits(char *o, int v, int width)
{
	int			i;

	for (i = width - 1; i >= 0; i--)
	{
		o[i] = '0' + v % 10;
		v /= 10;
	}
	return o + width;
}

/*
 * outbox_ts
 *	  Appends a timestamp as a JSON string, RFC 3339 UTC with microseconds:
 *	  "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", written digit by digit (the
 *	  format through appendStringInfo() was 2% of the apply's CPU), or
 *	  through that format for a year outside 0-9999.
 */
static void
outbox_ts(StringInfo buf, TimestampTz ts)
{
	struct pg_tm tm;
	fsec_t		fsec;
	char		out[32];
	char	   *o = out;

	if (timestamp2tm(ts, NULL, &tm, &fsec, NULL, NULL) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	if (tm.tm_year < 0 || tm.tm_year > 9999 || fsec < 0 || fsec > 999999)
	{
		appendStringInfo(buf, "\"%04d-%02d-%02dT%02d:%02d:%02d.%06dZ\"",
						 tm.tm_year, tm.tm_mon, tm.tm_mday,
						 tm.tm_hour, tm.tm_min, tm.tm_sec, (int) fsec);
		return;
	}
	*o++ = '"';
	o = outbox_digits(o, tm.tm_year, 4);
	*o++ = '-';
	o = outbox_digits(o, tm.tm_mon, 2);
	*o++ = '-';
	o = outbox_digits(o, tm.tm_mday, 2);
	*o++ = 'T';
	o = outbox_digits(o, tm.tm_hour, 2);
	*o++ = ':';
	o = outbox_digits(o, tm.tm_min, 2);
	*o++ = ':';
	o = outbox_digits(o, tm.tm_sec, 2);
	*o++ = '.';
	o = outbox_digits(o, (int) fsec, 6);
	*o++ = 'Z';
	*o++ = '"';
	appendBinaryStringInfo(buf, out, o - out);
}

/*
 * outbox_escape
 *	  escape_json() with a fast path for strings that need no escaping, the
 *	  common case (escape_json appends one character at a time).
 */
static void
outbox_escape(StringInfo buf, const char *str)
{
	const unsigned char *p;

	for (p = (const unsigned char *) str; *p; p++)
	{
		if (*p < 0x20 || *p == '"' || *p == '\\')
		{
			escape_json(buf, str);
			return;
		}
	}
	appendStringInfoChar(buf, '"');
	appendBinaryStringInfo(buf, str, (const char *) p - str);
	appendStringInfoChar(buf, '"');
}

/*
 * outbox_field
 *	  Appends ,"name":"value" (or null when value is NULL).  The first field
 *	  of an object is written without the comma by passing first = true.
 */
static void
outbox_field(StringInfo buf, const char *name, const char *value, bool first)
{
	if (!first)
		appendStringInfoChar(buf, ',');
	outbox_escape(buf, name);
	appendStringInfoChar(buf, ':');
	if (value)
		outbox_escape(buf, value);
	else
		appendStringInfoString(buf, "null");
}

/*
 * outbox_party
 *	  Appends ,"role":{"name":...,"iban":...,"bic":...}.
 */
static void
outbox_party(StringInfo buf, const char *role, const VpParty *party)
{
	appendStringInfoChar(buf, ',');
	outbox_escape(buf, role);
	appendStringInfoString(buf, ":{");
	outbox_field(buf, "name", party->name, true);
	outbox_field(buf, "iban", party->iban, false);
	outbox_field(buf, "bic", party->bic, false);
	appendStringInfoChar(buf, '}');
}

/*
 * vp_event_read
 *	  The payment_applied event of an applied payment, palloc'd.
 */
char *
vp_event_read(const VpPayment *p, TimestampTz applied_at)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"event\":\"payment_applied\",\"version\":1");
	outbox_field(&buf, "message_id", vp_uuid_text(&p->message_id), false);
	outbox_field(&buf, "payment_id", vp_uuid_text(&p->payment_id), false);
	outbox_field(&buf, "account_id", p->account_id, false);
	outbox_field(&buf, "amount", p->amount, false);
	outbox_field(&buf, "currency", p->currency, false);
	outbox_party(&buf, "debtor", &p->debtor);
	outbox_party(&buf, "creditor", &p->creditor);
	outbox_field(&buf, "remittance_info", p->remittance_info, false);
	appendStringInfoString(&buf, ",\"created_at\":");
	outbox_ts(&buf, p->created_at);
	appendStringInfoString(&buf, ",\"applied_at\":");
	outbox_ts(&buf, applied_at);
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/*
 * vp_event_email
 *	  The payment_email event of an applied payment with an e-mail address.
 */
char *
vp_event_email(const VpPayment *p)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"event\":\"payment_email\",\"version\":1");
	outbox_field(&buf, "message_id", vp_uuid_text(&p->message_id), false);
	outbox_field(&buf, "payment_id", vp_uuid_text(&p->payment_id), false);
	outbox_field(&buf, "account_id", p->account_id, false);
	outbox_field(&buf, "customer_email", p->customer_email, false);
	outbox_field(&buf, "amount", p->amount, false);
	outbox_field(&buf, "currency", p->currency, false);
	outbox_field(&buf, "creditor_name", p->creditor.name, false);
	appendStringInfoString(&buf, ",\"created_at\":");
	outbox_ts(&buf, p->created_at);
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/*
 * outbox_header
 *	  Appends one header unless its value is NULL.
 */
static void
outbox_header(VpHeaders *h, const char *key, const char *value)
{
	Assert(h->n < VP_MAX_HEADERS);
	if (value == NULL)
		return;
	h->keys[h->n] = key;
	h->values[h->n] = value;
	h->n++;
}

/*
 * vp_headers_jsonb
 *	  Headers as a flat jsonb object of strings, built without parsing text.
 */
Jsonb *
vp_headers_jsonb(const VpHeaders *h)
{
	JsonbParseState *state = NULL;
	JsonbValue	v;
	JsonbValue *res;
	int			i;

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	for (i = 0; i < h->n; i++)
	{
		v.type = jbvString;
		v.val.string.val = (char *) h->keys[i];
		v.val.string.len = strlen(h->keys[i]);
		pushJsonbValue(&state, WJB_KEY, &v);
		v.val.string.val = (char *) h->values[i];
		v.val.string.len = strlen(h->values[i]);
		pushJsonbValue(&state, WJB_VALUE, &v);
	}
	res = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	return JsonbValueToJsonb(res);
}

/*
 * vp_event_headers
 *	  Kafka headers of an event, into *h, in name order.
 */
void
vp_event_headers(VpHeaders *h, const pg_uuid_t *message_id, const char *event,
				 const char *traceparent)
{
	h->n = 0;
	outbox_header(h, "event", event);
	outbox_header(h, "message_id", vp_uuid_text(message_id));
	outbox_header(h, "traceparent", traceparent);
}

/*
 * vp_dead_letter_headers
 *	  Kafka headers of a dead-letter event, into *h, in name order: why the
 *	  message was rejected and where it came from.  message_id may be NULL.
 */
void
vp_dead_letter_headers(VpHeaders *h, const pg_uuid_t *message_id,
					   const char *reason, const char *detail,
					   const char *topic, int32 partition, int64 offset,
					   bool has_coordinates, const char *traceparent)
{
	h->n = 0;
	outbox_header(h, "event", "payment_rejected");
	outbox_header(h, "message_id", message_id ? vp_uuid_text(message_id) : NULL);
	outbox_header(h, "traceparent", traceparent);
	outbox_header(h, "voltpay-detail", detail);
	outbox_header(h, "voltpay-reason", reason);
	outbox_header(h, "voltpay-source", has_coordinates ?
				  psprintf("%s:%d:" INT64_FORMAT, topic ? topic : "", partition, offset) : NULL);
}
