/*
 * test_park.c
 *	  Events parked after permanent producer errors (park.c): which errors
 *	  are permanent, what waits behind a parked event, what is released
 *	  when it is delivered.
 */
#include <stdlib.h>

#include <librdkafka/rdkafka.h>

#include "park.h"
#include "unit.h"

static void
test_faults(void)
{
	static const struct
	{
		rd_kafka_resp_err_t err;
		VbProduceFault want;
		const char *why;
	}			cases[] = {
		{RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, VB_PF_RECORD, "a record larger than max.message.bytes"},
		{RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE, VB_PF_RECORD, "a record batch too large"},
		{RD_KAFKA_RESP_ERR_INVALID_RECORD, VB_PF_RECORD, "a record the broker refuses"},
		{RD_KAFKA_RESP_ERR_POLICY_VIOLATION, VB_PF_RECORD, "a policy violation"},
		{RD_KAFKA_RESP_ERR__INVALID_ARG, VB_PF_RECORD, "a record librdkafka refuses"},
		{RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC, VB_PF_TOPIC, "a topic that does not exist"},
		{RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, VB_PF_TOPIC, "a topic the broker does not know"},
		{RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, VB_PF_TOPIC, "no Write ACL on the topic"},
		{RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED, VB_PF_TOPIC, "no IdempotentWrite ACL"},
		{RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, VB_PF_TRANSIENT, "a message timed out"},
		{RD_KAFKA_RESP_ERR__TRANSPORT, VB_PF_TRANSIENT, "a broker connection lost"},
		{RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, VB_PF_TRANSIENT, "too few in-sync replicas"},
		{RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, VB_PF_TRANSIENT, "a leader moving"},
		{RD_KAFKA_RESP_ERR__PURGE_QUEUE, VB_PF_TRANSIENT, "purged at shutdown"},
		{RD_KAFKA_RESP_ERR__FAIL, VB_PF_TRANSIENT, "delivered without an offset"},
		{RD_KAFKA_RESP_ERR__QUEUE_FULL, VB_PF_TRANSIENT, "librdkafka's queue full"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		is_int(vb_produce_fault(cases[i].err), cases[i].want, "%s (%s)", cases[i].why,
			   rd_kafka_err2name(cases[i].err));
	ok(vb_produce_fault_too_large(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE), "too large");
	ok(!vb_produce_fault_too_large(RD_KAFKA_RESP_ERR_INVALID_RECORD), "invalid is not too large");
}

static void
test_two_heads(void)
{
	VbPark	   *p = vb_park_new();
	int64_t		ids[8];
	int			n;

	vb_park_add_head(p, 10, 0, "A", 1, false, false, 500);
	vb_park_add_head(p, 20, 1, "Z", 1, true, false, 500);
	ok(vb_park_hold(p, 11, 0, "A", 1), "A's read event waits behind 10");
	ok(vb_park_hold(p, 21, 1, "A", 1), "A's email waits behind 20 (the whole topic)");
	ok(!vb_park_hold(p, 12, 0, "B", 1), "B's read event does not wait");
	ok(!vb_park_hold(p, 10, 0, "A", 1), "a head is never held");
	ok(vb_park_hold(p, 11, 0, "A", 1), "a held event stays held");
	is_int(vb_park_count(p), 4, "two heads, two held");
	is_int(vb_park_heads(p), 2, "two heads");
	n = vb_park_exclude(p, ids);
	is_int(n, 4, "all four left out of the fetches");
	is_int(vb_park_due(p, 499), 0, "none due before 500");
	is_int(vb_park_due(p, 500), 2, "both due at 500");
	n = vb_park_exclude(p, ids);
	is_int(n, 2, "the heads are fetched now, the held are not");
	is_int(vb_park_release(p, 20), 1, "email topic delivered: its held event is released");
	is_int(vb_park_count(p), 2, "A's read head and its held event left");
	is_int(vb_park_release(p, 11), 0, "a held event is no head to release");
	is_int(vb_park_failed_again(p, 10, true, 0), 2, "the read head failed twice");
	ok(vb_park_strip(p, 10), "and is stripped from now on");
	is_int(vb_park_release(p, 10), 1, "then delivered: A's read event released");
	is_int(vb_park_count(p), 0, "nothing parked");
	vb_park_free(p);
}

int
main(void)
{
	test_faults();
	test_two_heads();
	return unit_done();
}
