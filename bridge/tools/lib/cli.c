/*-------------------------------------------------------------------------
 *
 * cli.c
 *	  Command-line plumbing the tools share (see cli.h).
 *
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const char *cli_progname = "voltpay-tool";

/*
 * cli_fatal
 *	  Prints "PROGNAME: message" on one line and exits with status code.
 */
void
cli_fatal(int code, const char *fmt,...)
{
	va_list		ap;

	fprintf(stderr, "%s: ", cli_progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

/*
 * cli_conf_set
 *	  Sets a property the tool itself needs; failure is fatal (exit 1).
 */
void
cli_conf_set(rd_kafka_conf_t *conf, const char *key, const char *value)
{
	char		errstr[512];

	if (rd_kafka_conf_set(conf, key, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK)
		cli_fatal(1, "%s: %s", key, errstr);
}

/*
 * cli_conf_kv
 *	  Applies one -X key=value to conf; a malformed argument, an unknown
 *	  property or a bad value is fatal (exit 2).
 */
void
cli_conf_kv(rd_kafka_conf_t *conf, char *kv)
{
	char		errstr[512];
	char	   *eq = strchr(kv, '=');

	if (eq == NULL)
		cli_fatal(2, "invalid -X \"%s\": expected key=value", kv);
	*eq = '\0';
	if (rd_kafka_conf_set(conf, kv, eq + 1, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK)
		cli_fatal(2, "invalid -X %s: %s", kv, errstr);
	*eq = '=';
}
