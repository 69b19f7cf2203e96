/*
 * test_pgwire.c
 *	  The binary wire codec (pgwire.c): exact bytes of what the bridge
 *	  sends, round trips of text[], and hostile input to the decoder.
 */
#include <stdlib.h>

#include "pgwire.h"
#include "unit.h"

static const unsigned char *
u(const VbBuf *b)
{
	return (const unsigned char *) b->data;
}

/* A text[] built with the encoder, decoded back. */
static void
round_trip(const char *const *in, int n, const char *name)
{
	VbBuf		b = {0};
	char	  **out;
	int			nout;
	int			same = 1;

	vb_pg_array_begin(&b, VB_OID_TEXT, n);
	for (int i = 0; i < n; i++)
		vb_pg_array_elem(&b, in[i], in[i] ? strlen(in[i]) : 0);
	ok(vb_pg_text_array(b.data, b.len, &out, &nout), "%s: decodes", name);
	is_int(nout, n, "%s: element count", name);
	for (int i = 0; i < n && i < nout; i++)
		same &= strcmp(out[i], in[i] ? in[i] : "") == 0;
	ok(same, "%s: elements equal (NULL as \"\")", name);
	vb_pg_strv_free(out, nout);
	vb_buf_free(&b);
}

static void
test_encoding(void)
{
	VbBuf		b = {0};
	int64_t		ids[2] = {1, -2};
	int32_t		parts[1] = {7};

	vb_pg_put_i32(&b, 0x01020304);
	ok(b.len == 4 && u(&b)[0] == 1 && u(&b)[3] == 4, "int4 in network order");
	b.len = 0;
	vb_pg_put_i64(&b, INT64_C(0x0102030405060708));
	ok(b.len == 8 && u(&b)[0] == 1 && u(&b)[7] == 8, "int8 in network order");
	is_int(vb_pg_get_i64(b.data), INT64_C(0x0102030405060708), "int8 reads back");

	vb_pg_int8_array(&b, ids, 2);
	/* ndim, flags, oid, dim, lbound, then (len, value) x 2 */
	is_int(b.len, 20 + 2 * 12, "int8[2] length");
	is_int(vb_pg_get_i32(b.data), 1, "int8[]: one dimension");
	is_int(vb_pg_get_i32(b.data + 8), VB_OID_INT8, "int8[]: element type");
	is_int(vb_pg_get_i32(b.data + 12), 2, "int8[]: two elements");
	is_int(vb_pg_get_i32(b.data + 16), 1, "int8[]: lower bound 1");
	is_int(vb_pg_get_i32(b.data + 20), 8, "int8[]: element length 8");
	is_int(vb_pg_get_i64(b.data + 24), 1, "int8[]: first value");
	is_int(vb_pg_get_i64(b.data + 36), -2, "int8[]: negative value");

	vb_pg_int8_array(&b, ids, 0);
	is_int(b.len, 12, "empty array: header only");
	is_int(vb_pg_get_i32(b.data), 0, "empty array: no dimension");

	vb_pg_int4_array(&b, parts, 1);
	is_int(vb_pg_get_i32(b.data + 24), 7, "int4[]: value");

	vb_pg_array_begin(&b, VB_OID_TSTZ, 2);
	vb_pg_array_tstz_ms(&b, INT64_C(946684800000));
	vb_pg_array_tstz_ms(&b, -1);
	is_int(vb_pg_get_i64(b.data + 24), 0, "timestamptz: 2000-01-01 is PostgreSQL's epoch");
	is_int(vb_pg_get_i32(b.data + 32), -1, "timestamptz: negative is NULL");
	is_int(vb_pg_tstz_from_unix_ms(0), -INT64_C(946684800000000), "timestamptz: the Unix epoch");
	vb_buf_free(&b);
}

static void
test_round_trips(void)
{
	const char *const none[] = {NULL};
	const char *const some[] = {"traceparent", "", NULL, "x-\xc3\xa9t\xc3\xa9", "a b c"};
	char		big[5000];
	const char *const large[] = {big, "end"};

	memset(big, 'k', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	round_trip(none, 0, "empty");
	round_trip(some, 5, "mixed");
	round_trip(large, 2, "long element");
}

static void
bad(const VbBuf *b, const char *what)
{
	char	  **out = (char **) 1;
	int			n = 99;

	ok(!vb_pg_text_array(b->data, b->len, &out, &n) && out == NULL && n == 0,
	   "refused: %s", what);
}

static void
test_hostile(void)
{
	VbBuf		b = {0},
				good = {0};
	const char *const two[] = {"abc", "de"};

	vb_pg_array_begin(&good, VB_OID_TEXT, 2);
	vb_pg_array_elem(&good, two[0], 3);
	vb_pg_array_elem(&good, two[1], 2);

	/* Every truncation of a good value is refused. */
	{
		int			all = 1;

		for (size_t len = 0; len < good.len; len++)
		{
			char	  **out;
			int			n;

			if (vb_pg_text_array(good.data, len, &out, &n))
			{
				all = 0;
				vb_pg_strv_free(out, n);
			}
		}
		ok(all, "every truncation of a 2-element text[] is refused");
	}
	vb_pg_put_bytes(&b, good.data, good.len);
	vb_pg_put_bytes(&b, "x", 1);
	bad(&b, "bytes after the last element");

	vb_pg_array_begin(&b, VB_OID_TEXT, 1);
	b.len = 12;
	vb_pg_put_i32(&b, 0x7fffffff);	/* count */
	vb_pg_put_i32(&b, 1);
	bad(&b, "a count the bytes cannot hold");

	vb_pg_array_begin(&b, VB_OID_TEXT, 1);
	vb_pg_put_i32(&b, 0x7ffffff0);	/* element length */
	vb_pg_put_bytes(&b, "abc", 3);
	bad(&b, "an element longer than the value");

	vb_pg_array_begin(&b, VB_OID_TEXT, 1);
	vb_pg_put_i32(&b, -5);
	bad(&b, "a negative element length other than -1");

	vb_pg_array_begin(&b, VB_OID_TEXT, 1);
	vb_pg_array_elem(&b, "a\0b", 3);
	bad(&b, "an element holding a NUL byte");

	vb_pg_array_begin(&b, VB_OID_TEXT, 0);
	b.data[3] = 2;				/* ndim 2 */
	bad(&b, "two dimensions (header only)");

	vb_pg_array_begin(&b, VB_OID_TEXT, 1);
	b.data[7] = 3;				/* flags 3 */
	vb_pg_array_elem(&b, "a", 1);
	bad(&b, "unknown flags");

	vb_pg_array_begin(&b, VB_OID_TEXT, 1);
	b.len = 12;
	vb_pg_put_i32(&b, -1);		/* count */
	vb_pg_put_i32(&b, 1);
	bad(&b, "a negative count");

	/* Every single-byte corruption of the header either decodes to the
	 * same elements or is refused: never anything else, never a crash
	 * (ASan watches). */
	{
		int			sound = 1;

		for (size_t pos = 0; pos < 20; pos++)
			for (int bit = 0; bit < 8; bit++)
			{
				char	  **out;
				int			n;

				vb_buf_free(&b);
				vb_pg_put_bytes(&b, good.data, good.len);
				b.data[pos] ^= (char) (1 << bit);
				if (vb_pg_text_array(b.data, b.len, &out, &n))
				{
					sound &= n == 2 && strcmp(out[0], "abc") == 0 && strcmp(out[1], "de") == 0;
					vb_pg_strv_free(out, n);
				}
			}
		ok(sound, "header bit flips decode to the same elements or are refused");
	}
	vb_buf_free(&b);
	vb_buf_free(&good);
}

int
main(void)
{
	test_encoding();
	test_round_trips();
	test_hostile();
	return unit_done();
}
