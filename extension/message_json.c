/*-------------------------------------------------------------------------
 *
 * message_json.c
 *	  The JSON pass of message parsing (message.c has the contract's field
 *	  checks): a pre-scan of the raw bytes for the nesting depth (and, in
 *	  a database that is not UTF-8, \u escapes it could not decode), then
 *	  PostgreSQL's JSON parser (common/jsonapi.h) with semantic callbacks
 *	  that find duplicate keys at every depth and collect the scalars of
 *	  the top-level fields and of the debtor/creditor fields into a
 *	  MsgState.  Like message.c it needs from the backend only palloc,
 *	  StringInfo, the JSON parser and the encoding functions.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/jsonapi.h"
#include "mb/pg_wchar.h"

#include "message_int.h"

/* Longest piece of input quoted back in a detail, in characters. */
#define MSG_QUOTE_CHARS		40

/* Longest JSON parser detail kept, in bytes. */
#define MSG_JSON_DETAIL_BYTES	200

const char *const vp_msg_top_names[MSG_N_TOP] = {
	"message_id", "payment_id", "account_id", "currency", "amount",
	"debtor", "creditor", "remittance_info", "customer_email", "created_at"
};

static const char *const msg_party_names[MSG_N_PARTY] = {"name", "iban", "bic"};

/*
 * vp_msg_quote
 *	  A short, printable copy of a piece of input for a detail: at most
 *	  MSG_QUOTE_CHARS characters (then "..."), control characters and
 *	  double quotes replaced by "?".  s is valid UTF-8.
 */
char *
vp_msg_quote(const char *s)
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
 * vp_msg_kind_name
 *	  English name of a JSON kind, for details ("a number").
 */
const char *
vp_msg_kind_name(MsgKind kind)
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
 * vp_msg_prescan
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
bool
vp_msg_prescan(const char *data, size_t len, char **detail)
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
		return psprintf("%s.%s", vp_msg_top_names[st->party == 0 ? MSG_F_DEBTOR : MSG_F_CREDITOR],
						vp_msg_quote(key));
	return vp_msg_quote(key);
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
			if (strcmp(fname, vp_msg_top_names[i]) == 0)
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
 * vp_msg_parse_json
 *	  Parses buf (NUL-terminated, len bytes, valid UTF-8, depth checked)
 *	  into st.  Returns false with a detail for a syntax error, a
 *	  duplicate key or a value that is not an object.
 */
bool
vp_msg_parse_json(char *buf, size_t len, MsgState *st, char **detail)
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
		*detail = psprintf("The value is %s, not a JSON object.", vp_msg_kind_name(st->root));
		return false;
	}
	return true;
}
