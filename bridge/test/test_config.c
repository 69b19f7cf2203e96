/*
 * test_config.c
 *	  Option parsing (config.c, options.c): defaults, the three sources and
 *	  their order, values out of range, -X properties, config file errors
 *	  with file:line.
 */
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "unit.h"

static char tmpdir[] = "/tmp/vb-unit-config.XXXXXX";

/* Loads argv (NULL-terminated); returns the status, conf and err filled. */
static VbStatus
load(VbConfig *conf, VbError *err, const char *const *args)
{
	char	   *argv[32];
	int			argc = 0;

	argv[argc++] = (char *) "voltpay-bridge";
	while (*args)
		argv[argc++] = (char *) *args++;
	argv[argc] = NULL;
	return vb_config_load(conf, argc, argv, err);
}

static const char *
write_file(const char *name, const char *text)
{
	static char path[256];
	FILE	   *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

static void
test_defaults(void)
{
	VbConfig	c;
	VbError		e;
	const char *const a[] = {"-b", "k:9092", NULL};

	is_int(load(&c, &e, a), VB_OK, "brokers only: ok");
	is_str(c.group, "voltpay-writer", "default group");
	is_str(c.input_topic, "payment_writer_topic", "default input topic");
	is_str(c.dead_letter_topic, "payment_writer_dlq", "default dead-letter topic");
	is_int(c.batch_size, 500, "default batch size");
	is_int(c.db_connections, 1, "default database connections");
	is_int(c.db_stall_timeout_s, 60, "default database stall timeout");
	is_int(c.http_port, VB_DEFAULT_HTTP_PORT, "default HTTP port");
	is_str(c.db_role, "voltpay_writer", "default role");
	vb_config_free(&c);
}

static void
test_sources(void)
{
	VbConfig	c;
	VbError		e;
	const char *file = write_file("ok.conf",
								  "# comment\n\nbrokers = file:1\nbatch-size = 100\ndb-connections = 3\n"
								  "db-stall-timeout = 0\n"
								  "group = 'from-file'\nproperty = consumer.fetch.wait.max.ms=20\n"
								  "X = linger.ms=7\nembedded-kafka\n");
	const char *const a[] = {"-c", file, "--batch-size", "300", NULL};

	setenv("VOLTPAY_GROUP", "from-env", 1);
	setenv("VOLTPAY_EMBEDDED_KAFKA", "false", 1);
	is_int(load(&c, &e, a), VB_OK, "file, environment and flags: ok");
	is_int(c.batch_size, 300, "a flag beats the file");
	is_int(c.db_connections, 3, "db-connections from the file");
	is_int(c.db_stall_timeout_s, 0, "db-stall-timeout 0 (wait for ever) from the file");
	is_str(c.group, "from-env", "the environment beats the file");
	ok(!c.embedded_kafka, "the environment's false beats the file's bare name");
	is_str(c.brokers, "file:1", "the file beats the default");
	is_int(c.nprops, 2, "two properties");
	ok(c.props[0].target == VB_PROP_CONSUMER && strcmp(c.props[0].name, "fetch.wait.max.ms") == 0 &&
	   strcmp(c.props[0].value, "20") == 0, "consumer.KEY=VALUE is for the consumer");
	ok(c.props[1].target == VB_PROP_BOTH && strcmp(c.props[1].name, "linger.ms") == 0,
	   "KEY=VALUE is for both");
	is_int(vb_config_check_props(&c, &e), VB_OK, "librdkafka knows both properties");
	vb_config_free(&c);
	unsetenv("VOLTPAY_GROUP");
	unsetenv("VOLTPAY_EMBEDDED_KAFKA");
}

static void
test_errors(void)
{
	VbConfig	c;
	VbError		e;
	struct
	{
		const char *args[6];
		const char *want;
	}			cases[] = {
		{{"-b", "k", "--batch-size", "0", NULL}, "invalid value \"0\" for batch-size"},
		{{"-b", "k", "--batch-size", "12x", NULL}, "invalid value \"12x\" for batch-size"},
		{{"-b", "k", "--db-connections", "0", NULL}, "expected an integer from 1 to 16"},
		{{"-b", "k", "--db-connections", "17", NULL}, "expected an integer from 1 to 16"},
		{{"-b", "k", "--db-stall-timeout", "-1", NULL}, "expected seconds from 0 to 86400"},
		{{"-b", "k", "--db-stall-timeout", "1h", NULL}, "expected seconds from 0 to 86400"},
		{{"-b", "k", "--http-port", "65536", NULL}, "expected a port from 0 to 65535"},
		{{"-b", "k", "--log-level", "loud", NULL}, "expected debug, info, warn or error"},
		{{"-b", "k", "-X", "enable.auto.commit=true", NULL}, "is set by the bridge"},
		{{"-b", "k", "-X", "isolation.level=read_uncommitted", NULL}, "aborted upstream transactions"},
		{{"-b", "k", "-X", "novalue", NULL}, "is not key=value"},
		{{"-b", "k", "--embedded-kafka", NULL}, "exclude each other"},
		{{"--group", "g", NULL}, "no Kafka"},
		{{"-b", "k", "--read-topic", "payment_writer_topic", NULL}, "must differ"},
		{{"-b", "k", "--nope", NULL}, "unknown option --nope"},
		{{"-b", "k", "extra", NULL}, "unexpected argument \"extra\""},
		{{"-b", NULL}, "needs an argument"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		VbStatus	st = load(&c, &e, cases[i].args);

		ok(st == VB_FATAL && strstr(e.message, cases[i].want) != NULL,
		   "refused with \"%s\"", cases[i].want);
		if (st != VB_FATAL || !strstr(e.message, cases[i].want))
			printf("#   got: %s\n", st == VB_OK ? "ok" : e.message);
		vb_config_free(&c);
	}
	{
		const char *const a[] = {"-b", "k", "-X", "no.such.property=1", NULL};

		is_int(load(&c, &e, a), VB_OK, "an unknown librdkafka property parses");
		is_int(vb_config_check_props(&c, &e), VB_FATAL, "and is refused by librdkafka before start");
		ok(strstr(e.message, "no.such.property") != NULL, "naming it");
		vb_config_free(&c);
	}
}

static void
test_kafka_conventions(void)
{
	VbConfig	c;
	VbError		e;
	const char *props = write_file("client.properties",
								   "# client.properties\n! also a comment\n\n"
								   "  security.protocol = PLAINTEXT  \n"
								   "consumer.fetch.wait.max.ms=15\n"
								   "bootstrap.servers=from-file:9092\n");
	const char *const a[] = {"-X", "bootstrap.servers=x:1,y:2", NULL};
	const char *const b[] = {"-F", props, NULL};
	const char *const d[] = {"-b", "k", NULL};

	is_int(load(&c, &e, a), VB_OK, "-X bootstrap.servers is accepted");
	is_str(c.brokers, "x:1,y:2", "as --brokers, like kcat's -b");
	is_int(c.nprops, 0, "and is not passed on as a property");
	vb_config_free(&c);

	is_int(load(&c, &e, b), VB_OK, "-F client.properties");
	is_str(c.brokers, "from-file:9092", "its bootstrap.servers are the brokers");
	is_int(c.nprops, 2, "two properties, comments skipped");
	ok(c.nprops == 2 && strcmp(c.props[0].name, "security.protocol") == 0 &&
	   strcmp(c.props[0].value, "PLAINTEXT") == 0, "white space around key and value dropped");
	ok(c.nprops == 2 && c.props[1].target == VB_PROP_CONSUMER, "consumer. prefix kept");
	vb_config_free(&c);

	setenv("VOLTPAY_PROPERTIES", "sasl.username=a\\;b ; client.rack=r1\nssl.key.password=p\\\\q", 1);
	is_int(load(&c, &e, d), VB_OK, "VOLTPAY_PROPERTIES with escapes and newlines");
	is_int(c.nprops, 3, "three properties");
	ok(c.nprops == 3 && strcmp(c.props[0].value, "a;b") == 0, "\\; is a ';' in a value");
	ok(c.nprops == 3 && strcmp(c.props[1].name, "client.rack") == 0, "';' separates");
	ok(c.nprops == 3 && strcmp(c.props[2].value, "p\\q") == 0, "a newline separates, \\\\ is a backslash");
	vb_config_free(&c);
	unsetenv("VOLTPAY_PROPERTIES");

	{
		const char *bad = write_file("bad.properties", "linger.ms=5\nacks=1\n");
		const char *const f[] = {"-b", "k", "-F", bad, NULL};

		ok(load(&c, &e, f) == VB_FATAL && strstr(e.message, "bad.properties:2: ") != NULL &&
		   strstr(e.message, "set by the bridge") != NULL, "a properties file's error names file:line");
		vb_config_free(&c);
		unlink(bad);
	}
	{
		const char *const g[] = {"--embedded-kafka", "-X", "bootstrap.servers=k:1", NULL};

		ok(load(&c, &e, g) == VB_FATAL && strstr(e.message, "exclude each other") != NULL,
		   "bootstrap.servers and --embedded-kafka exclude each other");
		vb_config_free(&c);
	}
	unlink(props);
}

static void
test_file_errors(void)
{
	VbConfig	c;
	VbError		e;
	struct
	{
		const char *text;
		const char *want;
	}			cases[] = {
		{"brokers = k\nbogus = 1\n", ":2: unknown option \"bogus\""},
		{"\n\nbatch-size = many\n", ":3: invalid value \"many\" for batch-size"},
		{"config = other.conf\n", ":1: a config file cannot name another one"},
		{"group\n", ":1: expected \"group = value\""},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		const char *path = write_file("bad.conf", cases[i].text);
		const char *const a[] = {"-b", "k", "-c", path, NULL};
		VbStatus	st = load(&c, &e, a);

		ok(st == VB_FATAL && strncmp(e.message, path, strlen(path)) == 0 &&
		   strstr(e.message, cases[i].want) != NULL, "config file: %s", cases[i].want);
		if (st != VB_FATAL)
			printf("#   accepted\n");
		else if (!strstr(e.message, cases[i].want))
			printf("#   got: %s\n", e.message);
		vb_config_free(&c);
	}
	{
		const char *const a[] = {"-b", "k", "-c", "/nonexistent/voltpay.conf", NULL};

		ok(load(&c, &e, a) == VB_FATAL && strstr(e.message, "cannot open config file") != NULL,
		   "a missing config file is refused");
		vb_config_free(&c);
	}
}

int
main(void)
{
	vb_log_set_level(VB_LOG_ERROR + 1);
	if (!mkdtemp(tmpdir))
		return 2;
	test_defaults();
	test_sources();
	test_errors();
	test_file_errors();
	test_kafka_conventions();
	unlink(write_file("ok.conf", ""));
	unlink(write_file("bad.conf", ""));
	rmdir(tmpdir);
	return unit_done();
}
