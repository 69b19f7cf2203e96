/*-------------------------------------------------------------------------
 *
 * voltpay-topic-dump.c
 *	  Reads topics from the beginning up to their high watermarks (read when
 *	  it starts), on every partition, and writes each record as one JSON
 *	  line; exits when caught up.  Used by test/bridge/checker.py and by the
 *	  demo.
 *
 *	  voltpay-topic-dump --brokers LIST --topic T[,T...] [--output FILE]
 *						 [--timeout SECONDS] [-X key=value]...
 *
 * Each line: {"topic":..,"partition":..,"offset":..,"timestamp":ms,
 * "key":..,"headers":{name:value,...},"value":..}.  Keys, values and
 * header values are JSON strings when they are valid UTF-8 without NUL
 * bytes, else they move to "key_b64", "value_b64" and "headers_b64" as
 * base64; a null key or value is null.  A repeated header name keeps its
 * first value.  The record count of each topic goes to stderr.
 *
 * It uses no consumer group (plain assignment, no commits).  Exit status:
 * 0 when caught up, 1 on error or when --timeout (60 s) passed first,
 * 2 on bad options.
 *
 *-------------------------------------------------------------------------
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

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

#include <librdkafka/rdkafka.h>

#include "lib/cli.h"
#include "lib/jsonout.h"

/* Set by SIGINT/SIGTERM. */
static volatile sig_atomic_t run = 1;

/* One partition to read: [lo, hi) and whether it is done. */
typedef struct TdPart
{
	char	   *topic;
	int32_t		partition;
	int64_t		lo;
	int64_t		hi;
	int			done;
} TdPart;

/*
 * td_stop
 *	  Signal handler.
 */
static void
td_stop(int sig)
{
	(void) sig;
	run = 0;
}

/*
 * td_headers
 *	  Sets "headers" (and, when some value is not text, "headers_b64") of
 *	  the record object o: the first value of each header name.
 */
static void
td_headers(json_t *o, const rd_kafka_message_t *rkm)
{
	rd_kafka_headers_t *hdrs = NULL;
	json_t	   *text = json_object();
	json_t	   *b64 = NULL;
	const char *name;
	const void *val;
	size_t		size;

	if (text == NULL)
		cli_fatal(1, "out of memory");
	if (rd_kafka_message_headers(rkm, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR)
		hdrs = NULL;
	for (size_t idx = 0; hdrs != NULL &&
		 rd_kafka_header_get_all(hdrs, idx, &name, &val, &size) == 0; idx++)
	{
		const void *v0;
		size_t		s0;
		json_t	   *v;

		/* First value of a repeated name only. */
		if (rd_kafka_header_get(hdrs, 0, name, &v0, &s0) == 0 && v0 != val)
			continue;
		if (val == NULL)
			jo_set(text, name, json_null());
		else if ((v = jo_text(val, size)) != NULL)
			jo_set(text, name, v);
		else
		{
			if (b64 == NULL && (b64 = json_object()) == NULL)
				cli_fatal(1, "out of memory");
			jo_set(b64, name, jo_base64(val, size));
		}
	}
	jo_set(o, "headers", text);
	if (b64 != NULL)
		jo_set(o, "headers_b64", b64);
}

/*
 * td_usage
 *	  Prints the usage text to fp.
 */
static void
td_usage(FILE *fp)
{
	fprintf(fp,
			"usage: voltpay-topic-dump --brokers LIST --topic T[,T...] [options]\n"
			"  -b, --brokers LIST     bootstrap servers\n"
			"  -t, --topic T[,T...]   topics to read, every partition\n"
			"  -o, --output FILE      JSON lines to FILE (default stdout)\n"
			"  --timeout SECONDS      give up when not caught up by then (60)\n"
			"  -X key=value           librdkafka consumer property\n"
			"  -h, --help\n");
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"brokers", required_argument, NULL, 'b'},
		{"topic", required_argument, NULL, 't'},
		{"output", required_argument, NULL, 'o'},
		{"timeout", required_argument, NULL, 'T'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	const char *brokers = NULL;
	char	   *topics = NULL;
	const char *output = NULL;
	long		timeout_s = 60;
	char		errstr[512];
	rd_kafka_conf_t *conf;
	rd_kafka_t *rk;
	FILE	   *out = stdout;
	TdPart	   *parts = NULL;
	int			nparts = 0;
	int			remaining = 0;
	rd_kafka_topic_partition_list_t *assign;
	char	   *tok;
	char	   *save = NULL;
	struct sigaction sa;
	time_t		deadline;
	int			c;
	int			i;
	int			failed = 0;

	cli_progname = "voltpay-topic-dump";

	conf = rd_kafka_conf_new();
	cli_conf_set(conf, "enable.auto.commit", "false");
	cli_conf_set(conf, "enable.partition.eof", "true");
	cli_conf_set(conf, "auto.offset.reset", "earliest");
	cli_conf_set(conf, "group.id", "voltpay-topic-dump");

	while ((c = getopt_long(argc, argv, "b:t:o:X:h", longopts, NULL)) != -1)
	{
		switch (c)
		{
			case 'b':
				brokers = optarg;
				break;
			case 't':
				topics = strdup(optarg);
				break;
			case 'o':
				output = optarg;
				break;
			case 'T':
				{
					char	   *end;

					timeout_s = strtol(optarg, &end, 10);
					if (*end != '\0' || timeout_s <= 0)
						cli_fatal(2, "invalid --timeout \"%s\"", optarg);
				}
				break;
			case 'X':
				cli_conf_kv(conf, optarg);
				break;
			case 'h':
				td_usage(stdout);
				return 0;
			default:
				td_usage(stderr);
				return 2;
		}
	}
	if (optind < argc)
		cli_fatal(2, "unexpected argument \"%s\"", argv[optind]);
	if (brokers == NULL || topics == NULL)
		cli_fatal(2, "--brokers and --topic are required");
	if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, errstr,
						  sizeof(errstr)) != RD_KAFKA_CONF_OK)
		cli_fatal(2, "bootstrap.servers: %s", errstr);

	rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
	if (rk == NULL)
		cli_fatal(2, "%s", errstr);
	conf = NULL;				/* owned by rk */

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = td_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	deadline = time(NULL) + timeout_s;

	/* Partitions and watermarks of every topic. */
	for (tok = strtok_r(topics, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
	{
		rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, tok, NULL);
		const rd_kafka_metadata_t *md = NULL;
		rd_kafka_resp_err_t err;
		int			np;

		if (rkt == NULL)
			cli_fatal(1, "topic %s: %s", tok, rd_kafka_err2str(rd_kafka_last_error()));
		for (;;)
		{
			err = rd_kafka_metadata(rk, 0, rkt, &md, 5000);
			if (err == 0 && md->topic_cnt == 1 && md->topics[0].err == 0)
				break;
			if (err == 0 && md->topics[0].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
				break;
			if (md != NULL)
				rd_kafka_metadata_destroy(md);
			md = NULL;
			if (!run || time(NULL) >= deadline)
				cli_fatal(1, "no metadata for topic %s: %s", tok,
						 rd_kafka_err2str(err ? err : RD_KAFKA_RESP_ERR__TIMED_OUT));
		}
		np = md->topics[0].partition_cnt;
		if (np == 0)
			fprintf(stderr, "voltpay-topic-dump: topic %s does not exist\n", tok);
		parts = realloc(parts, sizeof(TdPart) * (size_t) (nparts + np));
		if (parts == NULL)
			cli_fatal(1, "out of memory");
		for (i = 0; i < np; i++)
		{
			TdPart	   *p = &parts[nparts++];

			p->topic = tok;
			p->partition = md->topics[0].partitions[i].id;
			p->done = 0;
			for (;;)
			{
				err = rd_kafka_query_watermark_offsets(rk, tok, p->partition,
													   &p->lo, &p->hi, 5000);
				if (err == 0)
					break;
				if (!run || time(NULL) >= deadline)
					cli_fatal(1, "no watermarks for %s [%d]: %s", tok,
							 (int) p->partition, rd_kafka_err2str(err));
			}
			if (p->lo > 0)
				fprintf(stderr, "voltpay-topic-dump: %s [%d] starts at offset %" PRId64
						" (older records deleted)\n", tok, (int) p->partition, p->lo);
			if (p->hi <= p->lo)
				p->done = 1;
			else
				remaining++;
		}
		rd_kafka_metadata_destroy(md);
		rd_kafka_topic_destroy(rkt);
	}

	if (output != NULL)
	{
		out = fopen(output, "w");
		if (out == NULL)
			cli_fatal(1, "could not open \"%s\": %s", output, strerror(errno));
	}

	assign = rd_kafka_topic_partition_list_new(nparts > 0 ? nparts : 1);
	for (i = 0; i < nparts; i++)
		if (!parts[i].done)
			rd_kafka_topic_partition_list_add(assign, parts[i].topic,
											  parts[i].partition)->offset = parts[i].lo;
	if (assign->cnt > 0)
	{
		rd_kafka_resp_err_t err = rd_kafka_assign(rk, assign);

		if (err)
			cli_fatal(1, "assign: %s", rd_kafka_err2str(err));
	}
	rd_kafka_topic_partition_list_destroy(assign);

	{
		long	   *counts = calloc((size_t) (nparts > 0 ? nparts : 1), sizeof(long));

		while (remaining > 0 && run)
		{
			rd_kafka_message_t *rkm;
			TdPart	   *p = NULL;
			const char *tn;

			if (time(NULL) >= deadline)
			{
				fprintf(stderr, "voltpay-topic-dump: timed out with %d partitions not caught up\n",
						remaining);
				failed = 1;
				break;
			}
			rkm = rd_kafka_consumer_poll(rk, 500);
			if (rkm == NULL)
				continue;
			if (rkm->rkt != NULL)
			{
				tn = rd_kafka_topic_name(rkm->rkt);
				for (i = 0; i < nparts; i++)
					if (parts[i].partition == rkm->partition &&
						strcmp(parts[i].topic, tn) == 0)
					{
						p = &parts[i];
						break;
					}
			}
			if (rkm->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
			{
				if (p != NULL && !p->done && rkm->offset >= p->hi)
				{
					p->done = 1;
					remaining--;
				}
			}
			else if (rkm->err)
			{
				fprintf(stderr, "voltpay-topic-dump: %s\n", rd_kafka_message_errstr(rkm));
				if (rkm->err == RD_KAFKA_RESP_ERR__FATAL)
				{
					failed = 1;
					rd_kafka_message_destroy(rkm);
					break;
				}
			}
			else if (p != NULL && !p->done)
			{
				json_t	   *o = json_object();

				if (o == NULL)
					cli_fatal(1, "out of memory");
				jo_set(o, "topic", json_string(p->topic));
				jo_set(o, "partition", json_integer(rkm->partition));
				jo_set(o, "offset", json_integer(rkm->offset));
				jo_set(o, "timestamp", json_integer(rd_kafka_message_timestamp(rkm, NULL)));
				jo_set_bytes(o, "key", rkm->key, rkm->key_len);
				td_headers(o, rkm);
				jo_set_bytes(o, "value", rkm->payload, rkm->len);
				jo_write_line(out, o);
				counts[p - parts]++;
				if (rkm->offset + 1 >= p->hi)
				{
					p->done = 1;
					remaining--;
				}
			}
			rd_kafka_message_destroy(rkm);
		}
		if (!run)
			failed = 1;

		/* Per-topic totals on stderr. */
		for (i = 0; i < nparts; i++)
		{
			long		total = 0;
			int			j;

			if (i > 0 && strcmp(parts[i - 1].topic, parts[i].topic) == 0)
				continue;
			for (j = i; j < nparts && strcmp(parts[j].topic, parts[i].topic) == 0; j++)
				total += counts[j];
			fprintf(stderr, "voltpay-topic-dump: %s: %ld records\n", parts[i].topic, total);
		}
		free(counts);
	}

	if (out != stdout)
	{
		if (fclose(out) != 0)
		{
			fprintf(stderr, "voltpay-topic-dump: could not write \"%s\": %s\n",
					output, strerror(errno));
			failed = 1;
		}
	}
	else
		fflush(stdout);
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	free(parts);
	free(topics);
	return failed ? 1 : 0;
}
