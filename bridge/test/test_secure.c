/*
 * test_secure.c
 *	  Secrets and refusals (secure.c, and their use in config.c and
 *	  options.c): which properties are secrets, secrets refused on the
 *	  command line and in files other users may read, the password file,
 *	  secret values never in an error, and the exit status of libpq's and
 *	  librdkafka's TLS and authentication failures.
 */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "config.h"
#include "log.h"
#include "secure.h"
#include "unit.h"

static char tmpdir[] = "/tmp/vb-unit-secure.XXXXXX";

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

/* Writes a file with this mode; the path stays valid until the next call. */
static const char *
write_file(const char *name, const char *text, mode_t mode)
{
	static char path[256];
	FILE	   *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
	return path;
}

static const char *
prop(const VbConfig *c, const char *name)
{
	for (int i = 0; i < c->nprops; i++)
		if (strcmp(c->props[i].name, name) == 0)
			return c->props[i].value;
	return NULL;
}

static void
test_names(void)
{
	ok(vb_secure_prop_is_secret("sasl.password", 13), "sasl.password is a secret");
	ok(vb_secure_prop_is_secret("ssl.key.password", 16), "ssl.key.password is a secret");
	ok(vb_secure_prop_is_secret("sasl.oauthbearer.client.secret", 30), "client secret is a secret");
	ok(vb_secure_prop_is_secret("ssl.key.pem", 11), "ssl.key.pem is a secret");
	ok(!vb_secure_prop_is_secret("sasl.username", 13), "sasl.username is not");
	ok(!vb_secure_prop_is_secret("ssl.key.location", 16), "ssl.key.location is not");
	ok(vb_opt_kv_is_secret("producer.sasl.password=x"), "producer.sasl.password=x is a secret");
	ok(!vb_opt_kv_is_secret("sasl.password"), "no value: nothing set");
	ok(vb_secure_conninfo_has_password("host=h password=pw"), "conninfo password");
	ok(vb_secure_conninfo_has_password("postgresql://u:pw@h/db"), "URL password");
	ok(!vb_secure_conninfo_has_password("postgresql://u@h/db?sslmode=verify-full"), "URL without");
	ok(!vb_secure_conninfo_has_password(""), "empty conninfo");
}

static void
test_command_line(void)
{
	VbConfig	c;
	VbError		e;
	const char *const x[] = {"-b", "k:9092", "-X", "sasl.password=hunter2", NULL};
	const char *const d[] = {"-b", "k:9092", "--db", "host=h password=hunter2", NULL};
	const char *const u[] = {"-b", "k:9092", "--db", "postgresql://u:hunter2@h/db", NULL};
	const char *const ok_args[] = {"-b", "k:9092", "-X", "sasl.username=bridge", NULL};

	is_int(load(&c, &e, x), VB_FATAL, "-X sasl.password on the command line: refused");
	ok(strstr(e.message, "secret on the command line") && !strstr(e.message, "hunter2"),
	   "the error says why, without the value: %s", e.message);
	vb_config_free(&c);
	is_int(load(&c, &e, d), VB_FATAL, "--db with a password: refused");
	ok(strstr(e.message, "PGPASSFILE") && !strstr(e.message, "hunter2"), "names PGPASSFILE: %s", e.message);
	vb_config_free(&c);
	is_int(load(&c, &e, u), VB_FATAL, "--db URL with a password: refused");
	vb_config_free(&c);
	is_int(load(&c, &e, ok_args), VB_OK, "-X sasl.username: fine");
	vb_config_free(&c);
	setenv("VOLTPAY_PROPERTIES", "sasl.password=hunter2", 1);
	is_int(load(&c, &e, ok_args), VB_OK, "sasl.password from the environment: accepted");
	is_str(prop(&c, "sasl.password"), "hunter2", "and set");
	unsetenv("VOLTPAY_PROPERTIES");
	vb_config_free(&c);
}

static void
test_files(void)
{
	VbConfig	c;
	VbError		e;
	const char *p;
	char		arg[300];

	/* Properties file: a secret needs a private file. */
	p = write_file("open.properties", "sasl.username=bridge\nsasl.password=hunter2\n", 0644);
	{
		const char *const a[] = {"-b", "k:9092", "-F", p, NULL};

		is_int(load(&c, &e, a), VB_FATAL, "0644 properties file with a secret: refused");
		ok(strstr(e.message, "open.properties:2:") && strstr(e.message, "mode 0644") &&
		   !strstr(e.message, "hunter2"), "file:line and mode, no value: %s", e.message);
		vb_config_free(&c);
	}
	p = write_file("private.properties", "sasl.password=hunter2\n", 0640);
	{
		const char *const a[] = {"-b", "k:9092", "-F", p, NULL};

		is_int(load(&c, &e, a), VB_OK, "0640 properties file: accepted (group may read)");
		is_str(prop(&c, "sasl.password"), "hunter2", "secret from the file");
		vb_config_free(&c);
	}
	p = write_file("plain.properties", "sasl.username=bridge\n", 0644);
	{
		const char *const a[] = {"-b", "k:9092", "-F", p, NULL};

		is_int(load(&c, &e, a), VB_OK, "0644 properties file without a secret: accepted");
		vb_config_free(&c);
	}
	/* Config file: a property or a connection string with a password. */
	p = write_file("open.conf", "brokers = k:9092\ndb = host=h password=hunter2\n", 0604);
	{
		const char *const a[] = {"-c", p, NULL};

		is_int(load(&c, &e, a), VB_FATAL, "0604 config file with a password: refused");
		ok(strstr(e.message, "open.conf:2:") && strstr(e.message, "other users may read") &&
		   !strstr(e.message, "hunter2"), "file:line, no value: %s", e.message);
		vb_config_free(&c);
	}
	p = write_file("ok.conf", "brokers = k:9092\nproperty = sasl.password=hunter2\n", 0600);
	{
		const char *const a[] = {"-c", p, NULL};

		is_int(load(&c, &e, a), VB_OK, "0600 config file with a secret: accepted");
		vb_config_free(&c);
	}
	/* Password file. */
	p = write_file("pw", "hunter2\n", 0600);
	snprintf(arg, sizeof(arg), "%s", p);
	{
		const char *const a[] = {"-b", "k:9092", "--sasl-password-file", arg, NULL};

		is_int(load(&c, &e, a), VB_OK, "--sasl-password-file: accepted");
		is_str(prop(&c, "sasl.password"), "hunter2", "first line, without its newline");
		vb_config_free(&c);
	}
	chmod(arg, 0644);
	{
		const char *const a[] = {"-b", "k:9092", "--sasl-password-file", arg, NULL};

		is_int(load(&c, &e, a), VB_FATAL, "0644 password file: refused");
		ok(strstr(e.message, "holds a secret") != NULL, "says why: %s", e.message);
		vb_config_free(&c);
	}
	p = write_file("empty", "", 0600);
	snprintf(arg, sizeof(arg), "%s", p);
	{
		const char *const a[] = {"-b", "k:9092", "--sasl-password-file", arg, NULL};

		is_int(load(&c, &e, a), VB_FATAL, "empty password file: refused");
		vb_config_free(&c);
	}
	/* A librdkafka refusal of a secret property does not print its value. */
	{
		rd_kafka_conf_t *k = rd_kafka_conf_new();

		is_int(vb_kconf_set(k, "ssl.key.password.nonexistent", "hunter2", &e), VB_FATAL,
			   "unknown secret-looking property refused");
		ok(!strstr(e.message, "hunter2"), "value not printed: %s", e.message);
		rd_kafka_conf_destroy(k);
	}
}

static void
test_exit_status(void)
{
	is_int(vb_secure_pg_exit("connection to server at \"h\", port 5432 failed: SSL error: certificate verify failed"),
		   VB_EXIT_TLS, "libpq: unknown CA -> 3");
	is_int(vb_secure_pg_exit("server certificate for \"localhost\" does not match host name \"127.0.0.1\""),
		   VB_EXIT_TLS, "libpq: host name -> 3");
	is_int(vb_secure_pg_exit("FATAL:  password authentication failed for user \"bridge\""),
		   VB_EXIT_AUTH, "libpq: password -> 4");
	is_int(vb_secure_pg_exit("FATAL:  no pg_hba.conf entry for host \"1.2.3.4\", user \"b\", database \"w\", no encryption"),
		   VB_EXIT_AUTH, "libpq: pg_hba.conf -> 4");
	is_int(vb_secure_pg_exit("FATAL:  certificate authentication failed for user \"b\""),
		   VB_EXIT_AUTH, "libpq: client certificate -> 4");
	is_int(vb_secure_pg_exit("connection to server at \"h\" failed: Connection refused"), 0,
		   "libpq: connection refused -> not a security failure");
	is_int(vb_secure_pg_exit("SSL SYSCALL error: EOF detected"), 0, "libpq: EOF mid-handshake -> not");
	is_int(vb_secure_pg_exit("root certificate file \"/etc/x/ca.pem\" does not exist"), 0,
		   "libpq: missing CA file -> a configuration error (2), not 3");
	is_int(vb_secure_kafka_exit(RD_KAFKA_RESP_ERR__AUTHENTICATION, "SASL authentication error"),
		   VB_EXIT_AUTH, "librdkafka: SASL -> 4");
	is_int(vb_secure_kafka_exit(RD_KAFKA_RESP_ERR__SSL,
								"SSL handshake failed: error:0A000086:SSL routines::certificate verify failed"),
		   VB_EXIT_TLS, "librdkafka: broker certificate -> 3");
	is_int(vb_secure_kafka_exit(RD_KAFKA_RESP_ERR__SSL, "SSL handshake failed: Disconnected"), 0,
		   "librdkafka: a handshake cut short is transient");
	is_int(vb_secure_kafka_exit(RD_KAFKA_RESP_ERR__TRANSPORT, "Connection refused"), 0,
		   "librdkafka: transport -> transient");
	is_int(vb_secure_kafka_exit(RD_KAFKA_RESP_ERR__TRANSPORT,
								"Receive failed: error:0A000416:SSL routines::sslv3 alert certificate unknown: SSL alert number 46"),
		   VB_EXIT_TLS, "librdkafka: the broker refused our certificate (TLS 1.3 alert) -> 3");
}

int
main(void)
{
	vb_log_set_level(VB_LOG_ERROR + 1);
	if (!mkdtemp(tmpdir))
		return 1;
	test_names();
	test_command_line();
	test_files();
	test_exit_status();
	{
		char		cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
		if (system(cmd) != 0)
			return 1;
	}
	return unit_done();
}
