/*-------------------------------------------------------------------------
 *
 * park.h
 *	  Layer 0: outbox events held back after a permanent producer error
 *	  (park.c), without I/O: which errors are permanent, the event that
 *	  failed (the head, retried alone with an exponential backoff), the
 *	  later events of its destination that wait behind it, and the dead
 *	  letters to send again without their value.
 *
 *-------------------------------------------------------------------------
 */
#ifndef VOLTPAY_PARK_H
#define VOLTPAY_PARK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a producer error means for the event. */
typedef enum VbProduceFault
{
	VB_PF_TRANSIENT = 0,		/* retry everything after a backoff */
	VB_PF_RECORD,				/* this record can never be stored as it is */
	VB_PF_TOPIC					/* nothing can be stored in this topic now */
} VbProduceFault;

extern VbProduceFault vb_produce_fault(int err);
extern bool vb_produce_fault_too_large(int err);

typedef struct VbPark VbPark;

extern VbPark *vb_park_new(void);
extern void vb_park_free(VbPark *p);

extern bool vb_park_is_head(const VbPark *p, int64_t event_id);
extern bool vb_park_blocked(const VbPark *p, int kind, const char *key, size_t key_len,
							int64_t event_id);
extern void vb_park_add_head(VbPark *p, int64_t event_id, int kind, const char *key,
							 size_t key_len, bool whole_topic, bool strip, int64_t retry_at);
extern int	vb_park_failed_again(VbPark *p, int64_t event_id, bool strip_now,
								 int64_t retry_at);
extern bool vb_park_hold(VbPark *p, int64_t event_id, int kind, const char *key,
						 size_t key_len);
extern int	vb_park_release(VbPark *p, int64_t event_id);
extern int	vb_park_due(VbPark *p, int64_t now_ms);
extern int	vb_park_retrying(const VbPark *p, int64_t **ids);
extern bool vb_park_strip(const VbPark *p, int64_t event_id);
extern int	vb_park_attempts(const VbPark *p, int64_t event_id);
extern int	vb_park_exclude(const VbPark *p, int64_t *out);
extern int	vb_park_count(const VbPark *p);
extern int	vb_park_heads(const VbPark *p);
extern void vb_park_clear(VbPark *p);

#endif							/* VOLTPAY_PARK_H */
