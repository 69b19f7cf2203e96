/*-------------------------------------------------------------------------
 *
 * bridge.h
 *	  Shared declarations of voltpay-bridge, the Kafka -> PostgreSQL
 *	  sidecar.
 *
 * The bridge is split by concern:
 *	  main.c		start-up, signals, shutdown deadline, exit codes
 *	  config.c		options: flags, VOLTPAY_* variables, config file, -X
 *	  log.c			JSON-lines logging on stderr
 *	  db.c			libpq: connection, prepared statements, error classes
 *	  consumer.c	consumer group, rebalances, batches, retries, quarantine
 *	  outbox.c		idempotent producer: outbox publishing, delivery reports
 *	  metrics.c		counters, gauges, histograms; Prometheus text format
 *	  http.c		/healthz, /readyz, /metrics (libmicrohttpd)
 *	  mock.c		the embedded librdkafka mock cluster
 *
 * Threads: everything runs on the main thread except librdkafka's own
 * threads (which only call the log, error and delivery callbacks) and the
 * HTTP thread (which only reads metrics and readiness).
 *
 *-------------------------------------------------------------------------
 */
#ifndef VOLTPAY_BRIDGE_H
#define VOLTPAY_BRIDGE_H

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#ifndef VB_VERSION
#define VB_VERSION "unknown"
#endif

/* Exit codes. */
#define VB_EXIT_OK		0		/* clean shutdown */
#define VB_EXIT_FATAL	1		/* fatal runtime error, after the drain */
#define VB_EXIT_CONFIG	2		/* bad configuration or usage */

/* Defaults (batch sizes come from the extension benchmark). */
#define VB_DEFAULT_BATCH_SIZE		500
#define VB_DEFAULT_BATCH_WAIT_MS	50
#define VB_DEFAULT_OUTBOX_BATCH		5000
#define VB_DEFAULT_HTTP_PORT		9187
#define VB_DEFAULT_SHUTDOWN_S		30
#define VB_DEFAULT_MAX_BACKOFF_MS	30000

/* Log levels. */
#define VB_LOG_DEBUG	0
#define VB_LOG_INFO		1
#define VB_LOG_WARN		2
#define VB_LOG_ERROR	3

/* Where a -X property goes. */
typedef enum VbPropTarget
{
	VB_PROP_BOTH = 0,
	VB_PROP_CONSUMER,
	VB_PROP_PRODUCER
} VbPropTarget;

typedef struct VbProp
{
	VbPropTarget target;
	char	   *name;
	char	   *value;
} VbProp;

/* The whole configuration; filled once by vb_config_load(). */
typedef struct VbConfig
{
	char	   *brokers;
	bool		embedded_kafka;
	char	   *group;
	char	   *input_topic;
	char	   *read_topic;
	char	   *email_topic;
	char	   *dead_letter_topic;
	char	   *db;				/* libpq conninfo or URL; "" = PG* variables */
	char	   *db_role;		/* SET ROLE after connecting; "" = none */
	int			batch_size;
	int			batch_wait_ms;
	int			outbox_batch;
	char	   *http_addr;
	int			http_port;		/* 0 = no HTTP server */
	int			shutdown_timeout_s;
	int			max_retry_backoff_ms;
	char	   *config_file;
	int			log_level;
	VbProp	   *props;
	int			nprops;
} VbConfig;

extern VbConfig vb_conf;

/* main.c: run flag (set to 0 by SIGINT/SIGTERM), fatal flag, time. */
extern volatile sig_atomic_t run;
extern atomic_int vb_fatal;
extern void vb_set_fatal(const char *why);
extern int64_t vb_now_ms(void);
extern int64_t vb_wall_us(void);
extern bool vb_stopping(void);
extern int64_t vb_drain_deadline_ms(void);
extern bool vb_past_deadline(void);
extern int	vb_backoff_ms(int attempt);

/* config.c */
extern int	vb_config_load(int argc, char **argv);
extern void vb_config_free(void);
extern int	vb_config_apply_props(rd_kafka_conf_t *conf, VbPropTarget which,
								  char *errstr, size_t errstr_size);
extern bool vb_conf_set(rd_kafka_conf_t *conf, const char *name,
						const char *value, char *errstr, size_t errstr_size);

/* log.c */
typedef struct VbLogCtx
{
	const char *topic;
	int32_t		partition;		/* -1: none */
	int64_t		offset;			/* -1: none */
	const char *message_id;
	const char *sqlstate;
	const char *error;
	const char *trace_id;
} VbLogCtx;

#define VB_LOGCTX_INIT {NULL, -1, -1, NULL, NULL, NULL, NULL}

extern void vb_log_set_level(int level);
extern bool vb_log_enabled(int level);
extern void vb_log(int level, const VbLogCtx *ctx, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));
extern void vb_log_rdkafka(const rd_kafka_t *rk, int level, const char *fac,
						   const char *buf);
extern bool vb_utf8_valid(const char *s, size_t len);
extern void vb_one_line(char *s);

#define vb_debug(...)	vb_log(VB_LOG_DEBUG, NULL, __VA_ARGS__)
#define vb_info(...)	vb_log(VB_LOG_INFO, NULL, __VA_ARGS__)
#define vb_warn(...)	vb_log(VB_LOG_WARN, NULL, __VA_ARGS__)
#define vb_error(...)	vb_log(VB_LOG_ERROR, NULL, __VA_ARGS__)

/* db.c */
typedef enum VbDbStatus
{
	VB_DB_OK = 0,
	VB_DB_TRANSIENT,			/* retry: 08, 40, 53, 57, 58, 25, 55P03 */
	VB_DB_POISON,				/* anything else: isolate the message */
	VB_DB_FATAL					/* 28, 3D, 3F, 42: wrong set-up, not data */
} VbDbStatus;

typedef struct VbDbError
{
	VbDbStatus	status;
	char		sqlstate[6];
	char		message[1024];	/* one line: what failed, and why */
	char		primary[512];	/* the server's primary message alone */
} VbDbError;

/* One message's row of apply_payment_batch_events(), handed over after
 * the COMMIT. */
typedef void (*VbApplyRowFn) (void *arg, int ordinal, const char *message_id,
							  const char *status, const char *reason,
							  const char *detail, const char *trace_id);

/* One outbox event. */
typedef struct VbEvent
{
	int64_t		event_id;
	int			kind;			/* VB_KIND_* */
	char	   *kind_name;
	char	   *key;			/* NULL: no key */
	size_t		key_len;
	char	   *value;
	size_t		value_len;
	char	   *message_id;		/* NULL when unknown */
	int32_t		src_partition;	/* -1 when none */
	int			nheaders;
	char	  **header_names;
	char	  **header_values;
} VbEvent;

/* One event of the apply's result, handed over after the COMMIT. */
typedef void (*VbApplyEventFn) (void *arg, VbEvent *e);

/* One transaction's worth of messages for vb_db_apply(). */
typedef struct VbApplyChunk
{
	rd_kafka_message_t **msgs;
	int			n;
	void	   *arg;			/* for the callbacks */
} VbApplyChunk;

/* A chunk committed (after its rows and events were handed over). */
typedef void (*VbApplyDoneFn) (void *arg);

#define VB_KIND_READ		0
#define VB_KIND_EMAIL		1
#define VB_KIND_DEAD_LETTER	2
#define VB_KIND_UNKNOWN		3
#define VB_NKINDS			3

extern bool vb_db_connect(VbDbError *err);
extern bool vb_db_ensure(VbDbError *err);
extern bool vb_db_is_connected(void);
extern void vb_db_close(void);
extern void vb_db_shutdown(void);
extern VbDbStatus vb_db_apply(const VbApplyChunk *chunks, int nchunks,
							  const char *topic, const int64_t *acks,
							  int nacks, int64_t *deleted, VbApplyRowFn fn,
							  VbApplyEventFn efn, VbApplyDoneFn dfn,
							  int *ndone, VbDbError *err);
extern VbDbStatus vb_db_quarantine(rd_kafka_message_t *m,
								   const char *topic, bool with_key,
								   const char *sqlstate, const char *error,
								   bool *stored, VbDbError *err);
extern VbDbStatus vb_db_positions(const char *topic,
								  void (*fn) (void *arg, int32_t partition,
											  int64_t next_offset),
								  void *arg, VbDbError *err);
extern VbDbStatus vb_db_outbox_fetch(int max, const int32_t *partitions,
									 int npartitions, const int64_t *exclude,
									 int nexclude, VbEvent **events,
									 int *nevents, VbDbError *err);
extern void vb_db_events_free(VbEvent *events, int n);
extern void vb_db_events_free_one(VbEvent *e);
extern VbDbStatus vb_db_outbox_ack(const int64_t *ids, int n, int64_t *deleted,
								   VbDbError *err);
extern VbDbStatus vb_db_outbox_count(int cap, const int32_t *partitions,
									 int npartitions, int64_t *count,
									 VbDbError *err);

/* consumer.c */
extern bool vb_consumer_new(const char *brokers, char *errstr, size_t size);
extern int	vb_consumer_run(void);
extern void vb_consumer_close(void);
extern void vb_consumer_keepalive(int timeout_ms);
extern int	vb_consumer_assigned(int32_t **partitions);
extern int	vb_consumer_count(void);
extern bool vb_consumer_joined(void);
extern void vb_consumer_pause(unsigned reason, bool on);

#define VB_PAUSE_DB			0x1
#define VB_PAUSE_FULL		0x2
#define VB_PAUSE_STOP		0x4

/* outbox.c */
typedef enum VbPublish
{
	VB_PUBLISH_DONE = 0,		/* nothing more to fetch for now */
	VB_PUBLISH_MORE,			/* more events wait in the outbox */
	VB_PUBLISH_FAILED,			/* a database or delivery failure: the pump
								 * backs off, then starts again from the
								 * oldest pending event */
	VB_PUBLISH_FATAL			/* the producer is unusable */
} VbPublish;

extern bool vb_producer_new(const char *brokers, char *errstr, size_t size);
extern VbPublish vb_outbox_pump(bool fetch);
extern int	vb_outbox_inflight(void);
extern void vb_outbox_settle(int timeout_ms);
extern void vb_outbox_abandon(void);
extern void vb_outbox_note_message(const char *message_id, int64_t ts_ms);
extern int	vb_outbox_acks(const int64_t **ids);
extern void vb_outbox_acked(int n, int64_t deleted);
extern void vb_outbox_produce_applied(VbEvent *e);
extern void vb_outbox_produce_pending(void);
extern void vb_outbox_wait_work(void);
extern void vb_outbox_resync(const char *why);
extern void vb_producer_close(void);
extern void vb_producer_poll(void);
extern void vb_producer_poll_wait(int timeout_ms);
extern void vb_outbox_update_backlog(void);

/* metrics.c */
typedef enum VbCounter
{
	VB_C_CONSUMED = 0,
	VB_C_APPLIED,
	VB_C_DUPLICATE,
	VB_C_REJECTED,
	VB_C_QUARANTINED,
	VB_C_BATCHES,
	VB_C_COMMITS,
	VB_C__N
} VbCounter;

typedef enum VbErrKind
{
	VB_E_DB_TRANSIENT = 0,		/* also a retry */
	VB_E_DB_POISON,
	VB_E_DB_FATAL,
	VB_E_DB_CONNECT,
	VB_E_PRODUCE,
	VB_E_OUTBOX,
	VB_E_KAFKA,
	VB_E_COMMIT,
	VB_E__N
} VbErrKind;

typedef enum VbRetryKind
{
	VB_R_DB = 0,
	VB_R_PUBLISH,
	VB_R__N
} VbRetryKind;

extern void vb_metrics_init(void);
extern void vb_metrics_free(void);
extern void vb_metric_add(VbCounter c, uint64_t n);
extern void vb_metric_error(VbErrKind k);
extern void vb_metric_retry(VbRetryKind k);
extern void vb_metric_published(int kind, uint64_t n);
extern void vb_metric_batch(int size, double apply_seconds);
extern void vb_metric_e2e(double seconds);
extern void vb_metric_backlog(int64_t events);
extern void vb_metric_set_lag(const int32_t *partitions, const int64_t *lags,
							  int n);
extern void vb_metric_ready(bool db_connected, bool group_joined,
							int assigned);
extern void vb_metric_tick(void);
extern char *vb_metrics_render(size_t *len);
extern bool vb_metrics_ready(char *why, size_t size);
extern bool vb_metrics_healthy(char *why, size_t size);

/* http.c */
extern bool vb_http_start(char *errstr, size_t size);
extern void vb_http_stop(void);

/* mock.c */
extern const char *vb_mock_start(char *errstr, size_t size);
extern void vb_mock_stop(void);

#endif							/* VOLTPAY_BRIDGE_H */
