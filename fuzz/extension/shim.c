/*-------------------------------------------------------------------------
 *
 * shim.c
 *	  What extension/message.c, validate.c, iso_tables.c and trace.c need
 *	  from the PostgreSQL backend, for the libFuzzer harnesses, which run
 *	  them outside a server.
 *
 * The extension's files are compiled unchanged, against the server's
 * headers.  Everything else comes from frontend libraries of
 * postgresql-server-dev-15: PostgreSQL's JSON parser (common/jsonapi.c),
 * UTF-8 verification (common/wchar.c), StringInfo, psprintf and snprintf
 * from libpgcommon and libpgport.  This file supplies the rest:
 *
 *	  - palloc and friends on malloc, each block on a list, so that
 *		vp_shim_reset() frees what one input allocated, as the backend
 *		resets its per-row memory context (LeakSanitizer then sees no
 *		leak);
 *	  - ereport/elog: below ERROR ignored; ERROR or worse prints the
 *		message and aborts, because the parsers promise never to raise an
 *		ERROR for bad input and the harness is there to find one;
 *	  - MyProcPid (trace.c seeds its id generator once per process);
 *	  - a UTF8 database (GetDatabaseEncoding), pg_encoding_mbcliplen for
 *		UTF-8, date2j and day_tab as in utils/adt/datetime.c;
 *	  - json_errdetail(), which PostgreSQL 15 builds for the backend only,
 *		with the backend's English messages (the replay test compares the
 *		details with the server's, fuzz/replay-check.sh).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/jsonapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/datetime.h"

#include "shim.h"

/* One palloc'd block: the list links, then the caller's bytes. */
typedef struct ShimBlock
{
	struct ShimBlock *prev;
	struct ShimBlock *next;
	size_t		size;
	/* max_align_t keeps the caller's bytes aligned as malloc's */
	max_align_t data[FLEXIBLE_ARRAY_MEMBER];
} ShimBlock;

static ShimBlock *shim_blocks;

#define SHIM_BLOCK(p) ((ShimBlock *) ((char *) (p) - offsetof(ShimBlock, data)))

static void *
shim_alloc(size_t size, bool zero)
{
	ShimBlock  *b = malloc(offsetof(ShimBlock, data) + size);

	if (b == NULL)
	{
		fprintf(stderr, "shim: out of memory (%zu bytes)\n", size);
		abort();
	}
	if (zero)
		memset(b->data, 0, size);
	b->size = size;
	b->prev = NULL;
	b->next = shim_blocks;
	if (shim_blocks)
		shim_blocks->prev = b;
	shim_blocks = b;
	return b->data;
}

static void
shim_unlink(ShimBlock *b)
{
	if (b->prev)
		b->prev->next = b->next;
	else
		shim_blocks = b->next;
	if (b->next)
		b->next->prev = b->prev;
}

void *
palloc(Size size)
{
	return shim_alloc(size, false);
}

void *
palloc0(Size size)
{
	return shim_alloc(size, true);
}

void *
palloc_extended(Size size, int flags)
{
	return shim_alloc(size, (flags & MCXT_ALLOC_ZERO) != 0);
}

void
pfree(void *pointer)
{
	ShimBlock  *b = SHIM_BLOCK(pointer);

	shim_unlink(b);
	free(b);
}

void *
repalloc(void *pointer, Size size)
{
	ShimBlock  *old = SHIM_BLOCK(pointer);
	void	   *p = shim_alloc(size, false);

	memcpy(p, pointer, Min(size, old->size));
	shim_unlink(old);
	free(old);
	return p;
}

char *
pstrdup(const char *in)
{
	size_t		len = strlen(in);
	char	   *out = palloc(len + 1);

	memcpy(out, in, len + 1);
	return out;
}

char *
pnstrdup(const char *in, Size size)
{
	size_t		len = strnlen(in, size);
	char	   *out = palloc(len + 1);

	memcpy(out, in, len);
	out[len] = '\0';
	return out;
}

/*
 * vp_shim_reset
 *	  Frees every block palloc'd since the last reset.
 */
void
vp_shim_reset(void)
{
	while (shim_blocks)
	{
		ShimBlock  *b = shim_blocks;

		shim_blocks = b->next;
		free(b);
	}
}

/* ereport: the message of the report being built. */
static int	shim_elevel;
static char shim_message[1024];

bool
errstart(int elevel, const char *domain)
{
	shim_elevel = elevel;
	shim_message[0] = '\0';
	return elevel >= ERROR;
}

bool
errstart_cold(int elevel, const char *domain)
{
	return errstart(elevel, domain);
}

int
errcode(int sqlerrcode)
{
	return 0;
}

int
errmsg(const char *fmt, ...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(shim_message, sizeof(shim_message), fmt, ap);
	va_end(ap);
	return 0;
}

int
errmsg_internal(const char *fmt, ...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(shim_message, sizeof(shim_message), fmt, ap);
	va_end(ap);
	return 0;
}

int
errdetail(const char *fmt, ...)
{
	return 0;
}

void
errfinish(const char *filename, int lineno, const char *funcname)
{
	fprintf(stderr, "shim: ERROR (level %d) at %s:%d (%s): %s\n",
			shim_elevel, filename, lineno, funcname ? funcname : "?",
			shim_message);
	abort();
}

/* The backend's process id; trace.c seeds its generator once per pid. */
int			MyProcPid = 1;

/* The harnesses run as in a UTF8 database, the one voltpay supports. */
int
GetDatabaseEncoding(void)
{
	return PG_UTF8;
}

const char *
GetDatabaseEncodingName(void)
{
	return "UTF8";
}

/*
 * pg_encoding_mbcliplen
 *	  Bytes of the longest prefix of mbstr (len bytes) of at most limit
 *	  bytes that does not split a character; UTF-8 only, as the backend
 *	  computes it for a UTF8 string.
 */
int
pg_encoding_mbcliplen(int encoding, const char *mbstr, int len, int limit)
{
	int			clen = 0;

	if (encoding != PG_UTF8)
	{
		fprintf(stderr, "shim: pg_encoding_mbcliplen: encoding %d\n", encoding);
		abort();
	}
	while (len > 0 && *mbstr)
	{
		int			l = pg_utf_mblen((const unsigned char *) mbstr);

		if (clen + l > limit)
			break;
		clen += l;
		if (clen == limit)
			break;
		len -= l;
		mbstr += l;
	}
	return clen;
}

/* Days of each month, in a common and in a leap year (datetime.c). */
const int	day_tab[2][13] =
{
	{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 0},
	{31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 0}
};

/*
 * date2j
 *	  Julian day number of a proleptic Gregorian date, the algorithm of
 *	  utils/adt/datetime.c.
 */
int
date2j(int year, int month, int day)
{
	int			julian;
	int			century;

	if (month > 2)
	{
		month += 1;
		year += 4800;
	}
	else
	{
		month += 13;
		year += 4799;
	}

	century = year / 100;
	julian = year * 365 - 32167;
	julian += year / 4 - century + century / 4;
	julian += 7834 * month / 256 + day;

	return julian;
}

/*
 * shim_token
 *	  The current token of the lexer, as json_errdetail quotes it.
 */
static char *
shim_token(JsonLexContext *lex)
{
	int			toklen = lex->token_terminator - lex->token_start;
	char	   *token = palloc(toklen + 1);

	memcpy(token, lex->token_start, toklen);
	token[toklen] = '\0';
	return token;
}

/*
 * json_errdetail
 *	  The backend's detail of a JSON parse error (common/jsonapi.c of
 *	  PostgreSQL 15, which compiles it only without FRONTEND).
 */
char *
json_errdetail(JsonParseErrorType error, JsonLexContext *lex)
{
	switch (error)
	{
		case JSON_SUCCESS:
			break;
		case JSON_ESCAPING_INVALID:
			return psprintf("Escape sequence \"\\%s\" is invalid.", shim_token(lex));
		case JSON_ESCAPING_REQUIRED:
			return psprintf("Character with value 0x%02x must be escaped.",
							(unsigned char) *(lex->token_terminator));
		case JSON_EXPECTED_END:
			return psprintf("Expected end of input, but found \"%s\".", shim_token(lex));
		case JSON_EXPECTED_ARRAY_FIRST:
			return psprintf("Expected array element or \"]\", but found \"%s\".", shim_token(lex));
		case JSON_EXPECTED_ARRAY_NEXT:
			return psprintf("Expected \",\" or \"]\", but found \"%s\".", shim_token(lex));
		case JSON_EXPECTED_COLON:
			return psprintf("Expected \":\", but found \"%s\".", shim_token(lex));
		case JSON_EXPECTED_JSON:
			return psprintf("Expected JSON value, but found \"%s\".", shim_token(lex));
		case JSON_EXPECTED_MORE:
			return pstrdup("The input string ended unexpectedly.");
		case JSON_EXPECTED_OBJECT_FIRST:
			return psprintf("Expected string or \"}\", but found \"%s\".", shim_token(lex));
		case JSON_EXPECTED_OBJECT_NEXT:
			return psprintf("Expected \",\" or \"}\", but found \"%s\".", shim_token(lex));
		case JSON_EXPECTED_STRING:
			return psprintf("Expected string, but found \"%s\".", shim_token(lex));
		case JSON_INVALID_TOKEN:
			return psprintf("Token \"%s\" is invalid.", shim_token(lex));
		case JSON_UNICODE_CODE_POINT_ZERO:
			return pstrdup("\\u0000 cannot be converted to text.");
		case JSON_UNICODE_ESCAPE_FORMAT:
			return pstrdup("\"\\u\" must be followed by four hexadecimal digits.");
		case JSON_UNICODE_HIGH_ESCAPE:
			return pstrdup("Unicode escape values cannot be used for code point values above 007F when the encoding is not UTF8.");
		case JSON_UNICODE_HIGH_SURROGATE:
			return pstrdup("Unicode high surrogate must not follow a high surrogate.");
		case JSON_UNICODE_LOW_SURROGATE:
			return pstrdup("Unicode low surrogate must follow a high surrogate.");
	}
	elog(ERROR, "unexpected json parse error type: %d", (int) error);
	return NULL;
}
