/*-------------------------------------------------------------------------
 *
 * voltpay-topics.c
 *	  Creates the bridge's Kafka topics with the production settings, or
 *	  checks that they exist with them, through librdkafka's admin API.
 *
 *	  voltpay-topics --brokers LIST [--check | --delete | --wait-only]
 *					 [--input-topic T] [--read-topic T] [--email-topic T]
 *					 [--dead-letter-topic T] [--partitions N]
 *					 [--replication-factor N] [--retention-ms MS]
 *					 [--min-insync-replicas N] [--config KEY=VALUE]...
 *					 [--wait-brokers N] [--timeout SECONDS] [-X key=value]...
 *
 * The four topics (the input topic, the read and e-mail topics that carry
 * the outbox events, and the dead-letter topic) get, unless told
 * otherwise:
 *
 *	  100 partitions
 *	  replication factor 2, or 1 when the cluster has a single broker
 *	  retention.ms = 86400000 (1 day), cleanup.policy = delete
 *	  min.insync.replicas = 2 on the three downstream topics (the bridge
 *	  produces them with acks=all), 1 when the replication factor is 1
 *
 * A topic that is missing is created (CreateTopics).  A topic that exists
 * is compared with those settings: its partition count and replication
 * factor (from the metadata) and each configuration value set here (from
 * DescribeConfigs); any difference is reported on stderr, one line per
 * topic naming each setting with its actual and wanted value, and nothing
 * is changed.  --check creates nothing and reports missing topics too.
 * Then it waits until every partition of the four topics has a leader
 * that answers (ListOffsets), so that producers can start at once.
 *
 * --delete deletes the four topics (tests use it to free a broker between
 * scenarios) and waits until they are gone.  --wait-only touches no topic:
 * it waits until the cluster has --wait-brokers brokers and prints their
 * count (tests use it to know a cluster is up).
 *
 * Exit status: 0 when every topic exists with the wanted settings (after
 * creating the missing ones) or, with --delete, is gone; 1 when a topic
 * exists with other settings, is missing under --check, or on any error
 * (no broker answered, creation refused, timeout); 2 on bad usage.
 *
 *-------------------------------------------------------------------------
 */
#define _GNU_SOURCE

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "lib/cli.h"

#define VT_NTOPICS		4
#define VT_MAX_CONFIGS	32

/* One topic to create or check. */
typedef struct VtTopic
{
	const char *role;			/* input, read, email, dead-letter */
	const char *name;
	int			downstream;		/* written by the bridge */
	int			nconf;
	const char *conf_name[VT_MAX_CONFIGS];
	const char *conf_value[VT_MAX_CONFIGS];
	char		min_isr[16];	/* storage for min.insync.replicas */
	int			exists;			/* in the metadata */
	int			created;		/* by this run */
	int			bad;			/* differs, is missing, or failed */
} VtTopic;

static VtTopic vt_topics[VT_NTOPICS] = {
	{.role = "input", .name = "payment_writer_topic", .downstream = 0},
	{.role = "read", .name = "payment_read_topic", .downstream = 1},
	{.role = "email", .name = "payment_email", .downstream = 1},
	{.role = "dead-letter", .name = "payment_writer_dlq", .downstream = 1},
};

/* Set by SIGINT/SIGTERM. */
static volatile sig_atomic_t run = 1;

/* The last librdkafka log line, for error messages. */
static char vt_lastlog[512];
static int	vt_verbose = 0;
static time_t vt_deadline;

/*
 * vt_stop
 *	  Signal handler.
 */
static void
vt_stop(int sig)
{
	(void) sig;
	run = 0;
}

/*
 * vt_log_cb
 *	  librdkafka log lines: kept for error messages (connection refused
 *	  while a broker starts is normal), printed with --verbose.
 */
static void
vt_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void) rk;
	snprintf(vt_lastlog, sizeof(vt_lastlog), "%s: %s", fac, buf);
	if (vt_verbose)
		fprintf(stderr, "voltpay-topics: librdkafka %d %s\n", level, vt_lastlog);
}

/*
 * vt_error_cb
 *	  Client errors: kept like log lines; a fatal error ends the run.
 */
static void
vt_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	(void) opaque;
	snprintf(vt_lastlog, sizeof(vt_lastlog), "%s", reason);
	if (vt_verbose)
		fprintf(stderr, "voltpay-topics: librdkafka error: %s\n", reason);
	if (err == RD_KAFKA_RESP_ERR__FATAL)
	{
		char		buf[512];

		rd_kafka_fatal_error(rk, buf, sizeof(buf));
		cli_fatal(1, "fatal client error: %s", buf);
	}
}

/*
 * vt_remaining_ms
 *	  Milliseconds left before the deadline, at least 1.
 */
static int
vt_remaining_ms(void)
{
	time_t		left = vt_deadline - time(NULL);

	return left > 0 ? (int) left * 1000 : 1;
}

/*
 * vt_metadata
 *	  Metadata of every topic and broker, retried until the deadline;
 *	  exits when no broker answered, or when fewer than min_brokers
 *	  brokers are in the cluster by then.
 */
static const rd_kafka_metadata_t *
vt_metadata(rd_kafka_t *rk, const char *brokers, int min_brokers)
{
	const rd_kafka_metadata_t *md = NULL;
	rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
	int			seen = -1;

	for (;;)
	{
		err = rd_kafka_metadata(rk, 1, NULL, &md, 2000);
		if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
		{
			seen = md->broker_cnt;
			if (md->broker_cnt >= min_brokers)
				return md;
			rd_kafka_metadata_destroy(md);
			md = NULL;
		}
		if (!run)
			cli_fatal(1, "interrupted");
		if (time(NULL) >= vt_deadline)
		{
			if (seen >= 0)
				cli_fatal(1, "the cluster at %s has %d broker%s, %d wanted "
						 "(--wait-brokers), after waiting", brokers, seen,
						 seen == 1 ? "" : "s", min_brokers);
			cli_fatal(1, "no Kafka broker answered at %s (%s%s%s)", brokers,
					 rd_kafka_err2str(err), vt_lastlog[0] ? "; last: " : "",
					 vt_lastlog);
		}
		usleep(200 * 1000);
	}
}

/*
 * vt_find
 *	  The metadata of topic name, or NULL when the cluster lacks it.
 */
static const rd_kafka_metadata_topic_t *
vt_find(const rd_kafka_metadata_t *md, const char *name)
{
	int			i;

	for (i = 0; i < md->topic_cnt; i++)
		if (strcmp(md->topics[i].topic, name) == 0 &&
			md->topics[i].err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
			return &md->topics[i];
	return NULL;
}

/*
 * vt_wait_event
 *	  The next event of type evtype on queue q, or exits after the deadline.
 */
static rd_kafka_event_t *
vt_wait_event(rd_kafka_queue_t *q, rd_kafka_event_type_t evtype, const char *what)
{
	for (;;)
	{
		rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 500);

		if (ev != NULL)
		{
			if (rd_kafka_event_type(ev) == evtype)
				return ev;
			rd_kafka_event_destroy(ev);
		}
		if (!run)
			cli_fatal(1, "interrupted during %s", what);
		if (time(NULL) >= vt_deadline)
			cli_fatal(1, "%s: no answer before the timeout%s%s", what,
					 vt_lastlog[0] ? " (last: " : "", vt_lastlog[0] ? vt_lastlog : "");
	}
}

/*
 * vt_admin_options
 *	  Admin options for op with the remaining time as timeouts, at most
 *	  cap_ms (0: no cap).
 */
static rd_kafka_AdminOptions_t *
vt_admin_options(rd_kafka_t *rk, rd_kafka_admin_op_t op, int cap_ms)
{
	rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(rk, op);
	char		errstr[256];
	int			ms = vt_remaining_ms();

	if (cap_ms > 0 && ms > cap_ms)
		ms = cap_ms;

	if (rd_kafka_AdminOptions_set_request_timeout(o, ms, errstr, sizeof(errstr)))
		cli_fatal(1, "request timeout: %s", errstr);
	if (op == RD_KAFKA_ADMIN_OP_CREATETOPICS || op == RD_KAFKA_ADMIN_OP_DELETETOPICS)
		if (rd_kafka_AdminOptions_set_operation_timeout(o, ms, errstr, sizeof(errstr)))
			cli_fatal(1, "operation timeout: %s", errstr);
	return o;
}

/*
 * vt_create
 *	  Creates the topics that are missing.  A topic another client created
 *	  meanwhile counts as existing (it is compared afterwards).
 */
static void
vt_create(rd_kafka_t *rk, int partitions, int rf)
{
	rd_kafka_NewTopic_t *nt[VT_NTOPICS];
	int			n = 0;
	int			i;
	char		errstr[512];
	rd_kafka_queue_t *q;
	rd_kafka_AdminOptions_t *o;
	rd_kafka_event_t *ev;
	const rd_kafka_CreateTopics_result_t *res;
	const rd_kafka_topic_result_t **tr;
	size_t		ntr;

	for (i = 0; i < VT_NTOPICS; i++)
	{
		VtTopic    *t = &vt_topics[i];
		int			k;

		if (t->exists)
			continue;
		nt[n] = rd_kafka_NewTopic_new(t->name, partitions, rf, errstr, sizeof(errstr));
		if (nt[n] == NULL)
			cli_fatal(1, "topic %s: %s", t->name, errstr);
		for (k = 0; k < t->nconf; k++)
			if (rd_kafka_NewTopic_set_config(nt[n], t->conf_name[k], t->conf_value[k]))
				cli_fatal(1, "topic %s: could not set %s", t->name, t->conf_name[k]);
		n++;
	}
	if (n == 0)
		return;

	q = rd_kafka_queue_new(rk);
	o = vt_admin_options(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS, 0);
	rd_kafka_CreateTopics(rk, nt, (size_t) n, o, q);
	ev = vt_wait_event(q, RD_KAFKA_EVENT_CREATETOPICS_RESULT, "CreateTopics");
	if (rd_kafka_event_error(ev))
		cli_fatal(1, "CreateTopics failed: %s", rd_kafka_event_error_string(ev));
	res = rd_kafka_event_CreateTopics_result(ev);
	tr = rd_kafka_CreateTopics_result_topics(res, &ntr);
	for (size_t j = 0; j < ntr; j++)
	{
		const char *name = rd_kafka_topic_result_name(tr[j]);
		rd_kafka_resp_err_t err = rd_kafka_topic_result_error(tr[j]);

		for (i = 0; i < VT_NTOPICS; i++)
		{
			VtTopic    *t = &vt_topics[i];

			if (strcmp(t->name, name) != 0)
				continue;
			if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
			{
				t->created = 1;
				t->exists = 1;
			}
			else if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
				t->exists = 1;
			else
			{
				const char *msg = rd_kafka_topic_result_error_string(tr[j]);

				fprintf(stderr, "voltpay-topics: %s: could not create the %s topic: %s%s%s\n",
						name, t->role, rd_kafka_err2name(err),
						msg && *msg ? ": " : "", msg ? msg : "");
				t->bad = 1;
			}
		}
	}
	rd_kafka_event_destroy(ev);
	rd_kafka_AdminOptions_destroy(o);
	rd_kafka_queue_destroy(q);
	for (i = 0; i < n; i++)
		rd_kafka_NewTopic_destroy(nt[i]);
}

/*
 * vt_wait_ready
 *	  Waits until every existing, good topic is in the metadata with all
 *	  its partitions led.  Returns the metadata (caller destroys).
 */
static const rd_kafka_metadata_t *
vt_wait_ready(rd_kafka_t *rk, const char *brokers)
{
	for (;;)
	{
		const rd_kafka_metadata_t *md = vt_metadata(rk, brokers, 1);
		const char *waiting = NULL;
		int			i;

		for (i = 0; i < VT_NTOPICS && waiting == NULL; i++)
		{
			const rd_kafka_metadata_topic_t *mt;

			if (!vt_topics[i].exists || vt_topics[i].bad)
				continue;
			mt = vt_find(md, vt_topics[i].name);
			if (mt == NULL || mt->err || mt->partition_cnt == 0)
				waiting = vt_topics[i].name;
			else
				for (int p = 0; p < mt->partition_cnt; p++)
					if (mt->partitions[p].leader < 0 || mt->partitions[p].err)
						waiting = vt_topics[i].name;
		}
		if (waiting == NULL)
			return md;
		rd_kafka_metadata_destroy(md);
		if (time(NULL) >= vt_deadline)
			cli_fatal(1, "%s: partitions still without a leader at the timeout", waiting);
		if (!run)
			cli_fatal(1, "interrupted");
		usleep(200 * 1000);
	}
}

/*
 * vt_wait_leaders
 *	  Waits until the leader of every partition of the good topics in md
 *	  answers a ListOffsets request.  The metadata names a leader before
 *	  that broker acts as one (NOT_LEADER_OR_FOLLOWER for a while after
 *	  creation); a producer that writes then can lose messages: with
 *	  librdkafka 2.0.2 an idempotent producer whose first batch to a
 *	  partition fails that way while its second succeeds reports the first
 *	  as delivered (implicitly acked) although the broker never stored it.
 */
static void
vt_wait_leaders(rd_kafka_t *rk, const rd_kafka_metadata_t *md)
{
	rd_kafka_topic_partition_list_t *all = rd_kafka_topic_partition_list_new(VT_NTOPICS * 100);

	for (int i = 0; i < VT_NTOPICS; i++)
	{
		const rd_kafka_metadata_topic_t *mt;

		if (!vt_topics[i].exists || vt_topics[i].bad)
			continue;
		mt = vt_find(md, vt_topics[i].name);
		if (mt == NULL)
			continue;
		for (int p = 0; p < mt->partition_cnt; p++)
			rd_kafka_topic_partition_list_add(all, mt->topic, mt->partitions[p].id);
	}
	while (all->cnt > 0)
	{
		rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_copy(all);
		rd_kafka_topic_partition_t *bad = NULL;
		rd_kafka_resp_err_t err;
		int			ms = vt_remaining_ms();

		for (int k = 0; k < l->cnt; k++)
			l->elems[k].offset = RD_KAFKA_OFFSET_END;	/* the latest */
		err = rd_kafka_offsets_for_times(rk, l, ms > 5000 ? 5000 : ms);
		for (int k = 0; k < l->cnt && bad == NULL; k++)
			if (l->elems[k].err)
				bad = &l->elems[k];
		if (err == RD_KAFKA_RESP_ERR_NO_ERROR && bad == NULL)
		{
			rd_kafka_topic_partition_list_destroy(l);
			break;
		}
		if (time(NULL) >= vt_deadline || !run)
			cli_fatal(1, "%s [%d]: the leader does not answer yet: %s", bad ? bad->topic : "?",
					 bad ? (int) bad->partition : -1,
					 rd_kafka_err2str(bad ? bad->err : err));
		rd_kafka_topic_partition_list_destroy(l);
		usleep(200 * 1000);
	}
	rd_kafka_topic_partition_list_destroy(all);
}

/*
 * vt_compare
 *	  Compares the existing topics with the wanted settings: partitions
 *	  and replication factor from md, configuration from DescribeConfigs.
 *	  Marks and reports those that differ.
 */
static void
vt_compare(rd_kafka_t *rk, const rd_kafka_metadata_t *md, int partitions, int rf)
{
	rd_kafka_ConfigResource_t *cr[VT_NTOPICS];
	char	   *diff[VT_NTOPICS];
	size_t		difflen[VT_NTOPICS];
	FILE	   *dfp[VT_NTOPICS];
	int			n = 0;
	int			i;

	for (i = 0; i < VT_NTOPICS; i++)
	{
		VtTopic    *t = &vt_topics[i];
		const rd_kafka_metadata_topic_t *mt;
		int			rmin = INT32_MAX;
		int			rmax = 0;

		diff[i] = NULL;
		dfp[i] = open_memstream(&diff[i], &difflen[i]);
		if (dfp[i] == NULL)
			cli_fatal(1, "out of memory");
		if (!t->exists || t->bad)
			continue;
		mt = vt_find(md, t->name);
		if (mt == NULL)
		{
			fprintf(dfp[i], "; vanished from the metadata");
			continue;
		}
		if (mt->partition_cnt != partitions)
			fprintf(dfp[i], "; %d partitions (want %d)", mt->partition_cnt, partitions);
		for (int p = 0; p < mt->partition_cnt; p++)
		{
			if (mt->partitions[p].replica_cnt < rmin)
				rmin = mt->partitions[p].replica_cnt;
			if (mt->partitions[p].replica_cnt > rmax)
				rmax = mt->partitions[p].replica_cnt;
		}
		if (mt->partition_cnt > 0 && (rmin != rf || rmax != rf))
		{
			if (rmin == rmax)
				fprintf(dfp[i], "; replication factor %d (want %d)", rmin, rf);
			else
				fprintf(dfp[i], "; replication factor %d to %d (want %d)", rmin, rmax, rf);
		}
	}

	/* Configuration values, all topics in one request. */
	for (i = 0; i < VT_NTOPICS; i++)
		if (vt_topics[i].exists && !vt_topics[i].bad)
			cr[n++] = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, vt_topics[i].name);
	if (n > 0)
	{
		rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
		rd_kafka_AdminOptions_t *o;
		rd_kafka_event_t *ev;
		const rd_kafka_DescribeConfigs_result_t *res;
		const rd_kafka_ConfigResource_t **rs;
		size_t		nrs;

		/*
		 * librdkafka sends DescribeConfigs to the broker the metadata names
		 * controller; after a broker died that name can be stale for a
		 * while: retry with short attempts until the deadline.
		 */
		for (;;)
		{
			o = vt_admin_options(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, 5000);
			rd_kafka_DescribeConfigs(rk, cr, (size_t) n, o, q);
			ev = vt_wait_event(q, RD_KAFKA_EVENT_DESCRIBECONFIGS_RESULT, "DescribeConfigs");
			if (!rd_kafka_event_error(ev))
			{
				/*
				 * A broker that has not yet seen a new topic's metadata
				 * answers UNKNOWN_TOPIC_OR_PART: ask again.
				 */
				int			unknown = 0;

				rs = rd_kafka_DescribeConfigs_result_resources(
															   rd_kafka_event_DescribeConfigs_result(ev), &nrs);
				for (size_t r = 0; r < nrs; r++)
					if (rd_kafka_ConfigResource_error(rs[r]) ==
						RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
						unknown = 1;
				if (!unknown || time(NULL) >= vt_deadline || !run)
					break;
			}
			else if (time(NULL) >= vt_deadline || !run)
				cli_fatal(1, "DescribeConfigs failed: %s", rd_kafka_event_error_string(ev));
			if (vt_verbose)
				fprintf(stderr, "voltpay-topics: DescribeConfigs: %s (retrying)\n",
						rd_kafka_event_error(ev) ? rd_kafka_event_error_string(ev) :
						"a topic is not known yet");
			rd_kafka_event_destroy(ev);
			rd_kafka_AdminOptions_destroy(o);
			rd_kafka_metadata_destroy(vt_metadata(rk, "the cluster", 1));
			usleep(500 * 1000);
		}
		res = rd_kafka_event_DescribeConfigs_result(ev);
		rs = rd_kafka_DescribeConfigs_result_resources(res, &nrs);
		for (size_t r = 0; r < nrs; r++)
		{
			const char *name = rd_kafka_ConfigResource_name(rs[r]);
			const rd_kafka_ConfigEntry_t **ce;
			size_t		nce;

			for (i = 0; i < VT_NTOPICS; i++)
			{
				VtTopic    *t = &vt_topics[i];

				if (strcmp(t->name, name) != 0 || !t->exists || t->bad)
					continue;
				if (rd_kafka_ConfigResource_error(rs[r]))
				{
					fprintf(dfp[i], "; configuration not readable: %s",
							rd_kafka_ConfigResource_error_string(rs[r]));
					continue;
				}
				ce = rd_kafka_ConfigResource_configs(rs[r], &nce);
				for (int k = 0; k < t->nconf; k++)
				{
					const char *have = NULL;
					int			found = 0;

					for (size_t e = 0; e < nce; e++)
						if (strcmp(rd_kafka_ConfigEntry_name(ce[e]), t->conf_name[k]) == 0)
						{
							have = rd_kafka_ConfigEntry_value(ce[e]);
							found = 1;
							break;
						}
					if (!found)
						fprintf(dfp[i], "; %s not reported by the broker (want %s)",
								t->conf_name[k], t->conf_value[k]);
					else if (have == NULL || strcmp(have, t->conf_value[k]) != 0)
						fprintf(dfp[i], "; %s=%s (want %s)", t->conf_name[k],
								have ? have : "(null)", t->conf_value[k]);
				}
			}
		}
		rd_kafka_event_destroy(ev);
		rd_kafka_AdminOptions_destroy(o);
		rd_kafka_queue_destroy(q);
		for (i = 0; i < n; i++)
			rd_kafka_ConfigResource_destroy(cr[i]);
	}

	for (i = 0; i < VT_NTOPICS; i++)
	{
		fclose(dfp[i]);
		if (diff[i] != NULL && diff[i][0] != '\0')
		{
			VtTopic    *t = &vt_topics[i];

			fprintf(stderr, "voltpay-topics: %s: the %s topic %s with other settings: %s\n",
					t->name, t->role, t->created ? "was created" : "exists", diff[i] + 2);
			t->bad = 1;
		}
		free(diff[i]);
	}
}

/*
 * vt_delete
 *	  Deletes the topics that exist and waits until the metadata no longer
 *	  lists them.  Returns the number of failures.
 */
static int
vt_delete(rd_kafka_t *rk, const rd_kafka_metadata_t *md, const char *brokers)
{
	rd_kafka_DeleteTopic_t *dt[VT_NTOPICS];
	int			n = 0;
	int			failed = 0;
	int			i;

	for (i = 0; i < VT_NTOPICS; i++)
		if (vt_find(md, vt_topics[i].name) != NULL)
			dt[n++] = rd_kafka_DeleteTopic_new(vt_topics[i].name);
	if (n > 0)
	{
		rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
		rd_kafka_AdminOptions_t *o = vt_admin_options(rk, RD_KAFKA_ADMIN_OP_DELETETOPICS, 0);
		rd_kafka_event_t *ev;
		const rd_kafka_topic_result_t **tr;
		size_t		ntr;

		rd_kafka_DeleteTopics(rk, dt, (size_t) n, o, q);
		ev = vt_wait_event(q, RD_KAFKA_EVENT_DELETETOPICS_RESULT, "DeleteTopics");
		if (rd_kafka_event_error(ev))
			cli_fatal(1, "DeleteTopics failed: %s", rd_kafka_event_error_string(ev));
		tr = rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &ntr);
		for (size_t j = 0; j < ntr; j++)
		{
			rd_kafka_resp_err_t err = rd_kafka_topic_result_error(tr[j]);

			if (err && err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
			{
				fprintf(stderr, "voltpay-topics: %s: could not delete: %s\n",
						rd_kafka_topic_result_name(tr[j]), rd_kafka_err2name(err));
				failed++;
			}
			else
				printf("voltpay-topics: %s: deleted\n", rd_kafka_topic_result_name(tr[j]));
		}
		rd_kafka_event_destroy(ev);
		rd_kafka_AdminOptions_destroy(o);
		rd_kafka_queue_destroy(q);
		for (i = 0; i < n; i++)
			rd_kafka_DeleteTopic_destroy(dt[i]);
	}
	if (failed)
		return failed;

	/* Deletion is asynchronous: wait until the metadata agrees. */
	for (;;)
	{
		const rd_kafka_metadata_t *m2 = vt_metadata(rk, brokers, 1);
		int			left = 0;

		for (i = 0; i < VT_NTOPICS; i++)
			if (vt_find(m2, vt_topics[i].name) != NULL)
				left++;
		rd_kafka_metadata_destroy(m2);
		if (left == 0)
			return 0;
		if (time(NULL) >= vt_deadline)
		{
			fprintf(stderr, "voltpay-topics: %d topic%s still listed at the timeout\n",
					left, left == 1 ? "" : "s");
			return left;
		}
		usleep(200 * 1000);
	}
}

/*
 * vt_parse_int
 *	  Parses an integer in [lo, hi] or exits with status 2.
 */
static long
vt_parse_int(const char *opt, const char *s, long lo, long hi)
{
	char	   *end;
	long		v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end != '\0' || v < lo || v > hi)
		cli_fatal(2, "invalid %s \"%s\": expected an integer from %ld to %ld", opt, s, lo, hi);
	return v;
}

/*
 * vt_usage
 *	  Prints the usage text to fp.
 */
static void
vt_usage(FILE *fp)
{
	fprintf(fp,
			"usage: voltpay-topics --brokers LIST [options]\n"
			"Creates the bridge's topics with the production settings, or reports how\n"
			"existing ones differ from them.\n"
			"  -b, --brokers LIST          bootstrap servers\n"
			"  --input-topic T             (payment_writer_topic)\n"
			"  --read-topic T              (payment_read_topic)\n"
			"  --email-topic T             (payment_email)\n"
			"  --dead-letter-topic T       (payment_writer_dlq)\n"
			"  --partitions N              partitions of every topic (100)\n"
			"  --replication-factor N      (2, or 1 on a single-broker cluster)\n"
			"  --retention-ms MS           retention.ms (86400000, one day)\n"
			"  --min-insync-replicas N     min.insync.replicas of the read, e-mail and\n"
			"                              dead-letter topics (2, at most the\n"
			"                              replication factor)\n"
			"  --config KEY=VALUE          another topic configuration, every topic\n"
			"  --check                     create nothing; report missing topics too\n"
			"  --delete                    delete the four topics\n"
			"  --wait-brokers N            first wait until the cluster has N brokers (1)\n"
			"  --wait-only                 only that wait: touch no topic\n"
			"  --timeout SECONDS           for everything (30)\n"
			"  -X key=value                librdkafka property (security.protocol, ...)\n"
			"  -v, --verbose               librdkafka's log lines on stderr\n"
			"  -h, --help\n"
			"Exit status: 0 all topics as wanted, 1 a topic differs or is missing\n"
			"(--check) or an error, 2 bad usage.\n");
}

int
main(int argc, char **argv)
{
	enum
	{
		OPT_INPUT = 256, OPT_READ, OPT_EMAIL, OPT_DLQ, OPT_PARTITIONS, OPT_RF,
		OPT_RETENTION, OPT_MINISR, OPT_CONFIG, OPT_CHECK, OPT_DELETE,
		OPT_WAIT_BROKERS, OPT_TIMEOUT, OPT_WAIT_ONLY
	};
	static const struct option longopts[] = {
		{"brokers", required_argument, NULL, 'b'},
		{"input-topic", required_argument, NULL, OPT_INPUT},
		{"read-topic", required_argument, NULL, OPT_READ},
		{"email-topic", required_argument, NULL, OPT_EMAIL},
		{"dead-letter-topic", required_argument, NULL, OPT_DLQ},
		{"partitions", required_argument, NULL, OPT_PARTITIONS},
		{"replication-factor", required_argument, NULL, OPT_RF},
		{"retention-ms", required_argument, NULL, OPT_RETENTION},
		{"min-insync-replicas", required_argument, NULL, OPT_MINISR},
		{"config", required_argument, NULL, OPT_CONFIG},
		{"check", no_argument, NULL, OPT_CHECK},
		{"delete", no_argument, NULL, OPT_DELETE},
		{"wait-brokers", required_argument, NULL, OPT_WAIT_BROKERS},
		{"wait-only", no_argument, NULL, OPT_WAIT_ONLY},
		{"timeout", required_argument, NULL, OPT_TIMEOUT},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	const char *brokers = NULL;
	int			partitions = 100;
	int			rf = 0;			/* 0: by broker count */
	const char *retention = "86400000";
	int			min_isr = 2;
	int			min_isr_given = 0;
	const char *extra_name[VT_MAX_CONFIGS];
	const char *extra_value[VT_MAX_CONFIGS];
	int			nextra = 0;
	int			check = 0;
	int			delete = 0;
	int			wait_only = 0;
	int			wait_brokers = 1;
	long		timeout_s = 30;
	char		errstr[512];
	rd_kafka_conf_t *conf;
	rd_kafka_t *rk;
	const rd_kafka_metadata_t *md;
	struct sigaction sa;
	int			nbrokers;
	int			failed = 0;
	int			c;
	int			i;

	cli_progname = "voltpay-topics";

	conf = rd_kafka_conf_new();
	while ((c = getopt_long(argc, argv, "b:X:vh", longopts, NULL)) != -1)
	{
		switch (c)
		{
			case 'b':
				brokers = optarg;
				break;
			case OPT_INPUT:
			case OPT_READ:
			case OPT_EMAIL:
			case OPT_DLQ:
				if (optarg[0] == '\0')
					cli_fatal(2, "empty topic name");
				vt_topics[c - OPT_INPUT].name = optarg;
				break;
			case OPT_PARTITIONS:
				partitions = (int) vt_parse_int("--partitions", optarg, 1, 100000);
				break;
			case OPT_RF:
				rf = (int) vt_parse_int("--replication-factor", optarg, 1, 32);
				break;
			case OPT_RETENTION:
				vt_parse_int("--retention-ms", optarg, -1, INT64_MAX / 2);
				retention = optarg;
				break;
			case OPT_MINISR:
				min_isr = (int) vt_parse_int("--min-insync-replicas", optarg, 1, 32);
				min_isr_given = 1;
				break;
			case OPT_CONFIG:
				{
					char	   *eq = strchr(optarg, '=');

					if (eq == NULL || eq == optarg)
						cli_fatal(2, "invalid --config \"%s\": expected KEY=VALUE", optarg);
					if (nextra >= VT_MAX_CONFIGS - 4)
						cli_fatal(2, "too many --config options");
					*eq = '\0';
					extra_name[nextra] = optarg;
					extra_value[nextra++] = eq + 1;
				}
				break;
			case OPT_CHECK:
				check = 1;
				break;
			case OPT_DELETE:
				delete = 1;
				break;
			case OPT_WAIT_ONLY:
				wait_only = 1;
				break;
			case OPT_WAIT_BROKERS:
				wait_brokers = (int) vt_parse_int("--wait-brokers", optarg, 1, 1000);
				break;
			case OPT_TIMEOUT:
				timeout_s = vt_parse_int("--timeout", optarg, 1, 3600);
				break;
			case 'X':
				cli_conf_kv(conf, optarg);
				break;
			case 'v':
				vt_verbose = 1;
				break;
			case 'h':
				vt_usage(stdout);
				return 0;
			default:
				vt_usage(stderr);
				return 2;
		}
	}
	if (optind < argc)
		cli_fatal(2, "unexpected argument \"%s\"", argv[optind]);
	if (brokers == NULL)
		cli_fatal(2, "--brokers is required");
	if (check + delete + wait_only > 1)
		cli_fatal(2, "--check, --delete and --wait-only exclude each other");
	for (i = 0; i < VT_NTOPICS; i++)
		for (int j = 0; j < i; j++)
			if (strcmp(vt_topics[i].name, vt_topics[j].name) == 0)
				cli_fatal(2, "the %s and %s topics have the same name \"%s\"",
						 vt_topics[j].role, vt_topics[i].role, vt_topics[i].name);
	if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, errstr,
						  sizeof(errstr)) != RD_KAFKA_CONF_OK)
		cli_fatal(2, "bootstrap.servers: %s", errstr);
	rd_kafka_conf_set_log_cb(conf, vt_log_cb);
	rd_kafka_conf_set_error_cb(conf, vt_error_cb);

	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (rk == NULL)
		cli_fatal(2, "%s", errstr);
	conf = NULL;				/* owned by rk */

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = vt_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	vt_deadline = time(NULL) + timeout_s;

	md = vt_metadata(rk, brokers, wait_brokers);
	nbrokers = md->broker_cnt;

	if (wait_only)
	{
		printf("voltpay-topics: %d broker%s\n", nbrokers, nbrokers == 1 ? "" : "s");
		rd_kafka_metadata_destroy(md);
		rd_kafka_destroy(rk);
		return 0;
	}

	if (delete)
	{
		failed = vt_delete(rk, md, brokers);
		rd_kafka_metadata_destroy(md);
		rd_kafka_destroy(rk);
		return failed ? 1 : 0;
	}

	/* The wanted settings. */
	if (rf == 0)
		rf = nbrokers >= 2 ? 2 : 1;
	else if (rf > nbrokers && !check)
		cli_fatal(1, "replication factor %d needs %d brokers; the cluster at %s has %d",
				 rf, rf, brokers, nbrokers);
	if (min_isr > rf)
	{
		if (min_isr_given)
			cli_fatal(2, "--min-insync-replicas %d is above the replication factor %d",
					 min_isr, rf);
		min_isr = rf;
	}
	for (i = 0; i < VT_NTOPICS; i++)
	{
		VtTopic    *t = &vt_topics[i];

		t->conf_name[t->nconf] = "retention.ms";
		t->conf_value[t->nconf++] = retention;
		t->conf_name[t->nconf] = "cleanup.policy";
		t->conf_value[t->nconf++] = "delete";
		if (t->downstream)
		{
			snprintf(t->min_isr, sizeof(t->min_isr), "%d", min_isr);
			t->conf_name[t->nconf] = "min.insync.replicas";
			t->conf_value[t->nconf++] = t->min_isr;
		}
		for (int k = 0; k < nextra; k++)
		{
			int			dup = -1;

			for (int m = 0; m < t->nconf; m++)
				if (strcmp(t->conf_name[m], extra_name[k]) == 0)
					dup = m;
			if (dup >= 0)
				t->conf_value[dup] = extra_value[k];	/* --config wins */
			else
			{
				t->conf_name[t->nconf] = extra_name[k];
				t->conf_value[t->nconf++] = extra_value[k];
			}
		}
		t->exists = vt_find(md, t->name) != NULL;
		if (!t->exists && check)
		{
			fprintf(stderr, "voltpay-topics: %s: the %s topic does not exist\n",
					t->name, t->role);
			t->bad = 1;
		}
	}
	rd_kafka_metadata_destroy(md);

	if (!check)
		vt_create(rk, partitions, rf);
	md = vt_wait_ready(rk, brokers);
	vt_wait_leaders(rk, md);
	vt_compare(rk, md, partitions, rf);
	rd_kafka_metadata_destroy(md);

	for (i = 0; i < VT_NTOPICS; i++)
	{
		VtTopic    *t = &vt_topics[i];

		if (t->bad)
		{
			failed++;
			continue;
		}
		printf("voltpay-topics: %s: %s (%s topic: %d partitions, replication factor %d",
			   t->name, t->created ? "created" : "exists with these settings",
			   t->role, partitions, rf);
		for (int k = 0; k < t->nconf; k++)
			printf(", %s=%s", t->conf_name[k], t->conf_value[k]);
		printf(")\n");
	}
	fflush(stdout);
	rd_kafka_destroy(rk);
	return failed ? 1 : 0;
}
