/*-------------------------------------------------------------------------
 *
 * latency.h
 *	  Layer 0: message id -> Kafka timestamp of its input record, for the
 *	  end-to-end latency of its events (latency.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef VOLTPAY_LATENCY_H
#define VOLTPAY_LATENCY_H

#include <stdint.h>

typedef struct VbLatency VbLatency;

/* Entries one generation holds before the older one is dropped. */
#define VB_LATENCY_GENERATION	32768

extern VbLatency *vb_latency_new(void);
extern void vb_latency_free(VbLatency *lat);
extern void vb_latency_note(VbLatency *lat, const char *message_id, int64_t ts_ms);
extern int64_t vb_latency_get(const VbLatency *lat, const char *message_id);

#endif							/* VOLTPAY_LATENCY_H */
