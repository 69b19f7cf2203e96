/*-------------------------------------------------------------------------
 *
 * producer.h
 *	  Layer 2: the idempotent producer of outbox events (producer.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef VOLTPAY_PRODUCER_H
#define VOLTPAY_PRODUCER_H

#include <stdbool.h>

#include <librdkafka/rdkafka.h>

#include "config.h"
#include "event.h"

typedef struct VbProducer VbProducer;

typedef struct VbProducerHooks
{
	void	   *arg;
	/*
	 * A delivery report, on the main thread inside vb_producer_poll():
	 * opaque as given to vb_producer_send(); err 0: stored by Kafka with
	 * acks=all.
	 */
	void		(*delivered) (void *arg, void *opaque, rd_kafka_resp_err_t err);
} VbProducerHooks;

extern VbStatus vb_producer_new(const VbConfig *conf, const char *brokers,
								const VbProducerHooks *hooks, VbProducer **out,
								VbError *err);
extern const char *vb_producer_topic(const VbProducer *p, int kind);
extern rd_kafka_resp_err_t vb_producer_send(VbProducer *p, const VbEvent *e, const char *key,
											 size_t key_len, void *opaque);
extern void vb_producer_poll(VbProducer *p, int timeout_ms);
extern int	vb_producer_outq_len(VbProducer *p);
extern bool vb_producer_failed(VbProducer *p, char *why, size_t size);
extern void vb_producer_purge(VbProducer *p, int wait_ms);
extern void vb_producer_close(VbProducer *p);

#endif							/* VOLTPAY_PRODUCER_H */
