/*-------------------------------------------------------------------------
 *
 * http.h
 *	  Layer 1: /healthz, /readyz and /metrics on libmicrohttpd's own thread
 *	  (http.c).  What they answer comes from the caller's hooks, which run
 *	  on that thread.
 *
 *-------------------------------------------------------------------------
 */
#ifndef VOLTPAY_HTTP_H
#define VOLTPAY_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

typedef struct VbHttpHooks
{
	void	   *arg;
	bool		(*healthy) (void *arg, char *why, size_t size);
	bool		(*ready) (void *arg, char *why, size_t size);
	char	   *(*metrics) (void *arg, size_t *len);	/* malloc'd */
} VbHttpHooks;

/* A response: status code, content type, malloc'd body. */
typedef struct VbHttpReply
{
	unsigned int code;
	const char *type;
	char	   *body;
	size_t		len;
} VbHttpReply;

typedef struct VbHttp VbHttp;

extern VbHttpReply vb_http_route(const char *method, const char *url,
								 const VbHttpHooks *hooks);
extern VbStatus vb_http_start(const char *addr, int port, const VbHttpHooks *hooks,
							  VbHttp **out, VbError *err);
extern void vb_http_stop(VbHttp *http);

#endif							/* VOLTPAY_HTTP_H */
