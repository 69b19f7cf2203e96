/*-------------------------------------------------------------------------
 *
 * cli.h
 *	  Command-line plumbing the tools share: one-line fatal errors with
 *	  the tool's name, and kcat-style -X key=value librdkafka properties.
 *
 *-------------------------------------------------------------------------
 */
#ifndef VOLTPAY_TOOLS_CLI_H
#define VOLTPAY_TOOLS_CLI_H

#include <librdkafka/rdkafka.h>

/* The tool's name for error lines; set first thing in main(). */
extern const char *cli_progname;

extern void cli_fatal(int code, const char *fmt,...)
			__attribute__((format(printf, 2, 3), noreturn));
extern void cli_conf_set(rd_kafka_conf_t *conf, const char *key, const char *value);
extern void cli_conf_kv(rd_kafka_conf_t *conf, char *kv);

#endif							/* VOLTPAY_TOOLS_CLI_H */
