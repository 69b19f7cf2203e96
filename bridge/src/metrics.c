/*-------------------------------------------------------------------------
 *
 * metrics.c
 *	  The bridge's counters, gauges and histograms, and their rendering in
 *	  the Prometheus text exposition format (version 0.0.4).
 *
 * The main thread updates, the HTTP thread renders; one mutex guards all.
 * Updates are per batch or per publish cycle, never per message, so the
 * lock is cheap.
 *
 *-------------------------------------------------------------------------
 */
#include <dirent.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "metrics.h"
#include "util.h"

#define MET_PREFIX "voltpay_bridge_"

typedef struct MetHist
{
	const char *name;
	const char *help;
	const double *bounds;
	int			nbounds;
	uint64_t	counts[32];		/* per bucket, not cumulative; last = +Inf */
	double		sum;
	uint64_t	count;
} MetHist;

static const double met_batch_bounds[] = {1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000};
static const double met_apply_bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
static const double met_e2e_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};

#define MET_NB(a) ((int) (sizeof(a) / sizeof((a)[0])))

static pthread_mutex_t met_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t met_counters[VB_C__N];
static uint64_t met_errors[VB_E__N];
static uint64_t met_retries[VB_R__N];
static uint64_t met_published[VB_NKINDS];
static MetHist met_batch = {"batch_size", "Messages per applied batch.", met_batch_bounds, MET_NB(met_batch_bounds), {0}, 0, 0};
static MetHist met_apply = {"apply_duration_seconds", "Time to apply and commit one batch, retries and isolation included.", met_apply_bounds, MET_NB(met_apply_bounds), {0}, 0, 0};
static MetHist met_e2e = {"end_to_end_latency_seconds", "From the input record's Kafka timestamp to the delivery report of its event.", met_e2e_bounds, MET_NB(met_e2e_bounds), {0}, 0, 0};
static double met_conn_secs[VB_METRIC_MAX_CONNECTIONS][2];	/* busy, waiting */
static int	met_nconn;			/* connections that reported a round */
static int64_t met_backlog = -1;
static int	met_parked;
static int32_t *met_lag_parts;
static int64_t *met_lag_vals;
static int	met_nlag;
static bool met_db_connected;
static bool met_joined;
static int	met_assigned;
static int64_t met_last_tick_ms;
static int64_t met_start_us;

static const char *const met_counter_info[VB_C__N][2] = {
	{"messages_consumed_total", "Messages read from the input topic."},
	{"messages_applied_total", "Messages applied as new payments."},
	{"messages_duplicate_total", "Messages the database had already applied (idempotency or position)."},
	{"messages_rejected_total", "Messages rejected by validation and quarantined by apply_payment_batch()."},
	{"messages_quarantined_total", "Messages whose apply raised an error, quarantined by the bridge."},
	{"batches_total", "Batches applied and committed."},
	{"offset_commits_total", "Offset commits sent to Kafka."},
	{"dead_letter_values_omitted_total", "Dead letters sent without their raw value, too large for the topic (it stays in voltpay.rejected_messages)."},
	{"spans_exported_total", "Spans of sampled payments the tracing backend took (--zipkin-url)."},
	{"spans_dropped_total", "Spans dropped: the export queue was full or a post failed (backend slow or down)."},
};

static const char *const met_error_names[VB_E__N] = {
	"db_transient", "db_poison", "db_fatal", "db_connect", "produce", "produce_permanent", "outbox",
	"kafka", "commit"
};

static const char *const met_retry_names[VB_R__N] = {"db", "publish"};

/* Names for the labels, copied at start. */
static char *met_input_topic;
static char *met_topics[VB_NKINDS];

/*
 * vb_metrics_init
 *	  Records the start time and the topic names of the labels.
 */
void
vb_metrics_init(const char *input_topic, const char *const topics[VB_NKINDS])
{
	met_input_topic = vb_xstrdup(input_topic);
	for (int k = 0; k < VB_NKINDS; k++)
		met_topics[k] = vb_xstrdup(topics[k]);
	met_start_us = vb_wall_us();
	met_last_tick_ms = vb_now_ms();
}

/*
 * vb_metrics_free
 *	  Frees the per-partition lag gauges and the topic names.
 */
void
vb_metrics_free(void)
{
	pthread_mutex_lock(&met_lock);
	free(met_lag_parts);
	free(met_lag_vals);
	met_lag_parts = NULL;
	met_lag_vals = NULL;
	met_nlag = 0;
	free(met_input_topic);
	met_input_topic = NULL;
	for (int k = 0; k < VB_NKINDS; k++)
	{
		free(met_topics[k]);
		met_topics[k] = NULL;
	}
	pthread_mutex_unlock(&met_lock);
}

/*
 * vb_metric_add
 *	  Adds n to a counter.
 */
void
vb_metric_add(VbCounter c, uint64_t n)
{
	pthread_mutex_lock(&met_lock);
	met_counters[c] += n;
	pthread_mutex_unlock(&met_lock);
}

/*
 * vb_metric_error
 *	  Counts one error of a kind.
 */
void
vb_metric_error(VbErrKind k)
{
	pthread_mutex_lock(&met_lock);
	met_errors[k]++;
	pthread_mutex_unlock(&met_lock);
}

/*
 * vb_metric_retry
 *	  Counts one retry of a kind.
 */
void
vb_metric_retry(VbRetryKind k)
{
	pthread_mutex_lock(&met_lock);
	met_retries[k]++;
	pthread_mutex_unlock(&met_lock);
}

/*
 * vb_metric_published
 *	  Counts n events delivered and acknowledged to the topic of a kind.
 */
void
vb_metric_published(int kind, uint64_t n)
{
	if (kind < 0 || kind >= VB_NKINDS)
		return;
	pthread_mutex_lock(&met_lock);
	met_published[kind] += n;
	pthread_mutex_unlock(&met_lock);
}

/*
 * vb_metric_connection_round
 *	  One round of parallel apply on connection conn: the seconds it spent
 *	  on its slice, and those it then waited for the other connections.
 */
void
vb_metric_connection_round(int conn, double busy_s, double waiting_s)
{
	if (conn < 0 || conn >= VB_METRIC_MAX_CONNECTIONS)
		return;
	pthread_mutex_lock(&met_lock);
	met_conn_secs[conn][0] += busy_s;
	met_conn_secs[conn][1] += waiting_s;
	if (conn >= met_nconn)
		met_nconn = conn + 1;
	pthread_mutex_unlock(&met_lock);
}

/*
 * met_observe
 *	  Adds one observation to a histogram; caller holds the lock.
 */
static void
met_observe(MetHist *h, double v)
{
	int			i;

	for (i = 0; i < h->nbounds; i++)
		if (v <= h->bounds[i])
			break;
	h->counts[i]++;
	h->sum += v;
	h->count++;
}

/*
 * vb_metric_batch
 *	  Observes one applied batch: its size and its apply duration.
 */
void
vb_metric_batch(int size, double apply_seconds)
{
	pthread_mutex_lock(&met_lock);
	met_observe(&met_batch, size);
	met_observe(&met_apply, apply_seconds);
	pthread_mutex_unlock(&met_lock);
}

/*
 * vb_metric_e2e
 *	  Observes one end-to-end latency.
 */
void
vb_metric_e2e(double seconds)
{
	if (seconds < 0)
		seconds = 0;
	pthread_mutex_lock(&met_lock);
	met_observe(&met_e2e, seconds);
	pthread_mutex_unlock(&met_lock);
}

/*
 * vb_metric_backlog
 *	  Sets the outbox backlog gauge (negative: unknown, the sample is left
 *	  out).
 */
void
vb_metric_backlog(int64_t events)
{
	pthread_mutex_lock(&met_lock);
	met_backlog = events;
	pthread_mutex_unlock(&met_lock);
}

/*
 * vb_metric_parked
 *	  Sets the gauge of outbox events parked after a permanent producer
 *	  error, with those waiting behind them.
 */
void
vb_metric_parked(int events)
{
	pthread_mutex_lock(&met_lock);
	met_parked = events;
	pthread_mutex_unlock(&met_lock);
}

/*
 * vb_metric_set_lag
 *	  Replaces the per-partition lag gauges (n partitions).
 */
void
vb_metric_set_lag(const int32_t *partitions, const int64_t *lags, int n)
{
	pthread_mutex_lock(&met_lock);
	free(met_lag_parts);
	free(met_lag_vals);
	met_lag_parts = NULL;
	met_lag_vals = NULL;
	met_nlag = 0;
	if (n > 0)
	{
		met_lag_parts = vb_xmalloc(sizeof(int32_t) * (size_t) n);
		met_lag_vals = vb_xmalloc(sizeof(int64_t) * (size_t) n);
		memcpy(met_lag_parts, partitions, sizeof(int32_t) * n);
		memcpy(met_lag_vals, lags, sizeof(int64_t) * n);
		met_nlag = n;
	}
	pthread_mutex_unlock(&met_lock);
}

/*
 * vb_metric_ready
 *	  Sets the readiness gauges.
 */
void
vb_metric_ready(bool db_connected, bool group_joined, int assigned)
{
	pthread_mutex_lock(&met_lock);
	met_db_connected = db_connected;
	met_joined = group_joined;
	met_assigned = assigned;
	pthread_mutex_unlock(&met_lock);
}

/*
 * vb_metric_tick
 *	  The main loop is alive (for /healthz).
 */
void
vb_metric_tick(void)
{
	int64_t		now = vb_now_ms();

	pthread_mutex_lock(&met_lock);
	met_last_tick_ms = now;
	pthread_mutex_unlock(&met_lock);
}

/*
 * vb_metrics_healthy
 *	  Liveness: the main loop ticked within limit ms (it ticks at least
 *	  every poll, including while retrying).
 */
bool
vb_metrics_healthy(int64_t limit, char *why, size_t size)
{
	int64_t		age;

	pthread_mutex_lock(&met_lock);
	age = vb_now_ms() - met_last_tick_ms;
	pthread_mutex_unlock(&met_lock);
	if (age > limit)
	{
		snprintf(why, size, "main loop stuck for %" PRId64 " ms", age);
		return false;
	}
	snprintf(why, size, "ok");
	return true;
}

/*
 * vb_metrics_ready
 *	  Readiness as far as the metrics know: database connected, consumer
 *	  group joined (the caller adds "not stopping").
 */
bool
vb_metrics_ready(char *why, size_t size)
{
	bool		db,
				joined;

	pthread_mutex_lock(&met_lock);
	db = met_db_connected;
	joined = met_joined;
	pthread_mutex_unlock(&met_lock);
	if (!db)
		snprintf(why, size, "database not connected");
	else if (!joined)
		snprintf(why, size, "consumer group not joined");
	else
	{
		snprintf(why, size, "ok");
		return true;
	}
	return false;
}

/* A growable output buffer. */
typedef struct MetOut
{
	char	   *buf;
	size_t		len;
	size_t		cap;
} MetOut;

static void
met_printf(MetOut *o, const char *fmt,...)
	__attribute__((format(printf, 2, 3)));

static void
met_printf(MetOut *o, const char *fmt,...)
{
	va_list		ap;
	int			n;

	for (;;)
	{
		va_start(ap, fmt);
		n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t) n < o->cap - o->len)
		{
			o->len += (size_t) n;
			return;
		}
		o->cap = o->cap * 2 + (size_t) n + 1;
		o->buf = vb_xrealloc(o->buf, o->cap);
	}
}

/*
 * met_header
 *	  The HELP and TYPE lines of a metric.
 */
static void
met_header(MetOut *o, const char *name, const char *type, const char *help)
{
	met_printf(o, "# HELP " MET_PREFIX "%s %s\n# TYPE " MET_PREFIX "%s %s\n",
			   name, help, name, type);
}

/*
 * met_hist
 *	  A histogram: cumulative buckets, sum and count.
 */
static void
met_hist(MetOut *o, const MetHist *h)
{
	uint64_t	cum = 0;

	met_header(o, h->name, "histogram", h->help);
	for (int i = 0; i < h->nbounds; i++)
	{
		cum += h->counts[i];
		met_printf(o, MET_PREFIX "%s_bucket{le=\"%g\"} %" PRIu64 "\n", h->name, h->bounds[i], cum);
	}
	cum += h->counts[h->nbounds];
	met_printf(o, MET_PREFIX "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", h->name, cum);
	met_printf(o, MET_PREFIX "%s_sum %.6f\n", h->name, h->sum);
	met_printf(o, MET_PREFIX "%s_count %" PRIu64 "\n", h->name, h->count);
}

/*
 * met_process
 *	  The standard process_* metrics of Prometheus client libraries, from
 *	  /proc/self: CPU seconds, resident and virtual memory, open and
 *	  allowed file descriptors.  Left out when /proc cannot be read.
 */
static void
met_process(MetOut *o)
{
	FILE	   *f = fopen("/proc/self/stat", "r");
	char		buf[1024];
	size_t		n = 0;
	unsigned long utime,
				stime,
				vsize;
	long		rss;
	char	   *p;
	DIR		   *d;
	struct rlimit rl;

	if (f)
	{
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	/* Fields after the command name, which may hold spaces: from ')'. */
	p = strrchr(buf, ')');
	if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu "
					"%*d %*d %*d %*d %*d %*d %*u %lu %ld", &utime, &stime, &vsize, &rss) == 4)
	{
		long		tick = sysconf(_SC_CLK_TCK);
		long		page = sysconf(_SC_PAGESIZE);

		met_printf(o, "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n"
				   "# TYPE process_cpu_seconds_total counter\n"
				   "process_cpu_seconds_total %.2f\n", (double) (utime + stime) / (double) tick);
		met_printf(o, "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
				   "# TYPE process_resident_memory_bytes gauge\n"
				   "process_resident_memory_bytes %ld\n", rss * page);
		met_printf(o, "# HELP process_virtual_memory_bytes Virtual memory size in bytes.\n"
				   "# TYPE process_virtual_memory_bytes gauge\n"
				   "process_virtual_memory_bytes %lu\n", vsize);
	}
	met_printf(o, "# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.\n"
			   "# TYPE process_start_time_seconds gauge\n"
			   "process_start_time_seconds %.3f\n", met_start_us / 1e6);
	if ((d = opendir("/proc/self/fd")) != NULL)
	{
		int			fds = 0;
		struct dirent *e;

		while ((e = readdir(d)) != NULL)
			fds += e->d_name[0] != '.';
		closedir(d);
		met_printf(o, "# HELP process_open_fds Number of open file descriptors.\n"
				   "# TYPE process_open_fds gauge\n"
				   "process_open_fds %d\n", fds - 1);	/* less the one reading */
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		met_printf(o, "# HELP process_max_fds Maximum number of open file descriptors.\n"
				   "# TYPE process_max_fds gauge\n"
				   "process_max_fds %llu\n", (unsigned long long) rl.rlim_cur);
}

/*
 * vb_metrics_render
 *	  Every metric in the text format; malloc'd, caller frees.
 */
char *
vb_metrics_render(size_t *len)
{
	MetOut		o = {vb_xmalloc(8192), 0, 8192};

	pthread_mutex_lock(&met_lock);
	met_header(&o, "build_info", "gauge", "Version of the bridge and of librdkafka.");
	met_printf(&o, MET_PREFIX "build_info{version=\"%s\",librdkafka=\"%s\"} 1\n",
			   VB_VERSION, rd_kafka_version_str());

	for (int i = 0; i < VB_C__N; i++)
	{
		met_header(&o, met_counter_info[i][0], "counter", met_counter_info[i][1]);
		met_printf(&o, MET_PREFIX "%s %" PRIu64 "\n", met_counter_info[i][0], met_counters[i]);
	}

	met_header(&o, "events_published_total", "counter",
			   "Outbox events delivered (acks=all) per destination topic.");
	for (int k = 0; k < VB_NKINDS; k++)
		met_printf(&o, MET_PREFIX "events_published_total{topic=\"%s\",kind=\"%s\"} %" PRIu64 "\n",
				   met_topics[k], vb_event_kind_name(k), met_published[k]);

	met_header(&o, "retries_total", "counter",
			   "Retries after transient failures: db (apply, quarantine, positions) and publish.");
	for (int k = 0; k < VB_R__N; k++)
		met_printf(&o, MET_PREFIX "retries_total{kind=\"%s\"} %" PRIu64 "\n",
				   met_retry_names[k], met_retries[k]);

	met_header(&o, "errors_total", "counter", "Errors by kind.");
	for (int k = 0; k < VB_E__N; k++)
		met_printf(&o, MET_PREFIX "errors_total{kind=\"%s\"} %" PRIu64 "\n",
				   met_error_names[k], met_errors[k]);

	met_header(&o, "apply_connection_seconds_total", "counter",
			   "With --db-connections above 1, per apply connection: seconds spent on its slice of each round (busy) and waiting for the other connections to finish theirs (waiting).");
	for (int i = 0; i < met_nconn; i++)
		met_printf(&o, MET_PREFIX "apply_connection_seconds_total{connection=\"%d\",state=\"busy\"} %.6f\n"
				   MET_PREFIX "apply_connection_seconds_total{connection=\"%d\",state=\"waiting\"} %.6f\n",
				   i, met_conn_secs[i][0], i, met_conn_secs[i][1]);

	met_hist(&o, &met_batch);
	met_hist(&o, &met_apply);
	met_hist(&o, &met_e2e);

	met_header(&o, "consumer_lag", "gauge",
			   "Per assigned partition: high watermark (cached from fetches) minus the next offset to apply.");
	for (int i = 0; i < met_nlag; i++)
		met_printf(&o, MET_PREFIX "consumer_lag{topic=\"%s\",partition=\"%d\"} %" PRId64 "\n",
				   met_input_topic, met_lag_parts[i], met_lag_vals[i]);

	met_header(&o, "outbox_backlog", "gauge",
			   "Outbox events of the assigned partitions still to publish (counted up to 100000).");
	if (met_backlog >= 0)		/* unknown: no sample */
		met_printf(&o, MET_PREFIX "outbox_backlog %" PRId64 "\n", met_backlog);

	met_header(&o, "outbox_parked_events", "gauge",
			   "Outbox events parked after a permanent producer error (retried alone with a backoff), and the events of their topic and key waiting behind them.");
	met_printf(&o, MET_PREFIX "outbox_parked_events %d\n", met_parked);

	met_header(&o, "database_connected", "gauge", "1 when the database connection is up.");
	met_printf(&o, MET_PREFIX "database_connected %d\n", met_db_connected ? 1 : 0);
	met_header(&o, "group_joined", "gauge", "1 when the consumer group is joined.");
	met_printf(&o, MET_PREFIX "group_joined %d\n", met_joined ? 1 : 0);
	met_header(&o, "assigned_partitions", "gauge", "Input partitions assigned to this bridge.");
	met_printf(&o, MET_PREFIX "assigned_partitions %d\n", met_assigned);
	pthread_mutex_unlock(&met_lock);
	met_process(&o);

	*len = o.len;
	return o.buf;
}
