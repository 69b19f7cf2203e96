/*-------------------------------------------------------------------------
 *
 * producer.c
 *	  Layer 2: the librdkafka producer of outbox events: idempotent
 *	  (enable.idempotence=true, acks=all), keys placed as the Java client
 *	  places them (murmur2_random), one topic handle per event kind made
 *	  at start.  Delivery reports go to the caller's hook; what they mean
 *	  for the outbox is the ledger's business (ledger.c).
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lifecycle.h"
#include "log.h"
#include "metrics.h"
#include "producer.h"

struct VbProducer
{
	rd_kafka_t *rk;
	rd_kafka_topic_t *rkt[VB_NKINDS];	/* read, email, dead_letter */
	const char *topics[VB_NKINDS];
	VbProducerHooks hooks;
};

/*
 * prod_dr_cb
 *	  Delivery report: hands the outcome to the hook.  With acks=all a
 *	  delivered message has an offset; librdkafka 2.0.2's idempotent
 *	  producer can report a message as delivered without one (offset
 *	  -1001) after a "not leader" retry, when Kafka never stored it (seen
 *	  in the kafka suite, docs/kafka.md): that counts as a failure, so the
 *	  event stays in the outbox and is published again.
 */
static void
prod_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	VbProducer *p = opaque;
	rd_kafka_resp_err_t err = m->err;

	(void) rk;
	if (!m->_private)
		return;
	if (!err && m->offset < 0)
		err = RD_KAFKA_RESP_ERR__FAIL;
	if (p->hooks.delivered)
		p->hooks.delivered(p->hooks.arg, m->_private, err);
}

/*
 * prod_error_cb
 *	  Only RD_KAFKA_RESP_ERR__FATAL is fatal (the idempotent producer can
 *	  no longer guarantee order or no-duplicates): drain and exit 1.
 */
static void
prod_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	(void) opaque;
	vb_kafka_error(rk, err, reason, "producer");
}

/*
 * vb_producer_new
 *	  The producer and its topic handles (made up front, so librdkafka
 *	  fetches the topics' metadata during the group join, not on the
 *	  first event).
 */
VbStatus
vb_producer_new(const VbConfig *conf, const char *brokers, const VbProducerHooks *hooks,
				VbProducer **out, VbError *err)
{
	rd_kafka_conf_t *kconf = rd_kafka_conf_new();
	VbProducer *p = vb_xcalloc(1, sizeof(VbProducer));
	char		errstr[512];

	*out = NULL;
	p->topics[VB_KIND_READ] = conf->read_topic;
	p->topics[VB_KIND_EMAIL] = conf->email_topic;
	p->topics[VB_KIND_DEAD_LETTER] = conf->dead_letter_topic;
	p->hooks = *hooks;
	if (vb_kconf_set(kconf, "bootstrap.servers", brokers, err) != VB_OK ||
		vb_kconf_set(kconf, "client.id", "voltpay-bridge", err) != VB_OK ||
		vb_kconf_set(kconf, "enable.idempotence", "true", err) != VB_OK ||
		vb_kconf_set(kconf, "acks", "all", err) != VB_OK ||
		vb_kconf_set(kconf, "partitioner", "murmur2_random", err) != VB_OK ||
		vb_kconf_set(kconf, "linger.ms", "5", err) != VB_OK ||
		vb_config_apply_props(conf, kconf, VB_PROP_PRODUCER, err) != VB_OK)
	{
		rd_kafka_conf_destroy(kconf);
		free(p);
		return VB_FATAL;
	}
	rd_kafka_conf_set_opaque(kconf, p);
	rd_kafka_conf_set_log_cb(kconf, vb_log_rdkafka);
	rd_kafka_conf_set_error_cb(kconf, prod_error_cb);
	rd_kafka_conf_set_dr_msg_cb(kconf, prod_dr_cb);
	p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, kconf, errstr, sizeof(errstr));
	if (!p->rk)
	{
		rd_kafka_conf_destroy(kconf);
		free(p);
		return vb_error_set(err, VB_FATAL, NULL, "%s", errstr);
	}
	kconf = NULL;				/* now owned by p->rk */
	for (int k = 0; k < VB_NKINDS; k++)
	{
		p->rkt[k] = rd_kafka_topic_new(p->rk, p->topics[k], NULL);
		if (!p->rkt[k])
		{
			vb_error_set(err, VB_FATAL, NULL, "cannot create topic handle %s: %s",
						 p->topics[k], rd_kafka_err2str(rd_kafka_last_error()));
			vb_producer_close(p);
			return VB_FATAL;
		}
	}
	vb_info("producer %s ready (idempotent, acks=all)", rd_kafka_name(p->rk));
	*out = p;
	return VB_OK;
}

/*
 * vb_producer_topic
 *	  The configured topic of an event kind; NULL for an unknown kind.
 */
const char *
vb_producer_topic(const VbProducer *p, int kind)
{
	return kind >= 0 && kind < VB_NKINDS ? p->topics[kind] : NULL;
}

/*
 * vb_producer_send
 *	  Hands one event with key (NULL: none) to librdkafka (which copies
 *	  them), with opaque for its
 *	  delivery report.  While librdkafka's queue is full it serves this
 *	  producer's delivery reports (never the consumer) until there is
 *	  room, or the drain deadline passes.  Returns 0, or why the event was
 *	  not queued (then no delivery report comes for it).
 */
rd_kafka_resp_err_t
vb_producer_send(VbProducer *p, const VbEvent *e, const char *key, size_t key_len,
				 void *opaque)
{
	if (e->kind < 0 || e->kind >= VB_NKINDS)
		return RD_KAFKA_RESP_ERR__INVALID_ARG;
	for (;;)
	{
		rd_kafka_headers_t *hdrs = rd_kafka_headers_new((size_t) e->nheaders);
		rd_kafka_resp_err_t err;

		for (int h = 0; h < e->nheaders; h++)
			rd_kafka_header_add(hdrs, e->header_names[h], -1, e->header_values[h], -1);
		err = rd_kafka_producev(p->rk,
								RD_KAFKA_V_RKT(p->rkt[e->kind]),
								RD_KAFKA_V_KEY(key, key_len),
								RD_KAFKA_V_VALUE(e->value, e->value_len),
								RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
								RD_KAFKA_V_HEADERS(hdrs),
								RD_KAFKA_V_OPAQUE(opaque),
								RD_KAFKA_V_END);
		if (!err)
			return RD_KAFKA_RESP_ERR_NO_ERROR;
		rd_kafka_headers_destroy(hdrs);
		if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || vb_past_deadline())
			return err;
		rd_kafka_poll(p->rk, 100);
	}
}

/*
 * vb_producer_poll
 *	  Serves the producer's callbacks (errors, delivery reports), waiting
 *	  up to timeout_ms for one.
 */
void
vb_producer_poll(VbProducer *p, int timeout_ms)
{
	rd_kafka_poll(p->rk, timeout_ms);
}

/*
 * vb_producer_outq_len
 *	  Messages librdkafka still holds (queued, in flight, or reports not
 *	  yet served).
 */
int
vb_producer_outq_len(VbProducer *p)
{
	return rd_kafka_outq_len(p->rk);
}

/*
 * vb_producer_failed
 *	  Whether the producer hit a fatal error (why gets it).
 */
bool
vb_producer_failed(VbProducer *p, char *why, size_t size)
{
	return rd_kafka_fatal_error(p->rk, why, size) != RD_KAFKA_RESP_ERR_NO_ERROR;
}

/*
 * vb_producer_purge
 *	  Purges what librdkafka still holds (those messages get failed
 *	  delivery reports) and serves the reports, for up to wait_ms.
 */
void
vb_producer_purge(VbProducer *p, int wait_ms)
{
	int64_t		until = vb_now_ms() + wait_ms;
	rd_kafka_resp_err_t err;

	err = rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
	if (err)
		vb_warn("cannot purge the producer: %s", rd_kafka_err2str(err));
	while (vb_now_ms() < until && rd_kafka_outq_len(p->rk) > 0)
		rd_kafka_poll(p->rk, 10);
	rd_kafka_poll(p->rk, 0);
}

/*
 * vb_producer_close
 *	  Waits for what is queued (within the drain deadline), purges the
 *	  rest, serves the last reports and destroys the producer.
 */
void
vb_producer_close(VbProducer *p)
{
	if (!p)
		return;
	if (p->rk)
	{
		while (rd_kafka_outq_len(p->rk) > 0 && !vb_past_deadline())
			rd_kafka_poll(p->rk, 50);
		if (rd_kafka_outq_len(p->rk) > 0)
			vb_producer_purge(p, 1000);
		rd_kafka_poll(p->rk, 0);
	}
	for (int k = 0; k < VB_NKINDS; k++)
		if (p->rkt[k])
			rd_kafka_topic_destroy(p->rkt[k]);
	if (p->rk)
		rd_kafka_destroy(p->rk);
	free(p);
	vb_info("producer closed");
}
