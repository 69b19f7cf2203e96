/*-------------------------------------------------------------------------
 *
 * trace.c
 *	  Layer 0: the span model.  A W3C traceparent is parsed as the
 *	  extension checks it (extension/trace.c); the sampling decision is a
 *	  function of the input's context and the trace id, so the unit tests
 *	  drive it; spans are plain structs the exporter encodes.
 *
 * Sampling: a message whose traceparent is valid follows its sampled flag
 * (the upstream decided: parent-based sampling); a message without one
 * starts a trace (the extension draws its id) and is sampled when the
 * trace id's first 16 hex digits, as an unsigned 64-bit number, fall below
 * ratio x 2^64: OpenTelemetry's TraceIdRatioBased idea, so the decision
 * is the same wherever it is made for that trace.
 *
 *-------------------------------------------------------------------------
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"
#include "util.h"

static const char trace_hexdigits[] = "0123456789abcdef";

/*
 * trace_hex_ok
 *	  s[0..len) is lower-case hex and, when nonzero, not all zeros.
 */
static bool
trace_hex_ok(const char *s, size_t len, bool nonzero)
{
	bool		any = false;

	for (size_t i = 0; i < len; i++)
	{
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
		if (s[i] != '0')
			any = true;
	}
	return any || !nonzero;
}

/*
 * trace_hex_val
 *	  Value of one lower-case hex digit (checked before).
 */
static int
trace_hex_val(char c)
{
	return c <= '9' ? c - '0' : c - 'a' + 10;
}

/*
 * vb_traceparent_parse
 *	  Parses s[0..len) (not NUL-terminated) as a traceparent, with the
 *	  extension's rules: version 00 is exactly 55 characters, a later
 *	  version may add "-..." fields, version ff is invalid, ids are not all
 *	  zeros.  False when invalid (out untouched).
 */
bool
vb_traceparent_parse(const char *s, size_t len, VbTraceCtx *out)
{
	if (!s || len < 55)
		return false;
	if (s[2] != '-' || s[35] != '-' || s[52] != '-')
		return false;
	if (!trace_hex_ok(s, 2, false) || memcmp(s, "ff", 2) == 0)
		return false;
	if (memcmp(s, "00", 2) == 0 && len != 55)
		return false;
	if (len > 55 && s[55] != '-')
		return false;
	if (!trace_hex_ok(s + 3, 32, true) || !trace_hex_ok(s + 36, 16, true) ||
		!trace_hex_ok(s + 53, 2, false))
		return false;
	memcpy(out->trace_id, s + 3, 32);
	out->trace_id[32] = '\0';
	memcpy(out->span_id, s + 36, 16);
	out->span_id[16] = '\0';
	out->flags = (uint8_t) (trace_hex_val(s[53]) * 16 + trace_hex_val(s[54]));
	return true;
}

/*
 * vb_trace_sampled
 *	  Whether a message's spans are recorded: parent (NULL: the message
 *	  had no valid traceparent) decides by its sampled flag; otherwise the
 *	  new trace's id against ratio (0: never, 1: always).  A trace id that
 *	  is not 32 hex digits is not sampled.
 */
bool
vb_trace_sampled(const VbTraceCtx *parent, const char *trace_id, double ratio)
{
	uint64_t	v = 0;

	if (parent)
		return (parent->flags & 1) != 0;
	if (!trace_id || strlen(trace_id) != 32 || !trace_hex_ok(trace_id, 32, false))
		return false;
	if (ratio >= 1.0)
		return true;
	if (ratio <= 0.0)
		return false;
	for (int i = 0; i < 16; i++)
		v = v * 16 + (uint64_t) trace_hex_val(trace_id[i]);
	/* 2^64 x ratio, as a double: exact enough for a sampling ratio. */
	return (double) v < ratio * 18446744073709551616.0;
}

/*
 * vb_trace_rand
 *	  xorshift64*: the next pseudo-random number of *state (nonzero).
 */
uint64_t
vb_trace_rand(uint64_t *state)
{
	uint64_t	x = *state ? *state : 0x9e3779b97f4a7c15ULL;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

/*
 * vb_trace_hex_id
 *	  Writes an id of nbytes (8 or 16) from hi and lo as 2 x nbytes
 *	  lower-case hex digits and a NUL; an all-zero id (invalid) gets its
 *	  last digit set.
 */
void
vb_trace_hex_id(uint64_t hi, uint64_t lo, int nbytes, char *out)
{
	int			n = 2 * nbytes;

	for (int i = 0; i < n; i++)
	{
		int			nib = n - 1 - i;	/* nibble number from the right */
		uint64_t	word = nib >= 16 ? hi : lo;

		out[i] = trace_hexdigits[(word >> (4 * (nib % 16))) & 0xF];
	}
	out[n] = '\0';
	if (strspn(out, "0") == (size_t) n)
		out[n - 1] = '1';
}

/*
 * vb_trace_origin
 *	  The traceparent of a span of ours that starts a trace, for a message
 *	  that came without one: a new trace id and span id, the sampled flag
 *	  set as vb_trace_sampled() decides for that trace id at ratio, so the
 *	  events downstream carry our decision.  Returns it.
 */
bool
vb_trace_origin(uint64_t *state, double ratio, char out[56])
{
	char		trace_id[VB_TRACE_ID_LEN + 1];
	char		span_id[VB_SPAN_ID_LEN + 1];
	bool		sampled;

	vb_trace_hex_id(vb_trace_rand(state), vb_trace_rand(state), 16, trace_id);
	vb_trace_hex_id(0, vb_trace_rand(state), 8, span_id);
	sampled = vb_trace_sampled(NULL, trace_id, ratio);
	snprintf(out, 56, "00-%s-%s-%s", trace_id, span_id, sampled ? "01" : "00");
	return sampled;
}

/*
 * vb_span_new
 *	  A span [start_us, end_us] (an end before the start is a zero
 *	  duration); parent_id NULL or "" for a root.
 */
VbSpan *
vb_span_new(const char *trace_id, const char *id, const char *parent_id, const char *name,
			VbSpanKind kind, int64_t start_us, int64_t end_us)
{
	VbSpan	   *s = vb_xcalloc(1, sizeof(VbSpan));

	snprintf(s->trace_id, sizeof(s->trace_id), "%s", trace_id);
	snprintf(s->id, sizeof(s->id), "%s", id);
	snprintf(s->parent_id, sizeof(s->parent_id), "%s", parent_id ? parent_id : "");
	s->name = vb_xstrdup(name);
	s->kind = kind;
	s->start_us = start_us;
	s->duration_us = end_us > start_us ? end_us - start_us : 0;
	return s;
}

/*
 * vb_span_tag / vb_span_tag_int
 *	  Adds a tag (key: a string constant); beyond VB_SPAN_MAX_TAGS tags
 *	  it is left out.
 */
void
vb_span_tag(VbSpan *s, const char *key, const char *value)
{
	if (s->ntags >= VB_SPAN_MAX_TAGS || !value)
		return;
	s->tag_keys[s->ntags] = key;
	s->tag_values[s->ntags++] = vb_xstrdup(value);
}

void
vb_span_tag_int(VbSpan *s, const char *key, int64_t value)
{
	char		num[32];

	snprintf(num, sizeof(num), "%" PRId64, value);
	vb_span_tag(s, key, num);
}

/*
 * vb_span_free
 *	  Frees a span and its tag values.
 */
void
vb_span_free(VbSpan *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->ntags; i++)
		free(s->tag_values[i]);
	free(s->name);
	free(s);
}
