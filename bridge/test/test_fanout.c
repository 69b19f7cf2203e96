/*
 * test_fanout.c
 *	  The decisions of parallel apply (fanout.c): the partition -> lane
 *	  map (sticky, least loaded, balanced after rebalances, one lane per
 *	  partition through random assignment sequences), the cut of the
 *	  messages in hand into one slice per lane (stable: offset order per
 *	  partition), which lane carries the outbox's acknowledgements (one at
 *	  a time, not counted after a rollback or after the outbox forgot),
 *	  when the consumer may be polled, a round's outcome; and rounds run
 *	  through the batch logic (batch.c) per lane against a fake database
 *	  in which one connection fails mid-batch (killed backend), another
 *	  meets a poison message: every message applied or quarantined once,
 *	  in offset order per partition.
 */
#include <stdlib.h>

#include "batch.h"
#include "fanout.h"
#include "log.h"
#include "unit.h"

/* Messages of partitions with offsets, built by hand. */
static rd_kafka_message_t *
mk(int32_t partition, int64_t offset)
{
	rd_kafka_message_t *m = calloc(1, sizeof(*m));

	m->partition = partition;
	m->offset = offset;
	return m;
}

static void
test_map_basic(void)
{
	VbPartMap	pm;
	int32_t		a[6] = {5, 1, 3, 0, 2, 4};
	int32_t		b[4] = {0, 1, 2, 3};
	int32_t		c[8] = {0, 1, 2, 3, 10, 11, 12, 13};
	int			lane1;

	vb_partmap_init(&pm, 2);
	is_int(vb_partmap_lane(&pm, 0), -1, "empty map: no lane");
	is_int(vb_partmap_update(&pm, a, 6), 6, "six new partitions mapped");
	is_int(vb_partmap_count(&pm, 0), 3, "three on lane 0");
	is_int(vb_partmap_count(&pm, 1), 3, "three on lane 1");
	/* New partitions in increasing order, to the lightest (lowest on ties). */
	is_int(vb_partmap_lane(&pm, 0), 0, "partition 0 on lane 0");
	is_int(vb_partmap_lane(&pm, 1), 1, "partition 1 on lane 1");
	is_int(vb_partmap_lane(&pm, 2), 0, "partition 2 on lane 0");
	is_int(vb_partmap_update(&pm, a, 6), 0, "same assignment: nothing moves");
	lane1 = vb_partmap_lane(&pm, 1);

	/* Revoke 4 and 5 (lanes 0 and 1): still even, the rest stays. */
	is_int(vb_partmap_update(&pm, b, 4), 0, "revocation of one per lane: nothing moves");
	is_int(vb_partmap_lane(&pm, 4), -1, "revoked partition has no lane");
	is_int(vb_partmap_lane(&pm, 1), lane1, "kept partition keeps its lane");

	/* Cooperative assignment of four more: they go to the lightest. */
	is_int(vb_partmap_update(&pm, c, 8), 4, "four new partitions mapped");
	is_int(vb_partmap_count(&pm, 0), 4, "balanced: 4 on lane 0");
	is_int(vb_partmap_count(&pm, 1), 4, "balanced: 4 on lane 1");
	is_int(vb_partmap_lane(&pm, 99), -1, "beyond the map: no lane");
	is_int(vb_partmap_lane(&pm, -1), -1, "negative partition: no lane");
	vb_partmap_free(&pm);
}

static void
test_map_rebalance_uneven(void)
{
	VbPartMap	pm;
	int32_t		all[8] = {0, 1, 2, 3, 4, 5, 6, 7};
	int32_t		odd_gone[4];
	int			n = 0,
				lane0;

	vb_partmap_init(&pm, 2);
	vb_partmap_update(&pm, all, 8);
	/* Take away every partition of lane 1: lane 0 must give some up. */
	lane0 = 0;
	for (int p = 0; p < 8; p++)
		if (vb_partmap_lane(&pm, p) == lane0)
			odd_gone[n++] = p;
	is_int(n, 4, "lane 0 had four");
	is_int(vb_partmap_update(&pm, odd_gone, n), 2, "two moved to the emptied lane");
	is_int(vb_partmap_count(&pm, 0), 2, "lane 0 keeps two");
	is_int(vb_partmap_count(&pm, 1), 2, "lane 1 gets two");
	/* The highest partitions move; the lowest stay. */
	is_int(vb_partmap_lane(&pm, odd_gone[0]), 0, "lowest partition stays on lane 0");
	is_int(vb_partmap_lane(&pm, odd_gone[3]), 1, "highest partition moved");
	vb_partmap_free(&pm);

	/* One lane: everything on it. */
	vb_partmap_init(&pm, 1);
	vb_partmap_update(&pm, all, 8);
	is_int(vb_partmap_count(&pm, 0), 8, "one lane holds every partition");
	vb_partmap_free(&pm);
	/* More lanes than partitions. */
	vb_partmap_init(&pm, 4);
	vb_partmap_update(&pm, all, 2);
	is_int(vb_partmap_count(&pm, 0) + vb_partmap_count(&pm, 1), 2, "two partitions on the first two lanes");
	is_int(vb_partmap_count(&pm, 3), 0, "lane 3 idle");
	vb_partmap_free(&pm);
}

/* Random assignment sequences: one lane per assigned partition, balanced, sticky. */
static void
test_map_random(void)
{
	int			bad_one = 0,
				bad_balance = 0,
				bad_sticky = 0,
				rounds = 0;

	srand(7);
	for (int nl = 2; nl <= 5; nl++)
	{
		VbPartMap	pm;
		int			prev[100];

		vb_partmap_init(&pm, nl);
		for (int p = 0; p < 100; p++)
			prev[p] = -1;
		for (int r = 0; r < 200; r++)
		{
			int32_t		asg[100];
			int			n = 0,
						min = 1000,
						max = -1,
						moved_kept = 0;

			for (int p = 0; p < 100; p++)
				if (rand() % 3 != 0)
					asg[n++] = p;
			vb_partmap_update(&pm, asg, n);
			rounds++;
			for (int l = 0; l < nl; l++)
			{
				int			c = vb_partmap_count(&pm, l);

				min = c < min ? c : min;
				max = c > max ? c : max;
			}
			if (max - min > 1)
				bad_balance++;
			for (int p = 0, i = 0; p < 100; p++)
			{
				bool		in = i < n && asg[i] == p;
				int			l = vb_partmap_lane(&pm, p);

				if (in)
					i++;
				if (in != (l >= 0 && l < nl))
					bad_one++;
				if (in && prev[p] >= 0 && prev[p] != l)
					moved_kept++;
				prev[p] = in ? l : -1;
			}
			/* Only the balancing moves kept partitions: at most half. */
			if (moved_kept > n / 2 + 1)
				bad_sticky++;
		}
		vb_partmap_free(&pm);
	}
	is_int(bad_one, 0, "%d random assignments: each assigned partition on exactly one lane, others on none", rounds);
	is_int(bad_balance, 0, "lanes differ by at most one partition");
	is_int(bad_sticky, 0, "kept partitions mostly keep their lane");
}

static void
test_split(void)
{
	VbPartMap	pm;
	int32_t		asg[4] = {0, 1, 2, 3};
	VbMsg		m[12];
	int			bounds[3];
	bool		ordered = true,
				right_lane = true;
	int64_t		last[5] = {-1, -1, -1, -1, -1};

	vb_partmap_init(&pm, 2);
	vb_partmap_update(&pm, asg, 4);
	/* Interleaved partitions 0..3 and 4 (not in the map: revoked). */
	for (int i = 0; i < 12; i++)
	{
		m[i].rkm = mk(i == 11 ? 4 : i % 4, 100 + i);
		m[i].revoked = i == 11;
	}
	vb_partmap_split(&pm, m, 12, bounds);
	is_int(bounds[0], 0, "lane 0 starts at 0");
	is_int(bounds[2], 12, "every message in a slice");
	is_int(bounds[1], 7, "lane 0: partitions 0 and 2 (6) and the unmapped one");
	for (int l = 0; l < 2; l++)
		for (int i = bounds[l]; i < bounds[l + 1]; i++)
		{
			int			p = m[i].rkm->partition;
			int			want = vb_partmap_lane(&pm, p);

			if ((want < 0 ? 0 : want) != l)
				right_lane = false;
			if (m[i].rkm->offset <= last[p])
				ordered = false;
			last[p] = m[i].rkm->offset;
		}
	ok(right_lane, "each message in its partition's lane's slice");
	ok(ordered, "offset order kept within each partition");
	ok(m[bounds[1] - 1].revoked && m[bounds[1] - 1].rkm->partition == 4,
	   "the revoked message keeps its mark");
	for (int i = 0; i < 12; i++)
		free(m[i].rkm);
	vb_partmap_split(&pm, NULL, 0, bounds);
	is_int(bounds[2], 0, "an empty list: empty slices");
	vb_partmap_free(&pm);
}

static void
test_select(void)
{
	VbPartMap	pm;
	int32_t		asg[2] = {0, 1};
	VbMsg		m[10];
	int			k;
	bool		ordered = true;
	int64_t		last[3] = {-1, -1, -1};

	vb_partmap_init(&pm, 2);
	vb_partmap_update(&pm, asg, 2);
	/* Partition 0 (lane 0): 7 messages; partition 1 (lane 1): 3. */
	for (int i = 0; i < 10; i++)
		m[i].rkm = mk(i < 7 ? 0 : 1, i < 7 ? i : i - 7), m[i].revoked = false;
	k = vb_partmap_select(&pm, m, 10, 4);
	is_int(k, 7, "quota 4: four of lane 0 and all three of lane 1 picked");
	for (int i = 0; i < k; i++)
	{
		int			p = m[i].rkm->partition;

		if (m[i].rkm->offset <= last[p])
			ordered = false;
		last[p] = m[i].rkm->offset;
	}
	ok(ordered, "picked in offset order per partition");
	is_int(m[k].rkm->partition, 0, "the rest: lane 0's later messages");
	is_int(m[k].rkm->offset, 4, "starting where the picked ones stopped");
	is_int(m[9].rkm->offset, 6, "in order");
	is_int(vb_partmap_select(&pm, m, 10, 100), 10, "quota above the counts: all picked");
	is_int(vb_partmap_select(&pm, m, 0, 4), 0, "nothing polled: nothing picked");
	for (int i = 0; i < 10; i++)
		free(m[i].rkm);
	vb_partmap_free(&pm);
}

static void
test_ackclaim(void)
{
	VbAckClaim	c;

	vb_ackclaim_init(&c);
	is_int(vb_ackclaim_take(&c, 0, 0), 0, "nothing waits: nothing carried");
	is_int(c.owner, -1, "and nobody holds the claim");
	is_int(vb_ackclaim_take(&c, 0, 5), 5, "lane 0 carries the five waiting");
	is_int(vb_ackclaim_take(&c, 1, 7), 0, "lane 1 carries none meanwhile");
	is_int(vb_ackclaim_release(&c, 1, true), 0, "lane 1's commit acknowledges nothing");
	is_int(vb_ackclaim_release(&c, 0, true), 5, "lane 0's commit acknowledges its five");
	is_int(vb_ackclaim_take(&c, 1, 7), 7, "then lane 1 carries the next seven");
	is_int(vb_ackclaim_release(&c, 1, false), 0, "rolled back: none counts (sent again)");
	is_int(vb_ackclaim_take(&c, 0, 7), 7, "they are carried again");
	vb_ackclaim_forget(&c);
	is_int(vb_ackclaim_release(&c, 0, true), 0, "the outbox forgot meanwhile: none counts");
	is_int(vb_ackclaim_take(&c, 1, 2), 2, "after the forget, new ones are carried");
	is_int(vb_ackclaim_release(&c, 1, true), 2, "and count");
	is_int(c.owner, -1, "released");
}

static void
test_small_decisions(void)
{
	ok(vb_fanout_may_poll(0), "no lane in a database call: poll the consumer");
	ok(!vb_fanout_may_poll(1), "a lane in a database call: do not");
	is_int(vb_fanout_worst(VB_OK, VB_OK), VB_OK, "ok + ok");
	is_int(vb_fanout_worst(VB_OK, VB_TRANSIENT), VB_TRANSIENT, "ok + transient");
	is_int(vb_fanout_worst(VB_TRANSIENT, VB_OK), VB_TRANSIENT, "transient + ok");
	is_int(vb_fanout_worst(VB_TRANSIENT, VB_FATAL), VB_FATAL, "transient + fatal");
	is_int(vb_fanout_worst(VB_FATAL, VB_TRANSIENT), VB_FATAL, "fatal + transient");
	is_int(vb_fanout_worst(VB_POISON, VB_TRANSIENT), VB_TRANSIENT, "poison + transient");
}

/*
 * A round through the batch logic per lane, against a fake database
 * shared by the lanes (what each partition's position is): a lane's
 * connection fails after committing k transactions (a killed backend:
 * the rest of its pipeline rolled back), a poison offset is raised.
 */
#define NPART	6
#define PER		40

typedef struct FakeDb
{
	int64_t		next[NPART];	/* recorded position per partition */
	int			applied[NPART][PER];
	int			quarantined[NPART][PER];
	int			out_of_order;
	int			kills_left[2];	/* per lane: pipelines that fail midway */
	int			poison_offset;
} FakeDb;

typedef struct FakeLane
{
	FakeDb	   *db;
	int			id;
	int			retries;
} FakeLane;

static void
fake_take(FakeDb *db, rd_kafka_message_t *m)
{
	if (m->offset != db->next[m->partition])
		db->out_of_order++;
	db->next[m->partition] = m->offset + 1;
}

static VbStatus
fake_apply(void *arg, const VbBatchChunk *chunks, int nchunks, int *ndone, VbError *err)
{
	FakeLane   *fl = arg;
	FakeDb	   *db = fl->db;

	*ndone = 0;
	for (int c = 0; c < nchunks; c++)
	{
		if (c == 1 && db->kills_left[fl->id] > 0)
		{
			db->kills_left[fl->id]--;
			return vb_error_set(err, VB_TRANSIENT, "57P01", "terminating connection due to administrator command");
		}
		for (int i = 0; i < chunks[c].n; i++)
			if (chunks[c].msgs[i]->offset == db->poison_offset && chunks[c].msgs[i]->partition == 1)
				return vb_error_set(err, VB_POISON, "P0001", "poison");
		for (int i = 0; i < chunks[c].n; i++)
		{
			rd_kafka_message_t *m = chunks[c].msgs[i];

			/* The extension skips what is below the position. */
			if (m->offset < db->next[m->partition])
				continue;
			fake_take(db, m);
			db->applied[m->partition][m->offset]++;
		}
		(*ndone)++;
	}
	return VB_OK;
}

static VbStatus
fake_quarantine(void *arg, rd_kafka_message_t *m, const char *sqlstate, const char *error,
				bool with_key, bool *stored, VbError *err)
{
	FakeLane   *fl = arg;

	fake_take(fl->db, m);
	fl->db->quarantined[m->partition][m->offset]++;
	*stored = true;
	return VB_OK;
}

static bool
fake_wait(void *arg, int attempt, const VbError *err, const char *what)
{
	((FakeLane *) arg)->retries++;
	return true;
}

static void
fake_quarantined(void *arg, rd_kafka_message_t *m)
{
}

static void
fake_resync(void *arg, const char *why)
{
}

static void
test_rounds(void)
{
	FakeDb		db;
	VbPartMap	pm;
	int32_t		asg[NPART];
	FakeLane	fl[2];
	VbMsgList	cur;
	int			bounds[3];
	int			lost = 0,
				doubled = 0;
	VbStatus	st[2];

	memset(&db, 0, sizeof(db));
	db.kills_left[1] = 2;		/* lane 1's backend killed twice mid-pipeline */
	db.poison_offset = 17;
	for (int p = 0; p < NPART; p++)
		asg[p] = p;
	vb_partmap_init(&pm, 2);
	vb_partmap_update(&pm, asg, NPART);
	memset(&cur, 0, sizeof(cur));
	/* Two rounds of 20 offsets per partition, interleaved as consumed. */
	for (int round = 0; round < 2; round++)
	{
		for (int o = round * (PER / 2); o < (round + 1) * (PER / 2); o++)
			for (int p = 0; p < NPART; p++)
				vb_msglist_push(&cur, mk(p, o), 1);
		vb_partmap_split(&pm, cur.m, cur.n, bounds);
		for (int l = 0; l < 2; l++)
		{
			VbMsgList	view;
			VbBatchOps	ops = {&fl[l], fake_apply, fake_quarantine, fake_wait,
			fake_quarantined, fake_resync};
			VbError		err;

			fl[l].db = &db;
			fl[l].id = l;
			if (round == 0)
				fl[l].retries = 0;
			memset(&view, 0, sizeof(view));
			view.m = cur.m + bounds[l];
			view.n = bounds[l + 1] - bounds[l];
			/* Small transactions, so that pipelines hold several. */
			st[l] = vb_batch_apply(&view, 4, &ops, &err);
		}
		is_int(vb_fanout_worst(st[0], st[1]), VB_OK, "round %d: both lanes done", round);
		for (int i = 0; i < cur.n; i++)
			free(cur.m[i].rkm);
		cur.n = 0;
	}
	for (int p = 0; p < NPART; p++)
		for (int o = 0; o < PER; o++)
		{
			int			n = db.applied[p][o] + db.quarantined[p][o];

			lost += n == 0;
			doubled += n > 1;
		}
	is_int(lost, 0, "no message lost");
	is_int(doubled, 0, "no message applied twice");
	is_int(db.out_of_order, 0, "each partition applied in offset order");
	is_int(db.quarantined[1][17], 1, "the poison message quarantined");
	is_int(fl[1].retries, 2, "the killed lane retried its own batch twice");
	is_int(fl[0].retries, 0, "the other lane did not retry");
	free(cur.m);
	vb_partmap_free(&pm);
}

int
main(void)
{
	vb_log_set_level(VB_LOG_ERROR + 1);
	vb_backoff_seed(1);
	test_map_basic();
	test_map_rebalance_uneven();
	test_map_random();
	test_split();
	test_select();
	test_ackclaim();
	test_small_decisions();
	test_rounds();
	return unit_done();
}
