/*
 * br_http.c
 *	  Fuzzes the bridge's HTTP routing (http.c): the input is a method and
 *	  a path separated by a newline, as libmicrohttpd hands them over.
 *	  Every request gets a reply with a known status and a body.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "util.h"

int			LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static bool
yes(void *arg, char *why, size_t size)
{
	(void) arg;
	snprintf(why, size, "ok");
	return true;
}

static char *
metrics(void *arg, size_t *len)
{
	(void) arg;
	*len = 4;
	return vb_xstrdup("m 1\n");
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	const VbHttpHooks hooks = {NULL, yes, yes, metrics};
	char	   *s = vb_xmemdup0(data, size);
	char	   *nl = strchr(s, '\n');
	const char *url = "";
	VbHttpReply r;

	if (nl)
	{
		*nl = '\0';
		url = nl + 1;
	}
	r = vb_http_route(s, url, &hooks);
	if (!r.body || (r.code != 200 && r.code != 404 && r.code != 405 && r.code != 503))
		abort();
	free(r.body);
	free(s);
	return 0;
}
