/*-------------------------------------------------------------------------
 *
 * loop.c
 *	  Layer 4: the main loop.  It owns the database connection, the
 *	  consumer and the outbox, wires the hooks they call back through
 *	  (database waits and reconnects, rebalances; delivery reports land in
 *	  the outbox's own hook) and the operations the batch logic needs
 *	  (VbBatchOps, database side in applier.c), and is the one place that
 *	  decides when to consume, apply and publish.
 *
 * One pass: tick (liveness, readiness, producer events, offset commits,
 * lag, outbox backlog); fill the next batch (until --batch-size messages,
 * --batch-wait-ms after its first, or a short idle wait); apply up to
 * VB_BATCH_PIPELINE batches in one round trip (with --db-connections N > 1,
 * up to that many per connection, over the connections: lanes.c); publish
 * (the outbox pump).
 * On SIGINT/SIGTERM or a fatal error the drain: stop fetching, finish
 * what was polled, publish, commit, leave the group, within the drain
 * deadline.
 *
 *-------------------------------------------------------------------------
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "applier.h"
#include "batch.h"
#include "consumer.h"
#include "db.h"
#include "lanes.h"
#include "lifecycle.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "outbox.h"

/*
 * loop_check_stop
 *	  A stop was asked: the drain's clock starts (idempotent).
 */
static void
loop_check_stop(void)
{
	if (vb_stopping())
		vb_drain_begin();
}

/*
 * loop_ahead
 *	  Most messages polled ahead of the batch in hand (per lane).
 */
static int
loop_ahead(const VbLoop *L)
{
	return VB_AHEAD_BATCHES * L->conf->batch_size * L->nlanes;
}

/*
 * loop_health
 *	  Delivery reports served, liveness and readiness kept up, the lag
 *	  shown once a second (it keeps growing while the database is away).
 */
static void
loop_health(VbLoop *L)
{
	vb_outbox_poll(L->outbox, 0);
	vb_metric_tick();
	vb_metric_ready(vb_lanes_connected(L), vb_consumer_joined(L->consumer),
					vb_consumer_count(L->consumer));
	if (vb_now_ms() >= L->next_lag_ms)
	{
		vb_consumer_update_lag(L->consumer);
		L->next_lag_ms = vb_now_ms() + 1000;
	}
}

/*
 * loop_keepalive
 *	  While waiting for something else: the consumer polled (rebalances,
 *	  group membership, messages kept), delivery reports served, liveness
 *	  and readiness kept up, the lag shown once a second.
 */
static void
loop_keepalive(VbLoop *L, int timeout_ms)
{
	loop_check_stop();
	vb_consumer_poll(L->consumer, timeout_ms, loop_ahead(L));
	if (vb_consumer_full(L->consumer))
		vb_consumer_pause(L->consumer, VB_PAUSE_FULL, true);
	loop_health(L);
}

/*
 * loop_wait_retry (VbBatchOps.wait_retry)
 *	  Backoff after a transient database error: consumption paused, the
 *	  consumer kept alive meanwhile.  False when the drain deadline passed
 *	  (the batch is then abandoned: nothing of it is committed anywhere).
 */
static bool
loop_wait_retry(void *arg, int attempt, const VbError *err, const char *what)
{
	VbLoop	   *L = ((VbLane *) arg)->loop;
	VbLogCtx	c = VB_LOGCTX_INIT;
	int			delay = vb_backoff_ms(attempt, L->conf->max_retry_backoff_ms);
	int64_t		until = vb_now_ms() + delay;

	c.sqlstate = err->sqlstate;
	c.error = err->message;
	vb_log(VB_LOG_WARN, &c, "database %s failed (transient): retry %d in %d ms, consumption paused",
		   what, attempt, delay);
	vb_metric_retry(VB_R_DB);
	vb_consumer_pause(L->consumer, VB_PAUSE_DB, true);
	for (int64_t now = vb_now_ms(); now < until && !vb_past_deadline(); now = vb_now_ms())
		loop_keepalive(L, until - now > 100 ? 100 : (int) (until - now));
	if (vb_past_deadline())
	{
		vb_warn("shutdown deadline reached: the batch in hand is abandoned "
				"(nothing of it is committed; it will be read again)");
		return false;
	}
	return true;
}

/*
 * loop_before_revoke / loop_assigned (VbConsumerHooks)
 */
static void
loop_before_revoke(void *arg)
{
	VbLoop	   *L = arg;

	/* Let what is in flight land before the partitions go. */
	vb_outbox_settle(L->outbox, 10000);
}

static void
loop_assigned(void *arg)
{
	VbLoop	   *L = arg;

	L->publish_due = true;
	/* The previous owner may have left events of these partitions. */
	vb_outbox_resync(L->outbox, "new partitions");
}

/*
 * loop_fill
 *	  Polls until the next batch holds --batch-size messages, or
 *	  --batch-wait-ms have passed since its first message, or (while it is
 *	  empty) 200 ms have passed (10 ms while outbox events are in flight or
 *	  due), or the bridge is stopping.
 */
static void
loop_fill(VbLoop *L)
{
	VbMsgList  *next = vb_consumer_next(L->consumer);
	int			batch = L->conf->batch_size;
	int64_t		idle_until = vb_now_ms() +
		(vb_outbox_inflight(L->outbox) > 0 || L->publish_due ? 10 : 200);

	/*
	 * Take what librdkafka already holds (up to the batches one pipeline
	 * sends).  A full batch waiting: apply at once, the last batches'
	 * events are produced while it runs.  Otherwise produce them before
	 * waiting for messages.
	 */
	while (next->n < loop_ahead(L) && !vb_stopping() &&
		   vb_consumer_poll(L->consumer, 0, loop_ahead(L)) > 0)
		;
	if (next->n < batch)
		vb_outbox_produce_pending(L->outbox);

	for (;;)
	{
		int64_t		now = vb_now_ms();
		int64_t		timeout;

		if (vb_stopping() || next->n >= batch)
			return;
		if (next->n > 0)
		{
			int64_t		due = next->first_ms + L->conf->batch_wait_ms;

			if (now >= due)
				return;
			timeout = due - now;
		}
		else
		{
			if (now >= idle_until)
				return;
			timeout = idle_until - now;
		}
		if (timeout > 100)
			timeout = 100;
		/* Events in flight: serve their delivery reports promptly. */
		if (vb_outbox_inflight(L->outbox) > 0)
		{
			vb_outbox_poll(L->outbox, 0);
			if (timeout > 5)
				timeout = 5;
		}
		vb_consumer_poll(L->consumer, (int) timeout, batch);
		vb_metric_tick();
	}
}

/*
 * loop_debug_batch
 *	  The debug line of an applied batch: how long it filled, how old its
 *	  oldest record is.
 */
static void
loop_debug_batch(VbLoop *L, const VbMsgList *cur)
{
	int64_t		oldest = -1;

	if (!vb_log_enabled(VB_LOG_DEBUG))
		return;
	for (int i = 0; i < cur->n; i++)
	{
		int64_t		ts = rd_kafka_message_timestamp(cur->m[i].rkm, NULL);

		if (ts >= 0 && (oldest < 0 || ts < oldest))
			oldest = ts;
	}
	vb_debug("batch of %d applied (%d events in flight); it filled in %" PRId64 " ms, its oldest record is %" PRId64 " ms old",
			 cur->n, vb_outbox_inflight(L->outbox), vb_now_ms() - cur->first_ms,
			 oldest >= 0 ? vb_wall_us() / 1000 - oldest : -1);
}

/*
 * loop_round_chores (VbLanesChores)
 *	  While the lanes apply a round: events produced, delivery reports
 *	  served, liveness, readiness and the lag kept up.  While a lane waits
 *	  a retry, as loop_wait_retry() does with one connection: consumption
 *	  paused, and the consumer polled (rebalances, group membership) when
 *	  no lane is inside a database call.  Not otherwise: as with one
 *	  connection, a round is not long enough to need it, and pausing a
 *	  full `next` would purge librdkafka's prefetched messages (the next
 *	  round would wait for a new fetch).
 */
static void
loop_round_chores(VbLoop *L, bool may_poll, bool retrying)
{
	loop_check_stop();
	if (retrying)
	{
		vb_consumer_pause(L->consumer, VB_PAUSE_DB, true);
		if (may_poll)
		{
			vb_consumer_poll(L->consumer, 0, loop_ahead(L));
			if (vb_consumer_full(L->consumer))
				vb_consumer_pause(L->consumer, VB_PAUSE_FULL, true);
		}
	}
	vb_outbox_produce_pending(L->outbox);
	loop_health(L);
}

/*
 * loop_process
 *	  Takes up to VB_BATCH_PIPELINE x --batch-size polled messages in hand
 *	  (that many per lane: vb_lanes_pick()), applies them (on the loop's
 *	  connection, or over the lanes: lanes.c), commits their offsets to
 *	  Kafka, and lets the publishing know.  VB_FATAL after a fatal error
 *	  (already signalled).
 */
static VbStatus
loop_process(VbLoop *L)
{
	const VbBatchOps ops = {&L->ctl, vb_applier_apply, vb_applier_quarantine, loop_wait_retry,
	vb_applier_quarantined, vb_applier_resync};
	VbMsgList  *next = vb_consumer_next(L->consumer);
	VbMsgList  *cur;
	int			max = VB_BATCH_PIPELINE * L->conf->batch_size;
	VbError		err;
	VbStatus	st;

	vb_consumer_take(L->consumer, L->threaded ? vb_lanes_pick(L, next) : next->n < max ? next->n : max);
	cur = vb_consumer_cur(L->consumer);
	if (L->threaded)
		st = vb_lanes_apply(L, cur, loop_round_chores, &err);
	else
		st = vb_batch_apply(cur, L->conf->batch_size, &ops, &err);
	vb_consumer_pause(L->consumer, VB_PAUSE_DB, false);
	if (st == VB_OK)
	{
		loop_debug_batch(L, cur);
		vb_consumer_commit(L->consumer, false);
		L->publish_due = true;
	}
	else if (st == VB_FATAL)
		vb_set_fatal(err.message);
	vb_consumer_done(L->consumer);
	return st;
}

/*
 * loop_pump
 *	  One step of the outbox pump; fetch: also read the outbox for our
 *	  partitions.  *more: events still wait.
 */
static VbStatus
loop_pump(VbLoop *L, bool fetch, bool *more)
{
	int32_t    *parts = NULL;
	int			np = 0;
	VbStatus	st;

	if (fetch)
		np = vb_consumer_assigned(L->consumer, &parts);
	st = vb_outbox_pump(L->outbox, fetch, parts, np, more);
	free(parts);
	return st;
}

/*
 * loop_publish
 *	  One step of publishing on every pass (it lands delivery reports); it
 *	  fetches new events after each batch, every second when idle (DBA
 *	  republishes, events left by a failure), and right away while a
 *	  backlog remains.  Only once the group is joined: the outbox is read
 *	  for the partitions we own.
 */
static void
loop_publish(VbLoop *L)
{
	int64_t		now = vb_now_ms();
	bool		fetch = vb_consumer_joined(L->consumer) &&
		(L->publish_due || now >= L->publish_idle_at);
	bool		more = false;

	switch (loop_pump(L, fetch, &more))
	{
		case VB_OK:
			if (more)
				L->publish_due = true;
			else if (fetch)
			{
				L->publish_due = false;
				L->publish_idle_at = now + 1000;
			}
			break;
		case VB_TRANSIENT:
		case VB_POISON:
			vb_metric_retry(VB_R_PUBLISH);
			L->publish_due = true;
			break;
		case VB_FATAL:
			vb_set_fatal("the producer cannot publish any more");
			break;
	}
}

/*
 * loop_publish_drain
 *	  At shutdown: publish what the outbox holds for our partitions and
 *	  land it, until the drain deadline; then purge what is still in
 *	  flight (it stays in the outbox for the next start).
 */
static void
loop_publish_drain(VbLoop *L)
{
	while (!vb_past_deadline())
	{
		bool		more = false;
		VbStatus	st = loop_pump(L, vb_consumer_joined(L->consumer), &more);

		if (st == VB_FATAL)
			break;
		if (st == VB_OK && !more && vb_outbox_idle(L->outbox))
			return;
		vb_outbox_poll(L->outbox, 10);
		loop_keepalive(L, 0);
	}
	if (vb_outbox_inflight(L->outbox) > 0)
		vb_outbox_abandon(L->outbox);
	if (vb_past_deadline())
		vb_warn("shutdown deadline reached before the outbox was empty: "
				"the rest is published after the restart");
}

/*
 * loop_tick
 *	  Periodic chores: liveness, readiness, producer events, offset
 *	  commits, lag (every second), outbox backlog (every 10 s).
 */
static void
loop_tick(VbLoop *L)
{
	int64_t		now = vb_now_ms();

	loop_health(L);
	vb_consumer_commit(L->consumer, false);
	if (now >= L->next_backlog_ms && vb_consumer_joined(L->consumer) && vb_db_is_connected(L->db))
	{
		int32_t    *parts;
		int			np = vb_consumer_assigned(L->consumer, &parts);

		vb_outbox_update_backlog(L->outbox, parts, np);
		free(parts);
		L->next_backlog_ms = now + 10000;
	}
}

/*
 * vb_loop_run
 *	  The main loop, until SIGINT/SIGTERM or a fatal error; then the
 *	  drain: stop fetching, finish what was polled, publish, commit, leave
 *	  the group, all within the drain deadline.  Returns the exit status.
 */
int
vb_loop_run(VbLoop *L)
{
	VbMsgList  *next = vb_consumer_next(L->consumer);
	VbStatus	st = VB_OK;

	while (!vb_stopping())
	{
		loop_tick(L);
		loop_fill(L);
		if (vb_stopping())
			break;
		if (next->n > 0 && (st = loop_process(L)) != VB_OK)
			break;
		loop_publish(L);
	}

	vb_info("stopping: finishing the batch in hand (%d messages), publishing, committing; "
			"%d s at most", next->n, L->conf->shutdown_timeout_s);
	vb_drain_begin();
	vb_consumer_pause(L->consumer, VB_PAUSE_STOP, true);
	while (st == VB_OK && next->n > 0 && !vb_past_deadline())
		st = loop_process(L);
	if (st == VB_OK && next->n > 0)
		vb_warn("%d polled messages not applied (deadline): they will be read again", next->n);
	if (st != VB_FATAL && vb_consumer_joined(L->consumer))
		loop_publish_drain(L);
	vb_consumer_commit(L->consumer, true);
	loop_tick(L);
	return vb_is_fatal() ? VB_EXIT_FATAL : VB_EXIT_OK;
}

/*
 * vb_loop_new
 *	  The loop for a configuration; nothing is opened yet.
 */
VbLoop *
vb_loop_new(const VbConfig *conf)
{
	VbLoop	   *L = vb_xcalloc(1, sizeof(VbLoop));

	L->conf = conf;
	L->ctl.loop = L;
	L->ctl.id = conf->db_connections > 1 ? -1 : 0;
	L->lanes = &L->ctl;
	L->nlanes = 1;
	vb_ackclaim_init(&L->ackclaim);
	return L;
}

/*
 * vb_loop_connect
 *	  Connects to the database (search_path empty, SET ROLE, statements
 *	  prepared), with --db-connections > 1 the lanes too.  A failure here
 *	  is a configuration error.
 */
VbStatus
vb_loop_connect(VbLoop *L, VbError *err)
{
	const VbDbHooks hooks = {&L->ctl, vb_applier_db_wait, vb_applier_reconnected, NULL};

	L->db = vb_db_new(L->conf->db, L->conf->db_role, &hooks);
	vb_db_set_stall_timeout(L->db, L->conf->db_stall_timeout_s);
	L->ctl.db = L->db;
	if (vb_db_connect(L->db, err) != VB_OK)
		return err->status;
	return vb_lanes_open(L, err);
}

/*
 * vb_loop_open
 *	  The outbox (with its producer) and the consumer, on brokers.
 */
VbStatus
vb_loop_open(VbLoop *L, const char *brokers, VbError *err)
{
	const VbConsumerHooks hooks = {L, vb_applier_positions, loop_before_revoke, loop_assigned};

	if (vb_outbox_new(L->conf, brokers, L->db, &L->outbox, err) != VB_OK ||
		vb_applier_trace_start(L, err) != VB_OK)
		return err->status;
	return vb_consumer_new(L->conf, brokers, &hooks, &L->consumer, err);
}

/*
 * vb_loop_close
 *	  Leaves the group, flushes and closes the producer (acknowledging
 *	  what was delivered), closes the database; whatever was opened.
 */
void
vb_loop_close(VbLoop *L)
{
	if (!L)
		return;
	vb_consumer_close(L->consumer);
	vb_outbox_close(L->outbox);
	vb_lanes_close(L);
	vb_applier_trace_stop(L);
	vb_db_free(L->db);
	free(L->ctl.acks);
	free(L);
}
