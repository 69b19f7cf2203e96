/*-------------------------------------------------------------------------
 *
 * zipkin.c
 *	  Layer 1: exporting spans to Zipkin (or anything that takes Zipkin
 *	  v2 JSON: the OpenTelemetry collector's zipkin receiver, Jaeger,
 *	  Tempo).  docs/decisions.md says why Zipkin v2 and not OTLP.
 *
 * A thread of its own pops up to ZK_BATCH spans from the bounded queue
 * (spanq.c), waiting up to ZK_LINGER_MS for a batch to fill, encodes them
 * with jansson and POSTs them with libcurl (ZK_TIMEOUT_MS at most).  A
 * post that fails drops its spans, counted in spans_dropped_total with
 * the queue's own drops; the main thread never waits for the backend.
 * Warnings about a failing backend are rate-limited to one per
 * ZK_WARN_EVERY_MS.
 *
 *-------------------------------------------------------------------------
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "log.h"
#include "metrics.h"
#include "zipkin.h"

#define ZK_BATCH			500
#define ZK_LINGER_MS		500
#define ZK_TIMEOUT_MS		2000
#define ZK_WARN_EVERY_MS	10000

static const char *const zk_kinds[] = {NULL, "CONSUMER", "PRODUCER", "CLIENT"};

struct VbZipkin
{
	char	   *url;
	char	   *service;
	VbSpanQueue *q;
	CURL	   *curl;
	struct curl_slist *headers;
	pthread_t	thread;
	int64_t		deadline_ms;	/* at stop: posts end by then */
	int64_t		next_warn_ms;
};

/*
 * zk_span_json
 *	  One span as a Zipkin v2 JSON object.
 */
static json_t *
zk_span_json(const VbSpan *s, json_t *local)
{
	json_t	   *o = json_object();

	json_object_set_new(o, "traceId", json_string(s->trace_id));
	json_object_set_new(o, "id", json_string(s->id));
	if (s->parent_id[0])
		json_object_set_new(o, "parentId", json_string(s->parent_id));
	json_object_set_new(o, "name", json_string(s->name));
	if (s->kind > VB_SPAN_INTERNAL && s->kind <= VB_SPAN_CLIENT)
		json_object_set_new(o, "kind", json_string(zk_kinds[s->kind]));
	json_object_set_new(o, "timestamp", json_integer(s->start_us));
	/* Zipkin reads a duration of 0 as "unknown": 1 us is the floor. */
	json_object_set_new(o, "duration", json_integer(s->duration_us > 0 ? s->duration_us : 1));
	json_object_set(o, "localEndpoint", local);
	if (s->remote_service)
		json_object_set_new(o, "remoteEndpoint",
							json_pack("{s:s}", "serviceName", s->remote_service));
	if (s->ntags > 0)
	{
		json_t	   *tags = json_object();

		for (int i = 0; i < s->ntags; i++)
			json_object_set_new(tags, s->tag_keys[i], json_string(s->tag_values[i]));
		json_object_set_new(o, "tags", tags);
	}
	return o;
}

/*
 * vb_zipkin_encode
 *	  spans[0..n) as one Zipkin v2 JSON array (malloc'ed), the local
 *	  endpoint named service.  A tag value that is not UTF-8 is left out
 *	  by jansson (json_string() refuses it).
 */
char *
vb_zipkin_encode(VbSpan *const *spans, int n, const char *service)
{
	json_t	   *arr = json_array();
	json_t	   *local = json_pack("{s:s}", "serviceName", service);
	char	   *out;

	for (int i = 0; i < n; i++)
		json_array_append_new(arr, zk_span_json(spans[i], local));
	out = json_dumps(arr, JSON_COMPACT);
	json_decref(local);
	json_decref(arr);
	if (!out)
	{
		vb_error("out of memory encoding spans");
		exit(VB_EXIT_FATAL);
	}
	return out;
}

/*
 * zk_discard
 *	  libcurl write callback: the response body is not needed.
 */
static size_t
zk_discard(char *ptr, size_t size, size_t nmemb, void *arg)
{
	(void) ptr;
	(void) arg;
	return size * nmemb;
}

/*
 * zk_post
 *	  POSTs one encoded batch; true when the backend took it (2xx).
 *	  why gets the reason of a failure.
 */
static bool
zk_post(VbZipkin *z, const char *body, char *why, size_t whysize)
{
	long		code = 0;
	long		timeout = ZK_TIMEOUT_MS;
	CURLcode	rc;
	int64_t		deadline = __atomic_load_n(&z->deadline_ms, __ATOMIC_ACQUIRE);

	if (deadline > 0)
	{
		int64_t		left = deadline - vb_now_ms();

		if (left < 1)
		{
			snprintf(why, whysize, "shutdown deadline");
			return false;
		}
		if (left < timeout)
			timeout = (long) left;
	}
	curl_easy_setopt(z->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(z->curl, CURLOPT_TIMEOUT_MS, timeout);
	rc = curl_easy_perform(z->curl);
	if (rc != CURLE_OK)
	{
		snprintf(why, whysize, "%s", curl_easy_strerror(rc));
		return false;
	}
	curl_easy_getinfo(z->curl, CURLINFO_RESPONSE_CODE, &code);
	if (code < 200 || code >= 300)
	{
		snprintf(why, whysize, "HTTP status %ld", code);
		return false;
	}
	return true;
}

/*
 * zk_thread
 *	  The exporter: batches from the queue, posted, until the queue is
 *	  closed and empty.
 */
static void *
zk_thread(void *arg)
{
	VbZipkin   *z = arg;
	VbSpan	   *batch[ZK_BATCH];

	for (;;)
	{
		int			n = vb_spanq_pop(z->q, batch, ZK_BATCH, ZK_LINGER_MS);
		char	   *body;
		char		why[256];

		if (n == 0)
		{
			if (vb_spanq_closed(z->q))
				break;
			continue;
		}
		body = vb_zipkin_encode(batch, n, z->service);
		for (int i = 0; i < n; i++)
			vb_span_free(batch[i]);
		if (zk_post(z, body, why, sizeof(why)))
			vb_metric_add(VB_C_SPANS_EXPORTED, (uint64_t) n);
		else
		{
			vb_metric_add(VB_C_SPANS_DROPPED, (uint64_t) n);
			if (vb_now_ms() >= z->next_warn_ms)
			{
				vb_warn("span export to %s failed (%s): %d spans dropped "
						"(spans_dropped_total counts them; applies go on)", z->url, why, n);
				z->next_warn_ms = vb_now_ms() + ZK_WARN_EVERY_MS;
			}
		}
		free(body);
	}
	return NULL;
}

/*
 * vb_zipkin_start
 *	  Starts exporting q's spans to url (a Zipkin v2 endpoint such as
 *	  http://zipkin:9411/api/v2/spans) under the service name service.
 */
VbStatus
vb_zipkin_start(const char *url, const char *service, VbSpanQueue *q, VbZipkin **out,
				VbError *err)
{
	VbZipkin   *z;
	int			rc;

	*out = NULL;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return vb_error_set(err, VB_FATAL, NULL, "cannot initialise libcurl");
	z = vb_xcalloc(1, sizeof(VbZipkin));
	z->url = vb_xstrdup(url);
	z->service = vb_xstrdup(service);
	z->q = q;
	z->curl = curl_easy_init();
	if (!z->curl)
	{
		free(z->url);
		free(z->service);
		free(z);
		return vb_error_set(err, VB_FATAL, NULL, "cannot create a libcurl handle");
	}
	z->headers = curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_setopt(z->curl, CURLOPT_URL, z->url);
	curl_easy_setopt(z->curl, CURLOPT_HTTPHEADER, z->headers);
	curl_easy_setopt(z->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(z->curl, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
	curl_easy_setopt(z->curl, CURLOPT_WRITEFUNCTION, zk_discard);
	curl_easy_setopt(z->curl, CURLOPT_USERAGENT, "voltpay-bridge/" VB_VERSION);
	if ((rc = pthread_create(&z->thread, NULL, zk_thread, z)) != 0)
	{
		curl_slist_free_all(z->headers);
		curl_easy_cleanup(z->curl);
		free(z->url);
		free(z->service);
		free(z);
		return vb_error_set(err, VB_FATAL, NULL, "cannot start the span exporter: %s",
							strerror(rc));
	}
	vb_info("exporting sampled spans to %s (Zipkin v2 JSON)", url);
	*out = z;
	return VB_OK;
}

/*
 * vb_zipkin_stop
 *	  Closes the queue, lets the exporter post what it holds for up to
 *	  wait_ms, and frees it (the queue stays the caller's).
 */
void
vb_zipkin_stop(VbZipkin *z, int wait_ms)
{
	if (!z)
		return;
	__atomic_store_n(&z->deadline_ms, vb_now_ms() + wait_ms, __ATOMIC_RELEASE);
	vb_spanq_close(z->q);
	pthread_join(z->thread, NULL);
	curl_slist_free_all(z->headers);
	curl_easy_cleanup(z->curl);
	curl_global_cleanup();
	free(z->url);
	free(z->service);
	free(z);
}
