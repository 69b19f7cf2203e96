/*-------------------------------------------------------------------------
 *
 * test_trace.c
 *	  The tracing decisions, without Kafka or a database: traceparent
 *	  parsing, sampling (parent's flag, ratio), the payment's spans and
 *	  their parents and time line, the batch span's link, the bounds on
 *	  open payments and on the span queue (drops counted, pushes never
 *	  wait), the Zipkin v2 encoding (read back with jansson), and the
 *	  exporter against a backend that is down and one that never answers.
 *
 *-------------------------------------------------------------------------
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "log.h"
#include "metrics.h"
#include "spanq.h"
#include "trace.h"
#include "tracer.h"
#include "unit.h"
#include "zipkin.h"

#define TRACE	"4bf92f3577b34da6a3ce929d0e0e4736"
#define INPUT	"00f067aa0ba902b7"
#define WRITER	"b7ad6b7169203331"

static const char *const topics[VB_NKINDS] = {"payment_read_topic", "payment_email",
"payment_writer_dlq"};

/* counter value from /metrics */
static long long
counter(const char *name)
{
	size_t		len;
	char	   *s = vb_metrics_render(&len);
	char		pat[128];
	char	   *p;
	long long	v = -1;

	snprintf(pat, sizeof(pat), "\nvoltpay_bridge_%s ", name);
	if ((p = strstr(s, pat)) != NULL)
		v = atoll(p + strlen(pat));
	free(s);
	return v;
}

static VbSpan *
find_span(VbSpan **spans, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(spans[i]->name, name) == 0)
			return spans[i];
	return NULL;
}

static const char *
tag(const VbSpan *s, const char *key)
{
	for (int i = 0; s && i < s->ntags; i++)
		if (strcmp(s->tag_keys[i], key) == 0)
			return s->tag_values[i];
	return NULL;
}

static void
free_spans(VbSpan **spans, int n)
{
	for (int i = 0; i < n; i++)
		vb_span_free(spans[i]);
}

static void
test_parse(void)
{
	VbTraceCtx	c;
	const char *good = "00-" TRACE "-" INPUT "-01";

	ok(vb_traceparent_parse(good, strlen(good), &c), "a valid traceparent parses");
	is_str(c.trace_id, TRACE, "its trace id");
	is_str(c.span_id, INPUT, "its span id");
	is_int(c.flags, 1, "its flags");
	ok(!vb_traceparent_parse(good, strlen(good) - 1, &c), "one character short is invalid");
	ok(!vb_traceparent_parse("00-" TRACE "-" INPUT "-01-x", 60, &c),
	   "version 00 with more fields is invalid");
	ok(vb_traceparent_parse("01-" TRACE "-" INPUT "-00-later", 61, &c) && c.flags == 0,
	   "a later version may add fields");
	ok(!vb_traceparent_parse("ff-" TRACE "-" INPUT "-01", 55, &c), "version ff is invalid");
	ok(!vb_traceparent_parse("00-00000000000000000000000000000000-" INPUT "-01", 55, &c),
	   "an all-zero trace id is invalid");
	ok(!vb_traceparent_parse("00-" TRACE "-0000000000000000-01", 55, &c),
	   "an all-zero span id is invalid");
	ok(!vb_traceparent_parse("00-4BF92F3577B34DA6A3CE929D0E0E4736-" INPUT "-01", 55, &c),
	   "upper-case hex is invalid");
	ok(!vb_traceparent_parse(NULL, 0, &c), "no header is no context");
}

static void
test_sampling(void)
{
	VbTraceCtx	yes = {TRACE, INPUT, 1};
	VbTraceCtx	no = {TRACE, INPUT, 0};
	uint64_t	rng = 42;
	int			hits = 0;

	ok(vb_trace_sampled(&yes, TRACE, 0.0), "a sampled parent is followed at ratio 0");
	ok(!vb_trace_sampled(&no, TRACE, 1.0), "an unsampled parent is followed at ratio 1");
	ok(!vb_trace_sampled(NULL, TRACE, 0.0), "ratio 0 samples no root");
	ok(vb_trace_sampled(NULL, TRACE, 1.0), "ratio 1 samples every root");
	ok(vb_trace_sampled(NULL, "7000000000000000ffffffffffffffff", 0.5), "below the ratio's bound");
	ok(!vb_trace_sampled(NULL, "80000000000000010000000000000001", 0.5), "above the ratio's bound");
	ok(!vb_trace_sampled(NULL, "not-hex", 1.0), "a trace id that is not hex is never sampled");
	for (int i = 0; i < 100000; i++)
	{
		char		id[VB_TRACE_ID_LEN + 1];

		vb_trace_hex_id(vb_trace_rand(&rng), vb_trace_rand(&rng), 16, id);
		hits += vb_trace_sampled(NULL, id, 0.01);
	}
	ok(hits > 800 && hits < 1200, "ratio 0.01 samples about 1%% of random traces (%d of 100000)",
	   hits);
}

static void
test_origin(void)
{
	uint64_t	rng = 7;
	char		tp[56];
	VbTraceCtx	c;

	ok(!vb_trace_origin(&rng, 0.0, tp), "ratio 0: an origin not sampled");
	ok(vb_traceparent_parse(tp, strlen(tp), &c) && c.flags == 0,
	   "its traceparent is valid, flags 00 (%s)", tp);
	ok(vb_trace_origin(&rng, 1.0, tp), "ratio 1: sampled");
	ok(vb_traceparent_parse(tp, strlen(tp), &c) && c.flags == 1, "flags 01 (%s)", tp);
	ok(vb_trace_sampled(NULL, c.trace_id, 1.0), "the decision is the trace id's, as for any root");
}

static VbTracerConf
tconf(int open_max, int timeout_ms)
{
	VbTracerConf c = {0.0, "voltpay-bridge", "payment_writer_topic", "voltpay-writer",
		{topics[0], topics[1], topics[2]}, "SELECT apply", open_max, timeout_ms};

	return c;
}

static VbTrRow
row(const char *tp, const char *message_id, const char *status, int64_t base)
{
	VbTrRow		r = {{tp, tp ? strlen(tp) : 0, NULL, 7, 42, base / 1000}, message_id, status,
	NULL, TRACE, base + 30000, base + 80000, base + 95000};

	return r;
}

static VbEvent
event(int kind, const char *traceparent)
{
	static char *names[1] = {"traceparent"};
	static char *values[1];
	VbEvent		e;

	memset(&e, 0, sizeof(e));
	e.kind = kind;
	values[0] = (char *) traceparent;
	e.nheaders = 1;
	e.header_names = names;
	e.header_values = values;
	return e;
}

static void
test_payment(void)
{
	VbSpanQueue *q = vb_spanq_new(100);
	VbTracerConf c = tconf(100, 60000);
	VbTracer   *t = vb_tracer_new(&c, q);
	int64_t		base = (vb_wall_us() / 1000 - 1000) * 1000;	/* whole ms, as Kafka */
	VbTrRow		r = row("00-" TRACE "-" INPUT "-01", "m-1", "applied", base);
	VbTrPayment *p = vb_tracer_row(t, &r);
	VbEvent		e1 = event(VB_KIND_READ, "00-" TRACE "-" WRITER "-01");
	VbEvent		e2 = event(VB_KIND_EMAIL, "00-" TRACE "-" WRITER "-01");
	VbSpan	   *spans[20];
	VbSpan	   *pay, *queued, *wait, *apply, *batch, *pub;
	int			n;

	ok(p != NULL, "a message with a sampled traceparent is traced at ratio 0");
	vb_tracer_event(t, p, &e1);
	vb_tracer_event(t, p, &e2);
	vb_tracer_batch(t, &p, 1, 500, base + 80000, base + 95000);
	is_int(vb_tracer_open(t), 1, "the payment waits for its delivery reports");
	n = vb_spanq_pop(q, spans, 20, 0);
	is_int(n, 1, "the batch span is queued at the commit");
	batch = spans[0];
	is_str(batch->parent_id, "", "the batch span is a root");
	is_str(tag(batch, "db.operation.batch.size"), "500", "it carries the batch size");
	is_str(tag(batch, "voltpay.payment.trace_ids"), TRACE, "and the payments' trace ids");
	vb_tracer_delivered(t, "m-1", VB_KIND_READ, 0);
	vb_tracer_delivered(t, "m-2", VB_KIND_EMAIL, 0);
	is_int(vb_tracer_open(t), 1, "a report of another message changes nothing");
	vb_tracer_delivered(t, "m-1", VB_KIND_EMAIL, 0);
	is_int(vb_tracer_open(t), 0, "the last report ends the payment");
	n = vb_spanq_pop(q, spans + 1, 19, 0) + 1;
	is_int(n, 7, "payment, queued, batch wait, apply and two publish spans");
	pay = find_span(spans, n, "process payment_writer_topic");
	queued = find_span(spans, n, "queued in kafka");
	wait = find_span(spans, n, "batch wait");
	apply = find_span(spans, n, "apply_record_batch");
	pub = find_span(spans, n, "publish payment_email");
	ok(pay && queued && wait && apply && pub, "each step has its span");
	if (!(pay && queued && wait && apply && pub))
		return;
	is_str(pay->id, WRITER, "the payment span is the events' writer span");
	is_str(pay->parent_id, INPUT, "its parent is the input's span");
	is_str(pay->trace_id, TRACE, "in the input's trace");
	is_str(queued->parent_id, WRITER, "steps are children of the payment span");
	is_str(pub->parent_id, WRITER, "publish too");
	is_int(queued->start_us, base, "queued in Kafka starts at the record's timestamp");
	is_int(queued->duration_us, 30000, "and ends when its batch began to fill");
	is_int(wait->duration_us, 50000, "batch wait: until the transaction was sent");
	is_int(apply->duration_us, 15000, "apply: until the commit");
	ok(pub->start_us == base + 95000 && pub->duration_us > 0,
	   "publish: from the commit to the delivery report");
	ok(queued->duration_us + wait->duration_us + apply->duration_us + pub->duration_us <=
	   pay->duration_us, "the steps add up within the payment's end-to-end time");
	is_str(tag(apply, "db.system"), "postgresql", "db.system on the apply span");
	is_str(tag(apply, "voltpay.batch.span_id"), batch->id, "the apply span names the batch span");
	is_str(tag(apply, "voltpay.batch.trace_id"), batch->trace_id, "and its trace");
	is_str(tag(pay, "messaging.system"), "kafka", "messaging.system on the payment");
	is_str(tag(pay, "messaging.message.id"), "m-1", "messaging.message.id");
	is_str(tag(pay, "messaging.destination.partition.id"), "7", "partition");
	is_str(tag(pay, "messaging.kafka.offset"), "42", "offset");
	is_str(tag(pub, "messaging.destination.name"), "payment_email", "publish names its topic");
	free_spans(spans, n);
	vb_tracer_free(t);
	vb_spanq_free(q);
}

static void
test_kinds(void)
{
	VbSpanQueue *q = vb_spanq_new(100);
	VbTracerConf c = tconf(100, 60000);
	VbTracer   *t;
	int64_t		base = vb_wall_us();
	VbTrRow		r;
	VbTrPayment *p[2];
	VbSpan	   *spans[20];
	VbEvent		e = event(VB_KIND_DEAD_LETTER, "00-" TRACE "-" WRITER "-01");
	VbSpan	   *pay;
	int			n;

	r = row("00-" TRACE "-" INPUT "-00", "m-1", "applied", base);
	c.ratio = 1.0;
	t = vb_tracer_new(&c, q);
	ok(vb_tracer_row(t, &r) == NULL, "an unsampled traceparent is not traced at ratio 1");
	r = row(NULL, "m-1", "applied", base);
	c.ratio = 0.0;
	vb_tracer_free(t);
	t = vb_tracer_new(&c, q);
	ok(vb_tracer_row(t, &r) == NULL, "no traceparent at ratio 0: not traced");
	vb_tracer_free(t);
	c.ratio = 1.0;
	t = vb_tracer_new(&c, q);
	p[0] = vb_tracer_row(t, &r);
	ok(p[0] != NULL, "no traceparent at ratio 1: traced");
	r = row("garbage", "m-2", "rejected", base);
	r.reason = "invalid_json";
	p[1] = vb_tracer_row(t, &r);
	vb_tracer_event(t, p[1], &e);
	/* m-1 is a duplicate: no events, it ends at the commit */
	vb_tracer_batch(t, p, 2, 2, base, base + 1000);
	n = vb_spanq_pop(q, spans, 20, 0);
	is_int(n, 5, "batch span and the duplicate's four spans at the commit");
	pay = find_span(spans, n, "process payment_writer_topic");
	ok(pay && pay->parent_id[0] == '\0', "a message without a traceparent is a root");
	ok(pay && strlen(pay->id) == 16 && strcmp(pay->id, WRITER) != 0,
	   "a payment without events gets a span id of its own");
	free_spans(spans, n);
	vb_tracer_delivered(t, "m-2", VB_KIND_DEAD_LETTER, 0);
	n = vb_spanq_pop(q, spans, 20, 0);
	pay = find_span(spans, n, "process payment_writer_topic");
	is_str(tag(pay, "voltpay.reason"), "invalid_json", "a rejected message's span has its reason");
	is_str(tag(pay, "error"), "invalid_json", "and is marked an error");
	ok(find_span(spans, n, "publish payment_writer_dlq") != NULL, "its dead letter's publish span");
	free_spans(spans, n);

	{
		VbTrRecord	rec = {"00-" TRACE "-" INPUT "-01", 55, NULL, 3, 9, base / 1000};

		vb_tracer_quarantined(t, &rec, "22P02", "boom");
		n = vb_spanq_pop(q, spans, 20, 0);
		is_int(n, 1, "a quarantined message has a span");
		ok(n == 1 && strcmp(spans[0]->parent_id, INPUT) == 0 &&
		   strcmp(tag(spans[0], "voltpay.reason"), "apply_error") == 0 &&
		   strcmp(tag(spans[0], "error"), "boom") == 0,
		   "under the input's span, with reason apply_error and the error");
		free_spans(spans, n);
	}

	/* A message sent with our origin: its payment's parent is our root. */
	{
		char		origin[56];
		VbTraceCtx	oc;
		VbSpan	   *root;

		vb_tracer_origin(t, origin);
		vb_traceparent_parse(origin, 55, &oc);
		r = row(NULL, "m-3", "applied", base);
		r.rec.origin = origin;
		r.trace_id = oc.trace_id;
		p[0] = vb_tracer_row(t, &r);
		vb_tracer_batch(t, p, 1, 1, base, base + 1000);
		n = vb_spanq_pop(q, spans, 20, 0);
		is_int(n, 6, "batch, root, payment and its three steps");
		pay = find_span(spans, n, "process payment_writer_topic");
		root = find_span(spans, n, "payment");
		ok(pay && root && strcmp(pay->parent_id, oc.span_id) == 0 && strcmp(root->id, oc.span_id) == 0,
		   "the payment's parent is the origin's span, exported as the root");
		ok(root && root->parent_id[0] == '\0' && strcmp(root->trace_id, oc.trace_id) == 0,
		   "a root in the origin's trace");
		free_spans(spans, n);
	}
	vb_tracer_free(t);
	vb_spanq_free(q);
}

static void
test_slow(void)
{
	VbSpanQueue *q = vb_spanq_new(10);
	VbTracerConf c = tconf(10, 60000);
	VbTracer   *t = vb_tracer_new(&c, q);
	int64_t		base = vb_wall_us();
	VbSpan	   *spans[4];
	int			n;

	vb_tracer_batch(t, NULL, 0, 500, base, base + 999999);
	is_int(vb_spanq_len(q), 0, "a transaction without sampled payments under 1 s: no span");
	vb_tracer_batch(t, NULL, 0, 500, base, base + 1500000);
	n = vb_spanq_pop(q, spans, 4, 0);
	is_int(n, 1, "a slow one is exported all the same");
	ok(n == 1 && spans[0]->duration_us == 1500000 &&
	   strcmp(tag(spans[0], "db.operation.batch.size"), "500") == 0, "with its duration and size");
	free_spans(spans, n);
	vb_tracer_free(t);
	vb_spanq_free(q);
}

static void
test_bounds(void)
{
	VbSpanQueue *q = vb_spanq_new(1000);
	VbTracerConf c = tconf(2, 60000);
	VbTracer   *t = vb_tracer_new(&c, q);
	int64_t		base = vb_wall_us();
	VbEvent		e = event(VB_KIND_READ, "00-" TRACE "-" WRITER "-01");
	VbSpan	   *spans[100];
	const char *ids[3] = {"a", "b", "c"};
	int			n;
	long long	dropped;

	for (int i = 0; i < 3; i++)
	{
		VbTrRow		r = row("00-" TRACE "-" INPUT "-01", ids[i], "applied", base);
		VbTrPayment *p = vb_tracer_row(t, &r);

		vb_tracer_event(t, p, &e);
		vb_tracer_batch(t, &p, 1, 1, base, base + 10);
	}
	is_int(vb_tracer_open(t), 2, "at most open_max payments wait for reports");
	n = vb_spanq_pop(q, spans, 100, 0);
	is_int(n, 3 + 4, "the oldest ended at once: 3 batch spans, its 4 spans");
	ok(find_span(spans, n, "process payment_writer_topic") &&
	   strcmp(tag(find_span(spans, n, "process payment_writer_topic"), "voltpay.publish"),
			  "incomplete") == 0, "tagged voltpay.publish=incomplete");
	free_spans(spans, n);
	vb_tracer_expire(t, vb_now_ms() + 60000);
	is_int(vb_tracer_open(t), 0, "after the timeout none waits");
	n = vb_spanq_pop(q, spans, 100, 0);
	is_int(n, 8, "both ended without their reports");
	free_spans(spans, n);
	vb_tracer_free(t);
	vb_spanq_free(q);

	/* A full queue: pushes drop (counted), never wait. */
	q = vb_spanq_new(5);
	c = tconf(100, 60000);
	t = vb_tracer_new(&c, q);
	dropped = counter("spans_dropped_total");
	{
		int64_t		t0 = vb_now_ms();

		for (int i = 0; i < 10000; i++)
		{
			VbTrRow		r = row("00-" TRACE "-" INPUT "-01", "d", "duplicate", base);
			VbTrPayment *p = vb_tracer_row(t, &r);

			vb_tracer_batch(t, &p, 1, 1, base, base + 10);
		}
		ok(vb_now_ms() - t0 < 5000, "50,000 spans into a full queue of 5 take no wait (%lld ms)",
		   (long long) (vb_now_ms() - t0));
	}
	is_int(vb_spanq_len(q), 5, "the queue holds its bound");
	is_int(counter("spans_dropped_total") - dropped, 50000 - 5, "every other span counted as dropped");
	vb_tracer_free(t);
	vb_spanq_free(q);
}

static void
test_queue(void)
{
	VbSpanQueue *q = vb_spanq_new(3);
	VbSpan	   *out[4];
	int64_t		t0;

	for (int i = 0; i < 3; i++)
	{
		char		name[8];

		snprintf(name, sizeof(name), "s%d", i);
		ok(vb_spanq_push(q, vb_span_new(TRACE, WRITER, NULL, name, VB_SPAN_INTERNAL, 0, 1)),
		   "push %d into a queue of 3", i);
	}
	ok(!vb_spanq_push(q, vb_span_new(TRACE, WRITER, NULL, "s3", VB_SPAN_INTERNAL, 0, 1)),
	   "the 4th is refused (and freed: ASan checks)");
	is_int(vb_spanq_pop(q, out, 2, 0), 2, "pop takes up to max");
	is_str(out[0]->name, "s0", "oldest first");
	free_spans(out, 2);
	t0 = vb_now_ms();
	is_int(vb_spanq_pop(q, out, 4, 200), 1, "less than max after the wait");
	ok(vb_now_ms() - t0 >= 190, "the wait for a full batch is bounded (%lld ms)",
	   (long long) (vb_now_ms() - t0));
	free_spans(out, 1);
	vb_spanq_close(q);
	t0 = vb_now_ms();
	is_int(vb_spanq_pop(q, out, 4, 5000), 0, "a closed, empty queue pops nothing");
	ok(vb_now_ms() - t0 < 1000, "and at once");
	ok(!vb_spanq_push(q, vb_span_new(TRACE, WRITER, NULL, "late", VB_SPAN_INTERNAL, 0, 1)),
	   "no push after close");
	vb_spanq_free(q);
}

static void
test_encode(void)
{
	VbSpan	   *s[2];
	char	   *js;
	json_t	   *arr;
	json_error_t jerr;
	json_t	   *a, *b;

	s[0] = vb_span_new(TRACE, WRITER, INPUT, "process x", VB_SPAN_CONSUMER, 1000, 3500);
	s[0]->remote_service = "kafka";
	vb_span_tag(s[0], "messaging.system", "kafka");
	vb_span_tag(s[0], "quote", "a \"b\"\n");
	s[1] = vb_span_new(TRACE, INPUT, NULL, "root", VB_SPAN_INTERNAL, 5, 5);
	js = vb_zipkin_encode(s, 2, "voltpay-bridge");
	arr = json_loads(js, 0, &jerr);
	ok(arr && json_is_array(arr) && json_array_size(arr) == 2, "a JSON array of 2 spans");
	a = json_array_get(arr, 0);
	b = json_array_get(arr, 1);
	is_str(json_string_value(json_object_get(a, "traceId")), TRACE, "traceId");
	is_str(json_string_value(json_object_get(a, "parentId")), INPUT, "parentId");
	is_str(json_string_value(json_object_get(a, "kind")), "CONSUMER", "kind");
	is_int(json_integer_value(json_object_get(a, "timestamp")), 1000, "timestamp in us");
	is_int(json_integer_value(json_object_get(a, "duration")), 2500, "duration in us");
	is_str(json_string_value(json_object_get(json_object_get(a, "localEndpoint"), "serviceName")),
		   "voltpay-bridge", "localEndpoint");
	is_str(json_string_value(json_object_get(json_object_get(a, "remoteEndpoint"), "serviceName")),
		   "kafka", "remoteEndpoint");
	is_str(json_string_value(json_object_get(json_object_get(a, "tags"), "quote")), "a \"b\"\n",
		   "tags escaped and read back");
	ok(json_object_get(b, "parentId") == NULL && json_object_get(b, "kind") == NULL,
	   "a root has no parentId; an internal span no kind");
	is_int(json_integer_value(json_object_get(b, "duration")), 1, "a zero duration is sent as 1 us");
	json_decref(arr);
	free(js);
	free_spans(s, 2);
}

/* The exporter against a backend that is down, then one that never answers. */
static void
test_export_down(void)
{
	VbSpanQueue *q = vb_spanq_new(100);
	VbZipkin   *z;
	VbError		err;
	long long	dropped = counter("spans_dropped_total");
	long long	exported = counter("spans_exported_total");
	int			srv = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in addr = {.sin_family = AF_INET};
	socklen_t	alen = sizeof(addr);
	char		url[128];
	int64_t		t0;
	int			accepted = 0;

	/* down: a port nobody listens on (bound, not listening) */
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(srv, (struct sockaddr *) &addr, sizeof(addr));
	getsockname(srv, (struct sockaddr *) &addr, &alen);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v2/spans", ntohs(addr.sin_port));
	is_int(vb_zipkin_start(url, "voltpay-bridge", q, &z, &err), VB_OK, "the exporter starts");
	for (int i = 0; i < 10; i++)
		vb_spanq_push(q, vb_span_new(TRACE, WRITER, NULL, "s", VB_SPAN_INTERNAL, 0, 1));
	for (t0 = vb_now_ms(); counter("spans_dropped_total") - dropped < 10 && vb_now_ms() - t0 < 5000;)
		vb_sleep_ms(20);
	is_int(counter("spans_dropped_total") - dropped, 10, "spans of a failed post are dropped, counted");
	is_int(counter("spans_exported_total") - exported, 0, "none counted as exported");
	vb_zipkin_stop(z, 1000);

	/* slow: it accepts the connection and never answers */
	listen(srv, 16);
	q = (vb_spanq_free(q), vb_spanq_new(100));
	dropped = counter("spans_dropped_total");
	vb_zipkin_start(url, "voltpay-bridge", q, &z, &err);
	t0 = vb_now_ms();
	for (int i = 0; i < 5000; i++)
	{
		vb_spanq_push(q, vb_span_new(TRACE, WRITER, NULL, "s", VB_SPAN_INTERNAL, 0, 1));
		if (i % 500 == 0)
			vb_sleep_ms(1);		/* the exporter takes a batch, then hangs */
	}
	ok(vb_now_ms() - t0 < 2000, "pushes do not wait for a backend that hangs (%lld ms)",
	   (long long) (vb_now_ms() - t0));
	ok(vb_spanq_len(q) <= 100, "the queue holds its bound meanwhile");
	t0 = vb_now_ms();
	vb_zipkin_stop(z, 500);
	ok(vb_now_ms() - t0 < 3000, "stop ends within its wait and the post timeout (%lld ms)",
	   (long long) (vb_now_ms() - t0));
	{
		int			c = accept(srv, NULL, NULL);

		accepted = c >= 0;
		if (c >= 0)
			close(c);
	}
	ok(accepted, "the exporter did connect to the slow backend");
	ok(counter("spans_dropped_total") - dropped > 0, "its unanswered post counted as dropped");
	close(srv);
	vb_spanq_free(q);
}

int
main(void)
{
	vb_metrics_init("payment_writer_topic", topics);
	vb_log_set_level(VB_LOG_ERROR);
	test_parse();
	test_sampling();
	test_origin();
	test_queue();
	test_payment();
	test_kinds();
	test_slow();
	test_bounds();
	test_encode();
	test_export_down();
	vb_metrics_free();
	return unit_done();
}
