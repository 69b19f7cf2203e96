/*-------------------------------------------------------------------------
 *
 * voltpay-acls.c
 *	  Creates, deletes and lists Kafka ACLs through librdkafka's admin API,
 *	  and knows the exact set the bridge needs.
 *
 *	  voltpay-acls -b LIST [-X key=value]... [--delete] ACL...
 *	  voltpay-acls -b LIST [-X key=value]... --list
 *	  voltpay-acls [-b LIST] --bridge PRINCIPAL [--group G] [--input-topic T]
 *				   [--read-topic T] [--email-topic T] [--dead-letter-topic T]
 *				   [--delete]
 *
 * An ACL is written PRINCIPAL:OPERATION:TYPE:NAME, for instance
 * User:bridge:Read:topic:payment_writer_topic: an ALLOW rule for any host
 * on a literal resource name; TYPE is topic, group or cluster (whose name
 * is kafka-cluster); OPERATION is a Kafka operation name (Read, Write,
 * Describe, IdempotentWrite, Create, DescribeConfigs ...).
 *
 * --bridge PRINCIPAL stands for the bridge's ACLs, nothing more:
 *
 *	  Read            on the input topic    (consume; implies Describe)
 *	  Read            on the consumer group (join, commit offsets)
 *	  Write           on the read, e-mail and dead-letter topics (implies
 *	                  Describe)
 *	  IdempotentWrite on the cluster        (the idempotent producer; Kafka
 *	                  2.8 and later also grant it with Write on a topic)
 *
 * Without -b, --bridge prints them one per line, in the ACL syntax above;
 * with -b it creates them (or deletes them, with --delete).  --list prints
 * every ACL of the cluster, one per line, sorted.
 *
 * Exit status: 0 done; 1 the cluster refused or did not answer; 2 bad
 * usage.
 *
 *-------------------------------------------------------------------------
 */
#define _GNU_SOURCE

#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "lib/cli.h"

#define ACL_MAX_ACLS 256
#define ACL_TIMEOUT_MS 30000

typedef struct AclSpec
{
	char	   *principal;
	rd_kafka_AclOperation_t op;
	rd_kafka_ResourceType_t type;
	char	   *name;
} AclSpec;

static AclSpec acl_acls[ACL_MAX_ACLS];
static int	acl_nacls;

/*
 * acl_same
 *	  Operation names compared without case and underscores
 *	  ("IdempotentWrite" is librdkafka's "IDEMPOTENT_WRITE").
 */
static int
acl_same(const char *a, const char *b)
{
	for (;;)
	{
		while (*a == '_')
			a++;
		while (*b == '_')
			b++;
		if (tolower((unsigned char) *a) != tolower((unsigned char) *b))
			return 0;
		if (*a == '\0')
			return 1;
		a++, b++;
	}
}

/*
 * acl_op_name
 *	  An operation in Kafka's spelling (IdempotentWrite).
 */
static const char *
acl_op_name(rd_kafka_AclOperation_t op)
{
	static char buf[64];
	const char *s = rd_kafka_AclOperation_name(op);
	size_t		n = 0;
	int			up = 1;

	for (; *s && n < sizeof(buf) - 1; s++)
	{
		if (*s == '_')
		{
			up = 1;
			continue;
		}
		buf[n++] = up ? (char) toupper((unsigned char) *s) : (char) tolower((unsigned char) *s);
		up = 0;
	}
	buf[n] = '\0';
	return buf;
}

static const char *
acl_type_name(rd_kafka_ResourceType_t t)
{
	return t == RD_KAFKA_RESOURCE_TOPIC ? "topic" :
		t == RD_KAFKA_RESOURCE_GROUP ? "group" :
		t == RD_KAFKA_RESOURCE_BROKER ? "cluster" : "unknown";
}

/*
 * acl_add
 *	  Records one ACL.
 */
static void
acl_add(const char *principal, rd_kafka_AclOperation_t op, rd_kafka_ResourceType_t type,
	   const char *name)
{
	if (acl_nacls >= ACL_MAX_ACLS)
		cli_fatal(2, "more than %d ACLs", ACL_MAX_ACLS);
	acl_acls[acl_nacls].principal = strdup(principal);
	acl_acls[acl_nacls].op = op;
	acl_acls[acl_nacls].type = type;
	acl_acls[acl_nacls].name = strdup(name);
	acl_nacls++;
}

/*
 * acl_parse
 *	  PRINCIPAL:OPERATION:TYPE:NAME, split from the right (a principal
 *	  holds a colon itself).
 */
static void
acl_parse(const char *arg)
{
	char	   *s = strdup(arg);
	char	   *f[3];
	rd_kafka_AclOperation_t op = RD_KAFKA_ACL_OPERATION_UNKNOWN;
	rd_kafka_ResourceType_t type;

	for (int i = 2; i >= 0; i--)
	{
		char	   *c = strrchr(s, ':');

		if (c == NULL)
			cli_fatal(2, "invalid ACL \"%s\": expected PRINCIPAL:OPERATION:TYPE:NAME", arg);
		*c = '\0';
		f[i] = c + 1;
	}
	if (strchr(s, ':') == NULL || *f[2] == '\0')
		cli_fatal(2, "invalid ACL \"%s\": expected PRINCIPAL:OPERATION:TYPE:NAME "
				  "(a principal is TYPE:NAME, such as User:bridge)", arg);
	for (int o = RD_KAFKA_ACL_OPERATION_ALL; o < RD_KAFKA_ACL_OPERATION__CNT; o++)
		if (acl_same(f[0], rd_kafka_AclOperation_name((rd_kafka_AclOperation_t) o)))
			op = (rd_kafka_AclOperation_t) o;
	if (op == RD_KAFKA_ACL_OPERATION_UNKNOWN)
		cli_fatal(2, "invalid ACL \"%s\": unknown operation \"%s\"", arg, f[0]);
	if (strcmp(f[1], "topic") == 0)
		type = RD_KAFKA_RESOURCE_TOPIC;
	else if (strcmp(f[1], "group") == 0)
		type = RD_KAFKA_RESOURCE_GROUP;
	else if (strcmp(f[1], "cluster") == 0)
		type = RD_KAFKA_RESOURCE_BROKER;
	else
		cli_fatal(2, "invalid ACL \"%s\": type \"%s\" is not topic, group or cluster", arg, f[1]);
	acl_add(s, op, type, f[2]);
	free(s);
}

/*
 * acl_wait
 *	  The admin result event of one request, or exit 1.
 */
static rd_kafka_event_t *
acl_wait(rd_kafka_queue_t *q, const char *what)
{
	rd_kafka_event_t *ev = rd_kafka_queue_poll(q, ACL_TIMEOUT_MS + 5000);

	if (ev == NULL)
		cli_fatal(1, "%s: no answer from the cluster", what);
	if (rd_kafka_event_error(ev))
		cli_fatal(1, "%s: %s", what, rd_kafka_event_error_string(ev));
	return ev;
}

/*
 * acl_binding
 *	  An ALLOW binding (create) or a filter (delete) for ACL a.
 */
static rd_kafka_AclBinding_t *
acl_binding(const AclSpec *a, int filter)
{
	char		errstr[512];
	rd_kafka_AclBinding_t *b;

	b = (filter ? rd_kafka_AclBindingFilter_new : rd_kafka_AclBinding_new)
		(a->type, a->name, RD_KAFKA_RESOURCE_PATTERN_LITERAL, a->principal, "*",
		 a->op, RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW, errstr, sizeof(errstr));
	if (b == NULL)
		cli_fatal(2, "ACL %s:%s:%s:%s: %s", a->principal, acl_op_name(a->op),
				  acl_type_name(a->type), a->name, errstr);
	return b;
}

/*
 * acl_create
 *	  CreateAcls for every ACL given; each failure is one line.
 */
static int
acl_create(rd_kafka_t *rk, rd_kafka_queue_t *q, rd_kafka_AdminOptions_t *opt)
{
	rd_kafka_AclBinding_t *b[ACL_MAX_ACLS];
	const rd_kafka_acl_result_t **res;
	rd_kafka_event_t *ev;
	size_t		n;
	int			failed = 0;

	for (int i = 0; i < acl_nacls; i++)
		b[i] = acl_binding(&acl_acls[i], 0);
	rd_kafka_CreateAcls(rk, b, (size_t) acl_nacls, opt, q);
	ev = acl_wait(q, "CreateAcls");
	res = rd_kafka_CreateAcls_result_acls(rd_kafka_event_CreateAcls_result(ev), &n);
	for (size_t i = 0; i < n; i++)
	{
		const rd_kafka_error_t *e = rd_kafka_acl_result_error(res[i]);
		const AclSpec *a = &acl_acls[i];

		if (e)
		{
			fprintf(stderr, "%s: %s:%s:%s:%s: %s\n", cli_progname, a->principal,
					acl_op_name(a->op), acl_type_name(a->type), a->name, rd_kafka_error_string(e));
			failed = 1;
		}
		else
			printf("%s: added %s:%s:%s:%s\n", cli_progname, a->principal, acl_op_name(a->op),
				   acl_type_name(a->type), a->name);
	}
	rd_kafka_event_destroy(ev);
	rd_kafka_AclBinding_destroy_array(b, (size_t) acl_nacls);
	return failed;
}

/*
 * acl_delete
 *	  DeleteAcls with one filter per ACL given.
 */
static int
acl_delete(rd_kafka_t *rk, rd_kafka_queue_t *q, rd_kafka_AdminOptions_t *opt)
{
	rd_kafka_AclBindingFilter_t *b[ACL_MAX_ACLS];
	const rd_kafka_DeleteAcls_result_response_t **res;
	rd_kafka_event_t *ev;
	size_t		n;
	int			failed = 0;

	for (int i = 0; i < acl_nacls; i++)
		b[i] = acl_binding(&acl_acls[i], 1);
	rd_kafka_DeleteAcls(rk, b, (size_t) acl_nacls, opt, q);
	ev = acl_wait(q, "DeleteAcls");
	res = rd_kafka_DeleteAcls_result_responses(rd_kafka_event_DeleteAcls_result(ev), &n);
	for (size_t i = 0; i < n; i++)
	{
		const rd_kafka_error_t *e = rd_kafka_DeleteAcls_result_response_error(res[i]);
		const AclSpec *a = &acl_acls[i];
		size_t		m = 0;

		if (e)
		{
			fprintf(stderr, "%s: %s:%s:%s:%s: %s\n", cli_progname, a->principal,
					acl_op_name(a->op), acl_type_name(a->type), a->name, rd_kafka_error_string(e));
			failed = 1;
			continue;
		}
		rd_kafka_DeleteAcls_result_response_matching_acls(res[i], &m);
		printf("%s: deleted %s:%s:%s:%s (%zu)\n", cli_progname, a->principal,
			   acl_op_name(a->op), acl_type_name(a->type), a->name, m);
	}
	rd_kafka_event_destroy(ev);
	rd_kafka_AclBinding_destroy_array(b, (size_t) acl_nacls);
	return failed;
}

static int
acl_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/*
 * acl_list
 *	  Every ACL of the cluster, one per line, sorted.
 */
static int
acl_list(rd_kafka_t *rk, rd_kafka_queue_t *q, rd_kafka_AdminOptions_t *opt)
{
	char		errstr[512];
	rd_kafka_AclBindingFilter_t *f;
	const rd_kafka_AclBinding_t **acls;
	rd_kafka_event_t *ev;
	char	  **lines;
	size_t		n;

	f = rd_kafka_AclBindingFilter_new(RD_KAFKA_RESOURCE_ANY, NULL,
									  RD_KAFKA_RESOURCE_PATTERN_ANY, NULL, NULL,
									  RD_KAFKA_ACL_OPERATION_ANY,
									  RD_KAFKA_ACL_PERMISSION_TYPE_ANY, errstr, sizeof(errstr));
	if (f == NULL)
		cli_fatal(1, "DescribeAcls: %s", errstr);
	rd_kafka_DescribeAcls(rk, f, opt, q);
	ev = acl_wait(q, "DescribeAcls");
	acls = rd_kafka_DescribeAcls_result_acls(rd_kafka_event_DescribeAcls_result(ev), &n);
	lines = calloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
	{
		const rd_kafka_AclBinding_t *a = acls[i];
		int			allow = rd_kafka_AclBinding_permission_type(a) == RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW;
		int			literal = rd_kafka_AclBinding_resource_pattern_type(a) ==
			RD_KAFKA_RESOURCE_PATTERN_LITERAL;

		if (asprintf(&lines[i], "%s:%s:%s:%s%s%s%s", rd_kafka_AclBinding_principal(a),
					 acl_op_name(rd_kafka_AclBinding_operation(a)),
					 acl_type_name(rd_kafka_AclBinding_restype(a)),
					 rd_kafka_AclBinding_name(a), literal ? "" : " (prefixed)",
					 allow ? "" : " (deny)",
					 strcmp(rd_kafka_AclBinding_host(a), "*") == 0 ? "" : " (one host)") < 0)
			cli_fatal(1, "out of memory");
	}
	qsort(lines, n, sizeof(char *), acl_cmp);
	for (size_t i = 0; i < n; i++)
	{
		printf("%s\n", lines[i]);
		free(lines[i]);
	}
	free(lines);
	rd_kafka_event_destroy(ev);
	rd_kafka_AclBinding_destroy(f);
	return 0;
}

static void
acl_usage(FILE *out)
{
	fprintf(out,
			"Usage: voltpay-acls -b LIST [-X key=value]... [--delete] ACL...\n"
			"       voltpay-acls -b LIST [-X key=value]... --list\n"
			"       voltpay-acls [-b LIST] --bridge PRINCIPAL [--group G] [--input-topic T]\n"
			"                    [--read-topic T] [--email-topic T] [--dead-letter-topic T] [--delete]\n"
			"ACL: PRINCIPAL:OPERATION:TYPE:NAME (User:bridge:Read:topic:payment_writer_topic),\n"
			"TYPE topic, group or cluster (kafka-cluster). --bridge: the bridge's ACLs\n"
			"(printed without -b). Exit status: 0 done, 1 refused or no answer, 2 usage.\n");
}

enum
{
	OPT_LIST = 256, OPT_DELETE, OPT_BRIDGE, OPT_GROUP, OPT_INPUT, OPT_READ, OPT_EMAIL, OPT_DLQ
};

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"brokers", required_argument, NULL, 'b'},
		{"list", no_argument, NULL, OPT_LIST},
		{"delete", no_argument, NULL, OPT_DELETE},
		{"bridge", required_argument, NULL, OPT_BRIDGE},
		{"group", required_argument, NULL, OPT_GROUP},
		{"input-topic", required_argument, NULL, OPT_INPUT},
		{"read-topic", required_argument, NULL, OPT_READ},
		{"email-topic", required_argument, NULL, OPT_EMAIL},
		{"dead-letter-topic", required_argument, NULL, OPT_DLQ},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	const char *brokers = NULL;
	const char *bridge = NULL;
	const char *group = "voltpay-writer";
	const char *topics[4] = {"payment_writer_topic", "payment_read_topic", "payment_email",
	"payment_writer_dlq"};
	int			list = 0;
	int			delete = 0;
	char		errstr[512];
	rd_kafka_conf_t *conf;
	rd_kafka_t *rk;
	rd_kafka_queue_t *q;
	rd_kafka_AdminOptions_t *opt;
	int			failed;
	int			c;

	cli_progname = "voltpay-acls";
	conf = rd_kafka_conf_new();
	while ((c = getopt_long(argc, argv, "b:X:h", longopts, NULL)) != -1)
	{
		switch (c)
		{
			case 'b':
				brokers = optarg;
				break;
			case 'X':
				cli_conf_kv(conf, optarg);
				break;
			case OPT_LIST:
				list = 1;
				break;
			case OPT_DELETE:
				delete = 1;
				break;
			case OPT_BRIDGE:
				bridge = optarg;
				break;
			case OPT_GROUP:
				group = optarg;
				break;
			case OPT_INPUT:
			case OPT_READ:
			case OPT_EMAIL:
			case OPT_DLQ:
				topics[c - OPT_INPUT] = optarg;
				break;
			case 'h':
				acl_usage(stdout);
				return 0;
			default:
				acl_usage(stderr);
				return 2;
		}
	}
	for (int i = optind; i < argc; i++)
		acl_parse(argv[i]);
	if (bridge)
	{
		acl_add(bridge, RD_KAFKA_ACL_OPERATION_READ, RD_KAFKA_RESOURCE_TOPIC, topics[0]);
		acl_add(bridge, RD_KAFKA_ACL_OPERATION_READ, RD_KAFKA_RESOURCE_GROUP, group);
		for (int i = 1; i < 4; i++)
			acl_add(bridge, RD_KAFKA_ACL_OPERATION_WRITE, RD_KAFKA_RESOURCE_TOPIC, topics[i]);
		acl_add(bridge, RD_KAFKA_ACL_OPERATION_IDEMPOTENT_WRITE, RD_KAFKA_RESOURCE_BROKER,
			   "kafka-cluster");
		if (brokers == NULL)
		{
			for (int i = 0; i < acl_nacls; i++)
				printf("%s:%s:%s:%s\n", acl_acls[i].principal, acl_op_name(acl_acls[i].op),
					   acl_type_name(acl_acls[i].type), acl_acls[i].name);
			return 0;
		}
	}
	if (brokers == NULL)
		cli_fatal(2, "--brokers is required");
	if (list == (acl_nacls > 0))
		cli_fatal(2, list ? "--list takes no ACL" : "no ACL given (try --help)");
	if (list && delete)
		cli_fatal(2, "--list and --delete exclude each other");
	cli_conf_set(conf, "bootstrap.servers", brokers);
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (rk == NULL)
		cli_fatal(2, "%s", errstr);
	q = rd_kafka_queue_new(rk);
	opt = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_ANY);
	if (rd_kafka_AdminOptions_set_request_timeout(opt, ACL_TIMEOUT_MS, errstr, sizeof(errstr)))
		cli_fatal(1, "%s", errstr);
	if (list)
		failed = acl_list(rk, q, opt);
	else if (delete)
		failed = acl_delete(rk, q, opt);
	else
		failed = acl_create(rk, q, opt);
	rd_kafka_AdminOptions_destroy(opt);
	rd_kafka_queue_destroy(q);
	rd_kafka_destroy(rk);
	for (int i = 0; i < acl_nacls; i++)
	{
		free(acl_acls[i].principal);
		free(acl_acls[i].name);
	}
	return failed ? 1 : 0;
}
