/*-------------------------------------------------------------------------
 *
 * http.c
 *	  Layer 1: the HTTP endpoints (libmicrohttpd, its own thread).
 *
 *	  /healthz	200 while the hooks say the bridge is healthy
 *	  /readyz	200 while they say it is ready
 *	  /metrics	Prometheus text format, as the hooks render it
 *
 * vb_http_route() decides the response from the method and the path
 * alone (GET or HEAD; anything else 405; unknown paths 404), so it is
 * tested without a socket.
 *
 *-------------------------------------------------------------------------
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "http.h"
#include "log.h"

struct VbHttp
{
	struct MHD_Daemon *daemon;
	VbHttpHooks hooks;
};

#define HTTP_TEXT	"text/plain; charset=utf-8"
#define HTTP_PROM	"text/plain; version=0.0.4; charset=utf-8"

/*
 * http_text
 *	  A plain-text reply of one line.
 */
static VbHttpReply
http_text(unsigned int code, const char *text)
{
	VbHttpReply r = {code, HTTP_TEXT, NULL, strlen(text) + 1};

	r.body = vb_xmalloc(r.len + 1);
	memcpy(r.body, text, r.len - 1);
	r.body[r.len - 1] = '\n';
	r.body[r.len] = '\0';
	return r;
}

/*
 * vb_http_route
 *	  The reply to one request.
 */
VbHttpReply
vb_http_route(const char *method, const char *url, const VbHttpHooks *hooks)
{
	char		why[256];

	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return http_text(MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
	if (strcmp(url, "/healthz") == 0)
	{
		bool		ok = hooks->healthy(hooks->arg, why, sizeof(why));

		return http_text(ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, why);
	}
	if (strcmp(url, "/readyz") == 0)
	{
		bool		ok = hooks->ready(hooks->arg, why, sizeof(why));

		return http_text(ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, why);
	}
	if (strcmp(url, "/metrics") == 0)
	{
		VbHttpReply r = {MHD_HTTP_OK, HTTP_PROM, NULL, 0};

		r.body = hooks->metrics(hooks->arg, &r.len);
		return r;
	}
	return http_text(MHD_HTTP_NOT_FOUND, "not found: try /healthz, /readyz or /metrics");
}

/*
 * http_handler
 *	  The request callback: route, then queue the reply (libmicrohttpd
 *	  frees the body).
 */
static enum MHD_Result
http_handler(void *cls, struct MHD_Connection *conn, const char *url,
			 const char *method, const char *version, const char *upload_data,
			 size_t *upload_data_size, void **con_cls)
{
	VbHttp	   *http = cls;
	VbHttpReply r;
	struct MHD_Response *resp;
	enum MHD_Result ret;

	(void) version;
	(void) upload_data;
	(void) con_cls;
	if (*upload_data_size != 0)
		return MHD_NO;
	r = vb_http_route(method, url, &http->hooks);
	resp = MHD_create_response_from_buffer(r.len, r.body, MHD_RESPMEM_MUST_FREE);
	if (!resp)
	{
		free(r.body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r.type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	ret = MHD_queue_response(conn, r.code, resp);
	MHD_destroy_response(resp);
	return ret;
}

/*
 * vb_http_start
 *	  Listens on addr:port; port 0: no server (*out NULL).  A bad address
 *	  or a port in use is fatal (a configuration error).
 */
VbStatus
vb_http_start(const char *addr, int port, const VbHttpHooks *hooks, VbHttp **out,
			  VbError *err)
{
	struct sockaddr_storage ss;
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD;
	VbHttp	   *http;

	*out = NULL;
	if (port == 0)
		return VB_OK;
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, addr, &((struct sockaddr_in *) &ss)->sin_addr) == 1)
	{
		struct sockaddr_in *sin = (struct sockaddr_in *) &ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t) port);
	}
	else if (inet_pton(AF_INET6, addr, &((struct sockaddr_in6 *) &ss)->sin6_addr) == 1)
	{
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) &ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t) port);
		flags |= MHD_USE_IPv6;
	}
	else
		return vb_error_set(err, VB_FATAL, NULL,
							"--http-addr \"%s\" is not an IPv4 or IPv6 address", addr);
	http = vb_xcalloc(1, sizeof(VbHttp));
	http->hooks = *hooks;
	http->daemon = MHD_start_daemon(flags, (uint16_t) port, NULL, NULL,
									http_handler, http,
									MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &ss,
									MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) 10,
									MHD_OPTION_CONNECTION_LIMIT, (unsigned int) 64,
									MHD_OPTION_END);
	if (!http->daemon)
	{
		free(http);
		return vb_error_set(err, VB_FATAL, NULL,
							"cannot listen for HTTP on %s port %d (in use?)", addr, port);
	}
	vb_info("HTTP endpoints on http://%s%s%s:%d/ (/healthz /readyz /metrics)",
			strchr(addr, ':') ? "[" : "", addr, strchr(addr, ':') ? "]" : "", port);
	*out = http;
	return VB_OK;
}

/*
 * vb_http_stop
 *	  Stops the HTTP thread (waits for requests in progress).
 */
void
vb_http_stop(VbHttp *http)
{
	if (!http)
		return;
	MHD_stop_daemon(http->daemon);
	free(http);
}
