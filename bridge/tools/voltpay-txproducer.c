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

#define TX_TIMEOUT_MS	60000

/* One source message and what became of it. */
typedef struct TxMsg
{
	char	   *line;			/* the source object, as read */
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

/*-------------------------------------------------------------------------
 * A flat JSON object reader: enough for manifest lines (string, number,
 * boolean and null values; nested values are skipped over whole).
 *-------------------------------------------------------------------------
 */

/* One member: name and raw value spans inside the line. */
typedef struct TxMember
{
	const char *name;
	size_t		name_len;		/* without the quotes */
	const char *val;
	size_t		val_len;		/* raw JSON text */
} TxMember;

#define TX_MAX_MEMBERS 64

static const char *
tx_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	return p;
}

/*
 * tx_skip_string
 *	  p at an opening quote; returns the position after the closing one,
 *	  or NULL.
 */
static const char *
tx_skip_string(const char *p)
{
	for (p++; *p; p++)
	{
		if (*p == '\\')
		{
			if (p[1] == '\0')
				return NULL;
			p++;
		}
		else if (*p == '"')
			return p + 1;
	}
	return NULL;
}

/*
 * tx_skip_value
 *	  Returns the position after the JSON value at p, or NULL.
 */
static const char *
tx_skip_value(const char *p)
{
	if (*p == '"')
		return tx_skip_string(p);
	if (*p == '{' || *p == '[')
	{
		int			depth = 0;

		while (*p)
		{
			if (*p == '"')
			{
				p = tx_skip_string(p);
				if (p == NULL)
					return NULL;
				continue;
			}
			if (*p == '{' || *p == '[')
				depth++;
			else if (*p == '}' || *p == ']')
			{
				if (--depth == 0)
					return p + 1;
			}
			p++;
		}
		return NULL;
	}
	while (*p && *p != ',' && *p != '}' && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
		p++;
	return p;
}

/*
 * tx_parse_object
 *	  Splits a flat JSON object into members; returns their count, or -1
 *	  when the text is not an object.
 */
static int
tx_parse_object(const char *s, TxMember *m, int max)
{
	const char *p = tx_ws(s);
	int			n = 0;

	if (*p++ != '{')
		return -1;
	p = tx_ws(p);
	if (*p == '}')
		return 0;
	for (;;)
	{
		const char *e;

		if (*p != '"' || n >= max)
			return -1;
		e = tx_skip_string(p);
		if (e == NULL)
			return -1;
		m[n].name = p + 1;
		m[n].name_len = (size_t) (e - p - 2);
		p = tx_ws(e);
		if (*p++ != ':')
			return -1;
		p = tx_ws(p);
		e = tx_skip_value(p);
		if (e == NULL || e == p)
			return -1;
		m[n].val = p;
		m[n].val_len = (size_t) (e - p);
		n++;
		p = tx_ws(e);
		if (*p == '}')
			return n;
		if (*p++ != ',')
			return -1;
		p = tx_ws(p);
	}
}

/*
 * tx_member
 *	  The member called name, or NULL.
 */
static const TxMember *
tx_member(const TxMember *m, int n, const char *name)
{
	size_t		len = strlen(name);

	for (int i = 0; i < n; i++)
		if (m[i].name_len == len && memcmp(m[i].name, name, len) == 0)
			return &m[i];
	return NULL;
}

/*
 * tx_put_utf8
 *	  Appends code point cp as UTF-8 at out; returns the byte count.
 */
static size_t
tx_put_utf8(char *out, uint32_t cp)
{
	if (cp < 0x80)
	{
		out[0] = (char) cp;
		return 1;
	}
	if (cp < 0x800)
	{
		out[0] = (char) (0xc0 | (cp >> 6));
		out[1] = (char) (0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000)
	{
		out[0] = (char) (0xe0 | (cp >> 12));
		out[1] = (char) (0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char) (0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char) (0xf0 | (cp >> 18));
	out[1] = (char) (0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char) (0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char) (0x80 | (cp & 0x3f));
	return 4;
}

static int
tx_hex4(const char *p, uint32_t *out)
{
	uint32_t	v = 0;

	for (int i = 0; i < 4; i++)
	{
		char		c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t) (c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t) (c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t) (c - 'A' + 10);
		else
			return 0;
	}
	*out = v;
	return 1;
}

/*
 * tx_decode_string
 *	  Decodes the JSON string member m into a malloc'd buffer (NUL added);
 *	  NULL for a JSON null.  Exits on malformed input.
 */
static char *
tx_decode_string(const TxMember *m, size_t *len, long lineno)
{
	const char *p = m->val;
	const char *end = m->val + m->val_len - 1;
	char	   *out;
	size_t		n = 0;

	if (m->val_len == 4 && memcmp(p, "null", 4) == 0)
		return NULL;
	if (*p != '"' || *end != '"')
		cli_fatal(1, "source line %ld: \"%.*s\" is not a string", lineno,
				 (int) m->name_len, m->name);
	out = malloc(m->val_len + 1);
	if (out == NULL)
		cli_fatal(1, "out of memory");
	for (p++; p < end; p++)
	{
		uint32_t	cp;

		if (*p != '\\')
		{
			out[n++] = *p;
			continue;
		}
		p++;
		switch (*p)
		{
			case 'b':
				out[n++] = '\b';
				break;
			case 'f':
				out[n++] = '\f';
				break;
			case 'n':
				out[n++] = '\n';
				break;
			case 'r':
				out[n++] = '\r';
				break;
			case 't':
				out[n++] = '\t';
				break;
			case 'u':
				if (end - p < 5 || !tx_hex4(p + 1, &cp))
					cli_fatal(1, "source line %ld: bad \\u escape", lineno);
				p += 4;
				if (cp >= 0xd800 && cp <= 0xdbff && end - p >= 7 && p[1] == '\\' && p[2] == 'u')
				{
					uint32_t	lo;

					if (tx_hex4(p + 3, &lo) && lo >= 0xdc00 && lo <= 0xdfff)
					{
						cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
						p += 6;
					}
				}
				n += tx_put_utf8(out + n, cp);
				break;
			default:
				out[n++] = *p;	/* \" \\ \/ */
				break;
		}
	}
	out[n] = '\0';
	*len = n;
	return out;
}

/*
 * tx_decode_base64
 *	  Decodes a base64 JSON string member into a malloc'd buffer.
 */
static char *
tx_decode_base64(const TxMember *m, size_t *len, long lineno)
{
	size_t		slen;
	char	   *s = tx_decode_string(m, &slen, lineno);
	char	   *out;
	uint32_t	acc = 0;
	int			bits = 0;
	size_t		n = 0;

	if (s == NULL)
		return NULL;
	out = malloc(slen + 1);
	if (out == NULL)
		cli_fatal(1, "out of memory");
	for (size_t i = 0; i < slen; i++)
	{
		char		c = s[i];
		int			v;

		if (c >= 'A' && c <= 'Z')
			v = c - 'A';
		else if (c >= 'a' && c <= 'z')
			v = c - 'a' + 26;
		else if (c >= '0' && c <= '9')
			v = c - '0' + 52;
		else if (c == '+')
			v = 62;
		else if (c == '/')
			v = 63;
		else if (c == '=')
			break;
		else
			cli_fatal(1, "source line %ld: bad base64", lineno);
		acc = (acc << 6) | (uint32_t) v;
		bits += 6;
		if (bits >= 8)
		{
			bits -= 8;
			out[n++] = (char) ((acc >> bits) & 0xff);
		}
	}
	free(s);
	*len = n;
	return out;
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
		TxMember	m[TX_MAX_MEMBERS];
		int			nm;
		const TxMember *km;
		const TxMember *pm;
		const TxMember *sm;
		TxMsg	   *t;
		char	   *key;
		size_t		key_len = 0;

		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0)
			continue;
		nm = tx_parse_object(line, m, TX_MAX_MEMBERS);
		if (nm < 0)
			cli_fatal(1, "%s:%ld: not a flat JSON object", path, lineno);
		km = tx_member(m, nm, "key");
		key = km ? tx_decode_string(km, &key_len, lineno) : NULL;
		if (key != NULL && key_len == 0)
		{
			free(key);
			key = NULL;			/* as the loadgen sends it: no key */
		}
		if (n > 1 && (int) (tx_fnv(key ? key : "", key_len) % (uint32_t) n) != k)
		{
			free(key);
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
		t->line = strdup(line);
		t->key = key;
		t->key_len = key_len;
		t->partition = -1;
		t->offset = -1;
		sm = tx_member(m, nm, "sha256");
		if (sm != NULL && sm->val_len == 4 && memcmp(sm->val, "null", 4) == 0)
			t->value = NULL;	/* tombstone */
		else if ((pm = tx_member(m, nm, "payload")) != NULL)
			t->value = tx_decode_string(pm, &t->value_len, lineno);
		else if ((pm = tx_member(m, nm, "payload_b64")) != NULL)
			t->value = tx_decode_base64(pm, &t->value_len, lineno);
		else
			cli_fatal(1, "%s:%ld: no payload (run the loadgen with --manifest-payloads)",
					 path, lineno);
		if (t->value == NULL && (sm == NULL || sm->val_len != 4))
			t->value = strdup("");
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
 *	  Writes one output manifest line: the source object with topic,
 *	  partition and offset replaced, the payload left out, txn (when >= 0)
 *	  and outcome (when not NULL) added.
 */
static void
tx_write(FILE *fp, const TxMsg *t, const char *topic, long txn, const char *outcome)
{
	TxMember	m[TX_MAX_MEMBERS];
	int			nm = tx_parse_object(t->line, m, TX_MAX_MEMBERS);
	static const char *drop[] = {"topic", "partition", "offset", "payload",
	"payload_b64", "txn", "transactional_id", "outcome"};

	fprintf(fp, "{\"topic\":\"%s\",\"partition\":%d,\"offset\":%" PRId64,
			topic, (int) t->partition, t->offset);
	for (int i = 0; i < nm; i++)
	{
		int			skip = 0;

		for (size_t d = 0; d < sizeof(drop) / sizeof(drop[0]); d++)
			if (m[i].name_len == strlen(drop[d]) &&
				memcmp(m[i].name, drop[d], m[i].name_len) == 0)
				skip = 1;
		if (!skip)
			fprintf(fp, ",\"%.*s\":%.*s", (int) m[i].name_len, m[i].name,
					(int) m[i].val_len, m[i].val);
	}
	if (txn >= 0)
		fprintf(fp, ",\"txn\":%ld,\"transactional_id\":\"%s\"", txn, tx_id);
	if (outcome != NULL)
		fprintf(fp, ",\"outcome\":\"%s\"", outcome);
	fputs("}\n", fp);
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
		free(msgs[i].line);
		free(msgs[i].key);
		free(msgs[i].value);
	}
	free(msgs);
	return status;
}
