/*-------------------------------------------------------------------------
 *
 * options.c
 *	  The option table of voltpay-bridge: names, short flags, environment
 *	  variables, --help texts, and the parsing and validation of each
 *	  value.  One row serves getopt, the environment, the config file and
 *	  --help (config.c reads the sources).
 *
 * -X (--property) takes a librdkafka property "key=value" for both
 * clients, or "consumer.key=value" / "producer.key=value" for one;
 * properties the bridge sets itself are refused with the reason.
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "options.h"
#include "secure.h"
#include "util.h"

const VbOpt vb_opts[] = {
	{VB_OPT_BROKERS, "brokers", 'b', 1, "VOLTPAY_BROKERS", "LIST",
	"Kafka bootstrap servers, host:port[,host:port...] (bootstrap.servers)."},
	{VB_OPT_EMBEDDED, "embedded-kafka", 0, 0, "VOLTPAY_EMBEDDED_KAFKA", NULL,
		"Start librdkafka's mock cluster in-process (5 brokers; the four topics\n"
		"with 100 partitions, replication factor 2) and print one line\n"
		"\"bootstrap.servers=HOST:PORT,...\" on stdout when it is ready.\n"
	"Excludes --brokers. The variable takes 1/true/yes/on."},
	{VB_OPT_GROUP, "group", 'g', 1, "VOLTPAY_GROUP", "ID",
	"Consumer group id. Default: voltpay-writer."},
	{VB_OPT_INPUT_TOPIC, "input-topic", 0, 1, "VOLTPAY_INPUT_TOPIC", "TOPIC",
	"Topic of payment messages. Default: payment_writer_topic."},
	{VB_OPT_READ_TOPIC, "read-topic", 0, 1, "VOLTPAY_READ_TOPIC", "TOPIC",
	"Topic of 'read' outbox events. Default: payment_read_topic."},
	{VB_OPT_EMAIL_TOPIC, "email-topic", 0, 1, "VOLTPAY_EMAIL_TOPIC", "TOPIC",
	"Topic of 'email' outbox events. Default: payment_email."},
	{VB_OPT_DLQ_TOPIC, "dead-letter-topic", 0, 1, "VOLTPAY_DEAD_LETTER_TOPIC", "TOPIC",
	"Topic of 'dead_letter' outbox events. Default: payment_writer_dlq."},
	{VB_OPT_DB, "db", 0, 1, "VOLTPAY_DB", "CONNINFO",
		"libpq connection string or postgresql:// URL; empty (the default)\n"
	"means the PG* environment variables alone."},
	{VB_OPT_DB_ROLE, "db-role", 0, 1, "VOLTPAY_DB_ROLE", "ROLE",
		"Role set after connecting (SET ROLE), so that only its rights are\n"
	"used; empty: the login's own. Default: voltpay_writer."},
	{VB_OPT_BATCH_SIZE, "batch-size", 0, 1, "VOLTPAY_BATCH_SIZE", "N",
	"Most messages per database transaction (1-100000). Default: 500."},
	{VB_OPT_BATCH_WAIT, "batch-wait-ms", 0, 1, "VOLTPAY_BATCH_WAIT_MS", "MS",
		"Longest wait for a batch to fill, from its first message\n"
	"(0-60000). Default: 50."},
	{VB_OPT_OUTBOX_BATCH, "outbox-batch", 0, 1, "VOLTPAY_OUTBOX_BATCH", "N",
	"Most outbox events fetched and published at once (1-100000). Default: 5000."},
	{VB_OPT_DB_CONNECTIONS, "db-connections", 0, 1, "VOLTPAY_DB_CONNECTIONS", "N",
		"Database connections that apply batches in parallel (1-16); each\n"
		"partition is applied by one of them at a time. Above 1, one more\n"
	"connection serves positions and the outbox. Default: 1."},
	{VB_OPT_DB_STALL, "db-stall-timeout", 0, 1, "VOLTPAY_DB_STALL_TIMEOUT", "SECONDS",
		"Longest wait for the next result of a batch being applied; then the\n"
		"connection is dropped and the batch retried on a new one (a stalled\n"
		"network path or a backend that stopped answering). 0: wait for ever\n"
	"(0-86400). Default: 60."},
	{VB_OPT_HTTP_ADDR, "http-addr", 0, 1, "VOLTPAY_HTTP_ADDR", "ADDR",
	"Listen address of the HTTP endpoints (IPv4 or IPv6). Default: 127.0.0.1."},
	{VB_OPT_HTTP_PORT, "http-port", 0, 1, "VOLTPAY_HTTP_PORT", "PORT",
	"Port of /healthz, /readyz and /metrics; 0: no HTTP server. Default: 8187."},
	{VB_OPT_SHUTDOWN, "shutdown-timeout", 0, 1, "VOLTPAY_SHUTDOWN_TIMEOUT", "SECONDS",
		"Longest drain after SIGTERM/SIGINT or a fatal error (1-3600).\n"
	"Default: 30."},
	{VB_OPT_BACKOFF, "max-retry-backoff-ms", 0, 1, "VOLTPAY_MAX_RETRY_BACKOFF_MS", "MS",
		"Cap of the exponential retry backoff (100-3600000). Default: 30000."},
	{VB_OPT_ZIPKIN_URL, "zipkin-url", 0, 1, "VOLTPAY_ZIPKIN_URL", "URL",
		"Export the spans of sampled payments as Zipkin v2 JSON to this\n"
		"endpoint (http://HOST:9411/api/v2/spans; an OpenTelemetry collector's\n"
		"zipkin receiver takes it too), off the hot path: a bounded queue, spans\n"
		"dropped and counted when the backend is slow or down. Empty (the\n"
	"default): no export."},
	{VB_OPT_TRACE_RATIO, "trace-sample-ratio", 0, 1, "VOLTPAY_TRACE_SAMPLE_RATIO", "RATIO",
		"Share of messages without a traceparent whose spans are exported\n"
		"(0-1); a message with a traceparent follows its sampled flag.\n"
	"Default: 0.01."},
	{VB_OPT_CONFIG, "config", 'c', 1, "VOLTPAY_CONFIG", "FILE",
	"Config file of \"name = value\" lines (long option names)."},
	{VB_OPT_PROPERTY, "property", 'X', 1, "VOLTPAY_PROPERTIES", "KEY=VALUE",
		"librdkafka property for the consumer and the producer;\n"
		"consumer.KEY=VALUE or producer.KEY=VALUE for one of them. Repeatable;\n"
		"bootstrap.servers=LIST is --brokers. The variable takes a list\n"
		"separated by ';' or newlines (\\; is a ';' in a value, \\\\ a\n"
		"backslash), the config file \"property = KEY=VALUE\" (or\n"
	"\"X = KEY=VALUE\") lines."},
	{VB_OPT_PROPERTIES_FILE, "properties-file", 'F', 1, "VOLTPAY_PROPERTIES_FILE", "FILE",
		"librdkafka properties file, as kcat -F and the Java clients'\n"
		"client.properties: KEY=VALUE lines, '#' or '!' comments,\n"
		"consumer./producer. prefixes as with -X; errors name file:line.\n"
		"Repeatable; read where it stands among the flags. A file holding a\n"
	"secret (sasl.password ...) must not be readable by other users."},
	{VB_OPT_SASL_PASSWORD_FILE, "sasl-password-file", 0, 1, "VOLTPAY_SASL_PASSWORD_FILE", "FILE",
		"File whose first line is the Kafka SASL password (sasl.password),\n"
		"read at start; other users must not be able to read it. Secrets\n"
		"are refused on the command line (/proc/PID/cmdline is public):\n"
	"give them in a file or the environment."},
	{VB_OPT_LOG_LEVEL, "log-level", 0, 1, "VOLTPAY_LOG_LEVEL", "LEVEL",
	"debug, info, warn or error. Default: info."},
	{VB_OPT_HELP, "help", 'h', 0, NULL, NULL, "Print this help and exit."},
	{VB_OPT_VERSION, "version", 'V', 0, NULL, NULL, "Print the version and exit."},
};

const int	vb_nopts = (int) (sizeof(vb_opts) / sizeof(vb_opts[0]));

/*
 * Properties the bridge sets itself: changing them would break its
 * guarantees, or they have an option of their own.
 */
static const struct
{
	const char *name;
	const char *why;
}			opt_fixed_props[] = {
	{"enable.auto.commit", "offsets are committed after each database commit"},
	{"enable.auto.offset.store", "offsets are stored after each database commit"},
	{"enable.idempotence", "the producer must be idempotent"},
	{"acks", "events need acks=all"},
	{"request.required.acks", "events need acks=all"},
	{"transactional.id", "the producer is idempotent, not transactional"},
	{"isolation.level", "aborted upstream transactions must never be applied (read_committed)"},
	{"group.id", "use --group"},
};

/*
 * opt_strset
 *	  Replaces a string option.
 */
static void
opt_strset(char **dst, const char *value)
{
	free(*dst);
	*dst = vb_xstrdup(value);
}

/*
 * opt_parse_int
 *	  Strict decimal integer in [min, max].
 */
static bool
opt_parse_int(const char *s, long min, long max, int *out)
{
	char	   *end;
	long		v;

	while (isspace((unsigned char) *s))
		s++;
	if (*s == '\0')
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	while (isspace((unsigned char) *end))
		end++;
	if (errno || *end != '\0' || v < min || v > max)
		return false;
	*out = (int) v;
	return true;
}

/*
 * opt_parse_bool
 *	  1/true/yes/on or 0/false/no/off, any case.
 */
static bool
opt_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"1", "true", "yes", "on"};
	static const char *const no[] = {"0", "false", "no", "off"};

	for (int i = 0; i < 4; i++)
	{
		if (strcasecmp(s, yes[i]) == 0)
			return (*out = true), true;
		if (strcasecmp(s, no[i]) == 0)
			return (*out = false), true;
	}
	return false;
}

/*
 * vb_opt_trim
 *	  Strips leading and trailing white space in place.
 */
char *
vb_opt_trim(char *s)
{
	char	   *e;

	while (isspace((unsigned char) *s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char) e[-1]))
		*--e = '\0';
	return s;
}

/*
 * vb_opt_properties_file
 *	  Reads a librdkafka properties file (KEY=VALUE lines, blank lines,
 *	  '#' and '!' comments, white space around key and value ignored):
 *	  each line as one -X.  The first error goes to err as
 *	  "path:line: message".
 */
bool
vb_opt_properties_file(VbConfig *conf, const char *path, char *err, size_t errsize)
{
	FILE	   *f = fopen(path, "r");
	char	   *line = NULL;
	size_t		cap = 0;
	int			lineno = 0;
	bool		ok = true;
	bool		checked = false;

	if (!f)
	{
		snprintf(err, errsize, "cannot open properties file \"%s\": %s", path, strerror(errno));
		return false;
	}
	while (ok && getline(&line, &cap, f) >= 0)
	{
		char	   *s = vb_opt_trim(line);
		char	   *eq = strchr(s, '=');
		char		why[512];
		char	   *kv;

		lineno++;
		if (*s == '\0' || *s == '#' || *s == '!')
			continue;
		if (eq)
		{
			*eq = '\0';
			kv = vb_xmalloc(strlen(s) + strlen(eq + 1) + 2);
			sprintf(kv, "%s=%s", vb_opt_trim(s), vb_opt_trim(eq + 1));
		}
		else
			kv = vb_xstrdup(s);
		if (!checked && vb_opt_kv_is_secret(kv))
		{
			checked = true;
			if (!vb_secure_file_private(path, why, sizeof(why)))
			{
				snprintf(err, errsize, "%s:%d: %s", path, lineno, why);
				ok = false;
				free(kv);
				break;
			}
		}
		if (!vb_opt_add_property(conf, kv, why, sizeof(why)))
		{
			snprintf(err, errsize, "%s:%d: %s", path, lineno, why);
			ok = false;
		}
		free(kv);
	}
	free(line);
	fclose(f);
	return ok;
}

/*
 * vb_opt_kv_is_secret
 *	  "[consumer.|producer.]key=value" sets a secret (secure.c).
 */
bool
vb_opt_kv_is_secret(const char *kv)
{
	const char *eq = strchr(kv, '=');

	if (!eq)
		return false;
	if (strncmp(kv, "consumer.", 9) == 0 || strncmp(kv, "producer.", 9) == 0)
		kv += 9;
	return eq > kv && vb_secure_prop_is_secret(kv, (size_t) (eq - kv));
}

/*
 * vb_opt_split_list
 *	  The elements of a property list from the environment: separated by
 *	  ';' or newlines, "\\;" a ';' and "\\\\" a backslash inside an element;
 *	  each element trimmed, empty ones dropped.  Calls add for each until
 *	  it fails.
 */
bool
vb_opt_split_list(VbConfig *conf, const char *list, char *err, size_t errsize)
{
	char	   *buf = vb_xmalloc(strlen(list) + 1);
	size_t		n = 0;
	bool		ok = true;

	for (const char *p = list;; p++)
	{
		if (*p == '\\' && (p[1] == ';' || p[1] == '\\'))
		{
			buf[n++] = *++p;
			continue;
		}
		if (*p == ';' || *p == '\n' || *p == '\0')
		{
			char	   *kv;

			buf[n] = '\0';
			kv = vb_opt_trim(buf);
			if (*kv && !vb_opt_add_property(conf, kv, err, errsize))
			{
				ok = false;
				break;
			}
			n = 0;
			if (*p == '\0')
				break;
			continue;
		}
		buf[n++] = *p;
	}
	free(buf);
	return ok;
}

/*
 * vb_opt_add_property
 *	  Parses "[consumer.|producer.]key=value" and records it.
 */
bool
vb_opt_add_property(VbConfig *conf, const char *kv, char *err, size_t errsize)
{
	const char *eq = strchr(kv, '=');
	VbPropTarget target = VB_PROP_BOTH;
	const char *name = kv;
	size_t		namelen;
	VbProp	   *p;

	if (!eq || eq == kv)
	{
		snprintf(err, errsize, "librdkafka property \"%s\" is not key=value", kv);
		return false;
	}
	if (strncmp(kv, "consumer.", 9) == 0)
		target = VB_PROP_CONSUMER, name += 9;
	else if (strncmp(kv, "producer.", 9) == 0)
		target = VB_PROP_PRODUCER, name += 9;
	namelen = (size_t) (eq - name);
	if (namelen == 0)
	{
		snprintf(err, errsize, "librdkafka property \"%s\" has no name", kv);
		return false;
	}
	/* As kcat: bootstrap.servers (or its old name) is --brokers. */
	if (target == VB_PROP_BOTH &&
		((namelen == 17 && strncmp(name, "bootstrap.servers", 17) == 0) ||
		 (namelen == 20 && strncmp(name, "metadata.broker.list", 20) == 0)))
	{
		if (!eq[1])
		{
			snprintf(err, errsize, "librdkafka property \"%.*s\" needs a value", (int) namelen, name);
			return false;
		}
		opt_strset(&conf->brokers, eq + 1);
		return true;
	}
	for (size_t i = 0; i < sizeof(opt_fixed_props) / sizeof(opt_fixed_props[0]); i++)
	{
		if (strlen(opt_fixed_props[i].name) == namelen &&
			strncmp(opt_fixed_props[i].name, name, namelen) == 0)
		{
			snprintf(err, errsize, "librdkafka property \"%s\" is set by the bridge: %s",
					 opt_fixed_props[i].name, opt_fixed_props[i].why);
			return false;
		}
	}
	conf->props = vb_xrealloc(conf->props, sizeof(VbProp) * (size_t) (conf->nprops + 1));
	p = &conf->props[conf->nprops++];
	p->target = target;
	p->name = vb_xstrndup(name, namelen);
	p->value = vb_xstrdup(eq + 1);
	return true;
}

/*
 * vb_opt_set
 *	  Applies one option value.  On a bad value, writes why into err and
 *	  returns false.
 */
bool
vb_opt_set(VbConfig *conf, const VbOpt *o, const char *value, char *err, size_t errsize)
{
	int			n;
	bool		b;

#define OPT_BAD(fmt_) \
	do { snprintf(err, errsize, "invalid value \"%s\" for %s: " fmt_, value, o->name); \
		 return false; } while (0)

	switch (o->id)
	{
		case VB_OPT_BROKERS:
			opt_strset(&conf->brokers, value);
			break;
		case VB_OPT_EMBEDDED:
			if (value == NULL)
				b = true;
			else if (!opt_parse_bool(value, &b))
				OPT_BAD("expected true or false");
			conf->embedded_kafka = b;
			break;
		case VB_OPT_GROUP:
			if (!*value)
				OPT_BAD("must not be empty");
			opt_strset(&conf->group, value);
			break;
		case VB_OPT_INPUT_TOPIC:
		case VB_OPT_READ_TOPIC:
		case VB_OPT_EMAIL_TOPIC:
		case VB_OPT_DLQ_TOPIC:
			if (!*value || strlen(value) > 249)
				OPT_BAD("a topic name has 1 to 249 characters");
			opt_strset(o->id == VB_OPT_INPUT_TOPIC ? &conf->input_topic :
					   o->id == VB_OPT_READ_TOPIC ? &conf->read_topic :
					   o->id == VB_OPT_EMAIL_TOPIC ? &conf->email_topic :
					   &conf->dead_letter_topic, value);
			break;
		case VB_OPT_DB:
			opt_strset(&conf->db, value);
			break;
		case VB_OPT_DB_ROLE:
			opt_strset(&conf->db_role, value);
			break;
		case VB_OPT_BATCH_SIZE:
			if (!opt_parse_int(value, 1, 100000, &conf->batch_size))
				OPT_BAD("expected an integer from 1 to 100000");
			break;
		case VB_OPT_BATCH_WAIT:
			if (!opt_parse_int(value, 0, 60000, &conf->batch_wait_ms))
				OPT_BAD("expected an integer from 0 to 60000");
			break;
		case VB_OPT_OUTBOX_BATCH:
			if (!opt_parse_int(value, 1, 100000, &conf->outbox_batch))
				OPT_BAD("expected an integer from 1 to 100000");
			break;
		case VB_OPT_DB_CONNECTIONS:
			if (!opt_parse_int(value, 1, VB_MAX_DB_CONNECTIONS, &conf->db_connections))
				OPT_BAD("expected an integer from 1 to 16");
			break;
		case VB_OPT_DB_STALL:
			if (!opt_parse_int(value, 0, 86400, &conf->db_stall_timeout_s))
				OPT_BAD("expected seconds from 0 to 86400");
			break;
		case VB_OPT_HTTP_ADDR:
			if (!*value)
				OPT_BAD("must not be empty");
			opt_strset(&conf->http_addr, value);
			break;
		case VB_OPT_HTTP_PORT:
			if (!opt_parse_int(value, 0, 65535, &conf->http_port))
				OPT_BAD("expected a port from 0 to 65535");
			break;
		case VB_OPT_SHUTDOWN:
			if (!opt_parse_int(value, 1, 3600, &conf->shutdown_timeout_s))
				OPT_BAD("expected seconds from 1 to 3600");
			break;
		case VB_OPT_BACKOFF:
			if (!opt_parse_int(value, 100, 3600000, &conf->max_retry_backoff_ms))
				OPT_BAD("expected milliseconds from 100 to 3600000");
			break;
		case VB_OPT_ZIPKIN_URL:
			if (*value && strncmp(value, "http://", 7) != 0 && strncmp(value, "https://", 8) != 0)
				OPT_BAD("expected an http:// or https:// URL, or empty");
			opt_strset(&conf->zipkin_url, value);
			break;
		case VB_OPT_TRACE_RATIO:
			{
				char	   *end;
				double		r;

				errno = 0;
				r = strtod(value, &end);
				while (isspace((unsigned char) *end))
					end++;
				if (errno || end == value || *end != '\0' || !(r >= 0.0 && r <= 1.0))
					OPT_BAD("expected a number from 0 to 1");
				conf->trace_sample_ratio = r;
			}
			break;
		case VB_OPT_CONFIG:
			opt_strset(&conf->config_file, value);
			break;
		case VB_OPT_PROPERTY:
			return vb_opt_add_property(conf, value, err, errsize);
		case VB_OPT_PROPERTIES_FILE:
			return vb_opt_properties_file(conf, value, err, errsize);
		case VB_OPT_SASL_PASSWORD_FILE:
			{
				char	   *pw = vb_secure_read_secret(value, err, errsize);
				char	   *kv;
				bool		ok;

				if (!pw)
					return false;
				kv = vb_xmalloc(strlen(pw) + 16);
				sprintf(kv, "sasl.password=%s", pw);
				ok = vb_opt_add_property(conf, kv, err, errsize);
				explicit_bzero(kv, strlen(kv));
				explicit_bzero(pw, strlen(pw));
				free(kv);
				free(pw);
				return ok;
			}
		case VB_OPT_LOG_LEVEL:
			if (strcasecmp(value, "debug") == 0)
				n = VB_LOG_DEBUG;
			else if (strcasecmp(value, "info") == 0)
				n = VB_LOG_INFO;
			else if (strcasecmp(value, "warn") == 0 || strcasecmp(value, "warning") == 0)
				n = VB_LOG_WARN;
			else if (strcasecmp(value, "error") == 0)
				n = VB_LOG_ERROR;
			else
				OPT_BAD("expected debug, info, warn or error");
			conf->log_level = n;
			break;
		case VB_OPT_HELP:
		case VB_OPT_VERSION:
			break;
	}
	return true;
#undef OPT_BAD
}

/*
 * cfg_find
 *	  Option by long name, or by id.
 */
const VbOpt *
vb_opt_by_name(const char *name)
{
	for (int i = 0; i < vb_nopts; i++)
		if (strcmp(vb_opts[i].name, name) == 0)
			return &vb_opts[i];
	if (strcmp(name, "X") == 0)
		return vb_opt_by_name("property");
	return NULL;
}

/*
 * vb_opt_by_id
 *	  The option with this id.
 */
const VbOpt *
vb_opt_by_id(int id)
{
	for (int i = 0; i < vb_nopts; i++)
		if ((int) vb_opts[i].id == id)
			return &vb_opts[i];
	return NULL;
}

/*
 * vb_opt_usage
 *	  --help: every option with its variable and default.
 */
void
vb_opt_usage(FILE *out)
{
	fprintf(out,
			"Usage: voltpay-bridge [OPTION]...\n"
			"Moves payments from Kafka into PostgreSQL through\n"
			"voltpay.apply_payment_batch() and, after each commit, publishes the\n"
			"transactional outbox to the read, e-mail and dead-letter topics.\n\n"
			"Options (each also a VOLTPAY_* variable and a config file name;\n"
			"flags beat variables, variables beat the config file):\n");
	for (int i = 0; i < vb_nopts; i++)
	{
		const VbOpt *o = &vb_opts[i];
		char		left[80];
		const char *h;

		if (o->short_opt)
			snprintf(left, sizeof(left), "  -%c, --%s%s%s", o->short_opt, o->name,
					 o->arg ? " " : "", o->arg ? o->arg : "");
		else
			snprintf(left, sizeof(left), "      --%s%s%s", o->name,
					 o->arg ? " " : "", o->arg ? o->arg : "");
		fprintf(out, "%s\n", left);
		h = o->help;
		while (*h)
		{
			const char *nl = strchr(h, '\n');
			int			len = nl ? (int) (nl - h) : (int) strlen(h);

			fprintf(out, "        %.*s\n", len, h);
			h += len + (nl ? 1 : 0);
		}
		if (o->env)
			fprintf(out, "        Variable: %s\n", o->env);
	}
	fprintf(out,
			"\nThe database is reached as libpq does (PGHOST, PGPORT, PGUSER,\n"
			"PGPASSWORD, PGDATABASE, ~/.pgpass ... apply); the bridge sets\n"
			"search_path to empty and application_name to voltpay-bridge.\n\n"
			"HTTP: /healthz (alive), /readyz (database connected and group\n"
			"joined), /metrics (Prometheus text format).\n\n"
			"Exit status: 0 clean shutdown, 1 fatal runtime error (after the\n"
			"drain), 2 bad configuration or usage, 3 TLS with the database or\n"
			"Kafka failed (a certificate not verified: CA, host name), 4 the\n"
			"database or Kafka refused the bridge's credentials.\n");
}
