/*-------------------------------------------------------------------------
 *
 * main.c
 *	  voltpay-bridge: start-up, signals, the shutdown deadline, exit codes.
 *
 * Start-up order: options; librdkafka properties checked; database
 * connected (search_path empty, SET ROLE, statements prepared); embedded
 * mock cluster if asked; producer; consumer; HTTP.  Any failure up to
 * there is a configuration error: one line on stderr, exit 2.
 *
 * SIGINT/SIGTERM (or a fatal error) starts the drain: the main loop stops
 * fetching, finishes the batch, publishes, commits and closes, within
 * --shutdown-timeout (a quarter of it, at most 5 s, kept for closing).  A
 * watchdog ends the process with exit 1 if that deadline is missed; a
 * second signal shortens the drain to what is already under way.
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "bridge.h"

volatile sig_atomic_t run = 1;
static volatile sig_atomic_t main_signals = 0;
atomic_int	vb_fatal;

static int64_t main_stop_ms;	/* when the drain began; 0: running */
static int64_t main_deadline_ms;	/* end of the drain budget */
static unsigned int main_seed;

static pthread_t main_watchdog;
static bool main_watchdog_started;
static pthread_mutex_t main_wd_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t main_wd_cond;
static bool main_wd_done;

/*
 * main_stop
 *	  SIGINT/SIGTERM handler: asks the main loop to stop.
 */
static void
main_stop(int sig)
{
	(void) sig;
	main_signals++;
	run = 0;
}

/*
 * vb_now_ms
 *	  Monotonic milliseconds, for timeouts and durations.
 */
int64_t
vb_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * vb_wall_us
 *	  Wall-clock microseconds since the Unix epoch.
 */
int64_t
vb_wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * vb_set_fatal
 *	  A fatal error: the bridge drains and exits 1 (a supervisor restarts
 *	  it).  Callable from librdkafka's threads.
 */
void
vb_set_fatal(const char *why)
{
	if (atomic_exchange(&vb_fatal, 1) == 0)
		vb_error("fatal: %s; draining, then exiting with status 1", why);
}

/*
 * vb_stopping
 *	  SIGINT/SIGTERM came or a fatal error happened: the drain is on.
 */
bool
vb_stopping(void)
{
	return !run || atomic_load(&vb_fatal);
}

/*
 * main_watchdog_run
 *	  Exits the process if the drain outlives --shutdown-timeout.
 */
static void *
main_watchdog_run(void *arg)
{
	struct timespec until;
	int64_t		ms = *(int64_t *) arg;
	bool		expired = false;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000)
		until.tv_sec++, until.tv_nsec -= 1000000000;
	pthread_mutex_lock(&main_wd_lock);
	while (!main_wd_done && !expired)
		expired = pthread_cond_timedwait(&main_wd_cond, &main_wd_lock, &until) == ETIMEDOUT;
	pthread_mutex_unlock(&main_wd_lock);
	if (expired && !main_wd_done)
	{
		vb_error("shutdown took longer than %d s: exiting now", vb_conf.shutdown_timeout_s);
		_exit(VB_EXIT_FATAL);
	}
	return NULL;
}

/*
 * vb_drain_deadline_ms
 *	  While running: far away.  Once stopping: the end of the drain budget
 *	  (started on the first call), or now after a second signal.
 */
int64_t
vb_drain_deadline_ms(void)
{
	static int64_t wd_ms;

	if (!vb_stopping())
		return INT64_MAX;
	if (main_stop_ms == 0)
	{
		int64_t		total = (int64_t) vb_conf.shutdown_timeout_s * 1000;
		int64_t		reserve = total / 4 < 5000 ? total / 4 : 5000;
		pthread_condattr_t attr;

		main_stop_ms = vb_now_ms();
		main_deadline_ms = main_stop_ms + total - reserve;
		wd_ms = total;
		pthread_condattr_init(&attr);
		pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
		pthread_cond_init(&main_wd_cond, &attr);
		pthread_condattr_destroy(&attr);
		main_watchdog_started =
			pthread_create(&main_watchdog, NULL, main_watchdog_run, &wd_ms) == 0;
	}
	if (main_signals >= 2)
		return main_stop_ms;
	return main_deadline_ms;
}

/*
 * vb_past_deadline
 *	  The drain has used its budget: abandon what is in hand.
 */
bool
vb_past_deadline(void)
{
	return vb_stopping() && vb_now_ms() >= vb_drain_deadline_ms();
}

/*
 * vb_backoff_ms
 *	  Exponential backoff with jitter: 100 ms doubling per attempt, capped
 *	  at --max-retry-backoff-ms, then a random point in its upper half.
 */
int
vb_backoff_ms(int attempt)
{
	int64_t		cap = 100;

	for (int i = 1; i < attempt && cap < vb_conf.max_retry_backoff_ms; i++)
		cap *= 2;
	if (cap > vb_conf.max_retry_backoff_ms)
		cap = vb_conf.max_retry_backoff_ms;
	return (int) (cap / 2 + rand_r(&main_seed) % (cap / 2 + 1));
}

/*
 * main_check_props
 *	  Every -X property must be known to librdkafka before anything
 *	  starts.
 */
static bool
main_check_props(char *errstr, size_t size)
{
	for (int t = VB_PROP_CONSUMER; t <= VB_PROP_PRODUCER; t++)
	{
		rd_kafka_conf_t *conf = rd_kafka_conf_new();
		int			rc = vb_config_apply_props(conf, (VbPropTarget) t, errstr, size);

		rd_kafka_conf_destroy(conf);
		if (rc != 0)
			return false;
	}
	return true;
}

/*
 * main_signals_setup
 *	  SIGINT/SIGTERM stop the bridge; SIGPIPE is ignored.
 */
static void
main_signals_setup(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = main_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/*
 * main
 *	  Start-up, the main loop (vb_consumer_run), shutdown; see the file
 *	  header.
 */
int
main(int argc, char **argv)
{
	char		errstr[1024];
	const char *brokers;
	VbDbError	dberr;
	int			status;

	status = vb_config_load(argc, argv);
	if (status >= 0)
	{
		vb_config_free();
		return status;
	}
	vb_log_set_level(vb_conf.log_level);
	main_seed = (unsigned int) (vb_wall_us() ^ (getpid() << 16));
	vb_metrics_init();
	main_signals_setup();

	status = VB_EXIT_CONFIG;
	if (!main_check_props(errstr, sizeof(errstr)))
	{
		fprintf(stderr, "voltpay-bridge: %s\n", errstr);
		goto out;
	}
	if (!vb_db_connect(&dberr))
	{
		fprintf(stderr, "voltpay-bridge: %s\n", dberr.message);
		goto out;
	}

	brokers = vb_conf.brokers;
	if (vb_conf.embedded_kafka)
	{
		brokers = vb_mock_start(errstr, sizeof(errstr));
		if (!brokers)
		{
			fprintf(stderr, "voltpay-bridge: %s\n", errstr);
			goto out;
		}
	}
	if (!vb_producer_new(brokers, errstr, sizeof(errstr)) ||
		!vb_consumer_new(brokers, errstr, sizeof(errstr)) ||
		!vb_http_start(errstr, sizeof(errstr)))
	{
		fprintf(stderr, "voltpay-bridge: %s\n", errstr);
		goto out;
	}
	vb_info("voltpay-bridge %s started (librdkafka %s, libpq %d): group %s, %s -> %s, %s, %s",
			VB_VERSION, rd_kafka_version_str(), PQlibVersion(), vb_conf.group,
			vb_conf.input_topic, vb_conf.read_topic, vb_conf.email_topic,
			vb_conf.dead_letter_topic);
	if (vb_conf.embedded_kafka)
	{
		printf("bootstrap.servers=%s\n", brokers);
		fflush(stdout);
	}

	status = vb_consumer_run();

out:
	vb_consumer_close();
	vb_producer_close();
	vb_http_stop();
	vb_db_shutdown();
	vb_mock_stop();
	if (main_watchdog_started)
	{
		pthread_mutex_lock(&main_wd_lock);
		main_wd_done = true;
		pthread_cond_signal(&main_wd_cond);
		pthread_mutex_unlock(&main_wd_lock);
		pthread_join(main_watchdog, NULL);
		pthread_cond_destroy(&main_wd_cond);
	}
	if (status != VB_EXIT_CONFIG)
		vb_info("voltpay-bridge stopped (exit status %d)", status);
	vb_metrics_free();
	vb_config_free();
	return status;
}
