/*-------------------------------------------------------------------------
 *
 * options.h
 *	  Layer 0: the configuration the bridge runs with, and the table of
 *	  its options (options.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef VOLTPAY_OPTIONS_H
#define VOLTPAY_OPTIONS_H

#include <stdbool.h>
#include <stdio.h>

/* Defaults (batch sizes come from the extension benchmark). */
#define VB_DEFAULT_BATCH_SIZE		500
#define VB_DEFAULT_BATCH_WAIT_MS	50
#define VB_DEFAULT_OUTBOX_BATCH		5000
#define VB_DEFAULT_DB_CONNECTIONS	1
#define VB_MAX_DB_CONNECTIONS		16
#define VB_DEFAULT_HTTP_PORT		8187
#define VB_DEFAULT_SHUTDOWN_S		30
#define VB_DEFAULT_DB_STALL_S		60
#define VB_DEFAULT_MAX_BACKOFF_MS	30000
#define VB_DEFAULT_TRACE_RATIO		0.01

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

/*
 * The whole configuration: filled once by vb_config_load() (config.c),
 * read-only afterwards.
 */
typedef struct VbConfig
{
	bool		exit_now;		/* --help or --version was answered */
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
	int			db_connections; /* apply connections (lanes) */
	int			db_stall_timeout_s; /* 0 = wait for ever */
	char	   *http_addr;
	int			http_port;		/* 0 = no HTTP server */
	int			shutdown_timeout_s;
	int			max_retry_backoff_ms;
	char	   *zipkin_url;		/* "" = no span export */
	double		trace_sample_ratio;
	char	   *config_file;
	int			log_level;
	VbProp	   *props;
	int			nprops;
} VbConfig;

typedef enum VbOptId
{
	VB_OPT_BROKERS = 1,
	VB_OPT_EMBEDDED,
	VB_OPT_GROUP,
	VB_OPT_INPUT_TOPIC,
	VB_OPT_READ_TOPIC,
	VB_OPT_EMAIL_TOPIC,
	VB_OPT_DLQ_TOPIC,
	VB_OPT_DB,
	VB_OPT_DB_ROLE,
	VB_OPT_BATCH_SIZE,
	VB_OPT_BATCH_WAIT,
	VB_OPT_OUTBOX_BATCH,
	VB_OPT_DB_CONNECTIONS,
	VB_OPT_DB_STALL,
	VB_OPT_HTTP_ADDR,
	VB_OPT_HTTP_PORT,
	VB_OPT_SHUTDOWN,
	VB_OPT_BACKOFF,
	VB_OPT_ZIPKIN_URL,
	VB_OPT_TRACE_RATIO,
	VB_OPT_CONFIG,
	VB_OPT_PROPERTY,
	VB_OPT_PROPERTIES_FILE,
	VB_OPT_LOG_LEVEL,
	VB_OPT_SASL_PASSWORD_FILE,
	VB_OPT_HELP,
	VB_OPT_VERSION
} VbOptId;

typedef struct VbOpt
{
	VbOptId		id;
	const char *name;			/* long option and config file name */
	char		short_opt;
	int			has_arg;
	const char *env;
	const char *arg;			/* argument name in --help */
	const char *help;
} VbOpt;

extern const VbOpt vb_opts[];
extern const int vb_nopts;

extern const VbOpt *vb_opt_by_name(const char *name);
extern const VbOpt *vb_opt_by_id(int id);
extern bool vb_opt_set(VbConfig *conf, const VbOpt *o, const char *value,
					   char *err, size_t errsize);
extern bool vb_opt_add_property(VbConfig *conf, const char *kv, char *err,
								size_t errsize);
extern bool vb_opt_properties_file(VbConfig *conf, const char *path, char *err,
								   size_t errsize);
extern bool vb_opt_split_list(VbConfig *conf, const char *list, char *err, size_t errsize);
extern void vb_opt_usage(FILE *out);
extern char *vb_opt_trim(char *s);
extern bool vb_opt_kv_is_secret(const char *kv);

#endif							/* VOLTPAY_OPTIONS_H */
