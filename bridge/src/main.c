/*-------------------------------------------------------------------------
 *
 * main.c
 *	  Layer 5: voltpay-bridge's main(): start-up order, the HTTP hooks,
 *	  exit codes.
 *
 * Start-up order: options; logging, metrics, signals; librdkafka
 * properties checked; database connected (search_path empty, SET ROLE,
 * statements prepared); the embedded mock cluster if asked; producer and
 * consumer; HTTP.  Any failure up to there is a configuration error: one
 * line on stderr, exit 2; 3 when the database's certificate could not be
 * verified, 4 when it refused the bridge's credentials (secure.c).  A
 * Kafka TLS or SASL failure is found later, in the loop: the same 3 or 4
 * after the drain.  Then the main loop (loop.c) until a signal or
 * a fatal error, and its drain (lifecycle.c).
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>

#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>

#include "config.h"
#include "http.h"
#include "lifecycle.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "mock.h"
#include "secure.h"

/*
 * main_healthy (VbHttpHooks.healthy)
 *	  Alive: no fatal error, and the main loop ticked recently (it ticks
 *	  at least every poll, including while retrying).
 */
static bool
main_healthy(void *arg, char *why, size_t size)
{
	const VbConfig *conf = arg;

	if (vb_is_fatal())
	{
		snprintf(why, size, "fatal error, shutting down");
		return false;
	}
	return vb_metrics_healthy(120000 + 2 * (int64_t) conf->max_retry_backoff_ms, why, size);
}

/*
 * main_ready (VbHttpHooks.ready)
 *	  Ready: not stopping, database connected, consumer group joined.
 */
static bool
main_ready(void *arg, char *why, size_t size)
{
	(void) arg;
	if (vb_stopping())
	{
		snprintf(why, size, "shutting down");
		return false;
	}
	return vb_metrics_ready(why, size);
}

/*
 * main_metrics (VbHttpHooks.metrics)
 */
static char *
main_metrics(void *arg, size_t *len)
{
	(void) arg;
	return vb_metrics_render(len);
}

/*
 * main
 *	  Start-up, the main loop, shutdown; see the file header.
 */
int
main(int argc, char **argv)
{
	VbConfig	conf;
	VbError		err;
	VbLoop	   *loop = NULL;
	VbMock	   *mock = NULL;
	VbHttp	   *http = NULL;
	const char *brokers;
	int			status;
	const VbHttpHooks hooks = {&conf, main_healthy, main_ready, main_metrics};

	if (vb_config_load(&conf, argc, argv, &err) != VB_OK)
	{
		/* A JSON line like every other, so log shippers parse it. */
		vb_error("%s", err.message);
		vb_config_free(&conf);
		return VB_EXIT_CONFIG;
	}
	if (conf.exit_now)
	{
		vb_config_free(&conf);
		return VB_EXIT_OK;
	}
	vb_log_set_level(conf.log_level);
	{
		const char *const topics[VB_NKINDS] = {conf.read_topic, conf.email_topic,
		conf.dead_letter_topic};

		vb_metrics_init(conf.input_topic, topics);
	}
	vb_lifecycle_init(conf.shutdown_timeout_s);

	status = VB_EXIT_CONFIG;
	brokers = conf.brokers;
	loop = vb_loop_new(&conf);
	if (vb_config_check_props(&conf, &err) != VB_OK ||
		vb_loop_connect(loop, &err) != VB_OK)
		goto fail;
	if (conf.embedded_kafka)
	{
		const char *const topics[4] = {conf.input_topic, conf.read_topic,
		conf.email_topic, conf.dead_letter_topic};

		if (vb_mock_start(topics, &mock, &brokers, &err) != VB_OK)
			goto fail;
	}
	if (vb_loop_open(loop, brokers, &err) != VB_OK ||
		vb_http_start(conf.http_addr, conf.http_port, &hooks, &http, &err) != VB_OK)
		goto fail;
	vb_info("voltpay-bridge %s started (librdkafka %s, libpq %d): group %s, %s -> %s, %s, %s",
			VB_VERSION, rd_kafka_version_str(), PQlibVersion(), conf.group,
			conf.input_topic, conf.read_topic, conf.email_topic, conf.dead_letter_topic);
	if (conf.embedded_kafka)
	{
		printf("bootstrap.servers=%s\n", brokers);
		fflush(stdout);
	}

	status = vb_loop_run(loop);
	if (status == VB_EXIT_FATAL && vb_fatal_status() != VB_EXIT_OK)
		status = vb_fatal_status();
	goto out;

fail:
	/* A refused TLS handshake or login is not a configuration typo. */
	if (strcmp(err.sqlstate, "08001") == 0 && vb_secure_pg_exit(err.message))
		status = vb_secure_pg_exit(err.message);
	vb_error("voltpay-bridge: %s%s",
			 status == VB_EXIT_TLS ? "the database's certificate could not be verified: " :
			 status == VB_EXIT_AUTH ? "the database refused the bridge: " : "", err.message);
out:
	vb_loop_close(loop);
	vb_http_stop(http);
	vb_mock_stop(mock);
	vb_lifecycle_end();
	if (status == VB_EXIT_OK || status == VB_EXIT_FATAL || vb_is_fatal())
		vb_info("voltpay-bridge stopped (exit status %d)", status);
	/* Kafka refused TLS or the credentials: the cause as the last line. */
	if (vb_is_fatal() && (status == VB_EXIT_TLS || status == VB_EXIT_AUTH))
		fprintf(stderr, "voltpay-bridge: %s: %s\n",
				status == VB_EXIT_TLS ? "TLS with Kafka failed" :
				"Kafka refused the bridge's credentials", vb_fatal_reason());
	vb_metrics_free();
	vb_config_free(&conf);
	return status;
}
