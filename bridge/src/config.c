/*-------------------------------------------------------------------------
 *
 * config.c
 *	  Options of voltpay-bridge from four sources, later ones winning:
 *	  built-in defaults, the config file (-c or VOLTPAY_CONFIG), VOLTPAY_*
 *	  environment variables, command-line flags.
 *
 * The config file holds "name = value" lines with the long option names
 * ("embedded-kafka" alone means true), blank lines and "#" comment lines;
 * its errors are reported as "file:line: message".  -X (--property)
 * takes a librdkafka property "key=value" for both clients, or
 * "consumer.key=value" / "producer.key=value" for one.
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "bridge.h"

VbConfig	vb_conf;

typedef enum CfgId
{
	CFG_BROKERS = 1,
	CFG_EMBEDDED,
	CFG_GROUP,
	CFG_INPUT_TOPIC,
	CFG_READ_TOPIC,
	CFG_EMAIL_TOPIC,
	CFG_DLQ_TOPIC,
	CFG_DB,
	CFG_DB_ROLE,
	CFG_BATCH_SIZE,
	CFG_BATCH_WAIT,
	CFG_OUTBOX_BATCH,
	CFG_HTTP_ADDR,
	CFG_HTTP_PORT,
	CFG_SHUTDOWN,
	CFG_BACKOFF,
	CFG_CONFIG,
	CFG_PROPERTY,
	CFG_LOG_LEVEL,
	CFG_HELP,
	CFG_VERSION
} CfgId;

typedef struct CfgOpt
{
	CfgId		id;
	const char *name;			/* long option and config file name */
	char		short_opt;
	int			has_arg;
	const char *env;
	const char *arg;			/* argument name in --help */
	const char *help;
} CfgOpt;

static const CfgOpt cfg_opts[] = {
	{CFG_BROKERS, "brokers", 'b', 1, "VOLTPAY_BROKERS", "LIST",
	"Kafka bootstrap servers, host:port[,host:port...] (bootstrap.servers)."},
	{CFG_EMBEDDED, "embedded-kafka", 0, 0, "VOLTPAY_EMBEDDED_KAFKA", NULL,
		"Start librdkafka's mock cluster in-process (5 brokers; the four topics\n"
		"with 100 partitions, replication factor 2) and print one line\n"
		"\"bootstrap.servers=HOST:PORT,...\" on stdout when it is ready.\n"
	"Excludes --brokers. The variable takes 1/true/yes/on."},
	{CFG_GROUP, "group", 'g', 1, "VOLTPAY_GROUP", "ID",
	"Consumer group id. Default: voltpay-writer."},
	{CFG_INPUT_TOPIC, "input-topic", 0, 1, "VOLTPAY_INPUT_TOPIC", "TOPIC",
	"Topic of payment messages. Default: payment_writer_topic."},
	{CFG_READ_TOPIC, "read-topic", 0, 1, "VOLTPAY_READ_TOPIC", "TOPIC",
	"Topic of 'read' outbox events. Default: payment_read_topic."},
	{CFG_EMAIL_TOPIC, "email-topic", 0, 1, "VOLTPAY_EMAIL_TOPIC", "TOPIC",
	"Topic of 'email' outbox events. Default: payment_email."},
	{CFG_DLQ_TOPIC, "dead-letter-topic", 0, 1, "VOLTPAY_DEAD_LETTER_TOPIC", "TOPIC",
	"Topic of 'dead_letter' outbox events. Default: payment_writer_dlq."},
	{CFG_DB, "db", 0, 1, "VOLTPAY_DB", "CONNINFO",
		"libpq connection string or postgresql:// URL; empty (the default)\n"
	"means the PG* environment variables alone."},
	{CFG_DB_ROLE, "db-role", 0, 1, "VOLTPAY_DB_ROLE", "ROLE",
		"Role set after connecting (SET ROLE), so that only its rights are\n"
	"used; empty: the login's own. Default: voltpay_writer."},
	{CFG_BATCH_SIZE, "batch-size", 0, 1, "VOLTPAY_BATCH_SIZE", "N",
	"Most messages per database transaction (1-100000). Default: 500."},
	{CFG_BATCH_WAIT, "batch-wait-ms", 0, 1, "VOLTPAY_BATCH_WAIT_MS", "MS",
		"Longest wait for a batch to fill, from its first message\n"
	"(0-60000). Default: 50."},
	{CFG_OUTBOX_BATCH, "outbox-batch", 0, 1, "VOLTPAY_OUTBOX_BATCH", "N",
	"Most outbox events fetched and published at once (1-100000). Default: 5000."},
	{CFG_HTTP_ADDR, "http-addr", 0, 1, "VOLTPAY_HTTP_ADDR", "ADDR",
	"Listen address of the HTTP endpoints (IPv4 or IPv6). Default: 127.0.0.1."},
	{CFG_HTTP_PORT, "http-port", 0, 1, "VOLTPAY_HTTP_PORT", "PORT",
	"Port of /healthz, /readyz and /metrics; 0: no HTTP server. Default: 9187."},
	{CFG_SHUTDOWN, "shutdown-timeout", 0, 1, "VOLTPAY_SHUTDOWN_TIMEOUT", "SECONDS",
		"Longest drain after SIGTERM/SIGINT or a fatal error (1-3600).\n"
	"Default: 30."},
	{CFG_BACKOFF, "max-retry-backoff-ms", 0, 1, "VOLTPAY_MAX_RETRY_BACKOFF_MS", "MS",
		"Cap of the exponential retry backoff (100-3600000). Default: 30000."},
	{CFG_CONFIG, "config", 'c', 1, "VOLTPAY_CONFIG", "FILE",
	"Config file of \"name = value\" lines (long option names)."},
	{CFG_PROPERTY, "property", 'X', 1, "VOLTPAY_PROPERTIES", "KEY=VALUE",
		"librdkafka property for the consumer and the producer;\n"
		"consumer.KEY=VALUE or producer.KEY=VALUE for one of them. Repeatable;\n"
		"the variable takes a ';'-separated list, the config file\n"
	"\"property = KEY=VALUE\" (or \"X = KEY=VALUE\") lines."},
	{CFG_LOG_LEVEL, "log-level", 0, 1, "VOLTPAY_LOG_LEVEL", "LEVEL",
	"debug, info, warn or error. Default: info."},
	{CFG_HELP, "help", 'h', 0, NULL, NULL, "Print this help and exit."},
	{CFG_VERSION, "version", 'V', 0, NULL, NULL, "Print the version and exit."},
};

#define CFG_NOPTS ((int) (sizeof(cfg_opts) / sizeof(cfg_opts[0])))

/*
 * Properties the bridge sets itself: changing them would break its
 * guarantees, or they have an option of their own.
 */
static const struct
{
	const char *name;
	const char *why;
}			cfg_fixed_props[] = {
	{"enable.auto.commit", "offsets are committed after each database commit"},
	{"enable.auto.offset.store", "offsets are stored after each database commit"},
	{"enable.idempotence", "the producer must be idempotent"},
	{"acks", "events need acks=all"},
	{"request.required.acks", "events need acks=all"},
	{"transactional.id", "the producer is idempotent, not transactional"},
	{"isolation.level", "aborted upstream transactions must never be applied (read_committed)"},
	{"group.id", "use --group"},
	{"bootstrap.servers", "use --brokers"},
	{"metadata.broker.list", "use --brokers"},
};

/*
 * cfg_strset
 *	  Replaces a string option.
 */
static void
cfg_strset(char **dst, const char *value)
{
	free(*dst);
	*dst = strdup(value);
}

/*
 * cfg_parse_int
 *	  Strict decimal integer in [min, max].
 */
static bool
cfg_parse_int(const char *s, long min, long max, int *out)
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
 * cfg_parse_bool
 *	  1/true/yes/on or 0/false/no/off, any case.
 */
static bool
cfg_parse_bool(const char *s, bool *out)
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
 * cfg_add_property
 *	  Parses "[consumer.|producer.]key=value" and records it.
 */
static bool
cfg_add_property(const char *kv, char *err, size_t errsize)
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
	for (size_t i = 0; i < sizeof(cfg_fixed_props) / sizeof(cfg_fixed_props[0]); i++)
	{
		if (strlen(cfg_fixed_props[i].name) == namelen &&
			strncmp(cfg_fixed_props[i].name, name, namelen) == 0)
		{
			snprintf(err, errsize, "librdkafka property \"%s\" is set by the bridge: %s",
					 cfg_fixed_props[i].name, cfg_fixed_props[i].why);
			return false;
		}
	}
	vb_conf.props = realloc(vb_conf.props, sizeof(VbProp) * (vb_conf.nprops + 1));
	p = &vb_conf.props[vb_conf.nprops++];
	p->target = target;
	p->name = strndup(name, namelen);
	p->value = strdup(eq + 1);
	return true;
}

/*
 * cfg_set
 *	  Applies one option value.  On a bad value, writes why into err and
 *	  returns false.
 */
static bool
cfg_set(const CfgOpt *o, const char *value, char *err, size_t errsize)
{
	int			n;
	bool		b;

#define CFG_BAD(fmt_) \
	do { snprintf(err, errsize, "invalid value \"%s\" for %s: " fmt_, value, o->name); \
		 return false; } while (0)

	switch (o->id)
	{
		case CFG_BROKERS:
			cfg_strset(&vb_conf.brokers, value);
			break;
		case CFG_EMBEDDED:
			if (value == NULL)
				b = true;
			else if (!cfg_parse_bool(value, &b))
				CFG_BAD("expected true or false");
			vb_conf.embedded_kafka = b;
			break;
		case CFG_GROUP:
			if (!*value)
				CFG_BAD("must not be empty");
			cfg_strset(&vb_conf.group, value);
			break;
		case CFG_INPUT_TOPIC:
		case CFG_READ_TOPIC:
		case CFG_EMAIL_TOPIC:
		case CFG_DLQ_TOPIC:
			if (!*value || strlen(value) > 249)
				CFG_BAD("a topic name has 1 to 249 characters");
			cfg_strset(o->id == CFG_INPUT_TOPIC ? &vb_conf.input_topic :
					   o->id == CFG_READ_TOPIC ? &vb_conf.read_topic :
					   o->id == CFG_EMAIL_TOPIC ? &vb_conf.email_topic :
					   &vb_conf.dead_letter_topic, value);
			break;
		case CFG_DB:
			cfg_strset(&vb_conf.db, value);
			break;
		case CFG_DB_ROLE:
			cfg_strset(&vb_conf.db_role, value);
			break;
		case CFG_BATCH_SIZE:
			if (!cfg_parse_int(value, 1, 100000, &vb_conf.batch_size))
				CFG_BAD("expected an integer from 1 to 100000");
			break;
		case CFG_BATCH_WAIT:
			if (!cfg_parse_int(value, 0, 60000, &vb_conf.batch_wait_ms))
				CFG_BAD("expected an integer from 0 to 60000");
			break;
		case CFG_OUTBOX_BATCH:
			if (!cfg_parse_int(value, 1, 100000, &vb_conf.outbox_batch))
				CFG_BAD("expected an integer from 1 to 100000");
			break;
		case CFG_HTTP_ADDR:
			if (!*value)
				CFG_BAD("must not be empty");
			cfg_strset(&vb_conf.http_addr, value);
			break;
		case CFG_HTTP_PORT:
			if (!cfg_parse_int(value, 0, 65535, &vb_conf.http_port))
				CFG_BAD("expected a port from 0 to 65535");
			break;
		case CFG_SHUTDOWN:
			if (!cfg_parse_int(value, 1, 3600, &vb_conf.shutdown_timeout_s))
				CFG_BAD("expected seconds from 1 to 3600");
			break;
		case CFG_BACKOFF:
			if (!cfg_parse_int(value, 100, 3600000, &vb_conf.max_retry_backoff_ms))
				CFG_BAD("expected milliseconds from 100 to 3600000");
			break;
		case CFG_CONFIG:
			cfg_strset(&vb_conf.config_file, value);
			break;
		case CFG_PROPERTY:
			return cfg_add_property(value, err, errsize);
		case CFG_LOG_LEVEL:
			if (strcasecmp(value, "debug") == 0)
				n = VB_LOG_DEBUG;
			else if (strcasecmp(value, "info") == 0)
				n = VB_LOG_INFO;
			else if (strcasecmp(value, "warn") == 0 || strcasecmp(value, "warning") == 0)
				n = VB_LOG_WARN;
			else if (strcasecmp(value, "error") == 0)
				n = VB_LOG_ERROR;
			else
				CFG_BAD("expected debug, info, warn or error");
			vb_conf.log_level = n;
			break;
		case CFG_HELP:
		case CFG_VERSION:
			break;
	}
	return true;
#undef CFG_BAD
}

/*
 * cfg_find
 *	  Option by long name, or by id.
 */
static const CfgOpt *
cfg_find_name(const char *name)
{
	for (int i = 0; i < CFG_NOPTS; i++)
		if (strcmp(cfg_opts[i].name, name) == 0)
			return &cfg_opts[i];
	if (strcmp(name, "X") == 0)
		return cfg_find_name("property");
	return NULL;
}

/*
 * cfg_find_id
 *	  The option with this id.
 */
static const CfgOpt *
cfg_find_id(int id)
{
	for (int i = 0; i < CFG_NOPTS; i++)
		if ((int) cfg_opts[i].id == id)
			return &cfg_opts[i];
	return NULL;
}

/*
 * cfg_trim
 *	  Strips leading and trailing white space in place.
 */
static char *
cfg_trim(char *s)
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
 * cfg_load_file
 *	  Reads the config file; reports the first error as file:line: message
 *	  and returns false.
 */
static bool
cfg_load_file(const char *path)
{
	FILE	   *f = fopen(path, "r");
	char	   *line = NULL;
	size_t		cap = 0;
	int			lineno = 0;
	bool		ok = true;

	if (!f)
	{
		fprintf(stderr, "voltpay-bridge: cannot open config file \"%s\": %s\n",
				path, strerror(errno));
		return false;
	}
	while (ok && getline(&line, &cap, f) >= 0)
	{
		char	   *s = cfg_trim(line);
		char	   *eq;
		char	   *name;
		char	   *value = NULL;
		const CfgOpt *o;
		char		err[512];

		lineno++;
		if (*s == '\0' || *s == '#')
			continue;
		eq = strchr(s, '=');
		if (eq)
		{
			*eq = '\0';
			value = cfg_trim(eq + 1);
			if (strlen(value) >= 2 &&
				(value[0] == '"' || value[0] == '\'') &&
				value[strlen(value) - 1] == value[0])
			{
				value[strlen(value) - 1] = '\0';
				value++;
			}
		}
		name = cfg_trim(s);
		o = cfg_find_name(name);
		if (!o || o->id == CFG_HELP || o->id == CFG_VERSION)
		{
			fprintf(stderr, "%s:%d: unknown option \"%s\"\n", path, lineno, name);
			ok = false;
		}
		else if (o->id == CFG_CONFIG)
		{
			fprintf(stderr, "%s:%d: a config file cannot name another one\n", path, lineno);
			ok = false;
		}
		else if (!value && o->has_arg)
		{
			fprintf(stderr, "%s:%d: expected \"%s = value\"\n", path, lineno, name);
			ok = false;
		}
		else if (!cfg_set(o, value, err, sizeof(err)))
		{
			fprintf(stderr, "%s:%d: %s\n", path, lineno, err);
			ok = false;
		}
	}
	free(line);
	fclose(f);
	return ok;
}

/*
 * cfg_load_env
 *	  Applies the VOLTPAY_* variables that are set and not empty.
 */
static bool
cfg_load_env(void)
{
	for (int i = 0; i < CFG_NOPTS; i++)
	{
		const CfgOpt *o = &cfg_opts[i];
		const char *v;
		char		err[512];

		if (!o->env || o->id == CFG_CONFIG || !(v = getenv(o->env)) || !*v)
			continue;
		if (o->id == CFG_PROPERTY)
		{
			char	   *copy = strdup(v);
			char	   *save = NULL;
			bool		ok = true;

			for (char *kv = strtok_r(copy, ";", &save); kv && ok;
				 kv = strtok_r(NULL, ";", &save))
			{
				kv = cfg_trim(kv);
				if (*kv && !cfg_add_property(kv, err, sizeof(err)))
					ok = false;
			}
			free(copy);
			if (!ok)
			{
				fprintf(stderr, "voltpay-bridge: %s: %s\n", o->env, err);
				return false;
			}
			continue;
		}
		if (!cfg_set(o, v, err, sizeof(err)))
		{
			fprintf(stderr, "voltpay-bridge: %s: %s\n", o->env, err);
			return false;
		}
	}
	return true;
}

/*
 * cfg_usage
 *	  --help: every option with its variable and default.
 */
static void
cfg_usage(FILE *out)
{
	fprintf(out,
			"Usage: voltpay-bridge [OPTION]...\n"
			"Moves payments from Kafka into PostgreSQL through\n"
			"voltpay.apply_payment_batch() and, after each commit, publishes the\n"
			"transactional outbox to the read, e-mail and dead-letter topics.\n\n"
			"Options (each also a VOLTPAY_* variable and a config file name;\n"
			"flags beat variables, variables beat the config file):\n");
	for (int i = 0; i < CFG_NOPTS; i++)
	{
		const CfgOpt *o = &cfg_opts[i];
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
			"drain), 2 bad configuration or usage.\n");
}

/*
 * vb_config_load
 *	  Fills vb_conf.  Returns -1 to go on, or an exit status: 0 after
 *	  --help/--version, VB_EXIT_CONFIG after a one-line error on stderr.
 */
int
vb_config_load(int argc, char **argv)
{
	struct option longopts[CFG_NOPTS + 1];
	char		shortopts[64] = ":";
	size_t		sl = 1;
	int		   *ids = calloc((size_t) argc + 1, sizeof(int));
	char	  **vals = calloc((size_t) argc + 1, sizeof(char *));
	int			nargs = 0;
	int			c;
	int			status = -1;
	const char *config_file = NULL;
	char		err[512];

	memset(&vb_conf, 0, sizeof(vb_conf));
	for (int i = 0; i < CFG_NOPTS; i++)
	{
		longopts[i].name = cfg_opts[i].name;
		longopts[i].has_arg = cfg_opts[i].has_arg ? required_argument : no_argument;
		longopts[i].flag = NULL;
		longopts[i].val = 1000 + (int) cfg_opts[i].id;
		if (cfg_opts[i].short_opt)
		{
			shortopts[sl++] = cfg_opts[i].short_opt;
			if (cfg_opts[i].has_arg)
				shortopts[sl++] = ':';
		}
	}
	memset(&longopts[CFG_NOPTS], 0, sizeof(struct option));
	shortopts[sl] = '\0';

	/* Pass 1: collect the flags, answer --help and --version. */
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1)
	{
		int			id = 0;

		if (c == '?' || c == ':')
		{
			const char *arg = argv[optind - 1];

			if (c == ':')
				fprintf(stderr, "voltpay-bridge: option %s needs an argument (try --help)\n", arg);
			else if (optopt)
				fprintf(stderr, "voltpay-bridge: unknown option -%c (try --help)\n", optopt);
			else
				fprintf(stderr, "voltpay-bridge: unknown option %s (try --help)\n", arg);
			status = VB_EXIT_CONFIG;
			goto done;
		}
		if (c >= 1000)
			id = c - 1000;
		else
			for (int i = 0; i < CFG_NOPTS; i++)
				if (cfg_opts[i].short_opt == c)
					id = (int) cfg_opts[i].id;
		if (id == CFG_HELP)
		{
			cfg_usage(stdout);
			status = VB_EXIT_OK;
			goto done;
		}
		if (id == CFG_VERSION)
		{
			printf("voltpay-bridge %s (librdkafka %s, libpq %d)\n", VB_VERSION,
				   rd_kafka_version_str(), PQlibVersion());
			status = VB_EXIT_OK;
			goto done;
		}
		if (id == CFG_CONFIG)
			config_file = optarg;
		ids[nargs] = id;
		vals[nargs++] = optarg;
	}
	if (optind < argc)
	{
		fprintf(stderr, "voltpay-bridge: unexpected argument \"%s\" (try --help)\n", argv[optind]);
		status = VB_EXIT_CONFIG;
		goto done;
	}

	/* Defaults. */
	vb_conf.group = strdup("voltpay-writer");
	vb_conf.input_topic = strdup("payment_writer_topic");
	vb_conf.read_topic = strdup("payment_read_topic");
	vb_conf.email_topic = strdup("payment_email");
	vb_conf.dead_letter_topic = strdup("payment_writer_dlq");
	vb_conf.db = strdup("");
	vb_conf.db_role = strdup("voltpay_writer");
	vb_conf.batch_size = VB_DEFAULT_BATCH_SIZE;
	vb_conf.batch_wait_ms = VB_DEFAULT_BATCH_WAIT_MS;
	vb_conf.outbox_batch = VB_DEFAULT_OUTBOX_BATCH;
	vb_conf.http_addr = strdup("127.0.0.1");
	vb_conf.http_port = VB_DEFAULT_HTTP_PORT;
	vb_conf.shutdown_timeout_s = VB_DEFAULT_SHUTDOWN_S;
	vb_conf.max_retry_backoff_ms = VB_DEFAULT_MAX_BACKOFF_MS;
	vb_conf.log_level = VB_LOG_INFO;

	/* Config file, then the environment, then the flags. */
	if (!config_file && getenv("VOLTPAY_CONFIG") && *getenv("VOLTPAY_CONFIG"))
		config_file = getenv("VOLTPAY_CONFIG");
	if (config_file)
	{
		cfg_strset(&vb_conf.config_file, config_file);
		if (!cfg_load_file(config_file))
		{
			status = VB_EXIT_CONFIG;
			goto done;
		}
	}
	if (!cfg_load_env())
	{
		status = VB_EXIT_CONFIG;
		goto done;
	}
	for (int i = 0; i < nargs; i++)
	{
		const CfgOpt *o = cfg_find_id(ids[i]);

		if (!cfg_set(o, vals[i], err, sizeof(err)))
		{
			fprintf(stderr, "voltpay-bridge: %s\n", err);
			status = VB_EXIT_CONFIG;
			goto done;
		}
	}

	if (vb_conf.embedded_kafka && vb_conf.brokers && *vb_conf.brokers)
	{
		fprintf(stderr, "voltpay-bridge: --brokers and --embedded-kafka exclude each other\n");
		status = VB_EXIT_CONFIG;
	}
	else if (!vb_conf.embedded_kafka && (!vb_conf.brokers || !*vb_conf.brokers))
	{
		fprintf(stderr, "voltpay-bridge: no Kafka: give --brokers or --embedded-kafka (try --help)\n");
		status = VB_EXIT_CONFIG;
	}
	else if (strcmp(vb_conf.input_topic, vb_conf.read_topic) == 0 ||
			 strcmp(vb_conf.input_topic, vb_conf.email_topic) == 0 ||
			 strcmp(vb_conf.input_topic, vb_conf.dead_letter_topic) == 0)
	{
		fprintf(stderr, "voltpay-bridge: the input topic must differ from the output topics\n");
		status = VB_EXIT_CONFIG;
	}

done:
	free(ids);
	free(vals);
	return status;
}

/*
 * vb_config_free
 *	  Releases vb_conf.
 */
void
vb_config_free(void)
{
	free(vb_conf.brokers);
	free(vb_conf.group);
	free(vb_conf.input_topic);
	free(vb_conf.read_topic);
	free(vb_conf.email_topic);
	free(vb_conf.dead_letter_topic);
	free(vb_conf.db);
	free(vb_conf.db_role);
	free(vb_conf.http_addr);
	free(vb_conf.config_file);
	for (int i = 0; i < vb_conf.nprops; i++)
	{
		free(vb_conf.props[i].name);
		free(vb_conf.props[i].value);
	}
	free(vb_conf.props);
	memset(&vb_conf, 0, sizeof(vb_conf));
}

/*
 * vb_conf_set
 *	  rd_kafka_conf_set() with its error checked, as the librdkafka
 *	  examples do; errstr gets "name: why".
 */
bool
vb_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value,
			char *errstr, size_t errstr_size)
{
	char		why[256];

	if (rd_kafka_conf_set(conf, name, value, why, sizeof(why)) != RD_KAFKA_CONF_OK)
	{
		snprintf(errstr, errstr_size, "librdkafka property %s=%s: %s", name, value, why);
		return false;
	}
	return true;
}

/*
 * vb_config_apply_props
 *	  Sets the -X properties meant for `which` (consumer or producer) on
 *	  conf.  Returns 0, or -1 with errstr set.
 */
int
vb_config_apply_props(rd_kafka_conf_t *conf, VbPropTarget which,
					  char *errstr, size_t errstr_size)
{
	for (int i = 0; i < vb_conf.nprops; i++)
	{
		VbProp	   *p = &vb_conf.props[i];

		if (p->target != VB_PROP_BOTH && p->target != which)
			continue;
		if (!vb_conf_set(conf, p->name, p->value, errstr, errstr_size))
			return -1;
	}
	return 0;
}
