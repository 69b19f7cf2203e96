/*-------------------------------------------------------------------------
 *
 * trace.h
 *	  Layer 0: the span model of the bridge's tracing (trace.c): W3C
 *	  traceparent parsing, the sampling decision, span ids, and one
 *	  finished span as the exporter sends it.  No I/O, no state.
 *
 *-------------------------------------------------------------------------
 */
#ifndef VOLTPAY_TRACE_H
#define VOLTPAY_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VB_TRACE_ID_LEN		32
#define VB_SPAN_ID_LEN		16
#define VB_SPAN_MAX_TAGS	16

/* A parsed W3C traceparent (version-traceid-parentid-flags). */
typedef struct VbTraceCtx
{
	char		trace_id[VB_TRACE_ID_LEN + 1];
	char		span_id[VB_SPAN_ID_LEN + 1];
	uint8_t		flags;			/* bit 0: sampled */
} VbTraceCtx;

/* Zipkin's span kinds (none: an in-process step). */
typedef enum VbSpanKind
{
	VB_SPAN_INTERNAL = 0,
	VB_SPAN_CONSUMER,
	VB_SPAN_PRODUCER,
	VB_SPAN_CLIENT
} VbSpanKind;

/* One finished span; tag keys are string constants, values are owned. */
typedef struct VbSpan
{
	char		trace_id[VB_TRACE_ID_LEN + 1];
	char		id[VB_SPAN_ID_LEN + 1];
	char		parent_id[VB_SPAN_ID_LEN + 1];	/* "": a root */
	char	   *name;
	VbSpanKind	kind;
	const char *remote_service; /* NULL: none */
	int64_t		start_us;		/* wall clock, since the epoch */
	int64_t		duration_us;
	int			ntags;
	const char *tag_keys[VB_SPAN_MAX_TAGS];
	char	   *tag_values[VB_SPAN_MAX_TAGS];
} VbSpan;

extern bool vb_traceparent_parse(const char *s, size_t len, VbTraceCtx *out);
extern bool vb_trace_sampled(const VbTraceCtx *parent, const char *trace_id, double ratio);
extern void vb_trace_hex_id(uint64_t hi, uint64_t lo, int nbytes, char *out);
extern uint64_t vb_trace_rand(uint64_t *state);
extern bool vb_trace_origin(uint64_t *state, double ratio, char out[56]);

extern VbSpan *vb_span_new(const char *trace_id, const char *id, const char *parent_id,
						   const char *name, VbSpanKind kind, int64_t start_us,
						   int64_t end_us);
extern void vb_span_tag(VbSpan *s, const char *key, const char *value);
extern void vb_span_tag_int(VbSpan *s, const char *key, int64_t value);
extern void vb_span_free(VbSpan *s);

#endif							/* VOLTPAY_TRACE_H */
