/*-------------------------------------------------------------------------
 *
 * http.c
 *	  /healthz, /readyz and /metrics on libmicrohttpd's own thread.
 *
 *	  /healthz	200 while the main loop runs and no fatal error happened
 *	  /readyz	200 when the database is connected and the group joined
 *	  /metrics	Prometheus text format (metrics.c)
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

#include "bridge.h"

static struct MHD_Daemon *http_daemon;

/*
 * http_reply
 *	  Queues a response whose body is malloc'd (freed by libmicrohttpd).
 */
static enum MHD_Result
http_reply(struct MHD_Connection *conn, unsigned int code, const char *type,
		   char *body, size_t len)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!resp)
	{
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	ret = MHD_queue_response(conn, code, resp);
	MHD_destroy_response(resp);
	return ret;
}

/*
 * http_text
 *	  A plain-text response of one line.
 */
static enum MHD_Result
http_text(struct MHD_Connection *conn, unsigned int code, const char *text)
{
	char	   *body;
	size_t		len = strlen(text);

	body = malloc(len + 2);
	memcpy(body, text, len);
	body[len] = '\n';
	body[len + 1] = '\0';
	return http_reply(conn, code, "text/plain; charset=utf-8", body, len + 1);
}

/*
 * http_handler
 *	  The request callback: GET or HEAD on the three paths.
 */
static enum MHD_Result
http_handler(void *cls, struct MHD_Connection *conn, const char *url,
			 const char *method, const char *version, const char *upload_data,
			 size_t *upload_data_size, void **con_cls)
{
	char		why[256];

	(void) cls;
	(void) version;
	(void) upload_data;
	(void) con_cls;
	if (*upload_data_size != 0)
		return MHD_NO;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return http_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");

	if (strcmp(url, "/healthz") == 0)
	{
		bool		ok = vb_metrics_healthy(why, sizeof(why));

		return http_text(conn, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, why);
	}
	if (strcmp(url, "/readyz") == 0)
	{
		bool		ok = vb_metrics_ready(why, sizeof(why));

		return http_text(conn, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, why);
	}
	if (strcmp(url, "/metrics") == 0)
	{
		size_t		len;
		char	   *body = vb_metrics_render(&len);

		return http_reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
						  body, len);
	}
	return http_text(conn, MHD_HTTP_NOT_FOUND, "not found: try /healthz, /readyz or /metrics");
}

/*
 * vb_http_start
 *	  Listens on --http-addr:--http-port unless the port is 0.  A bad
 *	  address or a port in use is a configuration error.
 */
bool
vb_http_start(char *errstr, size_t size)
{
	struct sockaddr_storage ss;
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD;

	if (vb_conf.http_port == 0)
		return true;
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, vb_conf.http_addr,
				  &((struct sockaddr_in *) &ss)->sin_addr) == 1)
	{
		struct sockaddr_in *sin = (struct sockaddr_in *) &ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t) vb_conf.http_port);
	}
	else if (inet_pton(AF_INET6, vb_conf.http_addr,
					   &((struct sockaddr_in6 *) &ss)->sin6_addr) == 1)
	{
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) &ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t) vb_conf.http_port);
		flags |= MHD_USE_IPv6;
	}
	else
	{
		snprintf(errstr, size, "--http-addr \"%s\" is not an IPv4 or IPv6 address",
				 vb_conf.http_addr);
		return false;
	}
	http_daemon = MHD_start_daemon(flags, (uint16_t) vb_conf.http_port, NULL, NULL,
								   http_handler, NULL,
								   MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &ss,
								   MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) 10,
								   MHD_OPTION_CONNECTION_LIMIT, (unsigned int) 64,
								   MHD_OPTION_END);
	if (!http_daemon)
	{
		snprintf(errstr, size, "cannot listen for HTTP on %s port %d (in use?)",
				 vb_conf.http_addr, vb_conf.http_port);
		return false;
	}
	vb_info("HTTP endpoints on http://%s%s%s:%d/ (/healthz /readyz /metrics)",
			strchr(vb_conf.http_addr, ':') ? "[" : "", vb_conf.http_addr,
			strchr(vb_conf.http_addr, ':') ? "]" : "", vb_conf.http_port);
	return true;
}

/*
 * vb_http_stop
 *	  Stops the HTTP thread (waits for requests in progress).
 */
void
vb_http_stop(void)
{
	if (http_daemon)
		MHD_stop_daemon(http_daemon);
	http_daemon = NULL;
}
