/*-------------------------------------------------------------------------
 *
 * spanq.h
 *	  Layer 0: the bounded queue between the main thread, which finishes
 *	  spans, and the exporter's thread, which sends them (spanq.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef VOLTPAY_SPANQ_H
#define VOLTPAY_SPANQ_H

#include <stdbool.h>
#include <stdint.h>

#include "trace.h"

typedef struct VbSpanQueue VbSpanQueue;

extern VbSpanQueue *vb_spanq_new(int capacity);
extern void vb_spanq_free(VbSpanQueue *q);
extern bool vb_spanq_push(VbSpanQueue *q, VbSpan *s);
extern int	vb_spanq_pop(VbSpanQueue *q, VbSpan **out, int max, int wait_ms);
extern void vb_spanq_close(VbSpanQueue *q);
extern bool vb_spanq_closed(VbSpanQueue *q);
extern int	vb_spanq_len(VbSpanQueue *q);

#endif							/* VOLTPAY_SPANQ_H */
