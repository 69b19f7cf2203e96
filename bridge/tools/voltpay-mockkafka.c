/*-------------------------------------------------------------------------
 *
 * voltpay-mockkafka.c
 *	  librdkafka's mock Kafka cluster in a small process of its own, with a
 *	  line-based control channel for fault injection.  For tests and demos.
 *
 *	  voltpay-mockkafka [--brokers N] [--partitions N] [--replication N]
 *						[--topics a,b,c] [--control-fifo PATH]
 *
 * On start it creates the topics, prints one line
 * "bootstrap.servers=127.0.0.1:P1,..." on stdout and then reads commands,
 * one per line, from stdin (default) or from a FIFO it creates and holds
 * open itself (--control-fifo, so `echo cmd > PATH` works any number of
 * times).  Each command is answered on stdout by "ok LINE" or
 * "error LINE: why".  End of stdin, `quit`, SIGINT or SIGTERM stop it.
 *
 * Commands (broker ids start at 1; -1 means every broker):
 *	  broker_down ID				disconnect a broker, refuse new connections
 *	  broker_up ID					accept connections again
 *	  rtt ID MS						add MS milliseconds to every response
 *	  push_errors API COUNT ERR...	fail the next COUNT requests of API (a
 *									number or a name: Produce, Fetch,
 *									OffsetCommit...) cluster-wide, cycling
 *									through the ERRs (numbers or names such
 *									as NOT_LEADER_FOR_PARTITION, _TRANSPORT)
 *	  broker_errors ID API ERR MS [ERR MS]...
 *									the same on one broker, with a delay each
 *	  clear_errors API				forget pending injected errors of API
 *	  leader TOPIC PARTITION ID		move a partition's leader
 *	  coordinator group|transaction KEY ID
 *									move a group or transaction coordinator
 *	  help, quit
 *
 * Limits of the mock cluster worth knowing: it keeps only about 5 MiB per
 * partition, it does not de-duplicate retried idempotent produce requests
 * (so a record can land twice), and consumer groups need a short
 * session.timeout.ms (6000) or rebalances wait for the default 45 s.
 *
 *-------------------------------------------------------------------------
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define MK_MAX_ARGS		64
#define MK_MAX_TOPICS	64

/* Set by SIGINT/SIGTERM. */
static volatile sig_atomic_t run = 1;

/* Kafka protocol request names accepted for API arguments. */
static const struct
{
	const char *name;
	int			key;
}			mk_apis[] = {
	{"Produce", 0}, {"Fetch", 1}, {"ListOffsets", 2}, {"Metadata", 3},
	{"OffsetCommit", 8}, {"OffsetFetch", 9}, {"FindCoordinator", 10},
	{"JoinGroup", 11}, {"Heartbeat", 12}, {"LeaveGroup", 13},
	{"SyncGroup", 14}, {"DescribeGroups", 15}, {"ListGroups", 16},
	{"SaslHandshake", 17}, {"ApiVersions", 18}, {"CreateTopics", 19},
	{"InitProducerId", 22}, {"OffsetForLeaderEpoch", 23},
	{"AddPartitionsToTxn", 24}, {"AddOffsetsToTxn", 25}, {"EndTxn", 26},
	{"TxnOffsetCommit", 28},
};

/*
 * mk_stop
 *	  Signal handler: asks the main loop to stop.
 */
static void
mk_stop(int sig)
{
	(void) sig;
	run = 0;
}

/*
 * mk_usage
 *	  Prints the usage text to fp.
 */
static void
mk_usage(FILE *fp)
{
	fprintf(fp,
			"usage: voltpay-mockkafka [options]\n"
			"  --brokers N          brokers in the mock cluster (5)\n"
			"  --partitions N       partitions of each topic (100)\n"
			"  --replication N      replication factor (2)\n"
			"  --topics a,b,c       topics to create (payment_writer_topic,\n"
			"                       payment_read_topic,payment_email,payment_writer_dlq)\n"
			"  --control-fifo PATH  read commands from a FIFO (created) instead of stdin\n"
			"  -h, --help\n"
			"Prints \"bootstrap.servers=...\" on stdout, then reads commands:\n"
			"  broker_down ID | broker_up ID | rtt ID MS\n"
			"  push_errors API COUNT ERR... | broker_errors ID API ERR MS [ERR MS]...\n"
			"  clear_errors API | leader TOPIC PARTITION ID\n"
			"  coordinator group|transaction KEY ID | help | quit\n");
}

/*
 * mk_parse_int
 *	  Parses a whole decimal integer; returns 0 on success, -1 otherwise.
 */
static int
mk_parse_int(const char *s, long *out)
{
	char	   *end;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	*out = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	return 0;
}

/*
 * mk_parse_api
 *	  Parses a request type given as a number or a name (case-insensitive).
 *	  Returns 0 on success, -1 otherwise.
 */
static int
mk_parse_api(const char *s, int16_t *out)
{
	long		v;
	size_t		i;

	if (mk_parse_int(s, &v) == 0)
	{
		if (v < 0 || v > 32767)
			return -1;
		*out = (int16_t) v;
		return 0;
	}
	for (i = 0; i < sizeof(mk_apis) / sizeof(mk_apis[0]); i++)
	{
		if (strcasecmp(s, mk_apis[i].name) == 0)
		{
			*out = (int16_t) mk_apis[i].key;
			return 0;
		}
	}
	return -1;
}

/*
 * mk_parse_err
 *	  Parses an error code given as a number or as librdkafka's name without
 *	  the RD_KAFKA_RESP_ERR_ prefix (NOT_LEADER_FOR_PARTITION, _TRANSPORT),
 *	  with or without it.  Returns 0 on success, -1 otherwise.
 */
static int
mk_parse_err(const char *s, rd_kafka_resp_err_t *out)
{
	const struct rd_kafka_err_desc *descs;
	size_t		cnt;
	size_t		i;
	long		v;
	const char *prefix = "RD_KAFKA_RESP_ERR_";

	if (mk_parse_int(s, &v) == 0)
	{
		*out = (rd_kafka_resp_err_t) v;
		return 0;
	}
	if (strncasecmp(s, prefix, strlen(prefix)) == 0)
		s += strlen(prefix);
	rd_kafka_get_err_descs(&descs, &cnt);
	for (i = 0; i < cnt; i++)
	{
		if (descs[i].name != NULL && strcasecmp(s, descs[i].name) == 0)
		{
			*out = descs[i].code;
			return 0;
		}
	}
	return -1;
}

/*
 * mk_split
 *	  Splits line in place on blanks into at most MK_MAX_ARGS words.
 *	  Returns the number of words.
 */
static int
mk_split(char *line, char **argv)
{
	int			argc = 0;
	char	   *p = line;

	while (*p != '\0' && argc < MK_MAX_ARGS)
	{
		while (*p != '\0' && isspace((unsigned char) *p))
			*p++ = '\0';
		if (*p == '\0')
			break;
		argv[argc++] = p;
		while (*p != '\0' && !isspace((unsigned char) *p))
			p++;
	}
	return argc;
}

/*
 * mk_command
 *	  Executes one control command.  Returns NULL on success or a static
 *	  string saying what was wrong.  Sets *quit for `quit`.
 */
static const char *
mk_command(rd_kafka_mock_cluster_t *mc, int argc, char **argv, int *quit)
{
	long		id;
	long		n;
	int16_t		api;
	rd_kafka_resp_err_t err;
	const char *cmd = argv[0];

	if (strcmp(cmd, "quit") == 0 || strcmp(cmd, "exit") == 0)
	{
		*quit = 1;
		return NULL;
	}
	if (strcmp(cmd, "help") == 0)
	{
		mk_usage(stderr);
		return NULL;
	}
	if (strcmp(cmd, "broker_down") == 0 || strcmp(cmd, "broker_up") == 0)
	{
		if (argc != 2 || mk_parse_int(argv[1], &id) != 0)
			return "expected a broker id";
		err = strcmp(cmd, "broker_down") == 0
			? rd_kafka_mock_broker_set_down(mc, (int32_t) id)
			: rd_kafka_mock_broker_set_up(mc, (int32_t) id);
		return err ? rd_kafka_err2str(err) : NULL;
	}
	if (strcmp(cmd, "rtt") == 0)
	{
		if (argc != 3 || mk_parse_int(argv[1], &id) != 0 ||
			mk_parse_int(argv[2], &n) != 0 || n < 0)
			return "expected a broker id and milliseconds";
		err = rd_kafka_mock_broker_set_rtt(mc, (int32_t) id, (int) n);
		return err ? rd_kafka_err2str(err) : NULL;
	}
	if (strcmp(cmd, "push_errors") == 0)
	{
		rd_kafka_resp_err_t *errs;
		rd_kafka_resp_err_t codes[MK_MAX_ARGS];
		int			ncodes = argc - 3;
		long		i;

		if (argc < 4 || mk_parse_api(argv[1], &api) != 0 ||
			mk_parse_int(argv[2], &n) != 0 || n <= 0 || n > 1000000)
			return "expected API COUNT ERR...";
		for (i = 0; i < ncodes; i++)
			if (mk_parse_err(argv[3 + i], &codes[i]) != 0)
				return "unknown error code";
		errs = malloc(sizeof(*errs) * (size_t) n);
		if (errs == NULL)
			return "out of memory";
		for (i = 0; i < n; i++)
			errs[i] = codes[i % ncodes];
		rd_kafka_mock_push_request_errors_array(mc, api, (size_t) n, errs);
		free(errs);
		return NULL;
	}
	if (strcmp(cmd, "broker_errors") == 0)
	{
		int			i;

		if (argc < 5 || (argc - 3) % 2 != 0 ||
			mk_parse_int(argv[1], &id) != 0 || mk_parse_api(argv[2], &api) != 0)
			return "expected ID API ERR MS [ERR MS]...";
		for (i = 3; i < argc; i += 2)
		{
			if (mk_parse_err(argv[i], &err) != 0 ||
				mk_parse_int(argv[i + 1], &n) != 0 || n < 0)
				return "bad ERR MS pair";
		}
		for (i = 3; i < argc; i += 2)
		{
			mk_parse_err(argv[i], &err);
			mk_parse_int(argv[i + 1], &n);
			if (rd_kafka_mock_broker_push_request_error_rtts(mc, (int32_t) id, api,
															 1, err, (int) n) != 0)
				return "unknown broker";
		}
		return NULL;
	}
	if (strcmp(cmd, "clear_errors") == 0)
	{
		if (argc != 2 || mk_parse_api(argv[1], &api) != 0)
			return "expected API";
		rd_kafka_mock_clear_request_errors(mc, api);
		return NULL;
	}
	if (strcmp(cmd, "leader") == 0)
	{
		if (argc != 4 || mk_parse_int(argv[2], &n) != 0 ||
			mk_parse_int(argv[3], &id) != 0)
			return "expected TOPIC PARTITION ID";
		err = rd_kafka_mock_partition_set_leader(mc, argv[1], (int32_t) n, (int32_t) id);
		return err ? rd_kafka_err2str(err) : NULL;
	}
	if (strcmp(cmd, "coordinator") == 0)
	{
		if (argc != 4 || mk_parse_int(argv[3], &id) != 0 ||
			(strcmp(argv[1], "group") != 0 && strcmp(argv[1], "transaction") != 0))
			return "expected group|transaction KEY ID";
		err = rd_kafka_mock_coordinator_set(mc, argv[1], argv[2], (int32_t) id);
		return err ? rd_kafka_err2str(err) : NULL;
	}
	return "unknown command (try help)";
}

/*
 * mk_log_cb
 *	  librdkafka log callback: one line on stderr, without the noise of the
 *	  bookkeeping client's missing bootstrap servers.
 */
static void
mk_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void) rk;
	if (strstr(buf, "bootstrap.servers") != NULL)
		return;
	fprintf(stderr, "voltpay-mockkafka: %d %s: %s\n", level, fac, buf);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"brokers", required_argument, NULL, 'b'},
		{"partitions", required_argument, NULL, 'p'},
		{"replication", required_argument, NULL, 'r'},
		{"topics", required_argument, NULL, 't'},
		{"control-fifo", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	long		brokers = 5;
	long		partitions = 100;
	long		replication = 2;
	char	   *topics = strdup("payment_writer_topic,payment_read_topic,"
								"payment_email,payment_writer_dlq");
	const char *fifo = NULL;
	char		errstr[512];
	rd_kafka_conf_t *conf;
	rd_kafka_t *rk;
	rd_kafka_mock_cluster_t *mc;
	FILE	   *in;
	char		line[4096];
	char	   *tok;
	char	   *save = NULL;
	struct sigaction sa;
	int			c;
	int			quit = 0;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1)
	{
		switch (c)
		{
			case 'b':
				if (mk_parse_int(optarg, &brokers) != 0 || brokers < 1 || brokers > 100)
				{
					fprintf(stderr, "voltpay-mockkafka: invalid --brokers \"%s\"\n", optarg);
					return 2;
				}
				break;
			case 'p':
				if (mk_parse_int(optarg, &partitions) != 0 || partitions < 1 ||
					partitions > 10000)
				{
					fprintf(stderr, "voltpay-mockkafka: invalid --partitions \"%s\"\n", optarg);
					return 2;
				}
				break;
			case 'r':
				if (mk_parse_int(optarg, &replication) != 0 || replication < 1)
				{
					fprintf(stderr, "voltpay-mockkafka: invalid --replication \"%s\"\n", optarg);
					return 2;
				}
				break;
			case 't':
				free(topics);
				topics = strdup(optarg);
				break;
			case 'f':
				fifo = optarg;
				break;
			case 'h':
				mk_usage(stdout);
				return 0;
			default:
				mk_usage(stderr);
				return 2;
		}
	}
	if (optind < argc)
	{
		fprintf(stderr, "voltpay-mockkafka: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}
	if (replication > brokers)
	{
		fprintf(stderr, "voltpay-mockkafka: --replication %ld exceeds --brokers %ld\n",
				replication, brokers);
		return 2;
	}

	/* No SA_RESTART: a signal must interrupt the blocking read below. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = mk_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* A client handle is needed for the mock cluster's bookkeeping. */
	conf = rd_kafka_conf_new();
	rd_kafka_conf_set_log_cb(conf, mk_log_cb);
	/* The mock brokers' sockets take the handle's socket settings. */
	if (rd_kafka_conf_set(conf, "log.connection.close", "false",
						  errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK ||
		rd_kafka_conf_set(conf, "socket.nagle.disable", "true",
						  errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK)
	{
		fprintf(stderr, "voltpay-mockkafka: %s\n", errstr);
		return 1;
	}
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (rk == NULL)
	{
		fprintf(stderr, "voltpay-mockkafka: %s\n", errstr);
		return 1;
	}
	conf = NULL;				/* owned by rk */

	mc = rd_kafka_mock_cluster_new(rk, (int) brokers);
	if (mc == NULL)
	{
		fprintf(stderr, "voltpay-mockkafka: could not create the mock cluster\n");
		rd_kafka_destroy(rk);
		return 1;
	}

	for (tok = strtok_r(topics, ",", &save); tok != NULL;
		 tok = strtok_r(NULL, ",", &save))
	{
		rd_kafka_resp_err_t err;

		if (*tok == '\0')
			continue;
		err = rd_kafka_mock_topic_create(mc, tok, (int) partitions, (int) replication);
		if (err)
		{
			fprintf(stderr, "voltpay-mockkafka: could not create topic \"%s\": %s\n",
					tok, rd_kafka_err2str(err));
			rd_kafka_mock_cluster_destroy(mc);
			rd_kafka_destroy(rk);
			return 1;
		}
	}
	free(topics);

	if (fifo != NULL)
	{
		int			fd;

		if (mkfifo(fifo, 0600) != 0 && errno != EEXIST)
		{
			fprintf(stderr, "voltpay-mockkafka: could not create FIFO \"%s\": %s\n",
					fifo, strerror(errno));
			rd_kafka_mock_cluster_destroy(mc);
			rd_kafka_destroy(rk);
			return 1;
		}
		/* Read-write: the FIFO never reports end of file between writers. */
		fd = open(fifo, O_RDWR);
		in = fd >= 0 ? fdopen(fd, "r") : NULL;
		if (in == NULL)
		{
			fprintf(stderr, "voltpay-mockkafka: could not open FIFO \"%s\": %s\n",
					fifo, strerror(errno));
			rd_kafka_mock_cluster_destroy(mc);
			rd_kafka_destroy(rk);
			return 1;
		}
	}
	else
		in = stdin;

	printf("bootstrap.servers=%s\n", rd_kafka_mock_cluster_bootstraps(mc));
	fflush(stdout);

	while (run && !quit)
	{
		char	   *args[MK_MAX_ARGS];
		int			nargs;
		const char *why;
		size_t		len;

		if (fgets(line, sizeof(line), in) == NULL)
		{
			if (ferror(in) && errno == EINTR)
			{
				clearerr(in);
				continue;
			}
			break;				/* end of the control channel */
		}
		len = strlen(line);
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		{
			char		copy[sizeof(line)];

			memcpy(copy, line, len + 1);
			nargs = mk_split(line, args);
			if (nargs == 0 || args[0][0] == '#')
				continue;
			why = mk_command(mc, nargs, args, &quit);
			if (why == NULL)
				printf("ok %s\n", copy);
			else
				printf("error %s: %s\n", copy, why);
			fflush(stdout);
		}
	}

	if (in != stdin)
		fclose(in);
	if (fifo != NULL)
		unlink(fifo);
	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(rk);
	return 0;
}
