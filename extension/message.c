/*-------------------------------------------------------------------------
 *
 * message.c
 *	  Parses one Kafka record value against message contract v1
 *	  (docs/message-contract.md) into a VpPayment.  The SQL function
 *	  validate_message() is in message_sql.c, so that this file needs from
 *	  the backend only palloc, StringInfo, the JSON parser and the encoding
 *	  functions (fuzz/extension builds it outside the server).
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

#include "common/jsonapi.h"
#include "mb/pg_wchar.h"

#include "voltpay.h"

/* Longest piece of input quoted back in a detail, in characters. */
#define MSG_QUOTE_CHARS		40

/* Most bytes of a record key shown in hexadecimal in a detail. */
#define MSG_KEY_HEX_BYTES	32

/* Longest JSON parser detail kept, in bytes. */
#define MSG_JSON_DETAIL_BYTES	200

/* Most characters of remittance_info. */
#define MSG_MAX_REMITTANCE	140

/* What a collected JSON value was. */
typedef enum MsgKind
{
	MSG_ABSENT = 0,
	MSG_STRING,
	MSG_NUMBER,
	MSG_TRUE,
	MSG_FALSE,
	MSG_NULL,
	MSG_OBJECT,
	MSG_ARRAY
} MsgKind;

/* One collected field: its kind and, for scalars, its text. */
typedef struct MsgValue
{
	MsgKind		kind;
	char	   *text;			/* de-escaped string or number lexeme */
} MsgValue;

/* The top-level fields the contract knows, in check order. */
typedef enum MsgTopField
{
	MSG_F_MESSAGE_ID,
	MSG_F_PAYMENT_ID,
	MSG_F_ACCOUNT_ID,
	MSG_F_CURRENCY,
	MSG_F_AMOUNT,
	MSG_F_DEBTOR,
	MSG_F_CREDITOR,
	MSG_F_REMITTANCE_INFO,
	MSG_F_CUSTOMER_EMAIL,
	MSG_F_CREATED_AT,
	MSG_N_TOP
} MsgTopField;

static const char *const msg_top_names[MSG_N_TOP] = {
	"message_id", "payment_id", "account_id", "currency", "amount",
	"debtor", "creditor", "remittance_info", "customer_email", "created_at"
};

/* The fields of a party object. */
typedef enum MsgPartyField
{
	MSG_P_NAME,
	MSG_P_IBAN,
	MSG_P_BIC,
	MSG_N_PARTY
} MsgPartyField;

static const char *const msg_party_names[MSG_N_PARTY] = {"name", "iban", "bic"};

/* Their paths in details, debtor's then creditor's. */
static const char *const msg_party_paths[2][MSG_N_PARTY] = {
	{"debtor.name", "debtor.iban", "debtor.bic"},
	{"creditor.name", "creditor.iban", "creditor.bic"}
};

/* One open JSON container while parsing. */
typedef struct MsgLevel
{
	bool		is_object;
	int			field;			/* known field being parsed, or -1 */
	char	  **keys;			/* keys seen in this object */
	int			nkeys;
	int			maxkeys;
	uint32		known;			/* known fields seen (bit per field) */
	bool		check_keys;		/* a key that is not a known field, or a known
								 * one twice: compare all keys */
} MsgLevel;

/* Semantic state of the parse. */
typedef struct MsgState
{
	int			depth;			/* containers open; levels[depth] innermost */
	MsgLevel	levels[VP_MAX_JSON_DEPTH + 2];
	MsgKind		root;			/* kind of the whole value */
	int			party;			/* 0 debtor, 1 creditor while inside it */
	MsgValue	top[MSG_N_TOP];
	MsgValue	parties[2][MSG_N_PARTY];
	char	   *dup_detail;		/* first duplicate key, as a detail */
} MsgState;

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
 * msg_quote
 *	  A short, printable copy of a piece of input for a detail: at most
 *	  MSG_QUOTE_CHARS characters (then "..."), control characters and
 *	  double quotes replaced by "?".  s is valid UTF-8.
 */
static char *
msg_quote(const char *s)
{
	StringInfoData buf;
	int			chars = 0;

	initStringInfo(&buf);
	for (const unsigned char *p = (const unsigned char *) s; *p;)
	{
		int			len = pg_utf_mblen(p);

		/* never step over the terminator, whatever the bytes claim */
		for (int k = 1; k < len; k++)
		{
			if (p[k] == '\0')
			{
				len = k;
				break;
			}
		}
		if (chars++ == MSG_QUOTE_CHARS)
		{
			appendStringInfoString(&buf, "...");
			break;
		}
		if (*p < 0x20 || *p == 0x7F || *p == '"' ||
			(*p == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F))
			appendStringInfoChar(&buf, '?');
		else
			appendBinaryStringInfo(&buf, (const char *) p, len);
		p += len;
	}
	return buf.data;
}

/*
 * msg_kind_name
 *	  English name of a JSON kind, for details ("a number").
 */
static const char *
msg_kind_name(MsgKind kind)
{
	switch (kind)
	{
		case MSG_STRING:
			return "a string";
		case MSG_NUMBER:
			return "a number";
		case MSG_TRUE:
			return "true";
		case MSG_FALSE:
			return "false";
		case MSG_NULL:
			return "null";
		case MSG_OBJECT:
			return "an object";
		case MSG_ARRAY:
			return "an array";
		case MSG_ABSENT:
			break;
	}
	return "absent";
}

/*
 * msg_kind_of
 *	  MsgKind of a scalar token.
 */
static MsgKind
msg_kind_of(JsonTokenType type)
{
	switch (type)
	{
		case JSON_TOKEN_STRING:
			return MSG_STRING;
		case JSON_TOKEN_NUMBER:
			return MSG_NUMBER;
		case JSON_TOKEN_TRUE:
			return MSG_TRUE;
		case JSON_TOKEN_FALSE:
			return MSG_FALSE;
		default:
			return MSG_NULL;
	}
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
 * msg_prescan
 *	  Walks the raw bytes once, skipping string contents (with their
 *	  escapes), and returns false with a detail when arrays and objects nest
 *	  deeper than VP_MAX_JSON_DEPTH.  Bytes that are not JSON are left to the
 *	  parser.
 *
 *	  Outside a UTF-8 database it also refuses \u escapes of non-ASCII
 *	  characters: the backend's lexer converts them to the server encoding
 *	  and raises an ERROR when it cannot, and the contract promises UTF-8
 *	  strings.
 */
static bool
msg_prescan(const char *data, size_t len, char **detail)
{
	int			depth = 0;
	bool		in_string = false;
	bool		utf8_db = (GetDatabaseEncoding() == PG_UTF8);

	for (size_t i = 0; i < len; i++)
	{
		char		c = data[i];

		if (in_string)
		{
			if (c == '"')
				in_string = false;
			else if (c == '\\' && i + 1 < len)
			{
				i++;
				if (!utf8_db && data[i] == 'u' && i + 4 < len)
				{
					int			code = 0;
					bool		hex = true;

					for (int k = 1; k <= 4; k++)
					{
						char		h = data[i + k];

						code <<= 4;
						if (h >= '0' && h <= '9')
							code |= h - '0';
						else if (h >= 'a' && h <= 'f')
							code |= h - 'a' + 10;
						else if (h >= 'A' && h <= 'F')
							code |= h - 'A' + 10;
						else
							hex = false;
					}
					if (hex && code > 0x7F)
					{
						*detail = psprintf("The value uses a \\u escape for a non-ASCII character, which a database in encoding %s cannot decode; send the character as UTF-8.",
										   GetDatabaseEncodingName());
						return false;
					}
				}
			}
		}
		else if (c == '"')
			in_string = true;
		else if (c == '[' || c == '{')
		{
			if (++depth > VP_MAX_JSON_DEPTH)
			{
				*detail = psprintf("The value nests arrays and objects more than %d levels deep.",
								   VP_MAX_JSON_DEPTH);
				return false;
			}
		}
		else if ((c == ']' || c == '}') && depth > 0)
			depth--;
	}
	return true;
}

/*
 * msg_field_path
 *	  The dotted name of the key being parsed in the innermost object, for a
 *	  duplicate-key detail: "amount", "debtor.iban", or just the key deeper
 *	  down.
 */
static char *
msg_field_path(MsgState *st, const char *key)
{
	if (st->depth == 2 && st->party >= 0)
		return psprintf("%s.%s", msg_top_names[st->party == 0 ? MSG_F_DEBTOR : MSG_F_CREDITOR],
						msg_quote(key));
	return msg_quote(key);
}

/*
 * msg_cmp_keys
 *	  qsort comparator of key pointers.
 */
static int
msg_cmp_keys(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/*
 * msg_record
 *	  Stores the kind (and text) of the value of the field being parsed in
 *	  the innermost container, when that is a field the contract knows.
 */
static void
msg_record(MsgState *st, MsgKind kind, char *text)
{
	MsgLevel   *lvl;
	MsgValue   *v = NULL;

	if (st->depth == 0)
	{
		st->root = kind;
		return;
	}
	if (st->depth > VP_MAX_JSON_DEPTH)
		return;
	lvl = &st->levels[st->depth];
	if (!lvl->is_object || lvl->field < 0)
		return;
	if (st->depth == 1)
		v = &st->top[lvl->field];
	else if (st->depth == 2 && st->party >= 0)
		v = &st->parties[st->party][lvl->field];
	if (v != NULL)
	{
		v->kind = kind;
		v->text = text;
	}
}

/*
 * msg_push
 *	  Opens a container one level deeper.
 */
static void
msg_push(MsgState *st, bool is_object)
{
	st->depth++;
	if (st->depth <= VP_MAX_JSON_DEPTH)
	{
		MsgLevel   *lvl = &st->levels[st->depth];

		lvl->is_object = is_object;
		lvl->field = -1;
		lvl->nkeys = 0;
		lvl->known = 0;
		lvl->check_keys = false;
	}
}

/* JSON parser callbacks. */

static void
msg_object_start(void *state)
{
	MsgState   *st = (MsgState *) state;
	int			parent_field = -1;

	if (st->depth == 1)
		parent_field = st->levels[1].field;
	msg_record(st, MSG_OBJECT, NULL);
	msg_push(st, true);
	if (st->depth == 2 && (parent_field == MSG_F_DEBTOR || parent_field == MSG_F_CREDITOR))
		st->party = (parent_field == MSG_F_DEBTOR) ? 0 : 1;
}

static void
msg_object_end(void *state)
{
	MsgState   *st = (MsgState *) state;

	if (st->depth <= VP_MAX_JSON_DEPTH && st->dup_detail == NULL)
	{
		MsgLevel   *lvl = &st->levels[st->depth];

		/*
		 * Keys that are all known fields, each once, cannot repeat: the usual
		 * message skips the sort.
		 */
		if (lvl->nkeys > 1 && lvl->check_keys)
		{
			qsort(lvl->keys, lvl->nkeys, sizeof(char *), msg_cmp_keys);
			for (int i = 1; i < lvl->nkeys; i++)
			{
				if (strcmp(lvl->keys[i - 1], lvl->keys[i]) == 0)
				{
					st->dup_detail =
						psprintf("Key \"%s\" appears more than once in the same object.",
								 msg_field_path(st, lvl->keys[i]));
					break;
				}
			}
		}
	}
	if (st->depth == 2)
		st->party = -1;
	st->depth--;
}

static void
msg_array_start(void *state)
{
	MsgState   *st = (MsgState *) state;

	msg_record(st, MSG_ARRAY, NULL);
	msg_push(st, false);
}

static void
msg_array_end(void *state)
{
	MsgState   *st = (MsgState *) state;

	st->depth--;
}

static void
msg_object_field_start(void *state, char *fname, bool isnull)
{
	MsgState   *st = (MsgState *) state;
	MsgLevel   *lvl;

	if (st->depth < 1 || st->depth > VP_MAX_JSON_DEPTH || fname == NULL)
		return;
	lvl = &st->levels[st->depth];
	if (lvl->nkeys == lvl->maxkeys)
	{
		lvl->maxkeys = lvl->maxkeys == 0 ? 16 : lvl->maxkeys * 2;
		if (lvl->keys == NULL)
			lvl->keys = palloc(lvl->maxkeys * sizeof(char *));
		else
			lvl->keys = repalloc(lvl->keys, lvl->maxkeys * sizeof(char *));
	}
	lvl->keys[lvl->nkeys++] = fname;

	lvl->field = -1;
	if (st->depth == 1)
	{
		for (int i = 0; i < MSG_N_TOP; i++)
		{
			if (strcmp(fname, msg_top_names[i]) == 0)
			{
				lvl->field = i;
				break;
			}
		}
	}
	else if (st->depth == 2 && st->party >= 0)
	{
		for (int i = 0; i < MSG_N_PARTY; i++)
		{
			if (strcmp(fname, msg_party_names[i]) == 0)
			{
				lvl->field = i;
				break;
			}
		}
	}
	if (lvl->field < 0 || (lvl->known & (1u << lvl->field)) != 0)
		lvl->check_keys = true;
	else
		lvl->known |= 1u << lvl->field;
}

static void
msg_object_field_end(void *state, char *fname, bool isnull)
{
	MsgState   *st = (MsgState *) state;

	if (st->depth >= 1 && st->depth <= VP_MAX_JSON_DEPTH)
		st->levels[st->depth].field = -1;
}

static void
msg_scalar(void *state, char *token, JsonTokenType tokentype)
{
	msg_record((MsgState *) state, msg_kind_of(tokentype), token);
}

/*
 * msg_parse_json
 *	  Parses buf (NUL-terminated, len bytes, valid UTF-8, depth checked)
 *	  into st.  Returns false with a detail for a syntax error, a
 *	  duplicate key or a value that is not an object.
 */
static bool
msg_parse_json(char *buf, size_t len, MsgState *st, char **detail)
{
	JsonLexContext *lex;
	JsonSemAction sem;
	JsonParseErrorType rc;

	memset(&sem, 0, sizeof(sem));
	sem.semstate = st;
	sem.object_start = msg_object_start;
	sem.object_end = msg_object_end;
	sem.array_start = msg_array_start;
	sem.array_end = msg_array_end;
	sem.object_field_start = msg_object_field_start;
	sem.object_field_end = msg_object_field_end;
	sem.scalar = msg_scalar;

	st->party = -1;
	lex = makeJsonLexContextCstringLen(buf, (int) len, PG_UTF8, true);
	rc = pg_parse_json(lex, &sem);
	if (rc != JSON_SUCCESS)
	{
		char	   *why = json_errdetail(rc, lex);
		size_t		whylen = strlen(why);

		if (whylen > MSG_JSON_DETAIL_BYTES)
		{
			int			cut = pg_encoding_mbcliplen(PG_UTF8, why, (int) whylen,
													MSG_JSON_DETAIL_BYTES);

			why = psprintf("%.*s...", cut, why);
		}
		*detail = psprintf("The value is not valid JSON (line %d): %s",
						   lex->line_number, why);
		return false;
	}
	if (st->dup_detail != NULL)
	{
		*detail = st->dup_detail;
		return false;
	}
	if (st->root != MSG_OBJECT)
	{
		*detail = psprintf("The value is %s, not a JSON object.", msg_kind_name(st->root));
		return false;
	}
	return true;
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
						   name, msg_kind_name(v->kind));
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
	const char *pname = msg_top_names[which == 0 ? MSG_F_DEBTOR : MSG_F_CREDITOR];
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
						   pname, msg_kind_name(obj->kind));
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
						   msg_quote(s), msg_quote(key));
		return VP_KEY_MISMATCH;
	}

	/* currency */
	if ((r = msg_get_string(&st->top[MSG_F_CURRENCY], "currency", true, &s, detail)) != VP_OK)
		return r;
	out->minor_unit = vp_currency_minor_unit(s);
	if (out->minor_unit < 0)
	{
		*detail = psprintf("Field \"currency\" (\"%s\") is not an active ISO 4217 currency code in upper case.",
						   msg_quote(s));
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
						   msg_kind_name(amount->kind));
		return VP_INVALID_FIELD;
	}
	if (!vp_parse_amount(amount->text, out->minor_unit, &out->amount, &why))
	{
		if (amount->kind == MSG_STRING)
			return msg_bad(VP_INVALID_AMOUNT, "amount", why, detail);
		*detail = psprintf("Field \"amount\" (the JSON number %s) %s.",
						   msg_quote(amount->text), why);
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

	if (!msg_prescan(data, len, detail))
		return VP_INVALID_JSON;

	buf = palloc(len + 1);
	memcpy(buf, data, len);
	buf[len] = '\0';
	st = palloc0(sizeof(MsgState));
	if (!msg_parse_json(buf, len, st, detail))
		return VP_INVALID_JSON;

	r = msg_check_fields(st, key, out, detail);
	Assert((r == VP_OK) == (*detail == NULL));
	return r;
}
