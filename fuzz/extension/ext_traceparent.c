/*
 * ext_traceparent.c
 *	  libFuzzer harness of the W3C traceparent parser (extension/trace.c).
 *
 * Input: a traceparent header's bytes, up to the first NUL (the apply
 * passes a header with a NUL byte as no traceparent).  Checked beyond
 * ASan and UBSan: the child traceparent vp_trace_child() writes is itself
 * valid, version 00, 55 characters; when the input was valid, the child
 * keeps its trace id and flags.
 */
#include "postgres.h"

#include <stdio.h>
#include <stdlib.h>

#include "voltpay.h"
#include "shim.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *s = malloc(size + 1);
	char		out[VP_TRACEPARENT_LEN + 1];
	bool		valid;
	bool		used;

	memcpy(s, data, size);
	s[size] = '\0';
	valid = vp_traceparent_valid(s);
	used = vp_trace_child(s, out);
	if (used != valid || strlen(out) != VP_TRACEPARENT_LEN ||
		strncmp(out, "00-", 3) != 0 || !vp_traceparent_valid(out))
	{
		fprintf(stderr, "bad child traceparent \"%s\" of \"%s\"\n", out, s);
		abort();
	}
	if (valid && (memcmp(out + 3, s + 3, 32) != 0 || memcmp(out + 53, s + 53, 2) != 0))
	{
		fprintf(stderr, "child \"%s\" does not continue the trace of \"%s\"\n", out, s);
		abort();
	}
	free(s);
	vp_shim_reset();
	return 0;
}
