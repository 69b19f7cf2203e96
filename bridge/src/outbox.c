/*-------------------------------------------------------------------------
 *
 * outbox.c
 *	  Publishing the transactional outbox with an idempotent producer
 *	  (enable.idempotence=true, acks=all).
 *
 * One publish cycle: outbox_fetch() the oldest events of the partitions we
 * own (in event_id order), produce each to the topic of its kind with its
 * key, value and headers, wait for every delivery report, then
 * outbox_ack() the delivered ones.  An event is acknowledged only once
 * delivered, so a crash anywhere means it is published again
 * (at-least-once; the message_id header lets readers de-duplicate).
 *
 * Order: events are produced in event_id order, and the idempotent
 * producer keeps the order within a partition, so per-account (per-key)
 * order holds.  When an event fails, later delivered events with the same
 * topic and key are not acknowledged either, so that the next cycle
 * publishes them again after the failed one.
 *
 *-------------------------------------------------------------------------
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"

static rd_kafka_t *out_rk;
static int	out_pending;		/* produced, no delivery report yet */

/* message_id -> Kafka timestamp of its input record, for end-to-end latency. */
#define OUT_MAP_SIZE	65536	/* power of two */
#define OUT_MAP_MAX		(OUT_MAP_SIZE / 4 * 3)

typedef struct OutMapEntry
{
	char		id[37];
	int64_t		ts_ms;
} OutMapEntry;

static OutMapEntry *out_map;
static int	out_map_count;

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
 * vb_outbox_note_message
 *	  Remembers when the record of message_id was written to Kafka (ms
 *	  since the epoch; negative: unknown, ignored).
 */
void
vb_outbox_note_message(const char *message_id, int64_t ts_ms)
{
	uint32_t	i;

	if (ts_ms < 0 || strlen(message_id) != 36)
		return;
	if (!out_map)
		out_map = calloc(OUT_MAP_SIZE, sizeof(OutMapEntry));
	if (out_map_count >= OUT_MAP_MAX)
		return;
	for (i = out_hash(message_id) & (OUT_MAP_SIZE - 1); out_map[i].id[0];
		 i = (i + 1) & (OUT_MAP_SIZE - 1))
		if (strcmp(out_map[i].id, message_id) == 0)
			return;
	memcpy(out_map[i].id, message_id, 37);
	out_map[i].ts_ms = ts_ms;
	out_map_count++;
}

static int64_t
out_map_get(const char *message_id)
{
	if (!out_map || !message_id)
		return -1;
	for (uint32_t i = out_hash(message_id) & (OUT_MAP_SIZE - 1); out_map[i].id[0];
		 i = (i + 1) & (OUT_MAP_SIZE - 1))
		if (strcmp(out_map[i].id, message_id) == 0)
			return out_map[i].ts_ms;
	return -1;
}

static void
out_map_clear(void)
{
	if (out_map && out_map_count)
		memset(out_map, 0, OUT_MAP_SIZE * sizeof(OutMapEntry));
	out_map_count = 0;
}

/*
 * out_dr_cb
 *	  Delivery report: records the outcome on the event (the message's
 *	  opaque).  Runs on the main thread, inside rd_kafka_poll().
 */
static void
out_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	VbEvent    *e = m->_private;

	(void) rk;
	(void) opaque;
	out_pending--;
	if (!e)
		return;
	e->err = m->err;
	e->done = true;
	if (!m->err)
	{
		int64_t		ts = out_map_get(e->message_id);

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
 * out_produce
 *	  Hands one event to librdkafka (which copies it); waits while its
 *	  queue is full.  False, with e->err set, when it cannot.
 */
static bool
out_produce(VbEvent *e)
{
	const char *topic = out_topic(e->kind);

	if (!topic)
	{
		VbLogCtx	c = VB_LOGCTX_INIT;

		c.message_id = e->message_id;
		vb_log(VB_LOG_ERROR, &c, "outbox event %" PRId64 " has unknown kind \"%s\": left in the outbox",
			   e->event_id, e->kind_name);
		e->err = RD_KAFKA_RESP_ERR__INVALID_ARG;
		e->done = true;
		return false;
	}
	for (;;)
	{
		rd_kafka_headers_t *hdrs = rd_kafka_headers_new((size_t) e->nheaders);
		rd_kafka_resp_err_t err;

		for (int h = 0; h < e->nheaders; h++)
			rd_kafka_header_add(hdrs, e->header_names[h], -1, e->header_values[h], -1);
		err = rd_kafka_producev(out_rk,
								RD_KAFKA_V_TOPIC(topic),
								RD_KAFKA_V_KEY(e->key, e->key_len),
								RD_KAFKA_V_VALUE(e->value, e->value_len),
								RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
								RD_KAFKA_V_HEADERS(hdrs),
								RD_KAFKA_V_OPAQUE(e),
								RD_KAFKA_V_END);
		if (!err)
		{
			out_pending++;
			return true;
		}
		rd_kafka_headers_destroy(hdrs);
		if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL && !vb_past_deadline())
		{
			rd_kafka_poll(out_rk, 100);
			vb_consumer_keepalive(0);
			continue;
		}
		e->err = err;
		e->done = true;
		return false;
	}
}

/*
 * out_wait
 *	  Waits for every delivery report, polling the consumer meanwhile.  At
 *	  the shutdown deadline, purges what is left (those events fail and
 *	  stay in the outbox).
 */
static void
out_wait(void)
{
	bool		purged = false;

	while (out_pending > 0)
	{
		rd_kafka_poll(out_rk, 20);
		vb_consumer_keepalive(0);
		if (!purged && vb_past_deadline())
		{
			rd_kafka_purge(out_rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
			purged = true;
		}
	}
}

/*
 * out_same_dest
 *	  Same destination topic and key.
 */
static bool
out_same_dest(const VbEvent *a, const VbEvent *b)
{
	if (a->kind != b->kind || (a->key == NULL) != (b->key == NULL))
		return false;
	return !a->key || (a->key_len == b->key_len && memcmp(a->key, b->key, a->key_len) == 0);
}

/*
 * out_cycle
 *	  Produces events[0..n), waits, acknowledges the delivered ones.
 *	  Returns VB_PUBLISH_DONE when all were delivered and acknowledged.
 */
static VbPublish
out_cycle(VbEvent *ev, int n)
{
	int64_t    *ids = malloc(sizeof(int64_t) * (size_t) n);
	int			nids = 0;
	int			failed = 0;
	uint64_t	per_kind[VB_NKINDS] = {0};
	VbDbError	err;
	int64_t		deleted = 0;
	VbPublish	result = VB_PUBLISH_DONE;

	int64_t		t0 = vb_now_ms();

	for (int i = 0; i < n; i++)
		out_produce(&ev[i]);
	out_wait();
	vb_debug("%d events produced and delivered in %" PRId64 " ms", n, vb_now_ms() - t0);

	for (int i = 0; i < n; i++)
	{
		VbEvent    *e = &ev[i];
		bool		blocked = false;

		if (e->err)
		{
			VbLogCtx	c = VB_LOGCTX_INIT;

			c.message_id = e->message_id;
			c.topic = out_topic(e->kind);
			c.error = rd_kafka_err2str(e->err);
			if (failed++ < 5)
				vb_log(VB_LOG_WARN, &c, "event %" PRId64 " not delivered: kept in the outbox for the next attempt",
					   e->event_id);
			continue;
		}
		/* Not acknowledged behind a failed event with the same key. */
		for (int j = 0; j < i && !blocked; j++)
			blocked = ev[j].err && out_same_dest(&ev[j], e);
		if (blocked)
			continue;
		ids[nids++] = e->event_id;
		per_kind[e->kind]++;
	}
	if (failed)
	{
		vb_metric_error(VB_E_PRODUCE);
		vb_warn("%d of %d events not delivered; retrying with backoff", failed, n);
		result = VB_PUBLISH_FAILED;
	}
	if (nids > 0)
	{
		if (vb_db_outbox_ack(ids, nids, &deleted, &err) != VB_DB_OK)
		{
			VbLogCtx	c = VB_LOGCTX_INIT;

			c.sqlstate = err.sqlstate;
			c.error = err.message;
			vb_log(VB_LOG_WARN, &c, "outbox_ack of %d delivered events failed: they will be published again",
				   nids);
			vb_metric_error(VB_E_OUTBOX);
			result = err.status == VB_DB_FATAL ? VB_PUBLISH_FATAL : VB_PUBLISH_FAILED;
		}
		else
		{
			for (int k = 0; k < VB_NKINDS; k++)
				vb_metric_published(k, per_kind[k]);
			vb_debug("published and acknowledged %d events (%" PRId64 " were pending)", nids, deleted);
		}
	}
	free(ids);
	return result;
}

/*
 * vb_outbox_publish
 *	  Publishes the outbox for the partitions we own, oldest first, until
 *	  it is empty (VB_PUBLISH_DONE), a failure (VB_PUBLISH_FAILED, retried
 *	  by the caller with backoff), or the shutdown deadline
 *	  (VB_PUBLISH_MORE).
 */
VbPublish
vb_outbox_publish(void)
{
	for (;;)
	{
		int32_t    *parts;
		int			np;
		VbEvent    *ev;
		int			n;
		VbDbError	err;
		VbDbStatus	st;
		VbPublish	r;
		char		fatal_buf[256];

		if (vb_past_deadline())
			return VB_PUBLISH_MORE;
		if (rd_kafka_fatal_error(out_rk, fatal_buf, sizeof(fatal_buf)))
			return VB_PUBLISH_FATAL;
		np = vb_consumer_assigned(&parts);
		st = vb_db_outbox_fetch(vb_conf.outbox_batch, parts, np, &ev, &n, &err);
		free(parts);
		if (st != VB_DB_OK)
		{
			VbLogCtx	c = VB_LOGCTX_INIT;

			c.sqlstate = err.sqlstate;
			c.error = err.message;
			vb_log(VB_LOG_WARN, &c, "outbox_fetch failed");
			vb_metric_error(VB_E_OUTBOX);
			return st == VB_DB_FATAL ? VB_PUBLISH_FATAL : VB_PUBLISH_FAILED;
		}
		if (n == 0)
		{
			vb_db_events_free(ev, n);
			out_map_clear();
			vb_metric_backlog(0);
			return VB_PUBLISH_DONE;
		}
		r = out_cycle(ev, n);
		vb_db_events_free(ev, n);
		if (r != VB_PUBLISH_DONE)
			return r;
		if (n < vb_conf.outbox_batch)
		{
			out_map_clear();
			vb_metric_backlog(0);
			return VB_PUBLISH_DONE;
		}
		vb_consumer_keepalive(0);
	}
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
 *	  producer.
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
	rd_kafka_destroy(out_rk);
	out_rk = NULL;
	free(out_map);
	out_map = NULL;
	out_map_count = 0;
	vb_info("producer closed");
}
