/*-------------------------------------------------------------------------
 *
 * outbox.c
 *	  Layer 3: publishing the transactional outbox with the idempotent
 *	  producer (producer.c), overlapped with applying; the bookkeeping is
 *	  the ledger's (ledger.c).
 *
 * The usual path: apply_payment_batch_events() returns the events a batch
 * queued, and after its COMMIT they are taken here
 * (vb_outbox_take_event()) and produced while the next batch runs on the
 * server (vb_outbox_produce_pending(), from the database's wait hook),
 * without reading them back.  Delivered events are acknowledged
 * (outbox_ack(), deleted) inside the next batch's transaction
 * (vb_outbox_acks()), or on their own after 200 ms without a batch; an
 * acknowledgement lost with a rolled-back batch is sent again.
 *
 * The pump (vb_outbox_pump(), from the main loop):
 *	  1. serves delivery reports;
 *	  2. lands the delivered head of the flight (ledger.c);
 *	  3. fetches (outbox_fetch(), in event_id order) the oldest pending
 *		 events of the partitions we own that are neither in flight nor
 *		 waiting for their acknowledgement, and produces them: on start,
 *		 after any failure or new assignment, and once a second for events
 *		 the bridge did not write itself (a DBA's republish).
 * The direct path is only taken while in sync: after a fetch found
 * everything pending (fewer than --outbox-batch events) with nothing in
 * flight.  Until then (start, a new assignment, a failed delivery, apply
 * or commit, a quarantine outside the apply) a batch's events stay in the
 * outbox and the next fetch takes them, in order.  A crash anywhere
 * publishes unacknowledged events again (at-least-once; the message_id
 * header lets readers de-duplicate).
 *
 * Permanent producer errors (a record too large for its topic, a topic
 * missing or not writable; park.c) park the event instead: it is retried
 * alone with a growing backoff, the later events of its topic and key (or
 * topic) wait, and the rest goes on.  A dead letter too large for its
 * topic is sent again at once without its value, with the headers
 * voltpay-value-omitted and voltpay-value-size (ob_strip()).
 *
 * Order: events are produced in event_id order and the idempotent
 * producer keeps the order within a partition (a key's partition), so
 * per-account order holds.  When a delivery fails, nothing new is fetched
 * until everything in flight has landed; later events with the same topic
 * and key are not acknowledged even if delivered; then, after a backoff,
 * publishing starts again from the oldest pending event.  Before
 * partitions are given up, what is in flight is settled
 * (vb_outbox_settle()), so their next owner neither repeats nor overtakes
 * it.
 *
 *-------------------------------------------------------------------------
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "latency.h"
#include "ledger.h"
#include "lifecycle.h"
#include "log.h"
#include "metrics.h"
#include "outbox.h"
#include "producer.h"

/* Acknowledgements wait this long for a batch to carry them. */
#define OB_ACK_WAIT_MS		200
/* While in sync, the outbox is read this often for others' events. */
#define OB_SWEEP_MS			1000

struct VbOutbox
{
	const VbConfig *conf;
	VbDb	   *db;
	VbProducer *producer;
	VbLedger   *ledger;
	VbLatency  *latency;
	VbEvent    *pending;		/* committed batches' events, not produced */
	int			npending;
	int			cappending;
	int64_t		next_sweep;		/* next fetch while in sync */
	VbOutboxDeliveredFn on_delivered;	/* the tracer's, or NULL */
	void	   *on_delivered_arg;
};

/*
 * ob_nacks
 *	  How many delivered events wait for their acknowledgement.
 */
static int
ob_nacks(const VbOutbox *ob)
{
	const int64_t *ids;

	return vb_ledger_acks(ob->ledger, &ids);
}

/*
 * ob_delivered
 *	  The producer's delivery hook: the ledger records it; a delivered
 *	  event's end-to-end latency is observed.
 */
static void
ob_delivered(void *arg, void *opaque, rd_kafka_resp_err_t err)
{
	VbOutbox   *ob = arg;
	VbFlight   *f = opaque;

	vb_ledger_delivered(f, err);
	if (ob->on_delivered)
		ob->on_delivered(ob->on_delivered_arg, vb_flight_message_id(f), vb_flight_kind(f), err);
	if (!err)
	{
		int64_t		ts = vb_latency_get(ob->latency, vb_flight_message_id(f));

		if (ts >= 0)
			vb_metric_e2e((double) (vb_wall_us() / 1000 - ts) / 1000.0);
	}
}

/*
 * vb_outbox_new
 *	  The outbox publisher and its producer.
 */
VbStatus
vb_outbox_new(const VbConfig *conf, const char *brokers, VbDb *db, VbOutbox **out,
			  VbError *err)
{
	VbOutbox   *ob = vb_xcalloc(1, sizeof(VbOutbox));
	VbProducerHooks hooks = {ob, ob_delivered};
	const char *topics[VB_NKINDS] = {conf->read_topic, conf->email_topic,
	conf->dead_letter_topic};

	*out = NULL;
	ob->conf = conf;
	ob->db = db;
	if (vb_producer_new(conf, brokers, &hooks, &ob->producer, err) != VB_OK)
	{
		free(ob);
		return err->status;
	}
	ob->ledger = vb_ledger_new(topics);
	ob->latency = vb_latency_new();
	*out = ob;
	return VB_OK;
}

/*
 * vb_outbox_on_delivered
 *	  fn is told of every delivery report (the tracer's publish spans).
 */
void
vb_outbox_on_delivered(VbOutbox *ob, VbOutboxDeliveredFn fn, void *arg)
{
	ob->on_delivered = fn;
	ob->on_delivered_arg = arg;
}

/*
 * ob_add_header
 *	  Appends one header (copied) to an event.
 */
static void
ob_add_header(VbEvent *e, const char *name, const char *value)
{
	e->header_names = vb_xrealloc(e->header_names, sizeof(char *) * (size_t) (e->nheaders + 1));
	e->header_values = vb_xrealloc(e->header_values, sizeof(char *) * (size_t) (e->nheaders + 1));
	e->header_names[e->nheaders] = vb_xstrdup(name);
	e->header_values[e->nheaders] = vb_xstrdup(value);
	e->nheaders++;
}

/*
 * ob_strip
 *	  A dead letter too large for its topic, sent again without its value:
 *	  an empty value, and headers saying it was left out and how large it
 *	  was (the raw value stays in voltpay.rejected_messages; the
 *	  voltpay-source header finds it there).
 */
static void
ob_strip(VbEvent *e)
{
	char		size[32];

	snprintf(size, sizeof(size), "%zu", e->value_len);
	free(e->value);
	e->value = vb_xstrdup("");
	e->value_len = 0;
	ob_add_header(e, "voltpay-value-omitted", "too_large");
	ob_add_header(e, "voltpay-value-size", size);
	vb_metric_add(VB_C_VALUES_OMITTED, 1);
}

/*
 * ob_produce
 *	  Adds one event to the flight and hands it to the producer; an event
 *	  that cannot be produced lands at once as failed.  An event that waits
 *	  behind a parked one is not produced (it stays in the outbox).
 */
static void
ob_produce(VbOutbox *ob, VbEvent *e)
{
	VbFlight   *f;
	const char *key;
	size_t		key_len;
	rd_kafka_resp_err_t err;

	if (vb_ledger_hold(ob->ledger, e))
		return;
	if (e->kind == VB_KIND_DEAD_LETTER && vb_ledger_strip(ob->ledger, e->event_id))
		ob_strip(e);

	if (e->kind == VB_KIND_UNKNOWN)
	{
		VbLogCtx	c = VB_LOGCTX_INIT;

		c.message_id = e->message_id;
		vb_log(VB_LOG_ERROR, &c, "outbox event %" PRId64 " has unknown kind \"%s\": left in the outbox",
			   e->event_id, e->kind_name ? e->kind_name : "");
	}
	f = vb_ledger_add(ob->ledger, e);	/* takes the key over */
	key = vb_flight_key(f, &key_len);
	err = vb_producer_send(ob->producer, e, key, key_len, f);
	if (err)
		vb_ledger_delivered(f, err);
}

/*
 * ob_drop_pending
 *	  Forgets the queued events (they stay in the outbox).
 */
static void
ob_drop_pending(VbOutbox *ob)
{
	for (int i = 0; i < ob->npending; i++)
		vb_event_clear(&ob->pending[i]);
	ob->npending = 0;
}

/*
 * ob_land
 *	  Lands what has its delivery report; a failure drops the queued
 *	  events (the fetch after the backoff takes them, in order).
 *	  VB_TRANSIENT when a failure ended.
 */
static VbStatus
ob_land(VbOutbox *ob)
{
	VbLanded	r = vb_ledger_land(ob->ledger, vb_now_ms(), ob->conf->max_retry_backoff_ms);

	if (r.failed)
	{
		vb_metric_error(VB_E_PRODUCE);
		ob_drop_pending(ob);
	}
	for (int i = 0; i < r.parked; i++)
		vb_metric_error(VB_E_PRODUCE_PERMANENT);
	if (r.stripped || r.released)
		ob->next_sweep = 0;		/* fetch them (again) now */
	if (r.parked || r.stripped || r.released)
		vb_metric_parked(vb_ledger_parked(ob->ledger));
	return r.failure_ended ? VB_TRANSIENT : VB_OK;
}

/*
 * vb_outbox_produce_pending
 *	  Hands the queued events of committed batches to the producer, in
 *	  order (dropped while a failure lands).
 */
void
vb_outbox_produce_pending(VbOutbox *ob)
{
	if (ob->npending == 0)
		return;
	if (vb_ledger_failing(ob->ledger))
	{
		ob_drop_pending(ob);
		return;
	}
	for (int i = 0; i < ob->npending; i++)
	{
		ob_produce(ob, &ob->pending[i]);
		vb_event_clear(&ob->pending[i]);
	}
	ob->npending = 0;
}

/*
 * vb_outbox_take_event
 *	  An event of a batch that has just committed (from its apply's
 *	  result), taken over (its fields are the outbox's now): queued for
 *	  producing when in sync; otherwise it stays in the outbox for the next
 *	  fetch, which keeps the order.
 */
void
vb_outbox_take_event(VbOutbox *ob, VbEvent *e)
{
	if (!vb_ledger_synced(ob->ledger) || vb_ledger_failing(ob->ledger))
		return;
	vb_grow((void **) &ob->pending, &ob->cappending, ob->npending + 1, sizeof(VbEvent));
	ob->pending[ob->npending++] = *e;
	memset(e, 0, sizeof(*e));
}

/*
 * ob_fetch
 *	  Fetches the oldest pending events of our partitions that are neither
 *	  in flight nor waiting for their acknowledgement, and produces them;
 *	  *n gets how many.
 */
static VbStatus
ob_fetch(VbOutbox *ob, const int32_t *parts, int np, int *n)
{
	int64_t    *exclude;
	int			nexclude;
	VbEvent    *ev;
	VbError		err;

	*n = 0;
	vb_outbox_produce_pending(ob);	/* in flight before the fetch leaves them out */
	nexclude = vb_ledger_exclude(ob->ledger, &exclude);
	if (vb_db_outbox_fetch(ob->db, ob->conf->outbox_batch, parts, np, exclude, nexclude,
						   &ev, n, &err) != VB_OK)
	{
		VbLogCtx	c = VB_LOGCTX_INIT;

		free(exclude);
		c.sqlstate = err.sqlstate;
		c.error = err.message;
		vb_log(VB_LOG_WARN, &c, "outbox_fetch failed");
		vb_metric_error(VB_E_OUTBOX);
		vb_ledger_fetch_failed(ob->ledger, vb_now_ms(), ob->conf->max_retry_backoff_ms);
		return err.status == VB_FATAL ? VB_FATAL : VB_TRANSIENT;
	}
	free(exclude);
	for (int i = 0; i < *n; i++)
		ob_produce(ob, &ev[i]);
	vb_events_free(ev, *n);
	if (*n > 0)
		vb_debug("%d events fetched and produced (%d in flight)", *n,
				 vb_ledger_inflight(ob->ledger));
	return VB_OK;
}

/*
 * ob_flush_acks
 *	  Acknowledges the delivered events on their own (no batch came to
 *	  carry them), in a transaction without a WAL flush wait: a lost
 *	  acknowledgement only means the events are published again.
 */
static VbStatus
ob_flush_acks(VbOutbox *ob)
{
	VbError		err;
	int64_t		deleted = 0;
	const int64_t *ids;
	int			n = vb_ledger_acks(ob->ledger, &ids);

	if (n == 0)
		return VB_OK;
	if (vb_db_outbox_ack(ob->db, ids, n, &deleted, &err) != VB_OK)
	{
		VbLogCtx	c = VB_LOGCTX_INIT;

		c.sqlstate = err.sqlstate;
		c.error = err.message;
		vb_log(VB_LOG_WARN, &c, "outbox_ack of %d delivered events failed: tried again later", n);
		vb_metric_error(VB_E_OUTBOX);
		vb_ledger_acks_failed(ob->ledger, vb_now_ms(), ob->conf->max_retry_backoff_ms);
		return err.status == VB_FATAL ? VB_FATAL : VB_TRANSIENT;
	}
	vb_outbox_acked(ob, n);
	vb_debug("published and acknowledged %d events on their own (%" PRId64 " were pending, %d in flight)",
			 n, deleted, vb_ledger_inflight(ob->ledger));
	return VB_OK;
}

/*
 * vb_outbox_acks
 *	  The delivered events waiting for their acknowledgement: a batch's
 *	  transaction carries them (vb_db_apply()); after its COMMIT,
 *	  vb_outbox_acked() with the count it was given.
 */
int
vb_outbox_acks(const VbOutbox *ob, const int64_t **ids)
{
	return vb_ledger_acks(ob->ledger, ids);
}

/*
 * vb_outbox_acked
 *	  The first n waiting acknowledgements committed: they count as
 *	  published.
 */
void
vb_outbox_acked(VbOutbox *ob, int n)
{
	uint64_t	per_kind[VB_NKINDS];

	vb_ledger_acked(ob->ledger, n, vb_now_ms(), per_kind);
	for (int k = 0; k < VB_NKINDS; k++)
		if (per_kind[k])
			vb_metric_published(k, per_kind[k]);
}

/*
 * vb_outbox_resync
 *	  Something may have written events of ours that were not produced (a
 *	  quarantine, a failed or unknown commit, a new assignment): publish
 *	  from the outbox again before producing batches' events directly.
 */
void
vb_outbox_resync(VbOutbox *ob, const char *why)
{
	if (vb_ledger_synced(ob->ledger))
		vb_debug("outbox out of sync (%s): publishing from the outbox until it is caught up", why);
	vb_ledger_set_synced(ob->ledger, false);
}

/*
 * vb_outbox_forget
 *	  The database was replaced under us (a failover that lost
 *	  transactions): nothing known by event id is acknowledged there (the
 *	  ids may name other events), queued events are dropped, publishing
 *	  starts again from the outbox.
 */
void
vb_outbox_forget(VbOutbox *ob)
{
	ob_drop_pending(ob);
	vb_ledger_forget(ob->ledger);
	vb_warn("outbox: acknowledgements of earlier events dropped (another database): "
			"delivered events are published again");
}

/*
 * ob_pump_fetch
 *	  The fetch step of the pump: in sync, a sweep once a second; out of
 *	  sync, a fetch when nothing is in flight (so that it takes everything
 *	  pending in order) and no backoff runs.
 */
static VbStatus
ob_pump_fetch(VbOutbox *ob, const int32_t *parts, int np, bool *more)
{
	VbLedger   *l = ob->ledger;
	int64_t		now = vb_now_ms();
	bool		was_empty = vb_ledger_inflight(l) == 0;
	int			n = 0;
	int			failures;
	VbStatus	st;

	if (vb_ledger_retry_due(l, now) > 0)
		ob->next_sweep = 0;		/* parked events to retry */
	if (vb_ledger_synced(l))
	{
		if (now < ob->next_sweep)
			return VB_OK;
	}
	else if (vb_ledger_backing_off(l, now) || !was_empty)
	{
		*more = true;			/* meanwhile batches go on */
		return VB_OK;
	}
	if ((st = ob_fetch(ob, parts, np, &n)) != VB_OK)
		return st;
	if (vb_ledger_fetched(l, n < ob->conf->outbox_batch) > 0)
		vb_metric_parked(vb_ledger_parked(l));
	ob->next_sweep = vb_now_ms() + (n == ob->conf->outbox_batch ? 0 : OB_SWEEP_MS);
	if (!vb_ledger_synced(l) && was_empty && n < ob->conf->outbox_batch && !vb_ledger_failing(l))
	{
		vb_ledger_set_synced(l, true);
		vb_debug("outbox in sync: batches' events are published as they commit");
	}
	if (vb_ledger_inflight(l) == 0 && n == 0 && (failures = vb_ledger_recovered(l)) > 0)
		vb_info("publishing works again after %d failures", failures);
	if (n == ob->conf->outbox_batch)
		*more = true;
	else if (n == 0 && vb_ledger_inflight(l) == 0 && ob_nacks(ob) == 0 &&
			 vb_ledger_parked(l) == 0)
		vb_metric_backlog(0);
	return VB_OK;
}

/*
 * vb_outbox_pump
 *	  One step of publishing (see the file header): serve delivery
 *	  reports, land, acknowledge what no batch carried, and with `fetch`
 *	  fetch and produce new events (parts: the partitions we own).
 *	  VB_OK, with *more when more events wait; VB_TRANSIENT after a
 *	  failure (backoff set); VB_FATAL when the producer is unusable.
 */
VbStatus
vb_outbox_pump(VbOutbox *ob, bool fetch, const int32_t *parts, int np, bool *more)
{
	VbStatus	st;
	char		why[256];

	*more = false;
	if (vb_stopping())
		vb_outbox_produce_pending(ob);
	vb_producer_poll(ob->producer, 0);
	st = ob_land(ob);
	/* Acknowledgements no batch has carried for a while go on their own. */
	if (st == VB_OK && ob_nacks(ob) > 0 &&
		(vb_ledger_acks_due(ob->ledger, vb_now_ms(), OB_ACK_WAIT_MS) || vb_stopping()))
		st = ob_flush_acks(ob);
	if (st != VB_OK || !fetch || vb_ledger_failing(ob->ledger))
		return st;
	if (vb_producer_failed(ob->producer, why, sizeof(why)))
		return VB_FATAL;
	return ob_pump_fetch(ob, parts, np, more);
}

/*
 * vb_outbox_poll
 *	  Serves delivery reports, waiting up to timeout_ms for one.
 */
void
vb_outbox_poll(VbOutbox *ob, int timeout_ms)
{
	vb_producer_poll(ob->producer, timeout_ms);
}

/*
 * vb_outbox_inflight / vb_outbox_idle
 *	  Events produced and not landed; whether nothing is in flight, queued
 *	  or waiting for its acknowledgement.
 */
int
vb_outbox_inflight(const VbOutbox *ob)
{
	return vb_ledger_inflight(ob->ledger);
}

bool
vb_outbox_idle(const VbOutbox *ob)
{
	return ob->npending == 0 && vb_ledger_inflight(ob->ledger) == 0 && ob_nacks(ob) == 0;
}

/*
 * vb_outbox_settle
 *	  Waits (up to timeout_ms) until everything in flight has a delivery
 *	  report, then lands it and acknowledges: before partitions are given
 *	  up.
 */
void
vb_outbox_settle(VbOutbox *ob, int timeout_ms)
{
	int64_t		until = vb_now_ms() + timeout_ms;

	vb_outbox_produce_pending(ob);
	if (vb_outbox_idle(ob))
		return;
	while (vb_now_ms() < until && !vb_ledger_settled(ob->ledger))
		vb_producer_poll(ob->producer, 10);
	(void) ob_land(ob);
	(void) ob_flush_acks(ob);
	if (vb_ledger_inflight(ob->ledger) > 0)
		vb_warn("%d events still in flight while giving partitions up: they may be published twice",
				vb_ledger_inflight(ob->ledger));
	/* Parked events go with their partitions; those kept are fetched again. */
	vb_ledger_unpark(ob->ledger);
	vb_metric_parked(0);
}

/*
 * vb_outbox_abandon
 *	  Shutdown deadline: purges what the producer still holds (those
 *	  events fail and stay in the outbox), lands what has landed.
 */
void
vb_outbox_abandon(VbOutbox *ob)
{
	ob_drop_pending(ob);
	if (vb_ledger_inflight(ob->ledger) > 0)
	{
		vb_producer_purge(ob->producer, 2000);
		(void) ob_land(ob);
	}
	(void) ob_flush_acks(ob);
}

/*
 * vb_outbox_note_message
 *	  Remembers when an applied message's record was written to Kafka, for
 *	  the end-to-end latency of its events.
 */
void
vb_outbox_note_message(VbOutbox *ob, const char *message_id, int64_t ts_ms)
{
	vb_latency_note(ob->latency, message_id, ts_ms);
}

/*
 * vb_outbox_update_backlog
 *	  The outbox_backlog gauge: pending events of our partitions, up to
 *	  100000.
 */
void
vb_outbox_update_backlog(VbOutbox *ob, const int32_t *parts, int np)
{
	int64_t		count;
	VbError		err;

	if (vb_db_outbox_count(ob->db, 100000, parts, np, &count, &err) == VB_OK)
		vb_metric_backlog(count);
	else
		vb_debug("outbox backlog unknown: %s", err.message);
}

/*
 * vb_outbox_close
 *	  Flushes the producer (within the drain deadline) and destroys it,
 *	  lands and acknowledges what was delivered, frees the rest (it stays
 *	  in the outbox).
 */
void
vb_outbox_close(VbOutbox *ob)
{
	int			nacks;

	if (!ob)
		return;
	vb_producer_close(ob->producer);
	(void) ob_land(ob);
	(void) ob_flush_acks(ob);
	if (vb_ledger_inflight(ob->ledger) > 0)
		vb_warn("%d events in flight at exit stay in the outbox", vb_ledger_inflight(ob->ledger));
	if ((nacks = ob_nacks(ob)) > 0)
		vb_warn("%d delivered events could not be acknowledged: they are published again after the restart",
				nacks);
	ob_drop_pending(ob);
	free(ob->pending);
	vb_ledger_free(ob->ledger);
	vb_latency_free(ob->latency);
	free(ob);
}
