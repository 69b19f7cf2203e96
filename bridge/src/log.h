/*-------------------------------------------------------------------------
 *
 * log.h
 *	  Layer 0: JSON-lines logging on stderr (log.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef VOLTPAY_LOG_H
#define VOLTPAY_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

/* Log levels. */
#define VB_LOG_DEBUG	0
#define VB_LOG_INFO		1
#define VB_LOG_WARN		2
#define VB_LOG_ERROR	3

/* The Kafka and database coordinates a line can carry. */
typedef struct VbLogCtx
{
	const char *topic;
	int32_t		partition;		/* -1: none */
	int64_t		offset;			/* -1: none */
	const char *message_id;
	const char *sqlstate;
	const char *error;
	const char *trace_id;
	const char *span_id;
} VbLogCtx;

#define VB_LOGCTX_INIT {NULL, -1, -1, NULL, NULL, NULL, NULL, NULL}

extern void vb_log_set_level(int level);
extern bool vb_log_enabled(int level);
extern void vb_log(int level, const VbLogCtx *ctx, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));
extern void vb_log_rdkafka(const rd_kafka_t *rk, int level, const char *fac,
						   const char *buf);

#define vb_debug(...)	vb_log(VB_LOG_DEBUG, NULL, __VA_ARGS__)
#define vb_info(...)	vb_log(VB_LOG_INFO, NULL, __VA_ARGS__)
#define vb_warn(...)	vb_log(VB_LOG_WARN, NULL, __VA_ARGS__)
#define vb_error(...)	vb_log(VB_LOG_ERROR, NULL, __VA_ARGS__)

#endif							/* VOLTPAY_LOG_H */
