/*-------------------------------------------------------------------------
 *
 * voltpay-produce-one.c
 *	  Produces one record, with headers, and waits for its acknowledgement:
 *	  what the monitoring tests need to send a message that carries a W3C
 *	  traceparent header (voltpay-loadgen sends no headers).
 *
 *	  voltpay-produce-one -b BROKERS -t TOPIC [-k KEY] [-p PARTITION]
 *	                      [-H NAME=VALUE]... [-f FILE | -v VALUE]
 *
 * The value comes from -v, from -f FILE, or from standard input.  On
 * success prints one line "partition=P offset=O" and exits 0; exits 1 when
 * the record was not acknowledged, 2 on a usage error.  The producer is
 * idempotent with acks=all, like the load generator's.
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#define PO_MAX_HEADERS	32

static rd_kafka_resp_err_t po_err = RD_KAFKA_RESP_ERR__IN_PROGRESS;
static int32_t po_partition = -1;
static int64_t po_offset = -1;

/*
 * po_dr_cb
 *	  Delivery report of the one record: keeps its outcome and position.
 */
static void
po_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	po_err = m->err;
	po_partition = m->partition;
	po_offset = m->offset;
}

/*
 * po_read_all
 *	  Reads a whole stream into a malloc'd buffer; sets *len.
 */
static char *
po_read_all(FILE *f, size_t *len)
{
	size_t		cap = 4096,
				n = 0,
				r;
	char	   *buf = malloc(cap);

	if (!buf)
		return NULL;
	while ((r = fread(buf + n, 1, cap - n, f)) > 0)
	{
		n += r;
		if (n == cap)
		{
			char	   *nb = realloc(buf, cap * 2);

			if (!nb)
			{
				free(buf);
				return NULL;
			}
			buf = nb;
			cap *= 2;
		}
	}
	*len = n;
	return buf;
}

static void
po_usage(FILE *out)
{
	fprintf(out,
			"usage: voltpay-produce-one -b BROKERS -t TOPIC [-k KEY] [-p PARTITION]\n"
			"                           [-H NAME=VALUE]... [-X KEY=VALUE]... [-f FILE | -v VALUE]\n"
			"Produces one record (value from -v, -f or standard input) with the given\n"
			"headers and prints \"partition=P offset=O\" once it is acknowledged.\n");
}

int
main(int argc, char **argv)
{
	const char *brokers = NULL,
			   *topic = NULL,
			   *key = NULL,
			   *file = NULL,
			   *value = NULL;
	int32_t		partition = RD_KAFKA_PARTITION_UA;
	char	   *hnames[PO_MAX_HEADERS],
			   *hvalues[PO_MAX_HEADERS];
	int			nheaders = 0;
	char	   *props[64];
	int			nprops = 0;
	char		errstr[512];
	rd_kafka_conf_t *conf;
	rd_kafka_t *rk;
	rd_kafka_headers_t *hdrs;
	rd_kafka_resp_err_t err;
	char	   *buf = NULL;
	size_t		len = 0;
	int			c;

	static const struct option longopts[] = {
		{"brokers", required_argument, NULL, 'b'},
		{"topic", required_argument, NULL, 't'},
		{"key", required_argument, NULL, 'k'},
		{"partition", required_argument, NULL, 'p'},
		{"header", required_argument, NULL, 'H'},
		{"file", required_argument, NULL, 'f'},
		{"value", required_argument, NULL, 'v'},
		{"property", required_argument, NULL, 'X'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};

	while ((c = getopt_long(argc, argv, "b:t:k:p:H:f:v:X:h", longopts, NULL)) != -1)
	{
		switch (c)
		{
			case 'b':
				brokers = optarg;
				break;
			case 't':
				topic = optarg;
				break;
			case 'k':
				key = optarg;
				break;
			case 'p':
				partition = (int32_t) strtol(optarg, NULL, 10);
				break;
			case 'H':
				{
					char	   *eq = strchr(optarg, '=');

					if (!eq || nheaders == PO_MAX_HEADERS)
					{
						fprintf(stderr, "voltpay-produce-one: bad or too many -H (NAME=VALUE)\n");
						return 2;
					}
					*eq = '\0';
					hnames[nheaders] = optarg;
					hvalues[nheaders] = eq + 1;
					nheaders++;
				}
				break;
			case 'f':
				file = optarg;
				break;
			case 'v':
				value = optarg;
				break;
			case 'X':
				if (nprops == 64 || !strchr(optarg, '='))
				{
					fprintf(stderr, "voltpay-produce-one: bad or too many -X (KEY=VALUE)\n");
					return 2;
				}
				props[nprops++] = optarg;
				break;
			case 'h':
				po_usage(stdout);
				return 0;
			default:
				po_usage(stderr);
				return 2;
		}
	}
	if (!brokers || !topic || optind != argc || (file && value))
	{
		po_usage(stderr);
		return 2;
	}

	if (value)
	{
		len = strlen(value);
		buf = malloc(len + 1);
		if (buf)
			memcpy(buf, value, len + 1);
	}
	else
	{
		FILE	   *f = file ? fopen(file, "rb") : stdin;

		if (!f)
		{
			fprintf(stderr, "voltpay-produce-one: cannot open %s: %s\n", file, strerror(errno));
			return 2;
		}
		buf = po_read_all(f, &len);
		if (file)
			fclose(f);
	}
	if (!buf)
	{
		fprintf(stderr, "voltpay-produce-one: out of memory\n");
		return 1;
	}

	conf = rd_kafka_conf_new();
	if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK ||
		rd_kafka_conf_set(conf, "enable.idempotence", "true", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK ||
		rd_kafka_conf_set(conf, "acks", "all", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK)
	{
		fprintf(stderr, "voltpay-produce-one: %s\n", errstr);
		rd_kafka_conf_destroy(conf);
		free(buf);
		return 2;
	}
	for (int i = 0; i < nprops; i++)
	{
		char	   *eq = strchr(props[i], '=');

		*eq = '\0';
		if (rd_kafka_conf_set(conf, props[i], eq + 1, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK)
		{
			fprintf(stderr, "voltpay-produce-one: -X %s: %s\n", props[i], errstr);
			rd_kafka_conf_destroy(conf);
			free(buf);
			return 2;
		}
	}
	rd_kafka_conf_set_dr_msg_cb(conf, po_dr_cb);
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (!rk)
	{
		fprintf(stderr, "voltpay-produce-one: %s\n", errstr);
		rd_kafka_conf_destroy(conf);
		free(buf);
		return 1;
	}
	conf = NULL;				/* owned by rk now */

	hdrs = rd_kafka_headers_new(nheaders);
	for (int i = 0; i < nheaders; i++)
		rd_kafka_header_add(hdrs, hnames[i], -1, hvalues[i], -1);

	err = rd_kafka_producev(rk,
							RD_KAFKA_V_TOPIC(topic),
							RD_KAFKA_V_PARTITION(partition),
							RD_KAFKA_V_KEY(key, key ? strlen(key) : 0),
							RD_KAFKA_V_VALUE(buf, len),
							RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
							RD_KAFKA_V_HEADERS(hdrs),
							RD_KAFKA_V_END);
	if (err)
	{
		fprintf(stderr, "voltpay-produce-one: produce: %s\n", rd_kafka_err2str(err));
		rd_kafka_headers_destroy(hdrs);	/* not taken over on failure */
		rd_kafka_destroy(rk);
		free(buf);
		return 1;
	}
	rd_kafka_flush(rk, 30000);
	free(buf);
	if (po_err != RD_KAFKA_RESP_ERR_NO_ERROR)
	{
		fprintf(stderr, "voltpay-produce-one: not acknowledged: %s\n", rd_kafka_err2str(po_err));
		rd_kafka_destroy(rk);
		return 1;
	}
	printf("partition=%" PRId32 " offset=%" PRId64 "\n", po_partition, po_offset);
	rd_kafka_destroy(rk);
	return 0;
}
