/*-------------------------------------------------------------------------
 *
 * tracer.h
 *	  Layer 1: the spans of a payment's lifecycle (tracer.c): which
 *	  messages are sampled, their spans from the record's timestamp to the
 *	  delivery reports of their events, one span per database
 *	  transaction, all handed to the exporter (zipkin.c) through the
 *	  bounded queue.  Main thread only.
 *
 *-------------------------------------------------------------------------
 */
#ifndef VOLTPAY_TRACER_H
#define VOLTPAY_TRACER_H

#include <stdbool.h>
#include <stdint.h>

#include "event.h"
#include "spanq.h"
#include "trace.h"
#include "util.h"

typedef struct VbTracer VbTracer;
typedef struct VbTrPayment VbTrPayment;

/* What the tracer is told at creation. */
typedef struct VbTracerConf
{
	double		ratio;			/* of parent-less messages sampled */
	const char *service;		/* Zipkin's localEndpoint */
	const char *input_topic;
	const char *group;
	const char *topics[VB_NKINDS];
	const char *statement;		/* the apply's SQL, for db.query.text */
	int			open_max;		/* payments waiting for delivery reports */
	int			open_timeout_ms;	/* then they end without them */
} VbTracerConf;

/* The input record's coordinates and trace context. */
typedef struct VbTrRecord
{
	const char *traceparent;	/* its header (not NUL-terminated), or NULL */
	size_t		traceparent_len;
	const char *origin;			/* none valid: vb_tracer_origin()'s, or NULL */
	int32_t		partition;
	int64_t		offset;
	int64_t		timestamp_ms;	/* -1: none */
} VbTrRecord;

/* One message's result row, with the times of its steps (wall clock, us). */
typedef struct VbTrRow
{
	VbTrRecord	rec;
	const char *message_id;
	const char *status;			/* applied, duplicate, rejected */
	const char *reason;
	const char *trace_id;
	int64_t		consumed_us;	/* its batch began to fill */
	int64_t		apply_start_us; /* its transaction was sent */
	int64_t		commit_us;		/* its transaction's result came */
} VbTrRow;

extern VbTracer *vb_tracer_new(const VbTracerConf *conf, VbSpanQueue *q);
extern void vb_tracer_free(VbTracer *t);
extern void vb_tracer_origin(VbTracer *t, char out[56]);

extern VbTrPayment *vb_tracer_row(VbTracer *t, const VbTrRow *row);
extern void vb_tracer_event(VbTracer *t, VbTrPayment *p, const VbEvent *e);
extern void vb_tracer_batch(VbTracer *t, VbTrPayment **ps, int n, int nmsgs,
							int64_t start_us, int64_t commit_us);
extern void vb_tracer_delivered(VbTracer *t, const char *message_id, int kind, int err);
extern void vb_tracer_quarantined(VbTracer *t, const VbTrRecord *rec,
								  const char *sqlstate, const char *error);
extern void vb_tracer_expire(VbTracer *t, int64_t now_ms);
extern int	vb_tracer_open(const VbTracer *t);

extern const char *vb_event_header(const VbEvent *e, const char *name);

#endif							/* VOLTPAY_TRACER_H */
