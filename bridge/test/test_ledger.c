/*
 * test_ledger.c
 *	  The outbox ledger (ledger.c): delivery reports out of order, failures
 *	  and the destinations that wait behind them, acknowledgements, the
 *	  backoff, resync.
 */
#include <stdlib.h>

#include "ledger.h"
#include "log.h"
#include "unit.h"
#include "util.h"

static const char *const topics[VB_NKINDS] = {"read", "email", "dlq"};

/* Adds event id with kind and key (NULL: no key). */
static VbFlight *
add(VbLedger *l, int64_t id, int kind, const char *key)
{
	VbEvent		e = {0};

	e.event_id = id;
	e.kind = kind;
	if (key)
	{
		e.key = vb_xstrdup(key);
		e.key_len = strlen(key);
	}
	e.message_id = vb_xstrdup("00000000-0000-0000-0000-000000000000");
	return vb_ledger_add(l, &e);
}

static int
acks(VbLedger *l, int64_t *out)
{
	const int64_t *ids;
	int			n = vb_ledger_acks(l, &ids);

	for (int i = 0; i < n; i++)
		out[i] = ids[i];
	return n;
}

static void
test_out_of_order(void)
{
	VbLedger   *l = vb_ledger_new(topics);
	VbFlight   *f[4];
	int64_t		ids[8];
	VbLanded	r;
	uint64_t	per_kind[VB_NKINDS];
	size_t		klen;

	for (int i = 0; i < 4; i++)
		f[i] = add(l, 10 + i, VB_KIND_READ, "acct-1");
	is_str(vb_flight_key(f[2], &klen), "acct-1", "the flight holds the key");
	vb_ledger_delivered(f[2], 0);
	vb_ledger_delivered(f[3], 0);
	r = vb_ledger_land(l, 1000, 30000);
	ok(r.acked == 0 && vb_ledger_inflight(l) == 4,
	   "later reports first: nothing lands while the head is undecided");
	ok(!vb_ledger_settled(l), "not settled");
	vb_ledger_delivered(f[0], 0);
	r = vb_ledger_land(l, 1001, 30000);
	ok(r.acked == 1 && vb_ledger_inflight(l) == 3, "the head lands alone");
	vb_ledger_delivered(f[1], 0);
	r = vb_ledger_land(l, 1002, 30000);
	ok(r.acked == 3 && vb_ledger_inflight(l) == 0, "then the rest, in one go");
	is_int(acks(l, ids), 4, "four acknowledgements waiting");
	ok(ids[0] == 10 && ids[1] == 11 && ids[2] == 12 && ids[3] == 13, "in produce order");
	ok(!vb_ledger_acks_due(l, 1100, 200), "acks not due before 200 ms");
	ok(vb_ledger_acks_due(l, 1201, 200), "acks due after 200 ms");
	vb_ledger_acked(l, 3, 1300, per_kind);
	is_int(per_kind[VB_KIND_READ], 3, "three read events count as published");
	is_int(acks(l, ids), 1, "one left");
	is_int(ids[0], 13, "the last one");
	vb_ledger_free(l);
}

static void
test_failure(void)
{
	VbLedger   *l = vb_ledger_new(topics);
	VbFlight   *a1 = add(l, 1, VB_KIND_READ, "A");
	VbFlight   *b1 = add(l, 2, VB_KIND_READ, "B");
	VbFlight   *a2 = add(l, 3, VB_KIND_READ, "A");
	VbFlight   *a3e = add(l, 4, VB_KIND_EMAIL, "A");
	VbFlight   *late;
	int64_t		ids[8];
	int64_t    *excl;
	VbLanded	r;

	vb_ledger_set_synced(l, true);
	vb_ledger_delivered(a1, RD_KAFKA_RESP_ERR__MSG_TIMED_OUT);
	vb_ledger_delivered(b1, 0);
	vb_ledger_delivered(a2, 0);
	r = vb_ledger_land(l, 5000, 30000);
	is_int(r.failed, 1, "one failed");
	is_int(r.acked, 1, "only B acknowledged");
	ok(vb_ledger_failing(l) && !vb_ledger_synced(l), "failing, out of sync");
	ok(!r.failure_ended, "the failure lasts while events are in flight");
	is_int(acks(l, ids), 1, "A's later read event is not acknowledged");
	is_int(ids[0], 2, "B's is");
	is_int(vb_ledger_exclude(l, &excl), 2, "a fetch leaves out what is in flight and waiting");
	ok(excl[0] == 4 && excl[1] == 2, "the email event in flight, B's acknowledgement");
	free(excl);
	vb_ledger_delivered(a3e, 0);
	r = vb_ledger_land(l, 6000, 30000);
	is_int(r.acked, 1, "the same key on another topic is not blocked");
	ok(r.failure_ended && !vb_ledger_failing(l), "the flight empty: the failure ends");
	ok(vb_ledger_backing_off(l, 6000), "with a backoff before the next fetch");
	ok(!vb_ledger_backing_off(l, 6000 + 200), "of 100 ms on the first failure (jitter in its upper half)");
	late = add(l, 5, VB_KIND_READ, "A");
	vb_ledger_delivered(late, 0);
	r = vb_ledger_land(l, 7000, 30000);
	is_int(r.acked, 1, "after the failure, A's events are acknowledged again");
	is_int(vb_ledger_recovered(l), 1, "one failure in a row was counted");
	is_int(vb_ledger_recovered(l), 0, "and reset");
	vb_ledger_free(l);
}

static void
test_backoff_grows(void)
{
	VbLedger   *l = vb_ledger_new(topics);
	bool		grows = true;
	int64_t		prev_lo = 0;

	for (int i = 1; i <= 6; i++)
	{
		int64_t		lo = 0;

		vb_ledger_fetch_failed(l, 0, 30000);
		while (vb_ledger_backing_off(l, lo))
			lo++;
		/* attempt i: 100 * 2^(i-1) ms, upper half */
		grows &= lo >= (100 << (i - 1)) / 2 && lo <= (100 << (i - 1)) + 1 && lo >= prev_lo / 2;
		prev_lo = lo;
	}
	ok(grows, "fetch failures back off exponentially (100 ms doubling)");
	vb_ledger_acks_failed(l, 0, 500);
	ok(!vb_ledger_acks_due(l, 0, 0) && vb_ledger_acks(l, &(const int64_t *) {0}) == 0,
	   "nothing due without acknowledgements");
	vb_ledger_free(l);
}

static void
test_no_key_and_unproduced(void)
{
	VbLedger   *l = vb_ledger_new(topics);
	VbFlight   *n1 = add(l, 1, VB_KIND_DEAD_LETTER, NULL);
	VbFlight   *n2 = add(l, 2, VB_KIND_DEAD_LETTER, NULL);
	VbFlight   *k = add(l, 3, VB_KIND_DEAD_LETTER, "K");
	VbLanded	r;

	vb_ledger_delivered(n1, RD_KAFKA_RESP_ERR__QUEUE_FULL);	/* never queued */
	vb_ledger_delivered(n2, 0);
	vb_ledger_delivered(k, 0);
	r = vb_ledger_land(l, 0, 1000);
	ok(r.failed == 1 && r.acked == 1, "a keyless failure blocks keyless events only");
	ok(r.failure_ended, "nothing left in flight: the failure ends at once");
	vb_ledger_free(l);
}

/* Whether ids[0..n) holds id. */
static bool
has(const int64_t *ids, int n, int64_t id)
{
	for (int i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

static void
test_permanent_parks(void)
{
	VbLedger   *l = vb_ledger_new(topics);
	VbFlight   *a1 = add(l, 1, VB_KIND_READ, "A");
	VbFlight   *b2 = add(l, 2, VB_KIND_READ, "B");
	VbFlight   *a3 = add(l, 3, VB_KIND_READ, "A");
	VbEvent		a4 = {.event_id = 4, .kind = VB_KIND_READ, .key = "A", .key_len = 1};
	VbEvent		b5 = {.event_id = 5, .kind = VB_KIND_READ, .key = "B", .key_len = 1};
	VbEvent		a6 = {.event_id = 6, .kind = VB_KIND_EMAIL, .key = "A", .key_len = 1};
	int64_t    *excl;
	int			n;
	VbLanded	r;

	vb_ledger_set_synced(l, true);
	vb_ledger_delivered(a1, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
	vb_ledger_delivered(b2, 0);
	vb_ledger_delivered(a3, 0);
	r = vb_ledger_land(l, 5000, 30000);
	is_int(r.parked, 1, "a record too large for its topic is parked");
	is_int(r.failed, 0, "not a failure of the whole flight");
	is_int(r.acked, 1, "B's event is acknowledged");
	ok(!vb_ledger_failing(l) && vb_ledger_synced(l), "nothing stops: not failing, still in sync");
	ok(!vb_ledger_backing_off(l, 5001), "no backoff for the other events");
	is_int(vb_ledger_parked(l), 2, "the parked event and A's later one, delivered but held");
	n = vb_ledger_exclude(l, &excl);
	ok(has(excl, n, 1) && has(excl, n, 3) && has(excl, n, 2), "fetches leave out the parked, the held and the acknowledged");
	free(excl);
	ok(vb_ledger_hold(l, &a4), "a new event with A's key waits behind it");
	ok(!vb_ledger_hold(l, &b5), "another key's is produced");
	ok(!vb_ledger_hold(l, &a6), "so is A's on another topic");
	is_int(vb_ledger_retry_due(l, 5049), 0, "not retried before its backoff");
	is_int(vb_ledger_retry_due(l, 5100), 1, "retried after 50-100 ms");
	n = vb_ledger_exclude(l, &excl);
	ok(!has(excl, n, 1) && has(excl, n, 3) && has(excl, n, 4), "the next fetch takes it alone");
	free(excl);
	a1 = add(l, 1, VB_KIND_READ, "A");
	vb_ledger_delivered(a1, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
	r = vb_ledger_land(l, 5300, 30000);
	is_int(r.parked, 1, "it fails again: parked again");
	is_int(vb_ledger_retry_due(l, 5349), 0, "the second backoff is longer (100-200 ms)");
	is_int(vb_ledger_fetched(l, true), 0, "a parked event not released is not gone");
	is_int(vb_ledger_retry_due(l, 5500), 1, "then it is retried");
	a1 = add(l, 1, VB_KIND_READ, "A");
	is_int(vb_ledger_fetched(l, true), 0, "fetched and in flight: not gone");
	vb_ledger_delivered(a1, 0);
	r = vb_ledger_land(l, 5800, 30000);
	is_int(r.acked, 1, "delivered at last: acknowledged");
	is_int(r.released, 3, "it and the two events held behind it are released");
	is_int(vb_ledger_parked(l), 0, "nothing parked");
	ok(!vb_ledger_hold(l, &a4), "A's events are produced again");
	vb_ledger_free(l);
}

static void
test_dead_letter_stripped(void)
{
	VbLedger   *l = vb_ledger_new(topics);
	VbFlight   *d = add(l, 7, VB_KIND_DEAD_LETTER, NULL);
	VbFlight   *d2;
	int64_t    *excl;
	int			n;
	VbLanded	r;

	vb_ledger_delivered(d, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
	r = vb_ledger_land(l, 1000, 30000);
	is_int(r.stripped, 1, "a dead letter too large for its topic is to be stripped");
	ok(vb_ledger_strip(l, 7), "sent again without its value");
	n = vb_ledger_exclude(l, &excl);
	ok(!has(excl, n, 7), "at once: the next fetch takes it");
	free(excl);
	d = add(l, 7, VB_KIND_DEAD_LETTER, NULL);
	vb_ledger_delivered(d, 0);
	r = vb_ledger_land(l, 1010, 30000);
	is_int(r.acked, 1, "the stripped dead letter is delivered");
	ok(!vb_ledger_strip(l, 7) && vb_ledger_parked(l) == 0, "and forgotten");

	/* A read event too large is not stripped, only parked. */
	d = add(l, 8, VB_KIND_READ, "A");
	vb_ledger_delivered(d, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
	r = vb_ledger_land(l, 1020, 30000);
	ok(r.stripped == 0 && r.parked == 1 && !vb_ledger_strip(l, 8), "only dead letters lose their value");

	/* A stripped dead letter that still fails backs off. */
	d2 = add(l, 9, VB_KIND_DEAD_LETTER, "k");
	vb_ledger_delivered(d2, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
	(void) vb_ledger_land(l, 1030, 30000);
	d2 = add(l, 9, VB_KIND_DEAD_LETTER, "k");
	vb_ledger_delivered(d2, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
	r = vb_ledger_land(l, 1040, 30000);
	ok(r.parked == 1 && r.stripped == 0, "stripped and still too large: parked with a backoff");
	is_int(vb_ledger_retry_due(l, 1041), 0, "not retried at once");

	/* A released parked event that a complete fetch did not find is gone. */
	is_int(vb_ledger_retry_due(l, 100000), 2, "both due");
	is_int(vb_ledger_fetched(l, false), 0, "an incomplete fetch proves nothing");
	is_int(vb_ledger_fetched(l, true), 2, "a complete fetch without them: gone");
	is_int(vb_ledger_parked(l), 0, "nothing parked");
	vb_ledger_free(l);
}

static void
test_topic_error(void)
{
	VbLedger   *l = vb_ledger_new(topics);
	VbFlight   *a = add(l, 1, VB_KIND_READ, "A");
	VbFlight   *b = add(l, 2, VB_KIND_READ, "B");
	VbFlight   *e = add(l, 3, VB_KIND_EMAIL, "B");
	VbEvent		c = {.event_id = 4, .kind = VB_KIND_READ, .key = "C", .key_len = 1};
	VbLanded	r;

	vb_ledger_delivered(a, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
	vb_ledger_delivered(b, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
	vb_ledger_delivered(e, 0);
	r = vb_ledger_land(l, 1000, 30000);
	is_int(r.parked, 1, "a topic not writable: its first event is parked");
	is_int(vb_ledger_parked(l), 2, "the second waits behind it, whatever its key");
	is_int(r.acked, 1, "the email topic goes on");
	ok(vb_ledger_hold(l, &c), "every new event of the topic waits");
	vb_ledger_forget(l);
	is_int(vb_ledger_parked(l), 0, "another database: parked events are forgotten");
	ok(!vb_ledger_hold(l, &c), "and fetched again");
	vb_ledger_free(l);
}

int
main(void)
{
	vb_log_set_level(VB_LOG_ERROR + 1);
	vb_backoff_seed(7);
	test_out_of_order();
	test_failure();
	test_backoff_grows();
	test_no_key_and_unproduced();
	test_permanent_parks();
	test_dead_letter_stripped();
	test_topic_error();
	return unit_done();
}
