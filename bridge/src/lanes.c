/*-------------------------------------------------------------------------
 *
 * lanes.c
 *	  Layer 4: parallel apply.  With --db-connections N > 1 the bridge
 *	  opens N apply connections ("lanes", each with its own thread) next
 *	  to the loop's own connection, which keeps reading positions and the
 *	  outbox.
 *
 * A round: the messages in hand (`cur`) are cut into one slice per lane
 * by partition (fanout.c: each partition on one lane, a sticky map that
 * changes only between rounds), each lane applies its slice with the
 * batch logic of one connection (batch.c: transactions, pipelining,
 * retries, bisection, quarantine), and the round ends when every lane is
 * done; then the loop commits offsets and publishes as with one
 * connection.  So a partition is never on two connections at once, its
 * transactions commit in offset order, and its position (stored in each
 * of them), its events and its Kafka offset move exactly as before.
 *
 * Threads: one lock (`L->lock`) guards everything the loop owns
 * (consumer, outbox, ledger, tracer, the lanes' state).  A thread holds
 * it except while it blocks on its database (VbDbHooks.on_block around
 * the pipeline's poll and a connect), waits a retry backoff, or (the
 * main thread) waits for the lanes; so the bridge's own work runs one
 * thread at a time, as before, while the database works on N
 * transactions at once.  Only the main thread polls the consumer (so
 * rebalances, and the positions they read on the loop's connection, run
 * there): between rounds, and during a round only while a lane waits a
 * retry and no lane is inside a database call (vb_fanout_may_poll()), so
 * revocations land between transactions, as with one connection.  A lane whose connection fails retries its own
 * slice (reconnecting; the reconnect hook reads the positions again)
 * while the other lanes finish theirs.  The outbox's acknowledgements
 * ride in one lane's transaction at a time (vb_ackclaim_*).
 *
 *-------------------------------------------------------------------------
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lanes.h"
#include "lifecycle.h"
#include "log.h"
#include "metrics.h"

/*
 * lanes_on_block (VbDbHooks.on_block of a lane's connection)
 *	  Other threads run while this lane blocks on its server.
 */
static void
lanes_on_block(void *arg, bool blocking)
{
	VbLoop	   *L = ((VbLane *) arg)->loop;

	if (!L->threaded)
		return;
	if (blocking)
		pthread_mutex_unlock(&L->lock);
	else
		pthread_mutex_lock(&L->lock);
}

/*
 * lanes_apply / lanes_quarantine (VbBatchOps of a lane)
 *	  The applier's, counted as inside a database call.
 */
static VbStatus
lanes_apply(void *arg, const VbBatchChunk *chunks, int nchunks, int *ndone, VbError *err)
{
	VbLane	   *lane = arg;
	VbStatus	st;

	lane->in_db = true;
	lane->loop->in_db++;
	st = vb_applier_apply(arg, chunks, nchunks, ndone, err);
	lane->loop->in_db--;
	lane->in_db = false;
	return st;
}

static VbStatus
lanes_quarantine(void *arg, rd_kafka_message_t *m, const char *sqlstate, const char *error,
				 bool with_key, bool *stored, VbError *err)
{
	VbLane	   *lane = arg;
	VbStatus	st;

	lane->in_db = true;
	lane->loop->in_db++;
	st = vb_applier_quarantine(arg, m, sqlstate, error, with_key, stored, err);
	lane->loop->in_db--;
	lane->in_db = false;
	return st;
}

/*
 * lanes_wait_retry (VbBatchOps.wait_retry of a lane)
 *	  The backoff after a transient error, without the lock: the main
 *	  thread keeps the consumer alive (and pauses it) meanwhile.  False
 *	  when the drain deadline passed.
 */
static bool
lanes_wait_retry(void *arg, int attempt, const VbError *err, const char *what)
{
	VbLane	   *lane = arg;
	VbLoop	   *L = lane->loop;
	VbLogCtx	c = VB_LOGCTX_INIT;
	int			delay = vb_backoff_ms(attempt, L->conf->max_retry_backoff_ms);
	int64_t		until = vb_now_ms() + delay;

	c.sqlstate = err->sqlstate;
	c.error = err->message;
	vb_log(VB_LOG_WARN, &c, "database %s failed (transient): retry %d in %d ms, consumption paused "
		   "(connection %d)", what, attempt, delay, lane->id);
	vb_metric_retry(VB_R_DB);
	lane->retrying = true;
	for (int64_t now = vb_now_ms(); now < until && !vb_past_deadline(); now = vb_now_ms())
	{
		pthread_mutex_unlock(&L->lock);
		vb_sleep_ms(until - now > 50 ? 50 : (int) (until - now));
		pthread_mutex_lock(&L->lock);
	}
	lane->retrying = false;
	if (vb_past_deadline())
	{
		vb_warn("shutdown deadline reached: connection %d's slice is abandoned "
				"(nothing of it after its last commit counts; it will be read again)", lane->id);
		return false;
	}
	return true;
}

/*
 * lanes_main
 *	  A lane's thread: waits for a slice, applies it, says so; until quit.
 */
static void *
lanes_main(void *arg)
{
	VbLane	   *lane = arg;
	VbLoop	   *L = lane->loop;
	const VbBatchOps ops = {lane, lanes_apply, lanes_quarantine, lanes_wait_retry,
	vb_applier_quarantined, vb_applier_resync};

	pthread_mutex_lock(&L->lock);
	for (;;)
	{
		while (!lane->has_work && !L->quit)
			pthread_cond_wait(&L->work, &L->lock);
		if (L->quit)
			break;
		lane->status = vb_batch_apply(&lane->view, L->conf->batch_size, &ops, &lane->err);
		lane->done_us = vb_now_us();
		lane->has_work = false;
		L->running--;
		pthread_cond_signal(&L->done);
	}
	pthread_mutex_unlock(&L->lock);
	return NULL;
}

/*
 * vb_lanes_open
 *	  With --db-connections N > 1: the N lanes' connections (named
 *	  "voltpay-bridge apply K" in pg_stat_activity), then their threads;
 *	  the calling (main) thread holds the lock from here on.  Nothing with
 *	  one connection: the loop's connection is the only lane.
 */
VbStatus
vb_lanes_open(VbLoop *L, VbError *err)
{
	int			n = L->conf->db_connections;
	sigset_t	all,
				old;

	if (n <= 1)
		return VB_OK;
	L->lanes = vb_xcalloc((size_t) n, sizeof(VbLane));
	L->nlanes = n;
	vb_partmap_init(&L->map, n);
	for (int i = 0; i < n; i++)
	{
		VbLane	   *lane = &L->lanes[i];
		const VbDbHooks hooks = {lane, vb_applier_db_wait, vb_applier_reconnected, lanes_on_block};
		char		name[64];

		lane->loop = L;
		lane->id = i;
		lane->db = vb_db_new(L->conf->db, L->conf->db_role, &hooks);
		snprintf(name, sizeof(name), "voltpay-bridge apply %d", i);
		vb_db_set_app_name(lane->db, name);
		vb_db_set_stall_timeout(lane->db, L->conf->db_stall_timeout_s);
		if (vb_db_connect(lane->db, err) != VB_OK)
			return err->status;
	}
	pthread_mutex_init(&L->lock, NULL);
	pthread_cond_init(&L->work, NULL);
	pthread_cond_init(&L->done, NULL);
	pthread_mutex_lock(&L->lock);
	L->threaded = true;
	/* Signals go to the main thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (int i = 0; i < n; i++)
	{
		if (pthread_create(&L->lanes[i].thread, NULL, lanes_main, &L->lanes[i]) != 0)
		{
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			return vb_error_set(err, VB_FATAL, NULL, "cannot start the thread of connection %d", i);
		}
		L->lanes[i].started = true;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	vb_info("parallel apply: %d database connections, each partition on one of them", n);
	return VB_OK;
}

/*
 * lanes_log_map
 *	  After the map changed: how many partitions each lane applies.
 */
static void
lanes_log_map(const VbLoop *L)
{
	char		buf[256];
	size_t		used = 0;

	buf[0] = '\0';
	for (int i = 0; i < L->nlanes && used < sizeof(buf) - 16; i++)
		used += (size_t) snprintf(buf + used, sizeof(buf) - used, "%s%d", i ? ", " : "",
								  vb_partmap_count(&L->map, i));
	vb_info("parallel apply: partitions per connection: %s", buf);
}

/*
 * lanes_wait
 *	  The main thread, until every lane finished its slice: the chores
 *	  every few milliseconds, the lock released between them.
 */
static void
lanes_wait(VbLoop *L, VbLanesChores chores)
{
	while (L->running > 0)
	{
		bool		retrying = false;
		struct timespec ts;

		for (int i = 0; i < L->nlanes; i++)
			retrying |= L->lanes[i].retrying;
		chores(L, vb_fanout_may_poll(L->in_db), retrying);
		if (L->running == 0)
			break;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 5 * 1000000;
		if (ts.tv_nsec >= 1000000000)
		{
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&L->done, &L->lock, &ts);
	}
}

/*
 * vb_lanes_pick
 *	  Between rounds: the map follows the assignment (fanout.c), and the
 *	  next round is picked from the messages polled: up to
 *	  VB_BATCH_PIPELINE batches per lane, moved to the front of `next`
 *	  (vb_partmap_select()).  Returns how many to take.
 */
int
vb_lanes_pick(VbLoop *L, VbMsgList *next)
{
	int32_t    *parts = NULL;
	int			np = vb_consumer_assigned(L->consumer, &parts);

	if (vb_partmap_update(&L->map, parts, np) > 0)
		lanes_log_map(L);
	free(parts);
	return vb_partmap_select(&L->map, next->m, next->n, VB_BATCH_PIPELINE * L->conf->batch_size);
}

/*
 * vb_lanes_apply
 *	  One round over the lanes (see the file header): cur's messages (taken
 *	  after vb_lanes_pick()), cut by partition, applied by the lanes at
 *	  once; the main thread runs chores meanwhile.  The worst of the lanes'
 *	  outcomes, as vb_batch_apply()'s: VB_OK when every message is applied
 *	  or quarantined; VB_TRANSIENT when the drain deadline cut a retry
 *	  short; VB_FATAL with err saying why.
 */
VbStatus
vb_lanes_apply(VbLoop *L, VbMsgList *cur, VbLanesChores chores, VbError *err)
{
	int			bounds[VB_MAX_DB_CONNECTIONS + 1];
	VbStatus	st = VB_OK;
	int64_t		start_us = vb_now_us(),
				end_us;

	vb_partmap_split(&L->map, cur->m, cur->n, bounds);
	for (int i = 0; i < L->nlanes; i++)
	{
		VbLane	   *lane = &L->lanes[i];
		int			n = bounds[i + 1] - bounds[i];

		memset(&lane->view, 0, sizeof(lane->view));
		lane->view.m = cur->m + bounds[i];
		lane->view.n = n;
		lane->view.first_ms = cur->first_ms;
		lane->status = VB_OK;
		lane->done_us = start_us;	/* a lane with nothing waits it all */
		if (n > 0)
		{
			lane->has_work = true;
			L->running++;
		}
	}
	pthread_cond_broadcast(&L->work);
	lanes_wait(L, chores);
	end_us = vb_now_us();
	for (int i = 0; i < L->nlanes; i++)
	{
		VbLane	   *lane = &L->lanes[i];

		/* What one connection's wait for the slowest costs (metrics.c). */
		vb_metric_connection_round(i, (double) (lane->done_us - start_us) / 1e6,
								   (double) (end_us - lane->done_us) / 1e6);

		if (vb_fanout_worst(st, lane->status) != st)
		{
			st = lane->status;
			*err = lane->err;
		}
		memset(&lane->view, 0, sizeof(lane->view));
	}
	return st;
}

/*
 * vb_lanes_connected
 *	  Whether the loop's connection and every lane's are up.
 */
bool
vb_lanes_connected(const VbLoop *L)
{
	if (!vb_db_is_connected(L->db))
		return false;
	if (!L->threaded)
		return true;
	for (int i = 0; i < L->nlanes; i++)
		if (!vb_db_is_connected(L->lanes[i].db))
			return false;
	return true;
}

/*
 * vb_lanes_close
 *	  Stops the lanes' threads (idle between rounds) and closes their
 *	  connections; the lock is released.
 */
void
vb_lanes_close(VbLoop *L)
{
	if (L->lanes == &L->ctl || !L->lanes)
		return;
	if (L->threaded)
	{
		L->quit = true;
		pthread_cond_broadcast(&L->work);
		pthread_mutex_unlock(&L->lock);
		for (int i = 0; i < L->nlanes; i++)
			if (L->lanes[i].started)
				pthread_join(L->lanes[i].thread, NULL);
		L->threaded = false;
		pthread_cond_destroy(&L->work);
		pthread_cond_destroy(&L->done);
		pthread_mutex_destroy(&L->lock);
	}
	for (int i = 0; i < L->nlanes; i++)
	{
		vb_db_free(L->lanes[i].db);
		free(L->lanes[i].acks);
	}
	free(L->lanes);
	vb_partmap_free(&L->map);
	L->lanes = &L->ctl;
	L->nlanes = 1;
}
