/*-------------------------------------------------------------------------
 *
 * lifecycle.h
 *	  Layer 1: signals, the stop and fatal state, the drain deadline and
 *	  its watchdog (lifecycle.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef VOLTPAY_LIFECYCLE_H
#define VOLTPAY_LIFECYCLE_H

#include <stdbool.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

extern void vb_lifecycle_init(int shutdown_timeout_s);
extern void vb_lifecycle_end(void);
extern bool vb_stopping(void);
extern bool vb_is_fatal(void);
extern void vb_set_fatal(const char *why);
extern void vb_set_fatal_status(int status, const char *why);
extern int	vb_fatal_status(void);
extern const char *vb_fatal_reason(void);
extern void vb_kafka_error(rd_kafka_t *rk, int err, const char *reason, const char *who);
extern void vb_drain_begin(void);
extern bool vb_draining(void);
extern int64_t vb_drain_deadline_ms(void);
extern bool vb_past_deadline(void);

#endif							/* VOLTPAY_LIFECYCLE_H */
