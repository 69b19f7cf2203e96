/*-------------------------------------------------------------------------
 *
 * voltpay-txproducer.c
 *	  An upstream producer that uses Kafka transactions: it re-sends the
 *	  messages of a voltpay-loadgen manifest (written with
 *	  --manifest-payloads) in transactions, commits some and aborts the
 *	  others, and writes one manifest of what was committed and one of
 *	  what was aborted, for test/kafka/checker_kafka.py.
 *
 *	  voltpay-txproducer --brokers LIST --topic T --source FILE
 *						 --transactional-id ID --manifest FILE
 *						 --aborted FILE [--txn-size N] [--abort-fraction F]
 *						 [--slice K/N] [--rate N] [--seed N] [--leave-open]
 *						 [--plain] [-X key=value]...
 *
 * Each source line is a loadgen manifest object with "key" and "payload"
 * (or "payload_b64"; a null "sha256" means a null value).  --slice K/N
 * keeps the lines whose key hashes to K modulo N, so that producers given
 * different slices of one source never share an account (each account's
 * messages then reach Kafka in the source's order).
 *
 * Messages go out in transactions of --txn-size; each transaction is
 * aborted with probability --abort-fraction, after its messages were
 * acknowledged (so aborted records really are in the log, behind an
 * abort marker), or committed.  The output manifests repeat each source
 * object with the topic, partition and offset the message got and its
 * transaction number ("txn"), without the payload; the aborted manifest
 * adds "outcome": "aborted".
 *
 * --leave-open: after the other transactions, one more transaction of
 * --txn-size messages is produced and acknowledged but neither committed
 * nor aborted: its messages go to the aborted manifest with outcome
 * "open", the line "open N" (N messages) is printed on stdout, and the
 * program waits to be killed.  A later producer with the same
 * --transactional-id fences it off, and the broker aborts it (so does the
 * transaction timeout, -X transaction.timeout.ms).
 *
 * --plain: no transactions, an idempotent producer (acks=all) that sends
 * every message; the manifest has no "txn".
 *
 * Exit status: 0 when every transaction ended as planned, 1 on errors
 * (a transaction the broker made us abort counts: it is reported and
 * written to the aborted manifest), 2 on bad usage.
 *
 *-------------------------------------------------------------------------
 */
#define _GNU_SOURCE

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <openssl/evp.h>

#include "lib/cli.h"
#include "lib/jsonout.h"

#define TX_TIMEOUT_MS	60000

/* One source message and what became of it. */
typedef struct TxMsg
{
	json_t	   *src;			/* the source object, payload removed */
	char	   *key;
	size_t		key_len;		/* key NULL: no key */
	char	   *value;
	size_t		value_len;		/* value NULL: null value */
	int32_t		partition;
	int64_t		offset;
	rd_kafka_resp_err_t err;
	int			reported;		/* delivery report seen */
} TxMsg;

/* Set by SIGINT/SIGTERM. */
static volatile sig_atomic_t run = 1;

static const char *tx_id = NULL;
static long tx_failed = 0;		/* delivery failures */

/*
 * tx_stop
 *	  Signal handler.
 */
static void
tx_stop(int sig)
{
	(void) sig;
	run = 0;
}

/*
 * tx_string
 *	  A malloc'd copy (NUL added) of the JSON string v of member name, its
 *	  length in *len; NULL when v is absent or null.  Exits when v is
 *	  something else.
 */
static char *
tx_string(const json_t *v, const char *name, size_t *len, long lineno)
{
	char	   *out;

	*len = 0;
	if (v == NULL || json_is_null(v))
		return NULL;
	if (!json_is_string(v))
		cli_fatal(1, "source line %ld: \"%s\" is not a string", lineno, name);
	*len = json_string_length(v);
	out = malloc(*len + 1);
	if (out == NULL)
		cli_fatal(1, "out of memory");
	memcpy(out, json_string_value(v), *len);
	out[*len] = '\0';
	return out;
}

/*
 * tx_base64
 *	  Decodes the base64 JSON string v (padded, as jo_base64 and Python
 *	  write it) into a malloc'd buffer; NULL when v is null.
 */
static char *
tx_base64(const json_t *v, size_t *len, long lineno)
{
	const char *s;
	size_t		slen;
	unsigned char *out;
	int			n;

	*len = 0;
	if (json_is_null(v))
		return NULL;
	if (!json_is_string(v))
		cli_fatal(1, "source line %ld: \"payload_b64\" is not a string", lineno);
	s = json_string_value(v);
	slen = json_string_length(v);
	if (slen % 4 != 0 || slen > (size_t) INT_MAX)
		cli_fatal(1, "source line %ld: bad base64", lineno);
	out = malloc(slen / 4 * 3 + 1);
	if (out == NULL)
		cli_fatal(1, "out of memory");
	/* EVP_DecodeBlock counts the padding as zero bytes: drop them. */
	n = EVP_DecodeBlock(out, (const unsigned char *) s, (int) slen);
	if (n < 0)
		cli_fatal(1, "source line %ld: bad base64", lineno);
	if (slen > 0 && s[slen - 1] == '=')
		n--;
	if (slen > 1 && s[slen - 2] == '=')
		n--;
	*len = (size_t) n;
	return (char *) out;
}

/*
 * tx_fnv
 *	  FNV-1a of a key, for --slice.
 */
static uint32_t
tx_fnv(const char *s, size_t len)
{
	uint32_t	h = 2166136261u;

	for (size_t i = 0; i < len; i++)
	{
		h ^= (unsigned char) s[i];
		h *= 16777619u;
	}
	return h;
}

/*
 * tx_load
 *	  Reads the source manifest lines that fall in slice k of n.
 */
static TxMsg *
tx_load(const char *path, int k, int n, long *count)
{
	FILE	   *fp = fopen(path, "r");
	char	   *line = NULL;
	size_t		cap = 0;
	ssize_t		len;
	long		lineno = 0;
	long		nmsg = 0;
	long		alloc = 0;
	TxMsg	   *msgs = NULL;

	if (fp == NULL)
		cli_fatal(1, "could not open \"%s\": %s", path, strerror(errno));
	while ((len = getline(&line, &cap, fp)) > 0)
	{
		json_error_t jerr;
		json_t	   *o;
		json_t	   *sm;
		json_t	   *pm;
		TxMsg	   *t;
		char	   *key;
		size_t		key_len;

		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0)
			continue;
		o = json_loadb(line, (size_t) len, JSON_ALLOW_NUL, &jerr);
		if (o == NULL)
			cli_fatal(1, "%s:%ld: %s", path, lineno, jerr.text);
		if (!json_is_object(o))
			cli_fatal(1, "%s:%ld: not a JSON object", path, lineno);
		key = tx_string(json_object_get(o, "key"), "key", &key_len, lineno);
		if (key != NULL && key_len == 0)
		{
			free(key);
			key = NULL;			/* as the loadgen sends it: no key */
		}
		if (n > 1 && (int) (tx_fnv(key ? key : "", key_len) % (uint32_t) n) != k)
		{
			free(key);
			json_decref(o);
			continue;
		}
		if (nmsg == alloc)
		{
			alloc = alloc ? alloc * 2 : 1024;
			msgs = realloc(msgs, sizeof(TxMsg) * (size_t) alloc);
			if (msgs == NULL)
				cli_fatal(1, "out of memory");
		}
		t = &msgs[nmsg++];
		memset(t, 0, sizeof(*t));
		t->key = key;
		t->key_len = key_len;
		t->partition = -1;
		t->offset = -1;
		sm = json_object_get(o, "sha256");
		if (json_is_null(sm))
			t->value = NULL;	/* tombstone */
		else if ((pm = json_object_get(o, "payload")) != NULL)
			t->value = tx_string(pm, "payload", &t->value_len, lineno);
		else if ((pm = json_object_get(o, "payload_b64")) != NULL)
			t->value = tx_base64(pm, &t->value_len, lineno);
		else
			cli_fatal(1, "%s:%ld: no payload (run the loadgen with --manifest-payloads)",
					 path, lineno);
		if (t->value == NULL && !json_is_null(sm))
			t->value = strdup("");
		/* The output manifests leave the payload out: keep the rest. */
		json_object_del(o, "payload");
		json_object_del(o, "payload_b64");
		t->src = o;
	}
	free(line);
	if (ferror(fp))
		cli_fatal(1, "could not read \"%s\": %s", path, strerror(errno));
	fclose(fp);
	*count = nmsg;
	return msgs;
}

/*
 * tx_write
 *	  Writes one output manifest line: topic, partition and offset, then
 *	  the source object's other members in their order (payload left out),
 *	  txn and transactional_id (when txn >= 0) and outcome (when not NULL).
 */
static void
tx_write(FILE *fp, const TxMsg *t, const char *topic, long txn, const char *outcome)
{
	static const char *drop[] = {"topic", "partition", "offset", "txn",
	"transactional_id", "outcome"};
	json_t	   *o = json_object();
	const char *name;
	json_t	   *v;

	if (o == NULL)
		cli_fatal(1, "out of memory");
	jo_set(o, "topic", json_string(topic));
	jo_set(o, "partition", json_integer(t->partition));
	jo_set(o, "offset", json_integer(t->offset));
	json_object_foreach(t->src, name, v)
	{
		int			skip = 0;

		for (size_t d = 0; d < sizeof(drop) / sizeof(drop[0]); d++)
			if (strcmp(name, drop[d]) == 0)
				skip = 1;
		if (!skip)
			jo_set(o, name, json_incref(v));
	}
	if (txn >= 0)
	{
		jo_set(o, "txn", json_integer(txn));
		jo_set(o, "transactional_id", json_string(tx_id));
	}
	if (outcome != NULL)
		jo_set(o, "outcome", json_string(outcome));
	jo_write_line(fp, o);
}

/*
 * tx_dr_cb
 *	  Delivery report: records the message's partition and offset.
 */
static void
tx_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque)
{
	TxMsg	   *t = rkm->_private;

	(void) rk;
	(void) opaque;
	t->reported = 1;
	t->err = rkm->err;
	if (rkm->err == RD_KAFKA_RESP_ERR_NO_ERROR)
	{
		t->partition = rkm->partition;
		t->offset = rkm->offset;
	}
	else if (tx_failed++ < 10)
		fprintf(stderr, "voltpay-txproducer: delivery failed: %s\n",
				rd_kafka_err2str(rkm->err));
}

/*
 * tx_check
 *	  Handles the result of a transactional call: NULL is success; a fatal
 *	  error exits; otherwise returns 1 when the transaction must be
 *	  aborted, 2 when the call may be retried.
 */
static int
tx_check(rd_kafka_error_t *error, const char *what)
{
	int			r;

	if (error == NULL)
		return 0;
	if (rd_kafka_error_is_fatal(error))
		cli_fatal(1, "%s: fatal: %s", what, rd_kafka_error_string(error));
	fprintf(stderr, "voltpay-txproducer: %s: %s\n", what, rd_kafka_error_string(error));
	r = rd_kafka_error_txn_requires_abort(error) ? 1 :
		rd_kafka_error_is_retriable(error) ? 2 : 1;
	rd_kafka_error_destroy(error);
	return r;
}

/*
 * tx_produce
 *	  Queues one message of the current transaction.
 */
static void
tx_produce(rd_kafka_t *rk, const char *topic, TxMsg *t)
{
	rd_kafka_resp_err_t err;

	for (;;)
	{
		err = rd_kafka_producev(rk,
								RD_KAFKA_V_TOPIC(topic),
								RD_KAFKA_V_KEY(t->key, t->key ? t->key_len : 0),
								RD_KAFKA_V_VALUE(t->value, t->value ? t->value_len : 0),
								RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
								RD_KAFKA_V_OPAQUE(t),
								RD_KAFKA_V_END);
		if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
			break;
		rd_kafka_poll(rk, 10);
	}
	if (err)
	{
		t->reported = 1;
		t->err = err;
		fprintf(stderr, "voltpay-txproducer: produce failed: %s\n", rd_kafka_err2str(err));
		tx_failed++;
	}
	rd_kafka_poll(rk, 0);
}

/*
 * tx_flush
 *	  Waits until every queued message has its delivery report.
 */
static void
tx_flush(rd_kafka_t *rk)
{
	while (rd_kafka_outq_len(rk) > 0)
		rd_kafka_flush(rk, 1000);
	rd_kafka_poll(rk, 0);
}

/* Random numbers for abort decisions: splitmix64. */
static uint64_t tx_rng;

static double
tx_uniform(void)
{
	uint64_t	z = (tx_rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return (double) (z >> 11) * (1.0 / 9007199254740992.0);
}

/*
 * tx_usage
 *	  Prints the usage text to fp.
 */
static void
tx_usage(FILE *fp)
{
	fprintf(fp,
			"usage: voltpay-txproducer --brokers LIST --source FILE --manifest FILE\n"
			"                          --aborted FILE --transactional-id ID [options]\n"
			"  -b, --brokers LIST          bootstrap servers\n"
			"  -t, --topic T               topic (payment_writer_topic)\n"
			"  --source FILE               loadgen manifest with --manifest-payloads\n"
			"  --slice K/N                 only keys hashing to K modulo N\n"
			"  --transactional-id ID       transactional.id (required unless --plain)\n"
			"  --manifest FILE             committed messages, one JSON line each\n"
			"  --aborted FILE              aborted (and left open) messages\n"
			"  --txn-size N                messages per transaction (20)\n"
			"  --abort-fraction F          transactions aborted (0.3)\n"
			"  --rate N                    messages per second, 0 = no limit (0)\n"
			"  --seed N                    for the abort decisions (1)\n"
			"  --leave-open                leave one last transaction open, print\n"
			"                              \"open N\" and wait to be killed\n"
			"  --plain                     no transactions: idempotent producer\n"
			"  -X key=value                librdkafka producer property\n"
			"  -h, --help\n");
}

int
main(int argc, char **argv)
{
	enum
	{
		OPT_SOURCE = 256, OPT_SLICE, OPT_TXID, OPT_MANIFEST, OPT_ABORTED,
		OPT_TXN_SIZE, OPT_ABORT_FRACTION, OPT_RATE, OPT_SEED, OPT_LEAVE_OPEN,
		OPT_PLAIN
	};
	static const struct option longopts[] = {
		{"brokers", required_argument, NULL, 'b'},
		{"topic", required_argument, NULL, 't'},
		{"source", required_argument, NULL, OPT_SOURCE},
		{"slice", required_argument, NULL, OPT_SLICE},
		{"transactional-id", required_argument, NULL, OPT_TXID},
		{"manifest", required_argument, NULL, OPT_MANIFEST},
		{"aborted", required_argument, NULL, OPT_ABORTED},
		{"txn-size", required_argument, NULL, OPT_TXN_SIZE},
		{"abort-fraction", required_argument, NULL, OPT_ABORT_FRACTION},
		{"rate", required_argument, NULL, OPT_RATE},
		{"seed", required_argument, NULL, OPT_SEED},
		{"leave-open", no_argument, NULL, OPT_LEAVE_OPEN},
		{"plain", no_argument, NULL, OPT_PLAIN},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	const char *brokers = NULL;
	const char *topic = "payment_writer_topic";
	const char *source = NULL;
	const char *manifest_path = NULL;
	const char *aborted_path = NULL;
	int			slice_k = 0;
	int			slice_n = 1;
	long		txn_size = 20;
	double		abort_frac = 0.3;
	double		rate = 0;
	int			leave_open = 0;
	int			plain = 0;
	char		errstr[512];
	rd_kafka_conf_t *conf;
	rd_kafka_t *rk;
	FILE	   *manifest;
	FILE	   *aborted = NULL;
	TxMsg	   *msgs;
	long		nmsg;
	long		next = 0;
	long		open_start;
	long		txn = 0;
	long		n_commit_txn = 0;
	long		n_abort_txn = 0;
	long		n_forced_abort = 0;
	long		n_committed = 0;
	long		n_aborted = 0;
	struct sigaction sa;
	struct timespec t0;
	int			c;
	int			status = 0;

	cli_progname = "voltpay-txproducer";

	tx_rng = 1;
	conf = rd_kafka_conf_new();
	while ((c = getopt_long(argc, argv, "b:t:X:h", longopts, NULL)) != -1)
	{
		char	   *end;

		switch (c)
		{
			case 'b':
				brokers = optarg;
				break;
			case 't':
				topic = optarg;
				break;
			case OPT_SOURCE:
				source = optarg;
				break;
			case OPT_SLICE:
				if (sscanf(optarg, "%d/%d", &slice_k, &slice_n) != 2 ||
					slice_n < 1 || slice_k < 0 || slice_k >= slice_n)
					cli_fatal(2, "invalid --slice \"%s\": expected K/N with 0 <= K < N", optarg);
				break;
			case OPT_TXID:
				tx_id = optarg;
				break;
			case OPT_MANIFEST:
				manifest_path = optarg;
				break;
			case OPT_ABORTED:
				aborted_path = optarg;
				break;
			case OPT_TXN_SIZE:
				txn_size = strtol(optarg, &end, 10);
				if (*end || txn_size < 1 || txn_size > 100000)
					cli_fatal(2, "invalid --txn-size \"%s\"", optarg);
				break;
			case OPT_ABORT_FRACTION:
				abort_frac = strtod(optarg, &end);
				if (*end || abort_frac < 0 || abort_frac > 1)
					cli_fatal(2, "invalid --abort-fraction \"%s\": expected 0 to 1", optarg);
				break;
			case OPT_RATE:
				rate = strtod(optarg, &end);
				if (*end || rate < 0)
					cli_fatal(2, "invalid --rate \"%s\"", optarg);
				break;
			case OPT_SEED:
				tx_rng = strtoull(optarg, &end, 10);
				if (*end)
					cli_fatal(2, "invalid --seed \"%s\"", optarg);
				break;
			case OPT_LEAVE_OPEN:
				leave_open = 1;
				break;
			case OPT_PLAIN:
				plain = 1;
				break;
			case 'X':
				cli_conf_kv(conf, optarg);
				break;
			case 'h':
				tx_usage(stdout);
				return 0;
			default:
				tx_usage(stderr);
				return 2;
		}
	}
	if (optind < argc)
		cli_fatal(2, "unexpected argument \"%s\"", argv[optind]);
	if (brokers == NULL || source == NULL || manifest_path == NULL)
		cli_fatal(2, "--brokers, --source and --manifest are required");
	if (!plain && (tx_id == NULL || aborted_path == NULL))
		cli_fatal(2, "--transactional-id and --aborted are required (or --plain)");
	if (plain && leave_open)
		cli_fatal(2, "--leave-open needs transactions");

	{
		const char *props[][2] = {
			{"bootstrap.servers", brokers},
			{"enable.idempotence", "true"},
			{"acks", "all"},
			{"linger.ms", "5"},
			{"transactional.id", tx_id},
		};

		for (size_t k = 0; k < sizeof(props) / sizeof(props[0]); k++)
		{
			if (props[k][1] == NULL || (plain && strcmp(props[k][0], "transactional.id") == 0))
				continue;
			if (rd_kafka_conf_set(conf, props[k][0], props[k][1], errstr,
								  sizeof(errstr)) != RD_KAFKA_CONF_OK)
				cli_fatal(2, "%s: %s", props[k][0], errstr);
		}
	}
	rd_kafka_conf_set_dr_msg_cb(conf, tx_dr_cb);

	msgs = tx_load(source, slice_k, slice_n, &nmsg);
	manifest = fopen(manifest_path, "w");
	if (manifest == NULL)
		cli_fatal(1, "could not open \"%s\": %s", manifest_path, strerror(errno));
	if (aborted_path != NULL)
	{
		aborted = fopen(aborted_path, "w");
		if (aborted == NULL)
			cli_fatal(1, "could not open \"%s\": %s", aborted_path, strerror(errno));
	}

	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (rk == NULL)
		cli_fatal(2, "%s", errstr);
	conf = NULL;				/* owned by rk */

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = tx_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	fprintf(stderr, "voltpay-txproducer: %ld messages from %s (slice %d/%d) to %s%s%s\n",
			nmsg, source, slice_k, slice_n, topic, plain ? ", no transactions" : ", transactional.id ",
			plain ? "" : tx_id);
	clock_gettime(CLOCK_MONOTONIC, &t0);

	if (plain)
	{
		for (next = 0; next < nmsg && run; next++)
		{
			if (rate > 0)
			{
				struct timespec now;
				double		due = (double) next / rate;
				double		el;

				clock_gettime(CLOCK_MONOTONIC, &now);
				el = (double) (now.tv_sec - t0.tv_sec) + (now.tv_nsec - t0.tv_nsec) / 1e9;
				if (el < due)
					rd_kafka_poll(rk, (int) ((due - el) * 1000) + 1);
			}
			tx_produce(rk, topic, &msgs[next]);
		}
		tx_flush(rk);
		for (long i = 0; i < next; i++)
			if (msgs[i].reported && msgs[i].err == 0)
			{
				tx_write(manifest, &msgs[i], topic, -1, NULL);
				n_committed++;
			}
		if (n_committed != nmsg)
			status = 1;
		goto done;
	}

	for (int tries = 1;; tries++)
	{
		int			r = tx_check(rd_kafka_init_transactions(rk, TX_TIMEOUT_MS),
								 "init_transactions");

		if (r == 0)
			break;
		if (r != 2 || tries == 3 || !run)
			cli_fatal(1, "could not initialise transactions");
	}
	open_start = !leave_open ? nmsg : nmsg > txn_size ? nmsg - txn_size : 0;

	while (next < nmsg && run)
	{
		long		first = next;
		long		last;
		int			open_it;
		int			abort_it;
		int			r;

		/* The last --txn-size messages stay open with --leave-open. */
		last = first + txn_size;
		if (first < open_start && last > open_start)
			last = open_start;
		if (last > nmsg)
			last = nmsg;
		open_it = first >= open_start;
		abort_it = !open_it && tx_uniform() < abort_frac;
		txn++;

		if (rate > 0)
		{
			struct timespec now;
			double		due = (double) first / rate;
			double		el;

			clock_gettime(CLOCK_MONOTONIC, &now);
			el = (double) (now.tv_sec - t0.tv_sec) + (now.tv_nsec - t0.tv_nsec) / 1e9;
			if (el < due)
				usleep((useconds_t) ((due - el) * 1e6));
		}

		if (tx_check(rd_kafka_begin_transaction(rk), "begin_transaction"))
			cli_fatal(1, "could not begin transaction %ld", txn);
		for (long i = first; i < last; i++)
			tx_produce(rk, topic, &msgs[i]);
		next = last;

		/* Every message acknowledged, so that an abort leaves records. */
		tx_flush(rk);
		for (long i = first; i < last; i++)
			if (msgs[i].err)
				abort_it = 1;	/* a commit would fail */

		if (open_it && !abort_it && run)
		{
			for (long i = first; i < last; i++)
				tx_write(aborted, &msgs[i], topic, txn, "open");
			n_aborted += last - first;
			fflush(manifest);
			fflush(aborted);
			printf("open %ld\n", last - first);
			fflush(stdout);
			fprintf(stderr, "voltpay-txproducer: transaction %ld left open (%ld messages); "
					"waiting to be killed\n", txn, last - first);
			while (run)
				pause();
			fprintf(stderr, "voltpay-txproducer: interrupted with transaction %ld open\n", txn);
			_exit(3);
		}

		if (!abort_it && run)
		{
			for (;;)
			{
				r = tx_check(rd_kafka_commit_transaction(rk, TX_TIMEOUT_MS),
							 "commit_transaction");
				if (r != 2)
					break;
			}
			if (r == 0)
			{
				for (long i = first; i < last; i++)
					tx_write(manifest, &msgs[i], topic, txn, NULL);
				n_committed += last - first;
				n_commit_txn++;
				continue;
			}
			n_forced_abort++;
			status = 1;
		}
		for (;;)
		{
			r = tx_check(rd_kafka_abort_transaction(rk, TX_TIMEOUT_MS), "abort_transaction");
			if (r != 2)
				break;
		}
		if (r != 0)
			cli_fatal(1, "could not abort transaction %ld", txn);
		for (long i = first; i < last; i++)
			if (msgs[i].reported && msgs[i].err == 0)
			{
				tx_write(aborted, &msgs[i], topic, txn, "aborted");
				n_aborted++;
			}
		n_abort_txn++;
	}

done:
	if (!run)
		status = 1;
	if (fclose(manifest) != 0 || (aborted != NULL && fclose(aborted) != 0))
		cli_fatal(1, "could not write a manifest: %s", strerror(errno));
	rd_kafka_destroy(rk);
	fprintf(stderr, "voltpay-txproducer: %ld transactions (%ld committed, %ld aborted%s), "
			"%ld messages committed, %ld aborted, %ld delivery failures%s\n",
			n_commit_txn + n_abort_txn, n_commit_txn, n_abort_txn,
			n_forced_abort ? ", some forced by errors" : "",
			n_committed, n_aborted, tx_failed, run ? "" : " (interrupted)");
	for (long i = 0; i < nmsg; i++)
	{
		json_decref(msgs[i].src);
		free(msgs[i].key);
		free(msgs[i].value);
	}
	free(msgs);
	return status;
}
