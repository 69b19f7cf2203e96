/*
 * test_metrics.c
 *	  The /metrics rendering (metrics.c) as Prometheus expects it: every
 *	  family with HELP and TYPE, no sentinel for an unknown value, no
 *	  duplicate of the process_* metrics, and `promtool check metrics`
 *	  clean when promtool is installed.
 */
#include <stdlib.h>
#include <unistd.h>

#include "metrics.h"
#include "unit.h"

static int
count(const char *hay, const char *needle)
{
	int			n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

static char *
render(void)
{
	size_t		len;
	char	   *s = vb_metrics_render(&len);

	ok(strlen(s) == len, "rendered length is the text's length");
	return s;
}

int
main(void)
{
	const char *const topics[VB_NKINDS] = {"payment_read_topic", "payment_email", "payment_writer_dlq"};
	int32_t		parts[2] = {3, 7};
	int64_t		lags[2] = {12, 0};
	char	   *s;

	vb_metrics_init("payment_writer_topic", topics);
	s = render();
	ok(strstr(s, "# TYPE voltpay_bridge_outbox_backlog gauge") != NULL &&
	   strstr(s, "\nvoltpay_bridge_outbox_backlog ") == NULL,
	   "an unknown outbox backlog has no sample (no -1 sentinel)");
	is_int(count(s, "\nprocess_start_time_seconds "), 1, "process_start_time_seconds once");
	is_int(count(s, "start_time_seconds"), 3, "and no other start time (HELP, TYPE, sample)");
	ok(strstr(s, "# TYPE voltpay_bridge_apply_connection_seconds_total counter") != NULL &&
	   strstr(s, "\nvoltpay_bridge_apply_connection_seconds_total{") == NULL,
	   "no connection seconds before a round of parallel apply");
	free(s);

	vb_metric_backlog(42);
	vb_metric_add(VB_C_APPLIED, 5);
	vb_metric_published(VB_KIND_EMAIL, 2);
	vb_metric_batch(500, 0.012);
	vb_metric_e2e(0.3);
	vb_metric_set_lag(parts, lags, 2);
	vb_metric_connection_round(1, 0.5, 0.25);
	vb_metric_connection_round(1, 0.25, 0.125);
	vb_metric_connection_round(VB_METRIC_MAX_CONNECTIONS, 9, 9);
	vb_metric_connection_round(-1, 9, 9);
	s = render();
	ok(strstr(s, "\nvoltpay_bridge_outbox_backlog 42\n") != NULL, "a known backlog is a sample");
	ok(strstr(s, "\nvoltpay_bridge_messages_applied_total 5\n") != NULL, "counter");
	ok(strstr(s, "voltpay_bridge_events_published_total{topic=\"payment_email\",kind=\"email\"} 2\n") != NULL,
	   "published per topic and kind");
	ok(strstr(s, "voltpay_bridge_consumer_lag{topic=\"payment_writer_topic\",partition=\"3\"} 12\n") != NULL,
	   "lag per partition");
	ok(strstr(s, "voltpay_bridge_batch_size_bucket{le=\"500\"} 1\n") != NULL &&
	   strstr(s, "voltpay_bridge_batch_size_bucket{le=\"+Inf\"} 1\n") != NULL, "histogram buckets cumulative");
	ok(strstr(s, "apply_connection_seconds_total{connection=\"1\",state=\"busy\"} 0.750000\n") != NULL &&
	   strstr(s, "apply_connection_seconds_total{connection=\"1\",state=\"waiting\"} 0.375000\n") != NULL,
	   "connection seconds summed over rounds, busy and waiting");
	ok(strstr(s, "apply_connection_seconds_total{connection=\"0\",state=\"busy\"} 0.000000\n") != NULL,
	   "the connections below the highest one that reported are rendered too");
	is_int(count(s, "\nvoltpay_bridge_apply_connection_seconds_total{"), 4,
		   "a connection out of range is ignored");
	if (system("command -v promtool >/dev/null 2>&1") == 0)
	{
		char		path[] = "/tmp/vb-unit-metrics.XXXXXX";
		int			fd = mkstemp(path);
		char		cmd[128];

		if (fd >= 0 && write(fd, s, strlen(s)) == (ssize_t) strlen(s))
		{
			close(fd);
			snprintf(cmd, sizeof(cmd), "promtool check metrics < %s", path);
			is_int(system(cmd), 0, "promtool check metrics: no problems");
		}
		else
			ok(0, "cannot write the rendering for promtool");
		unlink(path);
	}
	else
		printf("ok %d # skip promtool is not installed\n", ++unit_n);
	free(s);
	vb_metrics_free();
	return unit_done();
}
