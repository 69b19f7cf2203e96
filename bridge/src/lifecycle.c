/*-------------------------------------------------------------------------
 *
 * lifecycle.c
 *	  Layer 1: how the bridge stops.
 *
 * SIGINT/SIGTERM clear the run flag; a fatal error (vb_set_fatal(), from
 * any thread) sets the fatal flag.  Either makes vb_stopping() true; the
 * main loop then calls vb_drain_begin(), which starts the drain budget:
 * --shutdown-timeout less a quarter of it (at most 5 s) kept for closing.
 * A watchdog thread ends the process with exit 1 if the whole timeout is
 * missed; a second signal shortens the drain to what is already under
 * way (the deadline becomes the moment the drain began).
 *
 * The flags are the only state here, read through the functions below;
 * the signal handler touches nothing but two volatile sig_atomic_t.
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lifecycle.h"
#include "log.h"
#include "metrics.h"
#include "secure.h"
#include "util.h"

static volatile sig_atomic_t lc_run = 1;
static volatile sig_atomic_t lc_signals = 0;
static atomic_int lc_fatal;
static atomic_int lc_fatal_status;	/* exit status of the fatal error */
static char lc_fatal_why[768];	/* its reason, written once by the winner */

static int	lc_timeout_s;
static int64_t lc_stop_ms;		/* when the drain began; 0: not yet */
static int64_t lc_deadline_ms;	/* end of the drain budget */

static pthread_t lc_watchdog;
static bool lc_watchdog_started;
static pthread_mutex_t lc_wd_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t lc_wd_cond;
static bool lc_wd_done;
static int64_t lc_wd_ms;

/*
 * lc_on_signal
 *	  SIGINT/SIGTERM handler: asks the main loop to stop.
 */
static void
lc_on_signal(int sig)
{
	(void) sig;
	lc_signals++;
	lc_run = 0;
}

/*
 * vb_lifecycle_init
 *	  SIGINT/SIGTERM stop the bridge; SIGPIPE is ignored, and so is SIGHUP:
 *	  nothing is reloaded (Kafka credentials and certificates are read at
 *	  start, libpq reads PGPASSFILE and its certificates at each
 *	  connection; docs/security.md), and a terminal hang-up or a stray
 *	  "reload" must not kill the bridge without its drain.
 */
void
vb_lifecycle_init(int shutdown_timeout_s)
{
	struct sigaction sa;

	lc_timeout_s = shutdown_timeout_s;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = lc_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

/*
 * vb_stopping
 *	  SIGINT/SIGTERM came or a fatal error happened: the drain is due.
 */
bool
vb_stopping(void)
{
	return !lc_run || atomic_load(&lc_fatal);
}

/*
 * vb_is_fatal
 *	  A fatal error happened: the exit status will be 1.
 */
bool
vb_is_fatal(void)
{
	return atomic_load(&lc_fatal) != 0;
}

/*
 * vb_set_fatal
 *	  A fatal error: the bridge drains and exits 1 (a supervisor restarts
 *	  it).  Logged once however often it is called; callable from
 *	  librdkafka's threads.
 */
void
vb_set_fatal(const char *why)
{
	vb_set_fatal_status(VB_EXIT_FATAL, why);
}

/*
 * vb_set_fatal_status
 *	  vb_set_fatal() with the exit status to end with (VB_EXIT_TLS,
 *	  VB_EXIT_AUTH); the first fatal error's status counts.
 */
void
vb_set_fatal_status(int status, const char *why)
{
	if (atomic_exchange(&lc_fatal, 1) == 0)
	{
		snprintf(lc_fatal_why, sizeof(lc_fatal_why), "%s", why);
		atomic_store(&lc_fatal_status, status);
		vb_error("fatal: %s; draining, then exiting with status %d", why, status);
	}
}

/*
 * vb_fatal_reason
 *	  Why the bridge stops on a fatal error ("" when it does not); read
 *	  once the loop ended.
 */
const char *
vb_fatal_reason(void)
{
	return atomic_load(&lc_fatal_status) ? lc_fatal_why : "";
}

/*
 * vb_fatal_status
 *	  The exit status of the fatal error (VB_EXIT_FATAL unless it was a
 *	  TLS or authentication failure); VB_EXIT_OK when there was none.
 */
int
vb_fatal_status(void)
{
	return atomic_load(&lc_fatal) ? atomic_load(&lc_fatal_status) : VB_EXIT_OK;
}

/*
 * vb_kafka_error
 *	  The error callback of a librdkafka client (who: "producer" or
 *	  "consumer"): its errors are informational (it retries) and counted,
 *	  except RD_KAFKA_RESP_ERR__FATAL (for the idempotent producer: it can
 *	  no longer guarantee order or no duplicates), which is fatal, and a
 *	  SASL authentication failure or a broker certificate that could not
 *	  be verified (vb_secure_kafka_exit()), fatal with exit status 4 or 3:
 *	  retrying cannot fix them.  Runs on librdkafka's threads.
 */
void
vb_kafka_error(rd_kafka_t *rk, int err, const char *reason, const char *who)
{
	int			status;

	if (err == RD_KAFKA_RESP_ERR__FATAL)
	{
		char		buf[512];
		rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, buf, sizeof(buf));
		char		why[700];

		snprintf(why, sizeof(why), "%s: %s: %s", who, rd_kafka_err2name(orig), buf);
		vb_set_fatal(why);
		return;
	}
	if ((status = vb_secure_kafka_exit(err, reason)) != 0)
	{
		char		why[700];

		vb_metric_error(VB_E_KAFKA);
		snprintf(why, sizeof(why), "%s: %s: %s", who, rd_kafka_err2name((rd_kafka_resp_err_t) err),
				 reason);
		vb_set_fatal_status(status, why);
		return;
	}
	vb_metric_error(VB_E_KAFKA);
	vb_log(err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ? VB_LOG_ERROR : VB_LOG_WARN, NULL,
		   "%s: %s: %s", who, rd_kafka_err2name((rd_kafka_resp_err_t) err), reason);
}

/*
 * lc_watchdog_run
 *	  Exits the process if the drain outlives --shutdown-timeout.
 */
static void *
lc_watchdog_run(void *arg)
{
	struct timespec until;
	int64_t		ms = *(int64_t *) arg;
	bool		expired = false;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000)
		until.tv_sec++, until.tv_nsec -= 1000000000;
	pthread_mutex_lock(&lc_wd_lock);
	while (!lc_wd_done && !expired)
		expired = pthread_cond_timedwait(&lc_wd_cond, &lc_wd_lock, &until) == ETIMEDOUT;
	pthread_mutex_unlock(&lc_wd_lock);
	if (expired && !lc_wd_done)
	{
		vb_error("shutdown took longer than %d s: exiting now", lc_timeout_s);
		_exit(VB_EXIT_FATAL);
	}
	return NULL;
}

/*
 * vb_drain_begin
 *	  Starts the drain budget and its watchdog; does nothing if the drain
 *	  has begun already.  The main loop calls it once it sees
 *	  vb_stopping().
 */
void
vb_drain_begin(void)
{
	int64_t		total = (int64_t) lc_timeout_s * 1000;
	int64_t		reserve = total / 4 < 5000 ? total / 4 : 5000;
	pthread_condattr_t attr;

	if (lc_stop_ms != 0)
		return;
	lc_stop_ms = vb_now_ms();
	lc_deadline_ms = lc_stop_ms + total - reserve;
	lc_wd_ms = total;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&lc_wd_cond, &attr);
	pthread_condattr_destroy(&attr);
	lc_watchdog_started =
		pthread_create(&lc_watchdog, NULL, lc_watchdog_run, &lc_wd_ms) == 0;
	if (!lc_watchdog_started)
		vb_warn("cannot start the shutdown watchdog: the drain has no hard limit");
}

/*
 * vb_draining
 *	  Whether vb_drain_begin() was called.
 */
bool
vb_draining(void)
{
	return lc_stop_ms != 0;
}

/*
 * vb_drain_deadline_ms
 *	  Before the drain: far away.  During it: the end of its budget, or
 *	  the moment it began after a second signal.
 */
int64_t
vb_drain_deadline_ms(void)
{
	if (lc_stop_ms == 0)
		return INT64_MAX;
	if (lc_signals >= 2)
		return lc_stop_ms;
	return lc_deadline_ms;
}

/*
 * vb_past_deadline
 *	  The drain has used its budget: abandon what is in hand.
 */
bool
vb_past_deadline(void)
{
	return lc_stop_ms != 0 && vb_now_ms() >= vb_drain_deadline_ms();
}

/*
 * vb_lifecycle_end
 *	  Stops the watchdog (everything closed in time).
 */
void
vb_lifecycle_end(void)
{
	if (!lc_watchdog_started)
		return;
	pthread_mutex_lock(&lc_wd_lock);
	lc_wd_done = true;
	pthread_cond_signal(&lc_wd_cond);
	pthread_mutex_unlock(&lc_wd_lock);
	pthread_join(lc_watchdog, NULL);
	pthread_cond_destroy(&lc_wd_cond);
	lc_watchdog_started = false;
}
