/*
 * test_batch.c
 *	  The batch decisions (batch.c) against a fake database: retry, split
 *	  or quarantine by error class; a poison message in every position of
 *	  a batch; transient errors; the drain deadline; set-up errors; keys
 *	  that are not text (the apply's business since extension 0.3.0);
 *	  revoked partitions.  Messages are built by hand
 *	  (batch.c reads only key, partition and offset).
 */
#include <stdlib.h>

#include "batch.h"
#include "log.h"
#include "unit.h"

#define MAXMSG	512

/* The fake database and what it saw. */
typedef struct Fake
{
	bool		poison[MAXMSG];	/* offsets whose apply raises */
	int			transient_left; /* next applies that fail transiently */
	bool		fatal;			/* every apply fails on the set-up */
	int			quarantine_poison;	/* quarantines with a key that fail */
	bool		quarantine_always_fails;
	int			waits_allowed;	/* wait_retry returns false after these */
	int			lose_sync;		/* next applies: all commit, then the
								 * connection is lost before the sync point */
	/* Seen: */
	int			log[2 * MAXMSG];	/* +offset applied, -offset-1 quarantined */
	int			nlog;
	int			applied[MAXMSG];
	int			quarantined[MAXMSG];
	bool		quarantined_key[MAXMSG];
	char		quarantined_state[MAXMSG][6];
	int			apply_calls;
	int			max_chunks;
	int			waits;
	int			resyncs;
} Fake;

static VbStatus
fake_apply(void *arg, const VbBatchChunk *chunks, int nchunks, int *ndone, VbError *err)
{
	Fake	   *f = arg;

	f->apply_calls++;
	if (nchunks > f->max_chunks)
		f->max_chunks = nchunks;
	*ndone = 0;
	if (f->fatal)
		return vb_error_set(err, VB_FATAL, "42883", "function does not exist");
	if (f->transient_left > 0)
	{
		f->transient_left--;
		return vb_error_set(err, VB_TRANSIENT, "08006", "connection lost");
	}
	for (int c = 0; c < nchunks; c++)
	{
		for (int i = 0; i < chunks[c].n; i++)
			if (f->poison[chunks[c].msgs[i]->offset])
				return vb_error_set(err, VB_POISON, "22P02", "bad input %d",
									(int) chunks[c].msgs[i]->offset);
		for (int i = 0; i < chunks[c].n; i++)
		{
			int			o = (int) chunks[c].msgs[i]->offset;

			f->applied[o]++;
			f->log[f->nlog++] = o;
		}
		(*ndone)++;
	}
	if (f->lose_sync > 0)
	{
		f->lose_sync--;
		return vb_error_set(err, VB_TRANSIENT, "57P01", "terminating connection due to administrator command");
	}
	return VB_OK;
}

static VbStatus
fake_quarantine(void *arg, rd_kafka_message_t *m, const char *sqlstate, const char *error,
				bool with_key, bool *stored, VbError *err)
{
	Fake	   *f = arg;
	int			o = (int) m->offset;

	(void) error;
	if (f->quarantine_always_fails)
		return vb_error_set(err, VB_POISON, "22021", "invalid byte sequence");
	if (with_key && f->quarantine_poison > 0)
	{
		f->quarantine_poison--;
		return vb_error_set(err, VB_POISON, "22021", "invalid byte sequence");
	}
	f->quarantined[o]++;
	f->quarantined_key[o] = with_key;
	snprintf(f->quarantined_state[o], 6, "%s", sqlstate);
	*stored = true;
	return VB_OK;
}

static bool
fake_wait(void *arg, int attempt, const VbError *err, const char *what)
{
	Fake	   *f = arg;

	(void) attempt;
	(void) err;
	(void) what;
	return ++f->waits <= f->waits_allowed;
}

static void
fake_quarantined(void *arg, rd_kafka_message_t *m)
{
	Fake	   *f = arg;

	f->log[f->nlog++] = -(int) m->offset - 1;
}

static void
fake_resync(void *arg, const char *why)
{
	(void) why;
	((Fake *) arg)->resyncs++;
}

/* n messages of partition 0 at offsets 0..n-1, keyed "acct". */
static rd_kafka_message_t *msgs;

static void
make_list(VbMsgList *l, int n)
{
	static char key[] = "acct";

	free(msgs);
	msgs = calloc((size_t) n, sizeof(rd_kafka_message_t));
	memset(l, 0, sizeof(*l));
	l->m = calloc((size_t) n, sizeof(VbMsg));
	l->n = l->cap = n;
	for (int i = 0; i < n; i++)
	{
		msgs[i].partition = 0;
		msgs[i].offset = i;
		msgs[i].key = key;
		msgs[i].key_len = 4;
		l->m[i].rkm = &msgs[i];
	}
}

static VbBatchOps
ops_for(Fake *f)
{
	VbBatchOps	ops = {f, fake_apply, fake_quarantine, fake_wait, fake_quarantined, fake_resync};

	return ops;
}

/* The log is strictly increasing in offset: nothing out of order, nothing twice. */
static bool
in_order(const Fake *f)
{
	int			last = -1;

	for (int i = 0; i < f->nlog; i++)
	{
		int			o = f->log[i] >= 0 ? f->log[i] : -f->log[i] - 1;

		if (o <= last)
			return false;
		last = o;
	}
	return true;
}

static void
test_decisions(void)
{
	is_int(vb_batch_decide(VB_OK, 10), VB_ACT_DONE, "ok: done");
	is_int(vb_batch_decide(VB_TRANSIENT, 10), VB_ACT_RETRY, "transient: retry");
	is_int(vb_batch_decide(VB_TRANSIENT, 1), VB_ACT_RETRY, "transient, one message: retry");
	is_int(vb_batch_decide(VB_POISON, 2), VB_ACT_SPLIT, "poison in two messages: split");
	is_int(vb_batch_decide(VB_POISON, 1), VB_ACT_QUARANTINE, "poison in one message: quarantine");
	is_int(vb_batch_decide(VB_FATAL, 1), VB_ACT_FATAL, "fatal: stop, even for one message");
	is_int(vb_quarantine_decide(VB_OK, true), VB_QACT_DONE, "quarantine ok");
	is_int(vb_quarantine_decide(VB_TRANSIENT, false), VB_QACT_RETRY, "quarantine transient: retry");
	is_int(vb_quarantine_decide(VB_POISON, true), VB_QACT_WITHOUT_KEY, "quarantine poison with key: without it");
	is_int(vb_quarantine_decide(VB_POISON, false), VB_QACT_FATAL, "quarantine poison without key: fatal");
	is_int(vb_quarantine_decide(VB_FATAL, true), VB_QACT_FATAL, "quarantine fatal: fatal");
}

static void
test_split(void)
{
	VbMsgList	l;

	make_list(&l, 10);
	is_int(vb_batch_split(&l, 0, 10), 5, "split of 10: 5");
	is_int(vb_batch_split(&l, 0, 3), 1, "split of 3: 1");
	l.m[0].revoked = l.m[1].revoked = true;
	is_int(vb_batch_split(&l, 0, 10), 6, "split with 2 revoked in front: 4 live before the mid");
	free(l.m);
}

static void
test_clean(void)
{
	Fake		f = {0};
	VbBatchOps	ops = ops_for(&f);
	VbMsgList	l;
	VbError		err;
	int			once = 1;

	make_list(&l, 400);
	is_int(vb_batch_apply(&l, 100, &ops, &err), VB_OK, "400 good messages: ok");
	is_int(f.apply_calls, 1, "one round trip for 4 transactions");
	is_int(f.max_chunks, 4, "4 transactions of 100 in the pipeline");
	for (int i = 0; i < 400; i++)
		once &= f.applied[i] == 1;
	ok(once && in_order(&f), "each applied once, in order");
	is_int(f.resyncs, 0, "no resync");
	free(l.m);
}

static void
test_poison_everywhere(void)
{
	const int	n = 37;
	int			all = 1;

	for (int p = 0; p < n; p++)
	{
		Fake		f = {0};
		VbBatchOps	ops = ops_for(&f);
		VbMsgList	l;
		VbError		err;
		bool		good = true;

		f.poison[p] = true;
		make_list(&l, n);
		good &= vb_batch_apply(&l, 10, &ops, &err) == VB_OK;
		for (int i = 0; i < n; i++)
			good &= i == p ? (f.applied[i] == 0 && f.quarantined[i] == 1 && f.quarantined_key[i]) :
				(f.applied[i] == 1 && f.quarantined[i] == 0);
		good &= in_order(&f);
		good &= strcmp(f.quarantined_state[p], "22P02") == 0;
		/* one pipeline, then bisection within one transaction of <= 10 */
		good &= f.apply_calls <= 1 + 2 * 4 + 1;
		if (!good)
			printf("# poison at %d: %d apply calls\n", p, f.apply_calls);
		all &= good;
		free(l.m);
	}
	ok(all, "a poison message in every position of 37 (batch 10): only it quarantined, "
	   "with the server's SQLSTATE, the rest applied once, in order");
}

static void
test_two_poisons(void)
{
	Fake		f = {0};
	VbBatchOps	ops = ops_for(&f);
	VbMsgList	l;
	VbError		err;

	f.poison[3] = f.poison[4] = true;
	make_list(&l, 8);
	is_int(vb_batch_apply(&l, 8, &ops, &err), VB_OK, "two adjacent poisons: ok");
	ok(f.quarantined[3] == 1 && f.quarantined[4] == 1 && f.applied[0] == 1 && f.applied[7] == 1,
	   "both quarantined, the others applied");
	ok(in_order(&f), "in order");
	ok(f.resyncs > 0, "the outbox resyncs after failures and quarantines");
	free(l.m);
}

static void
test_transient(void)
{
	Fake		f = {0};
	VbBatchOps	ops = ops_for(&f);
	VbMsgList	l;
	VbError		err;

	f.transient_left = 2;
	f.waits_allowed = 10;
	make_list(&l, 50);
	is_int(vb_batch_apply(&l, 50, &ops, &err), VB_OK, "transient twice, then ok");
	is_int(f.waits, 2, "two backoff waits");
	ok(f.applied[0] == 1 && f.applied[49] == 1 && in_order(&f), "applied once, in order");
	free(l.m);

	memset(&f, 0, sizeof(f));
	ops = ops_for(&f);
	f.transient_left = 100;
	f.waits_allowed = 3;
	make_list(&l, 50);
	is_int(vb_batch_apply(&l, 50, &ops, &err), VB_TRANSIENT,
		   "transient past the drain deadline: abandoned");
	is_int(f.nlog, 0, "nothing applied");
	free(l.m);

	memset(&f, 0, sizeof(f));
	ops = ops_for(&f);
	f.poison[5] = true;
	f.quarantine_poison = 0;
	f.waits_allowed = 10;
	make_list(&l, 10);
	is_int(vb_batch_apply(&l, 10, &ops, &err), VB_OK, "poison found after a transient");
	free(l.m);
}

static void
test_sync_lost(void)
{
	Fake		f = {0};
	VbBatchOps	ops = ops_for(&f);
	VbMsgList	l;
	VbError		err;
	int			once = 1;

	f.lose_sync = 1;
	f.waits_allowed = 10;
	make_list(&l, 40);
	is_int(vb_batch_apply(&l, 10, &ops, &err), VB_OK,
		   "every transaction committed, the sync point lost: ok");
	for (int i = 0; i < 40; i++)
		once &= f.applied[i] == 1;
	ok(once && in_order(&f), "nothing applied twice, nothing past the batch touched");
	is_int(f.waits, 0, "no retry of what committed");
	free(l.m);
}

static void
test_fatal(void)
{
	Fake		f = {0};
	VbBatchOps	ops = ops_for(&f);
	VbMsgList	l;
	VbError		err;

	f.fatal = true;
	make_list(&l, 20);
	is_int(vb_batch_apply(&l, 10, &ops, &err), VB_FATAL, "set-up error: fatal");
	is_str(err.message, "database set-up error", "fatal error says why");
	is_int(f.quarantined[0], 0, "nothing quarantined on a set-up error");
	free(l.m);

	memset(&f, 0, sizeof(f));
	ops = ops_for(&f);
	f.poison[2] = true;
	f.quarantine_poison = 1;
	make_list(&l, 4);
	is_int(vb_batch_apply(&l, 4, &ops, &err), VB_OK, "quarantine failing on the key: retried");
	ok(f.quarantined[2] == 1 && !f.quarantined_key[2], "stored without the key");
	free(l.m);

	memset(&f, 0, sizeof(f));
	ops = ops_for(&f);
	f.poison[2] = true;
	f.quarantine_always_fails = true;
	make_list(&l, 4);
	is_int(vb_batch_apply(&l, 4, &ops, &err), VB_FATAL, "a poison that cannot be quarantined: fatal");
	ok(f.applied[3] == 0, "nothing after it applied");
	free(l.m);
}

static void
test_bad_key_and_revoked(void)
{
	Fake		f = {0};
	VbBatchOps	ops = ops_for(&f);
	VbMsgList	l;
	VbError		err;
	static char badkey[] = "a\xff";

	make_list(&l, 10);
	msgs[4].key = badkey;
	msgs[4].key_len = 2;
	is_int(vb_batch_apply(&l, 10, &ops, &err), VB_OK, "a key that is not UTF-8: ok");
	ok(f.applied[4] == 1 && f.quarantined[4] == 0 && f.apply_calls == 1,
	   "goes to the apply with the others (the extension rejects it as invalid_key), no bisection");
	ok(in_order(&f), "in order");
	free(l.m);

	memset(&f, 0, sizeof(f));
	ops = ops_for(&f);
	make_list(&l, 10);
	l.m[2].revoked = l.m[7].revoked = true;
	is_int(vb_batch_apply(&l, 3, &ops, &err), VB_OK, "revoked messages: ok");
	ok(f.applied[2] == 0 && f.applied[7] == 0 && f.applied[8] == 1 && f.nlog == 8,
	   "revoked messages left out, the rest applied");
	free(l.m);
}

int
main(void)
{
	vb_log_set_level(VB_LOG_ERROR + 1);
	vb_backoff_seed(1);
	test_decisions();
	test_split();
	test_clean();
	test_poison_everywhere();
	test_two_poisons();
	test_transient();
	test_sync_lost();
	test_fatal();
	test_bad_key_and_revoked();
	free(msgs);
	return unit_done();
}
