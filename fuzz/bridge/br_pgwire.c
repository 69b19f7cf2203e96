/*
 * br_pgwire.c
 *	  Fuzzes the bridge's decoder of binary text[] values (pgwire.c), which
 *	  reads bytes from the server: never a crash or an overread, and what
 *	  it accepts must survive a round trip through the encoder unchanged.
 */
#include <stdlib.h>
#include <string.h>

#include "pgwire.h"

int			LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	char	  **v;
	int			n;
	VbBuf		b = {0};

	if (!vb_pg_text_array((const char *) data, size, &v, &n))
		return 0;
	vb_pg_array_begin(&b, VB_OID_TEXT, n);
	for (int i = 0; i < n; i++)
		vb_pg_array_elem(&b, v[i], strlen(v[i]));
	{
		char	  **w;
		int			m;

		if (!vb_pg_text_array(b.data, b.len, &w, &m) || m != n)
			abort();
		for (int i = 0; i < n; i++)
			if (strcmp(v[i], w[i]) != 0)
				abort();
		vb_pg_strv_free(w, m);
	}
	vb_pg_strv_free(v, n);
	vb_buf_free(&b);
	return 0;
}
