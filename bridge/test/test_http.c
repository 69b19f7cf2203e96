/*
 * test_http.c
 *	  HTTP routing (http.c): which endpoint answers what, from the hooks'
 *	  verdicts.
 */
#include <stdlib.h>

#include "http.h"
#include "unit.h"

static bool healthy_flag = true;
static bool ready_flag = false;

static bool
healthy(void *arg, char *why, size_t size)
{
	(void) arg;
	snprintf(why, size, "%s", healthy_flag ? "ok" : "main loop stuck");
	return healthy_flag;
}

static bool
ready(void *arg, char *why, size_t size)
{
	(void) arg;
	snprintf(why, size, "%s", ready_flag ? "ok" : "database not connected");
	return ready_flag;
}

static char *
metrics(void *arg, size_t *len)
{
	(void) arg;
	*len = 8;
	return vb_xstrdup("m_total 1");
}

static void
check(const char *method, const char *url, unsigned code, const char *body_has, const char *what)
{
	const VbHttpHooks hooks = {NULL, healthy, ready, metrics};
	VbHttpReply r = vb_http_route(method, url, &hooks);

	ok(r.code == code && r.body && strstr(r.body, body_has) != NULL, "%s %s: %u (%s)", method, url,
	   code, what);
	if (r.code != code)
		printf("#   got %u: %s\n", r.code, r.body ? r.body : "(null)");
	free(r.body);
}

int
main(void)
{
	check("GET", "/healthz", 200, "ok", "healthy");
	check("HEAD", "/healthz", 200, "ok", "HEAD too");
	check("GET", "/readyz", 503, "database not connected", "not ready says why");
	ready_flag = true;
	check("GET", "/readyz", 200, "ok", "ready");
	healthy_flag = false;
	check("GET", "/healthz", 503, "stuck", "unhealthy says why");
	check("GET", "/metrics", 200, "m_total", "metrics from the hook");
	check("POST", "/metrics", 405, "method not allowed", "only GET and HEAD");
	check("GET", "/", 404, "not found", "unknown path");
	check("GET", "/metrics/../healthz", 404, "not found", "no path games");
	check("GET", "", 404, "not found", "empty path");
	return unit_done();
}
