/*-------------------------------------------------------------------------
 *
 * pgwire.c
 *	  Layer 0: the binary array codec (see pgwire.h).
 *
 * A binary one-dimensional array is: ndim (int4), flags (int4: 1 when it
 * may hold NULLs), element type OID (int4), then per dimension its size
 * and lower bound (int4 each), then per element its length (int4, -1 for
 * NULL) and bytes.  An empty array has ndim 0 and nothing after the OID.
 * All integers in network byte order.
 *
 * The decoder takes bytes from the server, so it treats them as hostile:
 * every length is checked against what is left before it is used, and a
 * malformed value is refused whole.
 *
 *-------------------------------------------------------------------------
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "pgwire.h"
#include "util.h"

/* Microseconds from the Unix epoch to PostgreSQL's (2000-01-01). */
#define PGWIRE_EPOCH_US		INT64_C(946684800000000)

/*
 * pgwire_reserve
 *	  Room for more bytes in b.
 */
static void
pgwire_reserve(VbBuf *b, size_t more)
{
	size_t		cap = b->cap;

	if (b->len + more <= cap)
		return;
	while (b->len + more > cap)
		cap = cap ? cap * 2 : 4096;
	b->data = vb_xrealloc(b->data, cap);
	b->cap = cap;
}

/*
 * vb_buf_free
 *	  Frees the buffer's bytes; it can be used again.
 */
void
vb_buf_free(VbBuf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

/*
 * vb_pg_put_i32 / vb_pg_put_i64 / vb_pg_put_bytes
 *	  Append in network byte order.
 */
void
vb_pg_put_i32(VbBuf *b, int32_t v)
{
	uint32_t	n = htonl((uint32_t) v);

	pgwire_reserve(b, 4);
	memcpy(b->data + b->len, &n, 4);
	b->len += 4;
}

void
vb_pg_put_i64(VbBuf *b, int64_t v)
{
	vb_pg_put_i32(b, (int32_t) ((uint64_t) v >> 32));
	vb_pg_put_i32(b, (int32_t) ((uint64_t) v & 0xffffffffu));
}

void
vb_pg_put_bytes(VbBuf *b, const void *p, size_t len)
{
	pgwire_reserve(b, len);
	if (len)
		memcpy(b->data + b->len, p, len);
	b->len += len;
}

/*
 * vb_pg_array_begin
 *	  Empties b and writes the header of a one-dimensional array of n
 *	  elements of elem_oid; the caller then adds exactly n elements.
 */
void
vb_pg_array_begin(VbBuf *b, uint32_t elem_oid, int n)
{
	b->len = 0;
	vb_pg_put_i32(b, n > 0 ? 1 : 0);	/* ndim */
	vb_pg_put_i32(b, 1);		/* flags: may have nulls */
	vb_pg_put_i32(b, (int32_t) elem_oid);
	if (n > 0)
	{
		vb_pg_put_i32(b, n);	/* dimension */
		vb_pg_put_i32(b, 1);	/* lower bound */
	}
}

/*
 * vb_pg_array_elem
 *	  One element: its length and bytes, or NULL when p is NULL.
 */
void
vb_pg_array_elem(VbBuf *b, const void *p, size_t len)
{
	if (!p)
	{
		vb_pg_put_i32(b, -1);
		return;
	}
	vb_pg_put_i32(b, (int32_t) len);
	vb_pg_put_bytes(b, p, len);
}

/*
 * vb_pg_array_int4 / vb_pg_array_int8 / vb_pg_array_tstz_ms
 *	  One int4, int8 or timestamptz element (a negative unix_ms is NULL:
 *	  no timestamp).
 */
void
vb_pg_array_int4(VbBuf *b, int32_t v)
{
	vb_pg_put_i32(b, 4);
	vb_pg_put_i32(b, v);
}

void
vb_pg_array_int8(VbBuf *b, int64_t v)
{
	vb_pg_put_i32(b, 8);
	vb_pg_put_i64(b, v);
}

void
vb_pg_array_tstz_ms(VbBuf *b, int64_t unix_ms)
{
	if (unix_ms < 0)
	{
		vb_pg_put_i32(b, -1);
		return;
	}
	vb_pg_put_i32(b, 8);
	vb_pg_put_i64(b, vb_pg_tstz_from_unix_ms(unix_ms));
}

/*
 * vb_pg_int4_array / vb_pg_int8_array
 *	  A whole int4[] or int8[] of n values.
 */
void
vb_pg_int4_array(VbBuf *b, const int32_t *v, int n)
{
	vb_pg_array_begin(b, VB_OID_INT4, n);
	for (int i = 0; i < n; i++)
		vb_pg_array_int4(b, v[i]);
}

void
vb_pg_int8_array(VbBuf *b, const int64_t *v, int n)
{
	vb_pg_array_begin(b, VB_OID_INT8, n);
	for (int i = 0; i < n; i++)
		vb_pg_array_int8(b, v[i]);
}

/*
 * vb_pg_tstz_from_unix_ms
 *	  A timestamptz's binary value (microseconds since 2000-01-01) from
 *	  milliseconds since the Unix epoch.
 */
int64_t
vb_pg_tstz_from_unix_ms(int64_t unix_ms)
{
	return unix_ms * 1000 - PGWIRE_EPOCH_US;
}

/*
 * vb_pg_get_i32 / vb_pg_get_i64
 *	  Network-order integers out of a binary value (the caller checked
 *	  that 4 or 8 bytes are there).
 */
int32_t
vb_pg_get_i32(const char *p)
{
	uint32_t	n;

	memcpy(&n, p, 4);
	return (int32_t) ntohl(n);
}

int64_t
vb_pg_get_i64(const char *p)
{
	return (int64_t) (((uint64_t) (uint32_t) vb_pg_get_i32(p) << 32) |
					  (uint32_t) vb_pg_get_i32(p + 4));
}

/*
 * vb_pg_text_array
 *	  Parses a binary one-dimensional text[] of len bytes into *nout
 *	  malloc'd NUL-terminated strings (a NULL element becomes ""; an
 *	  element holding a NUL byte is refused).  False, with *out NULL and
 *	  *nout 0, when the value is malformed: a short header, more than one
 *	  dimension, a bad flag, a count that the bytes cannot hold, an
 *	  element running past the end, or bytes left over.
 */
bool
vb_pg_text_array(const char *p, size_t len, char ***out, int *nout)
{
	const char *end = p + len;
	int32_t		ndim,
				flags,
				n;
	char	  **v;

	*out = NULL;
	*nout = 0;
	if (len < 12)
		return false;
	ndim = vb_pg_get_i32(p);
	flags = vb_pg_get_i32(p + 4);
	if (flags != 0 && flags != 1)
		return false;
	if (ndim == 0)
		return len == 12;
	if (ndim != 1 || len < 20)
		return false;
	n = vb_pg_get_i32(p + 12);
	p += 20;
	/* Each element takes at least its 4-byte length. */
	if (n < 0 || n > VB_PG_ARRAY_MAX || (size_t) n > (size_t) (end - p) / 4)
		return false;
	v = vb_xcalloc((size_t) n + 1, sizeof(char *));
	for (int i = 0; i < n; i++)
	{
		int32_t		elen;

		if (end - p < 4)
			goto bad;
		elen = vb_pg_get_i32(p);
		p += 4;
		if (elen < -1 || (elen > 0 && end - p < elen))
			goto bad;
		if (elen <= 0)
		{
			v[i] = vb_xstrdup("");
			continue;
		}
		if (memchr(p, '\0', (size_t) elen))
			goto bad;
		v[i] = vb_xmemdup0(p, (size_t) elen);
		p += elen;
	}
	if (p != end)
		goto bad;
	*out = v;
	*nout = n;
	return true;

bad:
	vb_pg_strv_free(v, n);
	return false;
}

/*
 * vb_pg_strv_free
 *	  Frees n strings (NULL ones skipped) and the array.
 */
void
vb_pg_strv_free(char **v, int n)
{
	if (!v)
		return;
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}
