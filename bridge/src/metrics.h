/*-------------------------------------------------------------------------
 *
 * metrics.h
 *	  Layer 0: the bridge's counters, gauges and histograms, and their
 *	  Prometheus text rendering (metrics.c).  Thread-safe: the main thread
 *	  updates, the HTTP thread renders.
 *
 *-------------------------------------------------------------------------
 */
#ifndef VOLTPAY_METRICS_H
#define VOLTPAY_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"

typedef enum VbCounter
{
	VB_C_CONSUMED = 0,
	VB_C_APPLIED,
	VB_C_DUPLICATE,
	VB_C_REJECTED,
	VB_C_QUARANTINED,
	VB_C_BATCHES,
	VB_C_COMMITS,
	VB_C_VALUES_OMITTED,
	VB_C_SPANS_EXPORTED,
	VB_C_SPANS_DROPPED,
	VB_C__N
} VbCounter;

typedef enum VbErrKind
{
	VB_E_DB_TRANSIENT = 0,		/* also a retry */
	VB_E_DB_POISON,
	VB_E_DB_FATAL,
	VB_E_DB_CONNECT,
	VB_E_PRODUCE,
	VB_E_PRODUCE_PERMANENT,
	VB_E_OUTBOX,
	VB_E_KAFKA,
	VB_E_COMMIT,
	VB_E__N
} VbErrKind;

/* Apply connections with a time of their own (--db-connections' range). */
#define VB_METRIC_MAX_CONNECTIONS 16

typedef enum VbRetryKind
{
	VB_R_DB = 0,
	VB_R_PUBLISH,
	VB_R__N
} VbRetryKind;

extern void vb_metrics_init(const char *input_topic,
							const char *const topics[VB_NKINDS]);
extern void vb_metrics_free(void);
extern void vb_metric_add(VbCounter c, uint64_t n);
extern void vb_metric_error(VbErrKind k);
extern void vb_metric_retry(VbRetryKind k);
extern void vb_metric_published(int kind, uint64_t n);
extern void vb_metric_batch(int size, double apply_seconds);
extern void vb_metric_connection_round(int conn, double busy_s, double waiting_s);
extern void vb_metric_e2e(double seconds);
extern void vb_metric_backlog(int64_t events);
extern void vb_metric_parked(int events);
extern void vb_metric_set_lag(const int32_t *partitions, const int64_t *lags,
							  int n);
extern void vb_metric_ready(bool db_connected, bool group_joined,
							int assigned);
extern void vb_metric_tick(void);
extern char *vb_metrics_render(size_t *len);
extern bool vb_metrics_ready(char *why, size_t size);
extern bool vb_metrics_healthy(int64_t stuck_limit_ms, char *why, size_t size);

#endif							/* VOLTPAY_METRICS_H */
