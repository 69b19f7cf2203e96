/*-------------------------------------------------------------------------
 *
 * zipkin.h
 *	  Layer 1: the span exporter (zipkin.c): Zipkin v2 JSON posted over
 *	  HTTP by a thread of its own, from the bounded span queue.
 *
 *-------------------------------------------------------------------------
 */
#ifndef VOLTPAY_ZIPKIN_H
#define VOLTPAY_ZIPKIN_H

#include "spanq.h"
#include "util.h"

typedef struct VbZipkin VbZipkin;

extern char *vb_zipkin_encode(VbSpan *const *spans, int n, const char *service);
extern VbStatus vb_zipkin_start(const char *url, const char *service, VbSpanQueue *q,
								VbZipkin **out, VbError *err);
extern void vb_zipkin_stop(VbZipkin *z, int wait_ms);

#endif							/* VOLTPAY_ZIPKIN_H */
