/*-------------------------------------------------------------------------
 *
 * trace.c
 *	  W3C Trace Context for the downstream events.
 *
 * A message may arrive with a `traceparent` Kafka header
 * (version-traceid-parentid-flags, W3C Trace Context level 1).  Each event
 * the message produces carries a traceparent of the same trace with a new
 * span id, so that the reader and e-mail services continue the trace; a
 * message without a valid traceparent starts a new trace.
 *
 * Ids come from a per-process xoshiro128** generator (common/pg_prng.h)
 * seeded once from pg_strong_random(): the W3C ids must be random and
 * unique, not secret, and pg_strong_random() per id (OpenSSL's RAND_bytes:
 * about 1.2 us a call here, two calls a message) was 8% of the apply's CPU
 * (docs/bench-apply.md).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/pg_prng.h"
#include "miscadmin.h"

#include "voltpay.h"

static const char trace_hex[] = "0123456789abcdef";

/*
 * trace_hex_field
 *	  True when s[0..len) is lower-case hex and, if nonzero, not all zeros.
 */
static bool
trace_hex_field(const char *s, int len, bool nonzero)
{
	bool		any = false;
	int			i;

	for (i = 0; i < len; i++)
	{
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
		if (s[i] != '0')
			any = true;
	}
	return any || !nonzero;
}

static pg_prng_state trace_prng;
static int	trace_prng_pid = 0; /* process that seeded trace_prng */

/*
 * trace_random_hex
 *	  Writes 2 * nbytes random lower-case hex digits.  The generator is
 *	  seeded from pg_strong_random() on first use in each process (a forked
 *	  child seeds its own).
 */
static void
trace_random_hex(char *out, int nbytes)
{
	uint8		buf[16];
	int			i;

	Assert(nbytes <= (int) sizeof(buf) && nbytes % 8 == 0);
	if (trace_prng_pid != MyProcPid)
	{
		if (!pg_prng_strong_seed(&trace_prng))
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("could not seed the trace id generator"),
					 errdetail("pg_strong_random() failed.")));
		trace_prng_pid = MyProcPid;
	}
	do
	{
		for (i = 0; i < nbytes; i += 8)
		{
			uint64		r = pg_prng_uint64(&trace_prng);

			memcpy(buf + i, &r, 8);
		}
		for (i = 0; i < nbytes && buf[i] == 0; i++)
			;
	} while (i == nbytes);		/* all-zero ids are invalid */
	for (i = 0; i < nbytes; i++)
	{
		out[2 * i] = trace_hex[buf[i] >> 4];
		out[2 * i + 1] = trace_hex[buf[i] & 0x0F];
	}
}

/*
 * vp_traceparent_valid
 *	  True for a well-formed traceparent: "00-<32 hex>-<16 hex>-<2 hex>",
 *	  ids not all zero.  Other versions are accepted as long as their first
 *	  four fields have this form (the W3C rule for future versions), except
 *	  the invalid version ff.
 */
bool
vp_traceparent_valid(const char *s)
{
	size_t		len;

	if (s == NULL)
		return false;
	len = strlen(s);
	if (len < VP_TRACEPARENT_LEN)
		return false;
	if (s[2] != '-' || s[35] != '-' || s[52] != '-')
		return false;
	if (!trace_hex_field(s, 2, false) || strncmp(s, "ff", 2) == 0)
		return false;
	if (strncmp(s, "00", 2) == 0 && len != VP_TRACEPARENT_LEN)
		return false;
	if (len > VP_TRACEPARENT_LEN && s[VP_TRACEPARENT_LEN] != '-')
		return false;
	return trace_hex_field(s + 3, 32, true) &&
		trace_hex_field(s + 36, 16, true) &&
		trace_hex_field(s + 53, 2, false);
}

/*
 * vp_trace_child
 *	  Writes into out (VP_TRACEPARENT_LEN + 1 bytes) the traceparent of an
 *	  event caused by a message with traceparent `in`: same trace id and
 *	  flags, a new span id.  When `in` is NULL or invalid, a new sampled
 *	  trace.  Returns whether `in` was used.
 */
bool
vp_trace_child(const char *in, char *out)
{
	bool		valid = vp_traceparent_valid(in);

	memcpy(out, "00-", 3);
	if (valid)
		memcpy(out + 3, in + 3, 32);
	else
		trace_random_hex(out + 3, 16);
	out[35] = '-';
	trace_random_hex(out + 36, 8);
	out[52] = '-';
	if (valid)
		memcpy(out + 53, in + 53, 2);
	else
		memcpy(out + 53, "01", 2);
	out[VP_TRACEPARENT_LEN] = '\0';
	return valid;
}
