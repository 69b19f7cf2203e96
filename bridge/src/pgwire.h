/*-------------------------------------------------------------------------
 *
 * pgwire.h
 *	  Layer 0: PostgreSQL's binary wire format for the values the bridge
 *	  sends and reads: network-order integers, timestamps, and
 *	  one-dimensional arrays (pgwire.c).  Pure: no libpq, no I/O, so it is
 *	  unit-tested and fuzzed on its own.
 *
 *-------------------------------------------------------------------------
 */
#ifndef VOLTPAY_PGWIRE_H
#define VOLTPAY_PGWIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Type OIDs (stable, from pg_type.dat). */
#define VB_OID_BYTEA		17
#define VB_OID_INT8			20
#define VB_OID_INT4			23
#define VB_OID_TEXT			25
#define VB_OID_BYTEA_ARR	1001
#define VB_OID_INT4_ARR		1007
#define VB_OID_TEXT_ARR		1009
#define VB_OID_INT8_ARR		1016
#define VB_OID_TSTZ			1184
#define VB_OID_TSTZ_ARR		1185

/* Most elements vb_pg_text_array() accepts. */
#define VB_PG_ARRAY_MAX		100000

/* A growable byte buffer. */
typedef struct VbBuf
{
	char	   *data;
	size_t		len;
	size_t		cap;
} VbBuf;

extern void vb_buf_free(VbBuf *b);
extern void vb_pg_put_i32(VbBuf *b, int32_t v);
extern void vb_pg_put_i64(VbBuf *b, int64_t v);
extern void vb_pg_put_bytes(VbBuf *b, const void *p, size_t len);

extern void vb_pg_array_begin(VbBuf *b, uint32_t elem_oid, int n);
extern void vb_pg_array_elem(VbBuf *b, const void *p, size_t len);
extern void vb_pg_array_int4(VbBuf *b, int32_t v);
extern void vb_pg_array_int8(VbBuf *b, int64_t v);
extern void vb_pg_array_tstz_ms(VbBuf *b, int64_t unix_ms);
extern void vb_pg_int4_array(VbBuf *b, const int32_t *v, int n);
extern void vb_pg_int8_array(VbBuf *b, const int64_t *v, int n);

extern int64_t vb_pg_tstz_from_unix_ms(int64_t unix_ms);
extern int32_t vb_pg_get_i32(const char *p);
extern int64_t vb_pg_get_i64(const char *p);
extern bool vb_pg_text_array(const char *p, size_t len, char ***out, int *nout);
extern void vb_pg_strv_free(char **v, int n);

#endif							/* VOLTPAY_PGWIRE_H */
