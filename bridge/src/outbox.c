/*-------------------------------------------------------------------------
 *
 * outbox.c
 *	  Publishing the transactional outbox with an idempotent producer
 *	  (enable.idempotence=true, acks=all), overlapped with applying.
 *
 * The usual path: apply_payment_batch_events() returns the events a batch
 * queued, and after its COMMIT they are produced at once
 * (vb_outbox_produce_applied()), without reading them back.  Delivered
 * events are acknowledged (outbox_ack(), deleted) inside the next batch's
 * transaction (vb_outbox_acks()), or on their own after 200 ms without a
 * batch; an acknowledgement lost with a rolled-back batch is sent again.
 *
 * The pump (vb_outbox_pump(), called on every pass of the main loop):
 *	  1. serves delivery reports;
 *	  2. lands the delivered events at the head of the in-flight list
 *		 (events in the order they were produced): those delivered join the
 *		 acknowledgements to send, so an event leaves the outbox only once
 *		 Kafka acknowledged it with acks=all;
 *	  3. fetches (outbox_fetch(), in event_id order) the oldest pending
 *		 events of the partitions we own that are neither in flight nor
 *		 waiting for their acknowledgement, and produces them: on start,
 *		 after any failure or new assignment, and once a second for events
 *		 the bridge did not write itself (a DBA's republish).
 * The direct path is only taken while "in sync": after a fetch found
 * everything pending (fewer than --outbox-batch events) with nothing in
 * flight.  Until then (start, a new assignment, a failed delivery, apply
 * or commit, a quarantine outside the apply) a batch's events stay in the
 * outbox and the next fetch takes them, in order.
 * A crash anywhere publishes unacknowledged events again (at-least-once;
 * the message_id header lets readers de-duplicate).
 *
 * Order: events are produced in event_id order and the idempotent
 * producer keeps the order within a partition (a key's partition), so
 * per-account order holds.  Landing works on the head of the list only,
 * so an event is never acknowledged while an earlier one is undecided.
 * When a delivery fails, nothing new is fetched until everything in flight
 * has landed; later events with the same topic and key are not
 * acknowledged even if delivered; then, after a backoff, publishing starts
 * again from the oldest pending event, so those come again after the
 * failed one.  Before partitions are given up, what is in flight is
 * settled (vb_outbox_settle()), so their next owner neither repeats nor
 * overtakes it.
 *
 *-------------------------------------------------------------------------
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"

/* Most events produced and not yet landed. */
#define OUT_MAX_INFLIGHT	20000

/* One produced event, until it lands (the message's opaque). */
typedef struct OutFlight
{
	int64_t		event_id;
	int			kind;
	char	   *key;			/* NULL: no key */
	size_t		key_len;
	char	   *message_id;		/* NULL when unknown */
	bool		done;			/* delivery report received */
	rd_kafka_resp_err_t err;
} OutFlight;

/* A topic and key whose event failed: later ones wait behind it. */
typedef struct OutKey
{
	int			kind;
	char	   *key;
	size_t		key_len;
} OutKey;

static rd_kafka_t *out_rk;
static rd_kafka_topic_t *out_rkt[VB_NKINDS];	/* read, email, dead_letter */
static OutFlight **out_flight;	/* produce order */
static int	out_nflight;
static int	out_capflight;
static bool out_failing;		/* a delivery failed: nothing new until the
								 * flight has landed */
static OutKey *out_failed;
static int	out_nfailed;
static int	out_attempt;		/* failures in a row */
static int64_t out_not_before;	/* backoff: no fetch before */
static bool out_in_pump;		/* reentrancy guard */
static bool out_synced;			/* every pending event of ours is in flight
								 * or acknowledged: produce applied events
								 * directly */
static int64_t out_next_sweep;	/* next fetch while in sync */

/*
 * Events of committed batches not yet handed to librdkafka: produced while
 * the next batch's apply runs on the server (vb_outbox_wait_work()), or
 * before the bridge waits for messages (vb_outbox_produce_pending()).
 */
static VbEvent *out_pending;
static int	out_npending;
static int	out_cappending;

/* Delivered events whose outbox_ack() has not committed yet. */
static int64_t *out_acks;
static int *out_ack_kinds;
static int	out_nacks;
static int	out_capacks;
static int64_t out_acks_since;	/* when the oldest of them landed */

static void out_drop_pending(void);

/* Acknowledgements wait this long for a batch to carry them. */
#define OUT_ACK_WAIT_MS		200
/* While in sync, the outbox is read this often for others' events. */
#define OUT_SWEEP_MS		1000

/*
 * message_id -> Kafka timestamp of its input record, for end-to-end
 * latency: two generations of an open-addressing table; when the current
 * one is three-quarters full the older one is dropped.  Events are
 * published soon after their batch, so the entries they need are recent.
 */
#define OUT_MAP_SIZE	65536	/* power of two */
#define OUT_MAP_MAX		(OUT_MAP_SIZE / 2)	/* short probe sequences */

typedef struct OutMapEntry
{
	uint32_t	hash;
	char		id[37];
	int64_t		ts_ms;
} OutMapEntry;

static OutMapEntry *out_map[2];	/* [0] current, [1] older */
static int	out_map_count;		/* entries in the current one */

/*
 * out_topic
 *	  The configured topic of an event kind; NULL for an unknown kind.
 */
static const char *
out_topic(int kind)
{
	switch (kind)
	{
		case VB_KIND_READ:
			return vb_conf.read_topic;
		case VB_KIND_EMAIL:
			return vb_conf.email_topic;
		case VB_KIND_DEAD_LETTER:
			return vb_conf.dead_letter_topic;
	}
	return NULL;
}

/*
 * out_hash
 *	  FNV-1a of a message id.
 */
static uint32_t
out_hash(const char *s)
{
	uint32_t	h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char) *s) * 16777619u;
	return h;
}

/*
 * out_map_find
 *	  The slot of message_id (whose out_hash() is h) in map m: its entry,
 *	  or the empty slot where it would go.
 */
static OutMapEntry *
out_map_find(OutMapEntry *m, const char *message_id, uint32_t h)
{
	uint32_t	i;

	for (i = h & (OUT_MAP_SIZE - 1); m[i].id[0]; i = (i + 1) & (OUT_MAP_SIZE - 1))
		if (m[i].hash == h && strcmp(m[i].id, message_id) == 0)
			break;
	return &m[i];
}

/*
 * vb_outbox_note_message
 *	  Remembers when the record of message_id was written to Kafka (ms
 *	  since the epoch; negative: unknown, ignored).
 */
void
vb_outbox_note_message(const char *message_id, int64_t ts_ms)
{
	OutMapEntry *e;
	uint32_t	h;

	if (ts_ms < 0 || strlen(message_id) != 36)
		return;
	if (!out_map[0])
	{
		out_map[0] = calloc(OUT_MAP_SIZE, sizeof(OutMapEntry));
		out_map[1] = calloc(OUT_MAP_SIZE, sizeof(OutMapEntry));
	}
	if (out_map_count >= OUT_MAP_MAX)
	{
		OutMapEntry *older = out_map[1];

		memset(older, 0, OUT_MAP_SIZE * sizeof(OutMapEntry));
		out_map[1] = out_map[0];
		out_map[0] = older;
		out_map_count = 0;
	}
	h = out_hash(message_id);
	e = out_map_find(out_map[0], message_id, h);
	if (e->id[0])
		return;
	memcpy(e->id, message_id, 37);
	e->hash = h;
	e->ts_ms = ts_ms;
	out_map_count++;
}

/*
 * out_map_get
 *	  The Kafka timestamp noted for message_id, or -1.
 */
static int64_t
out_map_get(const char *message_id)
{
	uint32_t	h;

	if (!out_map[0] || !message_id)
		return -1;
	h = out_hash(message_id);
	for (int g = 0; g < 2; g++)
	{
		OutMapEntry *e = out_map_find(out_map[g], message_id, h);

		if (e->id[0])
			return e->ts_ms;
	}
	return -1;
}

/*
 * out_dr_cb
 *	  Delivery report: records the outcome on the event (the message's
 *	  opaque).  Runs on the main thread, inside rd_kafka_poll().
 */
static void
out_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	OutFlight  *f = m->_private;

	(void) rk;
	(void) opaque;
	if (!f)
		return;
	f->err = m->err;
	/*
	 * With acks=all a delivered message has an offset.  librdkafka 2.0.2's
	 * idempotent producer can report a message as delivered without one
	 * (offset -1001) after a "not leader" retry, when Kafka never stored it
	 * (seen in the kafka suite, docs/kafka.md): keep such an event in the
	 * outbox, it is published again.
	 */
	if (!m->err && m->offset < 0)
		f->err = RD_KAFKA_RESP_ERR__FAIL;
	f->done = true;
	if (!f->err)
	{
		int64_t		ts = out_map_get(f->message_id);

		if (ts >= 0)
			vb_metric_e2e((double) (vb_wall_us() / 1000 - ts) / 1000.0);
	}
}

/*
 * out_error_cb
 *	  Only RD_KAFKA_RESP_ERR__FATAL is fatal (the idempotent producer can
 *	  no longer guarantee order or no-duplicates): drain and exit 1.
 */
static void
out_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	(void) opaque;
	if (err == RD_KAFKA_RESP_ERR__FATAL)
	{
		char		buf[512];
		rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, buf, sizeof(buf));
		char		why[700];

		snprintf(why, sizeof(why), "producer: %s: %s", rd_kafka_err2name(orig), buf);
		vb_set_fatal(why);
		return;
	}
	vb_metric_error(VB_E_KAFKA);
	vb_log(err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ? VB_LOG_ERROR : VB_LOG_WARN, NULL,
		   "producer: %s: %s", rd_kafka_err2name((rd_kafka_resp_err_t) err), reason);
}

/*
 * vb_producer_new
 *	  The idempotent producer.  partitioner=murmur2_random places keys as
 *	  the Java client does.
 */
bool
vb_producer_new(const char *brokers, char *errstr, size_t size)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();

	if (!vb_conf_set(conf, "bootstrap.servers", brokers, errstr, size) ||
		!vb_conf_set(conf, "client.id", "voltpay-bridge", errstr, size) ||
		!vb_conf_set(conf, "enable.idempotence", "true", errstr, size) ||
		!vb_conf_set(conf, "acks", "all", errstr, size) ||
		!vb_conf_set(conf, "partitioner", "murmur2_random", errstr, size) ||
		!vb_conf_set(conf, "linger.ms", "5", errstr, size) ||
		vb_config_apply_props(conf, VB_PROP_PRODUCER, errstr, size) != 0)
	{
		rd_kafka_conf_destroy(conf);
		return false;
	}
	rd_kafka_conf_set_log_cb(conf, vb_log_rdkafka);
	rd_kafka_conf_set_error_cb(conf, out_error_cb);
	rd_kafka_conf_set_dr_msg_cb(conf, out_dr_cb);
	out_rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, size);
	if (!out_rk)
	{
		rd_kafka_conf_destroy(conf);
		return false;
	}
	conf = NULL;				/* now owned by out_rk */

	/*
	 * Topic handles up front: librdkafka fetches the topics' metadata in
	 * the background, so the first events do not wait for it.
	 */
	for (int k = 0; k < VB_NKINDS; k++)
	{
		out_rkt[k] = rd_kafka_topic_new(out_rk, out_topic(k), NULL);
		if (!out_rkt[k])
		{
			snprintf(errstr, size, "cannot create topic handle %s: %s", out_topic(k),
					 rd_kafka_err2str(rd_kafka_last_error()));
			vb_producer_close();
			return false;
		}
	}
	vb_info("producer %s ready (idempotent, acks=all)", rd_kafka_name(out_rk));
	return true;
}

/*
 * vb_producer_poll
 *	  Serves the producer's callbacks (errors, delivery reports).
 */
void
vb_producer_poll(void)
{
	if (out_rk)
		rd_kafka_poll(out_rk, 0);
}

/*
 * vb_producer_poll_wait
 *	  Serves the producer's callbacks, waiting up to timeout_ms for one.
 */
void
vb_producer_poll_wait(int timeout_ms)
{
	if (out_rk)
		rd_kafka_poll(out_rk, timeout_ms);
}

/*
 * out_flight_free
 */
static void
out_flight_free(OutFlight *f)
{
	free(f->key);
	free(f->message_id);
	free(f);
}

/*
 * out_produce
 *	  Hands one event to librdkafka (which copies it) and adds it to the
 *	  flight; waits while librdkafka's queue is full (serving delivery
 *	  reports only: never the consumer, whose callbacks could re-enter).
 *	  An event that cannot be produced lands at once as failed.
 */
static void
out_produce(VbEvent *e)
{
	const char *topic = out_topic(e->kind);
	OutFlight  *f = calloc(1, sizeof(OutFlight));

	f->event_id = e->event_id;
	f->kind = e->kind;
	f->key = e->key;
	f->key_len = e->key_len;
	f->message_id = e->message_id;
	e->key = NULL;				/* now the flight's */
	e->message_id = NULL;
	if (out_nflight == out_capflight)
	{
		out_capflight = out_capflight ? out_capflight * 2 : 1024;
		out_flight = realloc(out_flight, sizeof(OutFlight *) * (size_t) out_capflight);
	}
	out_flight[out_nflight++] = f;

	if (!topic)
	{
		VbLogCtx	c = VB_LOGCTX_INIT;

		c.message_id = f->message_id;
		vb_log(VB_LOG_ERROR, &c, "outbox event %" PRId64 " has unknown kind \"%s\": left in the outbox",
			   e->event_id, e->kind_name);
		f->err = RD_KAFKA_RESP_ERR__INVALID_ARG;
		f->done = true;
		return;
	}
	for (;;)
	{
		rd_kafka_headers_t *hdrs = rd_kafka_headers_new((size_t) e->nheaders);
		rd_kafka_resp_err_t err;

		for (int h = 0; h < e->nheaders; h++)
			rd_kafka_header_add(hdrs, e->header_names[h], -1, e->header_values[h], -1);
		err = rd_kafka_producev(out_rk,
								RD_KAFKA_V_RKT(out_rkt[f->kind]),
								RD_KAFKA_V_KEY(f->key, f->key_len),
								RD_KAFKA_V_VALUE(e->value, e->value_len),
								RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
								RD_KAFKA_V_HEADERS(hdrs),
								RD_KAFKA_V_OPAQUE(f),
								RD_KAFKA_V_END);
		if (!err)
			return;
		rd_kafka_headers_destroy(hdrs);
		if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL && !vb_past_deadline())
		{
			rd_kafka_poll(out_rk, 100);
			continue;
		}
		f->err = err;
		f->done = true;
		return;
	}
}

/*
 * out_same_dest / out_blocked
 *	  Whether an event's topic and key follow a failed one.
 */
static bool
out_same_dest(int kind, const char *key, size_t len, const OutKey *k)
{
	if (kind != k->kind || (key == NULL) != (k->key == NULL))
		return false;
	return !key || (len == k->key_len && memcmp(key, k->key, len) == 0);
}

static bool
out_blocked(const OutFlight *f)
{
	for (int i = 0; i < out_nfailed; i++)
		if (out_same_dest(f->kind, f->key, f->key_len, &out_failed[i]))
			return true;
	return false;
}

/*
 * out_land
 *	  Lands the delivered head of the flight: the delivered events join the
 *	  acknowledgements to send (unless they follow a failed one with the
 *	  same topic and key), failed ones stay in the outbox.  Ends a failure
 *	  once the flight is empty: backoff, then a fresh start from the oldest
 *	  pending event.  Returns VB_PUBLISH_FAILED when a failure ended.
 */
static VbPublish
out_land(void)
{
	int			k = 0;
	int64_t    *ids;
	int		   *kinds;
	int			nids = 0;
	int			failed = 0;
	VbPublish	result = VB_PUBLISH_DONE;

	while (k < out_nflight && out_flight[k]->done)
		k++;
	if (k == 0 && !(out_failing && out_nflight == 0))
		return VB_PUBLISH_DONE;

	ids = malloc(sizeof(int64_t) * (size_t) (k + 1));
	kinds = malloc(sizeof(int) * (size_t) (k + 1));
	for (int i = 0; i < k; i++)
	{
		OutFlight  *f = out_flight[i];

		if (f->err)
		{
			VbLogCtx	c = VB_LOGCTX_INIT;

			c.message_id = f->message_id;
			c.topic = out_topic(f->kind);
			c.error = rd_kafka_err2str(f->err);
			if (failed++ < 5)
				vb_log(VB_LOG_WARN, &c, "event %" PRId64 " not delivered: kept in the outbox for the next attempt",
					   f->event_id);
			if (!out_blocked(f))
			{
				out_failed = realloc(out_failed, sizeof(OutKey) * (size_t) (out_nfailed + 1));
				out_failed[out_nfailed].kind = f->kind;
				out_failed[out_nfailed].key = f->key;
				out_failed[out_nfailed].key_len = f->key_len;
				out_nfailed++;
				f->key = NULL;	/* now out_failed's */
				if (!out_failed[out_nfailed - 1].key)
					out_failed[out_nfailed - 1].key_len = 0;
			}
			out_failing = true;
			out_synced = false;
			out_drop_pending();
			continue;
		}
		if (out_failing && out_blocked(f))
			continue;			/* published again after the failed one */
		ids[nids] = f->event_id;
		kinds[nids++] = f->kind;
	}
	for (int i = 0; i < k; i++)
		out_flight_free(out_flight[i]);
	memmove(out_flight, out_flight + k, sizeof(OutFlight *) * (size_t) (out_nflight - k));
	out_nflight -= k;

	if (failed)
	{
		vb_metric_error(VB_E_PRODUCE);
		vb_warn("%d events not delivered; publishing starts again from the oldest pending event "
				"once the %d in flight have landed", failed, out_nflight);
	}
	if (nids > 0)
	{
		if (out_nacks + nids > out_capacks)
		{
			while (out_nacks + nids > out_capacks)
				out_capacks = out_capacks ? out_capacks * 2 : 4096;
			out_acks = realloc(out_acks, sizeof(int64_t) * (size_t) out_capacks);
			out_ack_kinds = realloc(out_ack_kinds, sizeof(int) * (size_t) out_capacks);
		}
		if (out_nacks == 0)
			out_acks_since = vb_now_ms();
		memcpy(out_acks + out_nacks, ids, sizeof(int64_t) * (size_t) nids);
		memcpy(out_ack_kinds + out_nacks, kinds, sizeof(int) * (size_t) nids);
		out_nacks += nids;
	}
	free(kinds);
	free(ids);

	if (out_failing && out_nflight == 0)
	{
		for (int i = 0; i < out_nfailed; i++)
			free(out_failed[i].key);
		free(out_failed);
		out_failed = NULL;
		out_nfailed = 0;
		out_failing = false;
		out_not_before = vb_now_ms() + vb_backoff_ms(++out_attempt);
		result = result == VB_PUBLISH_FATAL ? result : VB_PUBLISH_FAILED;
	}
	return result;
}

/*
 * out_fetch
 *	  Fetches the oldest pending events of our partitions that are neither
 *	  in flight nor waiting for their acknowledgement, and produces them.
 *	  *n gets how many.
 */
static VbPublish
out_fetch(int *n)
{
	int32_t    *parts;
	int			np;
	int64_t    *exclude;
	VbEvent    *ev;
	VbDbError	err;
	VbDbStatus	st;

	*n = 0;
	vb_outbox_produce_pending();	/* in flight before the fetch leaves them out */
	exclude = malloc(sizeof(int64_t) * (size_t) (out_nflight + out_nacks + 1));
	for (int i = 0; i < out_nflight; i++)
		exclude[i] = out_flight[i]->event_id;
	memcpy(exclude + out_nflight, out_acks, sizeof(int64_t) * (size_t) out_nacks);
	np = vb_consumer_assigned(&parts);
	st = vb_db_outbox_fetch(vb_conf.outbox_batch, parts, np, exclude, out_nflight + out_nacks,
							&ev, n, &err);
	free(parts);
	free(exclude);
	if (st != VB_DB_OK)
	{
		VbLogCtx	c = VB_LOGCTX_INIT;

		c.sqlstate = err.sqlstate;
		c.error = err.message;
		vb_log(VB_LOG_WARN, &c, "outbox_fetch failed");
		vb_metric_error(VB_E_OUTBOX);
		out_not_before = vb_now_ms() + vb_backoff_ms(++out_attempt);
		return st == VB_DB_FATAL ? VB_PUBLISH_FATAL : VB_PUBLISH_FAILED;
	}
	for (int i = 0; i < *n; i++)
		out_produce(&ev[i]);
	vb_db_events_free(ev, *n);
	if (*n > 0)
		vb_debug("%d events fetched and produced (%d in flight)", *n, out_nflight);
	return VB_PUBLISH_DONE;
}

/*
 * out_flush_acks
 *	  Acknowledges the delivered events on their own (no batch came to
 *	  carry them), in a transaction without a WAL flush wait: a lost
 *	  acknowledgement only means the events are published again.
 */
static VbPublish
out_flush_acks(void)
{
	VbDbError	err;
	int64_t		deleted = 0;
	int			n = out_nacks;

	if (n == 0)
		return VB_PUBLISH_DONE;
	if (vb_db_outbox_ack(out_acks, n, &deleted, &err) != VB_DB_OK)
	{
		VbLogCtx	c = VB_LOGCTX_INIT;

		c.sqlstate = err.sqlstate;
		c.error = err.message;
		vb_log(VB_LOG_WARN, &c, "outbox_ack of %d delivered events failed: tried again later", n);
		vb_metric_error(VB_E_OUTBOX);
		out_acks_since = vb_now_ms() + vb_backoff_ms(++out_attempt);
		return err.status == VB_DB_FATAL ? VB_PUBLISH_FATAL : VB_PUBLISH_FAILED;
	}
	vb_outbox_acked(n, deleted);
	vb_debug("published and acknowledged %d events on their own (%" PRId64 " were pending, %d in flight)",
			 n, deleted, out_nflight);
	return VB_PUBLISH_DONE;
}

/*
 * vb_outbox_acks
 *	  The delivered events waiting for their acknowledgement: a batch's
 *	  transaction carries them (vb_db_apply()); after its COMMIT,
 *	  vb_outbox_acked() with the count it was given.
 */
int
vb_outbox_acks(const int64_t **ids)
{
	*ids = out_acks;
	return out_nacks;
}

/*
 * vb_outbox_acked
 *	  The first n waiting acknowledgements committed (deleted of them were
 *	  still pending: fewer when a DBA or a crash got there first): they
 *	  count as published.
 */
void
vb_outbox_acked(int n, int64_t deleted)
{
	uint64_t	per_kind[VB_NKINDS] = {0};

	if (n <= 0)
		return;
	if (n > out_nacks)
		n = out_nacks;
	for (int i = 0; i < n; i++)
		if (out_ack_kinds[i] >= 0 && out_ack_kinds[i] < VB_NKINDS)
			per_kind[out_ack_kinds[i]]++;
	for (int i = 0; i < VB_NKINDS; i++)
		vb_metric_published(i, per_kind[i]);
	memmove(out_acks, out_acks + n, sizeof(int64_t) * (size_t) (out_nacks - n));
	memmove(out_ack_kinds, out_ack_kinds + n, sizeof(int) * (size_t) (out_nacks - n));
	out_nacks -= n;
	if (out_nacks > 0)
		out_acks_since = vb_now_ms();
	(void) deleted;
}

/*
 * vb_outbox_produce_applied
 *	  An event of a batch that has just committed (from its apply's
 *	  result), taken over (its fields are the outbox's now): queued for
 *	  producing when in sync; otherwise it stays in the outbox for the next
 *	  fetch, which keeps the order.
 */
void
vb_outbox_produce_applied(VbEvent *e)
{
	if (!out_rk || !out_synced || out_failing)
		return;
	if (out_npending == out_cappending)
	{
		out_cappending = out_cappending ? out_cappending * 2 : 1024;
		out_pending = realloc(out_pending, sizeof(VbEvent) * (size_t) out_cappending);
	}
	out_pending[out_npending++] = *e;
	memset(e, 0, sizeof(*e));
}

/*
 * out_drop_pending
 *	  Forgets the queued events (they stay in the outbox).
 */
static void
out_drop_pending(void)
{
	for (int i = 0; i < out_npending; i++)
		vb_db_events_free_one(&out_pending[i]);
	out_npending = 0;
}

/*
 * vb_outbox_produce_pending
 *	  Hands the queued events to librdkafka, in order.
 */
void
vb_outbox_produce_pending(void)
{
	if (out_npending == 0)
		return;
	if (!out_rk || out_failing)
	{
		out_drop_pending();
		return;
	}
	for (int i = 0; i < out_npending; i++)
	{
		out_produce(&out_pending[i]);
		vb_db_events_free_one(&out_pending[i]);
	}
	out_npending = 0;
}

/*
 * vb_outbox_wait_work
 *	  While a batch's apply runs on the server (db.c calls it as it waits):
 *	  produce the previous batches' events, serve delivery reports.
 */
void
vb_outbox_wait_work(void)
{
	if (!out_rk || out_in_pump)
		return;
	vb_outbox_produce_pending();
	rd_kafka_poll(out_rk, 0);
}

/*
 * vb_outbox_resync
 *	  Something may have written events of ours that were not produced (a
 *	  quarantine, a failed or unknown commit, a new assignment): publish
 *	  from the outbox again before producing batches' events directly.
 */
void
vb_outbox_resync(const char *why)
{
	if (out_synced)
		vb_debug("outbox out of sync (%s): publishing from the outbox until it is caught up", why);
	out_synced = false;
}

/*
 * vb_outbox_pump
 *	  One step of publishing (see the file header): serve delivery
 *	  reports, land, and with `fetch` fetch and produce new events.
 *	  VB_PUBLISH_MORE when a full --outbox-batch was fetched (more wait).
 */
VbPublish
vb_outbox_pump(bool fetch)
{
	VbPublish	r;
	int			n = 0;
	char		buf[256];

	if (!out_rk || out_in_pump)
		return VB_PUBLISH_DONE;
	out_in_pump = true;
	if (vb_stopping())
		vb_outbox_produce_pending();
	rd_kafka_poll(out_rk, 0);
	r = out_land();
	/* Acknowledgements no batch has carried for a while go on their own. */
	if (r == VB_PUBLISH_DONE && out_nacks > 0 &&
		(vb_now_ms() - out_acks_since >= OUT_ACK_WAIT_MS || vb_stopping()))
		r = out_flush_acks();
	if (r != VB_PUBLISH_DONE || !fetch || out_failing)
		goto out;
	if (rd_kafka_fatal_error(out_rk, buf, sizeof(buf)))
	{
		r = VB_PUBLISH_FATAL;
		goto out;
	}
	if (out_synced)
	{
		/*
		 * In sync: the batches' events are produced as they commit; read the
		 * outbox now and then for events written by others.
		 */
		if (vb_now_ms() < out_next_sweep)
			goto out;
	}
	else if (vb_now_ms() < out_not_before || out_nflight > 0)
	{
		/*
		 * Out of sync: fetch when nothing is in flight, so that the fetch
		 * takes everything pending in order; meanwhile batches go on and the
		 * next fetch takes their events too.
		 */
		r = VB_PUBLISH_MORE;
		goto out;
	}
	{
		bool		was_empty = out_nflight == 0;

		r = out_fetch(&n);
		if (r != VB_PUBLISH_DONE)
			goto out;
		out_next_sweep = vb_now_ms() + (n == vb_conf.outbox_batch ? 0 : OUT_SWEEP_MS);
		if (!out_synced && was_empty && n < vb_conf.outbox_batch && !out_failing)
		{
			out_synced = true;
			vb_debug("outbox in sync: batches' events are published as they commit");
		}
	}
	if (out_attempt > 0 && out_nflight == 0 && n == 0)
	{
		vb_info("publishing works again after %d failures", out_attempt);
		out_attempt = 0;
	}
	if (n == vb_conf.outbox_batch)
		r = VB_PUBLISH_MORE;
	else if (n == 0 && out_nflight == 0 && out_nacks == 0)
		vb_metric_backlog(0);
out:
	out_in_pump = false;
	return r;
}

/*
 * vb_outbox_inflight
 *	  Events produced and not yet landed.
 */
int
vb_outbox_inflight(void)
{
	return out_nflight;
}

/*
 * vb_outbox_settle
 *	  Waits (up to timeout_ms) until everything in flight has a delivery
 *	  report, then lands it: called before partitions are given up.  Does
 *	  nothing when called from inside the pump.
 */
void
vb_outbox_settle(int timeout_ms)
{
	int64_t		until = vb_now_ms() + timeout_ms;

	if (!out_rk || out_in_pump)
		return;
	vb_outbox_produce_pending();
	if (out_nflight == 0 && out_nacks == 0)
		return;
	out_in_pump = true;
	while (vb_now_ms() < until)
	{
		bool		all = true;

		for (int i = 0; i < out_nflight && all; i++)
			all = out_flight[i]->done;
		if (all)
			break;
		rd_kafka_poll(out_rk, 10);
	}
	(void) out_land();
	(void) out_flush_acks();
	out_in_pump = false;
	if (out_nflight > 0)
		vb_warn("%d events still in flight while giving partitions up: they may be published twice",
				out_nflight);
}

/*
 * vb_outbox_abandon
 *	  Shutdown deadline: purges what librdkafka still holds (those events
 *	  fail and stay in the outbox), lands what has landed.
 */
void
vb_outbox_abandon(void)
{
	int64_t		until = vb_now_ms() + 2000;

	if (!out_rk)
		return;
	out_drop_pending();
	if (out_nflight > 0)
	{
		rd_kafka_purge(out_rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
		while (vb_now_ms() < until && rd_kafka_outq_len(out_rk) > 0)
			rd_kafka_poll(out_rk, 10);
		rd_kafka_poll(out_rk, 0);
		(void) out_land();
	}
	(void) out_flush_acks();
}

/*
 * vb_outbox_update_backlog
 *	  The outbox_backlog gauge: pending events of our partitions, up to
 *	  100000.
 */
void
vb_outbox_update_backlog(void)
{
	int32_t    *parts;
	int			np = vb_consumer_assigned(&parts);
	int64_t		count;
	VbDbError	err;

	if (vb_db_outbox_count(100000, parts, np, &count, &err) == VB_DB_OK)
		vb_metric_backlog(count);
	else
		vb_debug("outbox backlog unknown: %s", err.message);
	free(parts);
}

/*
 * vb_producer_close
 *	  Flushes what is left (within the shutdown deadline), destroys the
 *	  producer and frees what was still in flight (it stays in the outbox).
 */
void
vb_producer_close(void)
{
	if (!out_rk)
		return;
	while (rd_kafka_outq_len(out_rk) > 0 && !vb_past_deadline())
		rd_kafka_poll(out_rk, 50);
	if (rd_kafka_outq_len(out_rk) > 0)
	{
		rd_kafka_purge(out_rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
		rd_kafka_flush(out_rk, 1000);
	}
	rd_kafka_poll(out_rk, 0);
	(void) out_land();
	(void) out_flush_acks();
	if (out_nflight > 0)
		vb_warn("%d events in flight at exit stay in the outbox", out_nflight);
	if (out_nacks > 0)
		vb_warn("%d delivered events could not be acknowledged: they are published again after the restart",
				out_nacks);
	for (int k = 0; k < VB_NKINDS; k++)
	{
		if (out_rkt[k])
			rd_kafka_topic_destroy(out_rkt[k]);
		out_rkt[k] = NULL;
	}
	rd_kafka_destroy(out_rk);
	out_rk = NULL;
	for (int i = 0; i < out_nflight; i++)
		out_flight_free(out_flight[i]);
	free(out_flight);
	out_flight = NULL;
	out_nflight = out_capflight = 0;
	for (int i = 0; i < out_nfailed; i++)
		free(out_failed[i].key);
	free(out_failed);
	out_failed = NULL;
	out_nfailed = 0;
	out_drop_pending();
	free(out_pending);
	out_pending = NULL;
	out_cappending = 0;
	free(out_acks);
	free(out_ack_kinds);
	out_acks = NULL;
	out_ack_kinds = NULL;
	out_nacks = out_capacks = 0;
	out_synced = false;
	free(out_map[0]);
	free(out_map[1]);
	out_map[0] = out_map[1] = NULL;
	out_map_count = 0;
	vb_info("producer closed");
}
