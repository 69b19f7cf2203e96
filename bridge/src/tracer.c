/*-------------------------------------------------------------------------
 *
 * tracer.c
 *	  Layer 1: the spans of a payment's lifecycle.
 *
 * For each sampled message (trace.c decides) the payment span is the
 * writer span the extension gave its events (the span id of their
 * traceparent header), child of the input's span.  A message that came
 * without one is sent to the database with a traceparent of ours
 * (vb_tracer_origin(): a new trace, its sampled flag our decision, so
 * downstream services follow it); the payment span's parent is then a root
 * span "payment" of ours.  A message without events (a duplicate) gets a
 * span id of ours.  Its children, on one time line (wall clock, us):
 *
 *	  queued in Kafka  record timestamp -> its batch began to fill
 *	  batch wait       -> its transaction was sent to the database
 *	  apply_record_batch (the transaction; db.* attributes) -> COMMIT
 *	  publish TOPIC    COMMIT -> the event's delivery report, per event
 *
 * "Batch began to fill" is the first message of the batch's arrival (the
 * loop reads the clock once per batch, not per message): a later message
 * of the batch shows that wait as queued in Kafka.  A step that would end
 * before it starts (clocks of two machines) is clamped to zero length.
 *
 * One span per database transaction (a root of its own trace) carries the
 * batch's size and statement; Zipkin v2 has no span links, so the link is
 * a pair of tags both ways: the payment's apply span names the batch's
 * trace and span (voltpay.batch.trace_id/span_id), the batch span lists
 * the first payments' trace ids (voltpay.payment.trace_ids).  A
 * transaction of TR_SLOW_US or more is exported even without sampled
 * payments, and logged with its batch span's trace_id and span_id: the
 * log line joins a slow batch to its trace.
 *
 * A payment with events stays open until their delivery reports
 * (vb_tracer_delivered(), the outbox's hook); at most open_max stay open
 * and none longer than open_timeout_ms: an event not produced directly
 * (the outbox out of sync) ends its payment without that publish span,
 * tagged voltpay.publish=incomplete.  Finished spans go to the bounded
 * queue; a full queue drops them, counted (spans_dropped_total).
 *
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "tracer.h"

#define TR_BUCKETS		4096
#define TR_MAX_EVENTS	4
#define TR_LINK_IDS		20
/* A transaction this long is exported and logged, sampled or not. */
#define TR_SLOW_US		1000000

typedef struct TrEvent
{
	int			kind;
	bool		done;
	int			err;
	int64_t		delivered_us;
} TrEvent;

struct VbTrPayment
{
	VbTrPayment *hnext;			/* hash chain by message id */
	VbTrPayment *prev;			/* open payments, oldest first */
	VbTrPayment *next;
	char	   *message_id;
	char	   *status;
	char	   *reason;
	VbTraceCtx	parent;
	bool		has_parent;
	bool		has_origin;		/* parent: our root span, sent with the message */
	char		trace_id[VB_TRACE_ID_LEN + 1];
	char		span_id[VB_SPAN_ID_LEN + 1];
	char		batch_trace[VB_TRACE_ID_LEN + 1];
	char		batch_span[VB_SPAN_ID_LEN + 1];
	int			batch_size;
	int32_t		partition;
	int64_t		offset;
	int64_t		t_record;
	int64_t		t_consumed;
	int64_t		t_sent;
	int64_t		t_commit;
	int			nev;
	int			ndone;
	TrEvent		ev[TR_MAX_EVENTS];
	int64_t		opened_ms;
};

struct VbTracer
{
	VbTracerConf conf;
	VbSpanQueue *q;
	uint64_t	rng;
	VbTrPayment *buckets[TR_BUCKETS];
	VbTrPayment *oldest;
	VbTrPayment *newest;
	int			nopen;
};

/*
 * tr_hash
 *	  FNV-1a of a message id.
 */
static unsigned
tr_hash(const char *s)
{
	uint32_t	h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char) *s) * 16777619u;
	return h % TR_BUCKETS;
}

/*
 * tr_id
 *	  A new random span id (16 hex digits) into out.
 */
static void
tr_id(VbTracer *t, char *out)
{
	vb_trace_hex_id(0, vb_trace_rand(&t->rng), 8, out);
}

/*
 * tr_push
 *	  A finished span to the exporter's queue, or counted as dropped.
 */
static void
tr_push(VbTracer *t, VbSpan *s)
{
	if (!vb_spanq_push(t->q, s))
		vb_metric_add(VB_C_SPANS_DROPPED, 1);
}

/*
 * vb_event_header
 *	  The value of an outbox event's header name, or NULL.
 */
const char *
vb_event_header(const VbEvent *e, const char *name)
{
	for (int h = e->nheaders - 1; h >= 0; h--)
		if (e->header_names && e->header_names[h] &&
			strcmp(e->header_names[h], name) == 0)
			return e->header_values ? e->header_values[h] : NULL;
	return NULL;
}

/*
 * vb_tracer_new
 *	  A tracer handing its spans to q (the caller's, with its exporter).
 */
VbTracer *
vb_tracer_new(const VbTracerConf *conf, VbSpanQueue *q)
{
	VbTracer   *t = vb_xcalloc(1, sizeof(VbTracer));

	t->conf = *conf;
	t->q = q;
	t->rng = (uint64_t) vb_wall_us() ^ ((uint64_t) getpid() << 32) ^ (uintptr_t) t;
	return t;
}

/*
 * vb_tracer_origin
 *	  A traceparent for a message that came without a valid one, sent to
 *	  the database instead (its events continue it): a new trace whose
 *	  sampled flag is the tracer's decision, so that services downstream
 *	  do not record spans under a parent that is never exported.
 */
void
vb_tracer_origin(VbTracer *t, char out[56])
{
	(void) vb_trace_origin(&t->rng, t->conf.ratio, out);
}

/*
 * vb_tracer_row
 *	  A message's result row: NULL when it is not sampled; otherwise its
 *	  payment, the caller's until vb_tracer_batch().
 */
VbTrPayment *
vb_tracer_row(VbTracer *t, const VbTrRow *row)
{
	VbTrPayment *p;
	VbTraceCtx	parent;
	bool		has_parent;
	bool		has_origin;
	int64_t		ts = row->rec.timestamp_ms;

	if (!t)
		return NULL;
	has_parent = vb_traceparent_parse(row->rec.traceparent, row->rec.traceparent_len, &parent);
	if (!vb_trace_sampled(has_parent ? &parent : NULL, row->trace_id, t->conf.ratio))
		return NULL;
	if (!has_parent && row->rec.origin &&
		vb_traceparent_parse(row->rec.origin, strlen(row->rec.origin), &parent) &&
		row->trace_id && strcmp(parent.trace_id, row->trace_id) == 0)
		has_origin = true;
	else
		has_origin = false;
	p = vb_xcalloc(1, sizeof(VbTrPayment));
	p->message_id = vb_xstrdup(row->message_id ? row->message_id : "");
	p->status = vb_xstrdup(row->status);
	p->reason = row->reason ? vb_xstrdup(row->reason) : NULL;
	p->parent = parent;
	p->has_parent = has_parent || has_origin;
	p->has_origin = has_origin;
	snprintf(p->trace_id, sizeof(p->trace_id), "%s",
			 has_parent ? parent.trace_id : row->trace_id ? row->trace_id : "");
	p->partition = row->rec.partition;
	p->offset = row->rec.offset;
	p->t_consumed = row->consumed_us;
	p->t_record = ts >= 0 && ts * 1000 < p->t_consumed ? ts * 1000 : p->t_consumed;
	p->t_sent = row->apply_start_us > p->t_consumed ? row->apply_start_us : p->t_consumed;
	p->t_commit = row->commit_us > p->t_sent ? row->commit_us : p->t_sent;
	return p;
}

/*
 * vb_tracer_event
 *	  An event of a sampled payment: its traceparent names the writer span
 *	  (the payment's span); its delivery report is awaited.
 */
void
vb_tracer_event(VbTracer *t, VbTrPayment *p, const VbEvent *e)
{
	const char *tp;
	VbTraceCtx	c;

	if (!t || !p)
		return;
	tp = vb_event_header(e, "traceparent");
	if (!p->span_id[0] && tp && vb_traceparent_parse(tp, strlen(tp), &c) &&
		strcmp(c.trace_id, p->trace_id) == 0)
		snprintf(p->span_id, sizeof(p->span_id), "%s", c.span_id);
	if (p->nev < TR_MAX_EVENTS)
		p->ev[p->nev++].kind = e->kind;
}

/*
 * tr_child
 *	  A child span of payment p.
 */
static VbSpan *
tr_child(VbTracer *t, const VbTrPayment *p, const char *name, VbSpanKind kind,
		 int64_t start, int64_t end)
{
	char		id[VB_SPAN_ID_LEN + 1];

	tr_id(t, id);
	return vb_span_new(p->trace_id, id, p->span_id, name, kind, start, end);
}

/*
 * tr_finish
 *	  Payment p's spans to the queue; p is freed.
 */
static void
tr_finish(VbTracer *t, VbTrPayment *p, bool incomplete)
{
	int64_t		end = p->t_commit;
	char		name[300];
	VbSpan	   *s;

	for (int i = 0; i < p->nev; i++)
		if (p->ev[i].done && p->ev[i].delivered_us > end)
			end = p->ev[i].delivered_us;

	snprintf(name, sizeof(name), "process %s", t->conf.input_topic);
	s = vb_span_new(p->trace_id, p->span_id, p->has_parent ? p->parent.span_id : NULL,
					name, VB_SPAN_CONSUMER, p->t_record, end);
	s->remote_service = "kafka";
	vb_span_tag(s, "messaging.system", "kafka");
	vb_span_tag(s, "messaging.operation.type", "process");
	vb_span_tag(s, "messaging.destination.name", t->conf.input_topic);
	vb_span_tag_int(s, "messaging.destination.partition.id", p->partition);
	vb_span_tag_int(s, "messaging.kafka.offset", p->offset);
	vb_span_tag(s, "messaging.message.id", p->message_id);
	vb_span_tag(s, "messaging.consumer.group.name", t->conf.group);
	vb_span_tag(s, "voltpay.status", p->status);
	if (p->reason)
	{
		vb_span_tag(s, "voltpay.reason", p->reason);
		vb_span_tag(s, "error", p->reason);
	}
	if (incomplete)
		vb_span_tag(s, "voltpay.publish", "incomplete");
	tr_push(t, s);
	if (p->has_origin)
	{
		/* The trace starts here: our root span, the payment's parent. */
		s = vb_span_new(p->trace_id, p->parent.span_id, NULL, "payment", VB_SPAN_INTERNAL,
						p->t_record, end);
		vb_span_tag(s, "messaging.message.id", p->message_id);
		vb_span_tag(s, "voltpay.trace.origin", "voltpay-bridge");
		tr_push(t, s);
	}

	tr_push(t, tr_child(t, p, "queued in kafka", VB_SPAN_INTERNAL, p->t_record, p->t_consumed));
	tr_push(t, tr_child(t, p, "batch wait", VB_SPAN_INTERNAL, p->t_consumed, p->t_sent));
	s = tr_child(t, p, "apply_record_batch", VB_SPAN_CLIENT, p->t_sent, p->t_commit);
	s->remote_service = "postgresql";
	vb_span_tag(s, "db.system", "postgresql");
	vb_span_tag(s, "db.system.name", "postgresql");
	vb_span_tag(s, "db.operation.name", "apply_record_batch");
	vb_span_tag(s, "db.query.text", t->conf.statement);
	vb_span_tag_int(s, "db.operation.batch.size", p->batch_size);
	if (p->batch_span[0])
	{
		vb_span_tag(s, "voltpay.batch.trace_id", p->batch_trace);
		vb_span_tag(s, "voltpay.batch.span_id", p->batch_span);
	}
	tr_push(t, s);
	for (int i = 0; i < p->nev; i++)
	{
		const char *topic = p->ev[i].kind >= 0 && p->ev[i].kind < VB_NKINDS ?
			t->conf.topics[p->ev[i].kind] : "unknown";

		if (!p->ev[i].done)
			continue;
		snprintf(name, sizeof(name), "publish %s", topic);
		s = tr_child(t, p, name, VB_SPAN_PRODUCER, p->t_commit, p->ev[i].delivered_us);
		s->remote_service = "kafka";
		vb_span_tag(s, "messaging.system", "kafka");
		vb_span_tag(s, "messaging.operation.type", "send");
		vb_span_tag(s, "messaging.destination.name", topic);
		vb_span_tag(s, "messaging.message.id", p->message_id);
		if (p->ev[i].err)
			vb_span_tag(s, "error", rd_kafka_err2str(p->ev[i].err));
		tr_push(t, s);
	}
	free(p->message_id);
	free(p->status);
	free(p->reason);
	free(p);
}

/*
 * tr_unlink
 *	  Takes open payment p out of the hash and the list.
 */
static void
tr_unlink(VbTracer *t, VbTrPayment *p)
{
	VbTrPayment **pp = &t->buckets[tr_hash(p->message_id)];

	while (*pp && *pp != p)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = p->hnext;
	if (p->prev)
		p->prev->next = p->next;
	else
		t->oldest = p->next;
	if (p->next)
		p->next->prev = p->prev;
	else
		t->newest = p->prev;
	t->nopen--;
}

/*
 * vb_tracer_batch
 *	  A transaction of nmsgs messages committed ([start_us, commit_us]):
 *	  its batch span, when it carried sampled payments ps[0..n), linked to
 *	  theirs; payments without events end now, the others wait for their
 *	  delivery reports.
 */
void
vb_tracer_batch(VbTracer *t, VbTrPayment **ps, int n, int nmsgs, int64_t start_us,
				int64_t commit_us)
{
	char		trace_id[VB_TRACE_ID_LEN + 1];
	char		id[VB_SPAN_ID_LEN + 1];
	char		ids[TR_LINK_IDS * (VB_TRACE_ID_LEN + 1) + 1];
	size_t		used = 0;
	bool		slow = commit_us - start_us >= TR_SLOW_US;
	VbSpan	   *s;

	if (!t || (n == 0 && !slow))
		return;
	vb_trace_hex_id(vb_trace_rand(&t->rng), vb_trace_rand(&t->rng), 16, trace_id);
	tr_id(t, id);
	s = vb_span_new(trace_id, id, NULL, "batch apply_record_batch", VB_SPAN_CLIENT,
					start_us, commit_us);
	s->remote_service = "postgresql";
	vb_span_tag(s, "db.system", "postgresql");
	vb_span_tag(s, "db.system.name", "postgresql");
	vb_span_tag(s, "db.operation.name", "apply_record_batch");
	vb_span_tag(s, "db.query.text", t->conf.statement);
	vb_span_tag_int(s, "db.operation.batch.size", nmsgs);
	vb_span_tag_int(s, "voltpay.batch.sampled_payments", n);
	ids[0] = '\0';
	for (int i = 0; i < n; i++)
	{
		VbTrPayment *p = ps[i];

		if (i < TR_LINK_IDS)
			used += (size_t) snprintf(ids + used, sizeof(ids) - used, "%s%s",
									  i ? "," : "", p->trace_id);
		memcpy(p->batch_trace, trace_id, sizeof(trace_id));
		memcpy(p->batch_span, id, sizeof(id));
		p->batch_size = nmsgs;
		if (!p->span_id[0])
			tr_id(t, p->span_id);
		if (p->nev == 0)
		{
			tr_finish(t, p, false);
			continue;
		}
		/* Open until its delivery reports: oldest first, bounded. */
		if (t->nopen >= t->conf.open_max && t->oldest)
		{
			VbTrPayment *old = t->oldest;

			tr_unlink(t, old);
			tr_finish(t, old, true);
		}
		p->opened_ms = vb_now_ms();
		p->hnext = t->buckets[tr_hash(p->message_id)];
		t->buckets[tr_hash(p->message_id)] = p;
		p->prev = t->newest;
		p->next = NULL;
		if (t->newest)
			t->newest->next = p;
		else
			t->oldest = p;
		t->newest = p;
		t->nopen++;
	}
	vb_span_tag(s, "voltpay.payment.trace_ids", ids);
	tr_push(t, s);
	if (slow)
	{
		VbLogCtx	c = VB_LOGCTX_INIT;

		c.trace_id = trace_id;
		c.span_id = id;
		vb_log(VB_LOG_WARN, &c, "slow database transaction: %d messages in %lld ms "
			   "(%d sampled payments; its span in the trace trace_id)", nmsgs,
			   (long long) ((commit_us - start_us) / 1000), n);
	}
	vb_tracer_expire(t, vb_now_ms());
}

/*
 * vb_tracer_delivered
 *	  The delivery report of an event of message_id (kind: its VB_KIND_*):
 *	  a sampled payment's publish span ends; the payment ends with its
 *	  last event.
 */
void
vb_tracer_delivered(VbTracer *t, const char *message_id, int kind, int err)
{
	VbTrPayment *p;

	if (!t || t->nopen == 0 || !message_id)
		return;
	for (p = t->buckets[tr_hash(message_id)]; p; p = p->hnext)
	{
		if (strcmp(p->message_id, message_id) != 0)
			continue;
		for (int i = 0; i < p->nev; i++)
		{
			if (p->ev[i].done || p->ev[i].kind != kind)
				continue;
			p->ev[i].done = true;
			p->ev[i].err = err;
			p->ev[i].delivered_us = vb_wall_us();
			if (++p->ndone == p->nev)
			{
				tr_unlink(t, p);
				tr_finish(t, p, false);
			}
			return;
		}
	}
}

/*
 * vb_tracer_quarantined
 *	  A message whose apply raised was quarantined by the bridge: a span
 *	  under the input's (sampled as any message; a parent-less one in a new
 *	  trace), with the error.
 */
void
vb_tracer_quarantined(VbTracer *t, const VbTrRecord *rec, const char *sqlstate,
					  const char *error)
{
	VbTraceCtx	parent;
	bool		has_parent;
	char		trace_id[VB_TRACE_ID_LEN + 1];
	char		id[VB_SPAN_ID_LEN + 1];
	char		name[300];
	int64_t		now = vb_wall_us();
	int64_t		ts = rec->timestamp_ms;
	VbSpan	   *s;

	if (!t)
		return;
	has_parent = vb_traceparent_parse(rec->traceparent, rec->traceparent_len, &parent);
	if (has_parent)
		memcpy(trace_id, parent.trace_id, sizeof(trace_id));
	else
		vb_trace_hex_id(vb_trace_rand(&t->rng), vb_trace_rand(&t->rng), 16, trace_id);
	if (!vb_trace_sampled(has_parent ? &parent : NULL, trace_id, t->conf.ratio))
		return;
	tr_id(t, id);
	snprintf(name, sizeof(name), "quarantine %s", t->conf.input_topic);
	s = vb_span_new(trace_id, id, has_parent ? parent.span_id : NULL, name, VB_SPAN_CONSUMER,
					ts >= 0 && ts * 1000 < now ? ts * 1000 : now, now);
	s->remote_service = "kafka";
	vb_span_tag(s, "messaging.system", "kafka");
	vb_span_tag(s, "messaging.operation.type", "process");
	vb_span_tag(s, "messaging.destination.name", t->conf.input_topic);
	vb_span_tag_int(s, "messaging.destination.partition.id", rec->partition);
	vb_span_tag_int(s, "messaging.kafka.offset", rec->offset);
	vb_span_tag(s, "voltpay.status", "quarantined");
	vb_span_tag(s, "voltpay.reason", "apply_error");
	if (sqlstate && sqlstate[0])
		vb_span_tag(s, "db.response.status_code", sqlstate);
	vb_span_tag(s, "error", error ? error : "apply_error");
	tr_push(t, s);
}

/*
 * vb_tracer_expire
 *	  Payments open longer than the timeout end without the delivery
 *	  reports still missing.
 */
void
vb_tracer_expire(VbTracer *t, int64_t now_ms)
{
	while (t && t->oldest && now_ms - t->oldest->opened_ms >= t->conf.open_timeout_ms)
	{
		VbTrPayment *p = t->oldest;

		tr_unlink(t, p);
		tr_finish(t, p, true);
	}
}

/*
 * vb_tracer_open
 *	  Payments waiting for delivery reports.
 */
int
vb_tracer_open(const VbTracer *t)
{
	return t ? t->nopen : 0;
}

/*
 * vb_tracer_free
 *	  Ends the open payments (without their missing reports) and frees the
 *	  tracer (not the queue).
 */
void
vb_tracer_free(VbTracer *t)
{
	if (!t)
		return;
	while (t->oldest)
	{
		VbTrPayment *p = t->oldest;

		tr_unlink(t, p);
		tr_finish(t, p, true);
	}
	free(t);
}
