/*-------------------------------------------------------------------------
 *
 * config.c
 *	  Options of voltpay-bridge from four sources, later ones winning:
 *	  built-in defaults, the config file (-c or VOLTPAY_CONFIG), VOLTPAY_*
 *	  environment variables, command-line flags (the option table is in
 *	  options.c); and the librdkafka configuration helpers.
 *
 * The config file holds "name = value" lines with the long option names
 * ("embedded-kafka" alone means true), blank lines and "#" comment lines;
 * its errors are reported as "file:line: message".
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "config.h"
#include "log.h"
#include "secure.h"

/*
 * cfg_is_secret
 *	  The option's value is a secret: a librdkafka property naming one, or
 *	  a connection string with a password.
 */
static bool
cfg_is_secret(const VbOpt *o, const char *value)
{
	if (!value)
		return false;
	if (o->id == VB_OPT_PROPERTY)
		return vb_opt_kv_is_secret(value);
	if (o->id == VB_OPT_DB)
		return vb_secure_conninfo_has_password(value);
	return false;
}

/*
 * cfg_load_file
 *	  Reads the config file; the first error goes into err as
 *	  "file:line: message".
 */
static VbStatus
cfg_load_file(VbConfig *conf, const char *path, VbError *err)
{
	FILE	   *f = fopen(path, "r");
	char	   *line = NULL;
	size_t		cap = 0;
	int			lineno = 0;
	VbStatus	st = VB_OK;
	bool		checked = false;

	if (!f)
		return vb_error_set(err, VB_FATAL, NULL,
							"voltpay-bridge: cannot open config file \"%s\": %s",
							path, strerror(errno));
	while (st == VB_OK && getline(&line, &cap, f) >= 0)
	{
		char	   *s = vb_opt_trim(line);
		char	   *eq;
		char	   *name;
		char	   *value = NULL;
		const VbOpt *o;
		char		why[512];

		lineno++;
		if (*s == '\0' || *s == '#')
			continue;
		eq = strchr(s, '=');
		if (eq)
		{
			*eq = '\0';
			value = vb_opt_trim(eq + 1);
			if (strlen(value) >= 2 &&
				(value[0] == '"' || value[0] == '\'') &&
				value[strlen(value) - 1] == value[0])
			{
				value[strlen(value) - 1] = '\0';
				value++;
			}
		}
		name = vb_opt_trim(s);
		o = vb_opt_by_name(name);
		if (!o || o->id == VB_OPT_HELP || o->id == VB_OPT_VERSION)
			st = vb_error_set(err, VB_FATAL, NULL, "%s:%d: unknown option \"%s\"",
							  path, lineno, name);
		else if (o->id == VB_OPT_CONFIG)
			st = vb_error_set(err, VB_FATAL, NULL, "%s:%d: a config file cannot name another one",
							  path, lineno);
		else if (!value && o->has_arg)
			st = vb_error_set(err, VB_FATAL, NULL, "%s:%d: expected \"%s = value\"",
							  path, lineno, name);
		else if (!checked && cfg_is_secret(o, value) &&
				 (checked = true) && !vb_secure_file_private(path, why, sizeof(why)))
			st = vb_error_set(err, VB_FATAL, NULL, "%s:%d: %s", path, lineno, why);
		else if (!vb_opt_set(conf, o, value, why, sizeof(why)))
			st = vb_error_set(err, VB_FATAL, NULL, "%s:%d: %s", path, lineno, why);
	}
	free(line);
	fclose(f);
	return st;
}

/*
 * cfg_load_env
 *	  Applies the VOLTPAY_* variables that are set and not empty.
 */
static VbStatus
cfg_load_env(VbConfig *conf, VbError *err)
{
	for (int i = 0; i < vb_nopts; i++)
	{
		const VbOpt *o = &vb_opts[i];
		const char *v;
		char		why[512];

		if (!o->env || o->id == VB_OPT_CONFIG || !(v = getenv(o->env)) || !*v)
			continue;
		if (o->id == VB_OPT_PROPERTY)
		{
			if (!vb_opt_split_list(conf, v, why, sizeof(why)))
				return vb_error_set(err, VB_FATAL, NULL, "voltpay-bridge: %s: %s", o->env, why);
			continue;
		}
		if (!vb_opt_set(conf, o, v, why, sizeof(why)))
			return vb_error_set(err, VB_FATAL, NULL, "voltpay-bridge: %s: %s", o->env, why);
	}
	return VB_OK;
}

/*
 * cfg_defaults
 *	  The built-in defaults.
 */
static void
cfg_defaults(VbConfig *conf)
{
	conf->group = vb_xstrdup("voltpay-writer");
	conf->input_topic = vb_xstrdup("payment_writer_topic");
	conf->read_topic = vb_xstrdup("payment_read_topic");
	conf->email_topic = vb_xstrdup("payment_email");
	conf->dead_letter_topic = vb_xstrdup("payment_writer_dlq");
	conf->db = vb_xstrdup("");
	conf->db_role = vb_xstrdup("voltpay_writer");
	conf->batch_size = VB_DEFAULT_BATCH_SIZE;
	conf->db_connections = VB_DEFAULT_DB_CONNECTIONS;
	conf->db_stall_timeout_s = VB_DEFAULT_DB_STALL_S;
	conf->batch_wait_ms = VB_DEFAULT_BATCH_WAIT_MS;
	conf->outbox_batch = VB_DEFAULT_OUTBOX_BATCH;
	conf->http_addr = vb_xstrdup("127.0.0.1");
	conf->http_port = VB_DEFAULT_HTTP_PORT;
	conf->shutdown_timeout_s = VB_DEFAULT_SHUTDOWN_S;
	conf->max_retry_backoff_ms = VB_DEFAULT_MAX_BACKOFF_MS;
	conf->zipkin_url = vb_xstrdup("");
	conf->trace_sample_ratio = VB_DEFAULT_TRACE_RATIO;
	conf->log_level = VB_LOG_INFO;
}

/*
 * cfg_check
 *	  Rules that span options.
 */
static VbStatus
cfg_check(const VbConfig *conf, VbError *err)
{
	if (conf->embedded_kafka && conf->brokers && *conf->brokers)
		return vb_error_set(err, VB_FATAL, NULL,
							"voltpay-bridge: --brokers and --embedded-kafka exclude each other");
	if (!conf->embedded_kafka && (!conf->brokers || !*conf->brokers))
		return vb_error_set(err, VB_FATAL, NULL,
							"voltpay-bridge: no Kafka: give --brokers or --embedded-kafka (try --help)");
	if (strcmp(conf->input_topic, conf->read_topic) == 0 ||
		strcmp(conf->input_topic, conf->email_topic) == 0 ||
		strcmp(conf->input_topic, conf->dead_letter_topic) == 0)
		return vb_error_set(err, VB_FATAL, NULL,
							"voltpay-bridge: the input topic must differ from the output topics");
	return VB_OK;
}

/*
 * vb_config_load
 *	  Fills conf from the defaults, the config file, the environment and
 *	  argv, later ones winning.  VB_OK: go on, unless conf->exit_now (after
 *	  --help or --version, printed on stdout).  VB_FATAL: err holds the
 *	  one line to print; the exit status is VB_EXIT_CONFIG.
 */
VbStatus
vb_config_load(VbConfig *conf, int argc, char **argv, VbError *err)
{
	struct option longopts[vb_nopts + 1];
	char		shortopts[64] = ":";
	size_t		sl = 1;
	int		   *ids = vb_xcalloc((size_t) argc + 1, sizeof(int));
	char	  **vals = vb_xcalloc((size_t) argc + 1, sizeof(char *));
	int			nargs = 0;
	int			c;
	VbStatus	st = VB_OK;
	const char *config_file = NULL;
	char		why[512];

	memset(conf, 0, sizeof(*conf));
	for (int i = 0; i < vb_nopts; i++)
	{
		longopts[i].name = vb_opts[i].name;
		longopts[i].has_arg = vb_opts[i].has_arg ? required_argument : no_argument;
		longopts[i].flag = NULL;
		longopts[i].val = 1000 + (int) vb_opts[i].id;
		if (vb_opts[i].short_opt)
		{
			shortopts[sl++] = vb_opts[i].short_opt;
			if (vb_opts[i].has_arg)
				shortopts[sl++] = ':';
		}
	}
	memset(&longopts[vb_nopts], 0, sizeof(struct option));
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
				st = vb_error_set(err, VB_FATAL, NULL,
								  "voltpay-bridge: option %s needs an argument (try --help)", arg);
			else if (optopt)
				st = vb_error_set(err, VB_FATAL, NULL,
								  "voltpay-bridge: unknown option -%c (try --help)", optopt);
			else
				st = vb_error_set(err, VB_FATAL, NULL,
								  "voltpay-bridge: unknown option %s (try --help)", arg);
			goto done;
		}
		if (c >= 1000)
			id = c - 1000;
		else
			for (int i = 0; i < vb_nopts; i++)
				if (vb_opts[i].short_opt == c)
					id = (int) vb_opts[i].id;
		if (id == VB_OPT_HELP)
		{
			vb_opt_usage(stdout);
			conf->exit_now = true;
			goto done;
		}
		if (id == VB_OPT_VERSION)
		{
			printf("voltpay-bridge %s (librdkafka %s, libpq %d)\n", VB_VERSION,
				   rd_kafka_version_str(), PQlibVersion());
			conf->exit_now = true;
			goto done;
		}
		if (id == VB_OPT_CONFIG)
			config_file = optarg;
		if (cfg_is_secret(vb_opt_by_id(id), optarg))
		{
			st = vb_error_set(err, VB_FATAL, NULL,
							  "voltpay-bridge: %s gives a secret on the command line, which every "
							  "user can read in /proc: use %s",
							  id == VB_OPT_DB ? "--db" : "-X",
							  id == VB_OPT_DB ? "PGPASSFILE (or ~/.pgpass), or a config file" :
							  "--sasl-password-file, a properties file (-F) or VOLTPAY_PROPERTIES");
			goto done;
		}
		ids[nargs] = id;
		vals[nargs++] = optarg;
	}
	if (optind < argc)
	{
		st = vb_error_set(err, VB_FATAL, NULL,
						  "voltpay-bridge: unexpected argument \"%s\" (try --help)", argv[optind]);
		goto done;
	}

	cfg_defaults(conf);
	/* Config file, then the environment, then the flags. */
	if (!config_file && getenv("VOLTPAY_CONFIG") && *getenv("VOLTPAY_CONFIG"))
		config_file = getenv("VOLTPAY_CONFIG");
	if (config_file)
	{
		free(conf->config_file);
		conf->config_file = vb_xstrdup(config_file);
		if ((st = cfg_load_file(conf, config_file, err)) != VB_OK)
			goto done;
	}
	if ((st = cfg_load_env(conf, err)) != VB_OK)
		goto done;
	for (int i = 0; i < nargs; i++)
	{
		if (!vb_opt_set(conf, vb_opt_by_id(ids[i]), vals[i], why, sizeof(why)))
		{
			st = vb_error_set(err, VB_FATAL, NULL, "voltpay-bridge: %s", why);
			goto done;
		}
	}
	st = cfg_check(conf, err);

done:
	free(ids);
	free(vals);
	return st;
}

/*
 * vb_config_free
 *	  Releases what conf holds.
 */
void
vb_config_free(VbConfig *conf)
{
	free(conf->brokers);
	free(conf->group);
	free(conf->input_topic);
	free(conf->read_topic);
	free(conf->email_topic);
	free(conf->dead_letter_topic);
	free(conf->db);
	free(conf->db_role);
	free(conf->http_addr);
	free(conf->zipkin_url);
	free(conf->config_file);
	for (int i = 0; i < conf->nprops; i++)
	{
		free(conf->props[i].name);
		free(conf->props[i].value);
	}
	free(conf->props);
	memset(conf, 0, sizeof(*conf));
}

/*
 * vb_kconf_set
 *	  rd_kafka_conf_set() with its error checked, as the librdkafka
 *	  examples do; err gets "librdkafka property name=value: why".
 */
VbStatus
vb_kconf_set(rd_kafka_conf_t *kconf, const char *name, const char *value, VbError *err)
{
	char		why[256];

	if (rd_kafka_conf_set(kconf, name, value, why, sizeof(why)) != RD_KAFKA_CONF_OK)
		return vb_error_set(err, VB_FATAL, NULL, "librdkafka property %s=%s: %s", name,
							vb_secure_prop_is_secret(name, strlen(name)) ? "(secret)" : value,
							why);
	return VB_OK;
}

/*
 * vb_config_apply_props
 *	  Sets the -X properties meant for `which` (consumer or producer) on
 *	  kconf.
 */
VbStatus
vb_config_apply_props(const VbConfig *conf, rd_kafka_conf_t *kconf, VbPropTarget which,
					  VbError *err)
{
	for (int i = 0; i < conf->nprops; i++)
	{
		const VbProp *p = &conf->props[i];

		if (p->target != VB_PROP_BOTH && p->target != which)
			continue;
		if (vb_kconf_set(kconf, p->name, p->value, err) != VB_OK)
			return VB_FATAL;
	}
	return VB_OK;
}

/*
 * vb_config_check_props
 *	  Every -X property must be known to librdkafka before anything
 *	  starts.
 */
VbStatus
vb_config_check_props(const VbConfig *conf, VbError *err)
{
	for (int t = VB_PROP_CONSUMER; t <= VB_PROP_PRODUCER; t++)
	{
		rd_kafka_conf_t *kconf = rd_kafka_conf_new();
		VbStatus	st = vb_config_apply_props(conf, kconf, (VbPropTarget) t, err);

		rd_kafka_conf_destroy(kconf);
		if (st != VB_OK)
			return st;
	}
	return VB_OK;
}
