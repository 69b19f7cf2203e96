/*-------------------------------------------------------------------------
 *
 * ledger.c
 *	  Layer 0: the outbox's bookkeeping (see ledger.h; outbox.c does the
 *	  I/O around it).
 *
 * Events are added in the order they are produced.  A delivery report
 * only marks its event; vb_ledger_land() then works on the head of the
 * flight alone, so an event is never acknowledged while an earlier one is
 * undecided, whatever order the reports came in.  A landed event that
 * was delivered joins the acknowledgements to send (outbox_ack()), unless
 * an earlier event with the same topic and key failed: then it waits to
 * be published again after that one, so per-key order holds downstream.
 * A failure makes the ledger "failing" (nothing new should be fetched)
 * and out of sync; once everything in flight has landed the failure
 * ends, with a backoff before publishing starts again from the oldest
 * pending event.
 *
 * A permanent failure (park.c: a record too large for its topic, a topic
 * missing or not writable) does none of that: the event is parked and
 * retried alone with its own backoff, only the later events of its topic
 * and key (or of its topic) wait behind it, and everything else goes on.
 *
 * "In sync" means every pending event of ours is in flight, waiting for
 * its acknowledgement or parked, so a batch's events may be produced as
 * soon as it commits; the outbox sets it after a complete fetch, and it
 * is cleared by any transient failure or resync.
 *
 *-------------------------------------------------------------------------
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ledger.h"
#include "log.h"
#include "park.h"
#include "util.h"

struct VbFlight
{
	int64_t		event_id;
	int			kind;
	char	   *key;			/* NULL: no key */
	size_t		key_len;
	char	   *message_id;		/* NULL when unknown */
	bool		done;			/* delivery report received */
	int			err;			/* its error; 0: delivered */
	bool		forgotten;		/* landing it neither acknowledges nor fails */
};

/* A topic and key whose event failed: later ones wait behind it. */
typedef struct LedgerKey
{
	int			kind;
	char	   *key;
	size_t		key_len;
} LedgerKey;

struct VbLedger
{
	const char *topics[VB_NKINDS];
	VbFlight  **flight;			/* produce order */
	int			nflight;
	int			capflight;
	bool		failing;		/* a delivery failed: nothing new until the
								 * flight has landed */
	LedgerKey  *failed;
	int			nfailed;
	int			capfailed;
	int64_t    *acks;			/* delivered, outbox_ack() not committed */
	int		   *ack_kinds;
	int			nacks;
	int			capacks;
	int			capackkinds;
	int64_t		acks_since;		/* when the oldest of them landed */
	bool		synced;
	int			attempt;		/* failures in a row */
	int64_t		not_before;		/* backoff: no fetch before */
	VbPark	   *park;			/* permanent failures and what waits behind */
};

/*
 * vb_ledger_new / vb_ledger_free
 *	  topics name the kinds' topics in log lines.
 */
VbLedger *
vb_ledger_new(const char *const topics[VB_NKINDS])
{
	VbLedger   *l = vb_xcalloc(1, sizeof(VbLedger));

	for (int k = 0; k < VB_NKINDS; k++)
		l->topics[k] = topics[k];
	l->park = vb_park_new();
	return l;
}

static void
ledger_flight_free(VbFlight *f)
{
	free(f->key);
	free(f->message_id);
	free(f);
}

/*
 * ledger_clear_failed
 *	  Forgets the failed destinations.
 */
static void
ledger_clear_failed(VbLedger *l)
{
	for (int i = 0; i < l->nfailed; i++)
		free(l->failed[i].key);
	l->nfailed = 0;
}

void
vb_ledger_free(VbLedger *l)
{
	if (!l)
		return;
	for (int i = 0; i < l->nflight; i++)
		ledger_flight_free(l->flight[i]);
	free(l->flight);
	ledger_clear_failed(l);
	free(l->failed);
	free(l->acks);
	free(l->ack_kinds);
	vb_park_free(l->park);
	free(l);
}

/*
 * vb_ledger_add
 *	  Adds an event about to be produced, taking its key and message id
 *	  over (left NULL in e); returns the flight entry, the opaque for its
 *	  delivery report.
 */
VbFlight *
vb_ledger_add(VbLedger *l, VbEvent *e)
{
	VbFlight   *f = vb_xcalloc(1, sizeof(VbFlight));

	f->event_id = e->event_id;
	f->kind = e->kind;
	f->key = e->key;
	f->key_len = e->key ? e->key_len : 0;
	f->message_id = e->message_id;
	e->key = NULL;
	e->key_len = 0;
	e->message_id = NULL;
	vb_grow((void **) &l->flight, &l->capflight, l->nflight + 1, sizeof(VbFlight *));
	l->flight[l->nflight++] = f;
	return f;
}

/*
 * vb_ledger_delivered
 *	  Records an event's delivery report (err 0: delivered), or that it
 *	  could not be produced at all.
 */
void
vb_ledger_delivered(VbFlight *f, int err)
{
	f->err = err;
	f->done = true;
}

/*
 * vb_flight_kind
 *	  The VB_KIND_* of an event in flight (for its publish span).
 */
int
vb_flight_kind(const VbFlight *f)
{
	return f->kind;
}

/*
 * vb_flight_message_id
 *	  The message id of the event, or NULL.
 */
const char *
vb_flight_message_id(const VbFlight *f)
{
	return f->message_id;
}

/*
 * vb_flight_key
 *	  The record key of the event (NULL: none), owned by the ledger.
 */
const char *
vb_flight_key(const VbFlight *f, size_t *len)
{
	*len = f->key_len;
	return f->key;
}

/*
 * ledger_same_dest / ledger_blocked
 *	  Whether an event's topic and key follow a failed one.
 */
static bool
ledger_same_dest(const VbFlight *f, const LedgerKey *k)
{
	if (f->kind != k->kind || (f->key == NULL) != (k->key == NULL))
		return false;
	return !f->key || (f->key_len == k->key_len && memcmp(f->key, k->key, f->key_len) == 0);
}

static bool
ledger_blocked(const VbLedger *l, const VbFlight *f)
{
	for (int i = 0; i < l->nfailed; i++)
		if (ledger_same_dest(f, &l->failed[i]))
			return true;
	return false;
}

/*
 * ledger_fail_one
 *	  A landed event that was not delivered: logged (the first few), its
 *	  destination blocked, the ledger failing and out of sync.
 */
static void
ledger_fail_one(VbLedger *l, VbFlight *f, int nth)
{
	VbLogCtx	c = VB_LOGCTX_INIT;

	c.message_id = f->message_id;
	c.topic = f->kind >= 0 && f->kind < VB_NKINDS ? l->topics[f->kind] : NULL;
	c.error = rd_kafka_err2str((rd_kafka_resp_err_t) f->err);
	if (nth < 5)
		vb_log(VB_LOG_WARN, &c, "event %" PRId64 " not delivered: kept in the outbox for the next attempt",
			   f->event_id);
	if (!ledger_blocked(l, f))
	{
		vb_grow((void **) &l->failed, &l->capfailed, l->nfailed + 1, sizeof(LedgerKey));
		l->failed[l->nfailed].kind = f->kind;
		l->failed[l->nfailed].key = f->key;
		l->failed[l->nfailed].key_len = f->key_len;
		l->nfailed++;
		f->key = NULL;			/* now the failed list's */
	}
	l->failing = true;
	l->synced = false;
}

/*
 * ledger_queue_ack
 *	  A delivered event joins the acknowledgements to send.
 */
static void
ledger_queue_ack(VbLedger *l, const VbFlight *f, int64_t now_ms)
{
	vb_grow((void **) &l->acks, &l->capacks, l->nacks + 1, sizeof(int64_t));
	vb_grow((void **) &l->ack_kinds, &l->capackkinds, l->nacks + 1, sizeof(int));
	if (l->nacks == 0)
		l->acks_since = now_ms;
	l->acks[l->nacks] = f->event_id;
	l->ack_kinds[l->nacks++] = f->kind;
}

/*
 * ledger_ctx
 *	  A log context naming a flight's event.
 */
static VbLogCtx
ledger_ctx(const VbLedger *l, const VbFlight *f)
{
	VbLogCtx	c = VB_LOGCTX_INIT;

	c.message_id = f->message_id;
	c.topic = f->kind >= 0 && f->kind < VB_NKINDS ? l->topics[f->kind] : NULL;
	c.error = rd_kafka_err2str((rd_kafka_resp_err_t) f->err);
	return c;
}

/*
 * ledger_park
 *	  A landed event that failed permanently (or a parked one that failed
 *	  again): parked with a backoff of its own, or at once without its
 *	  value when it is a dead letter too large for its topic.  A later
 *	  event of a blocked destination that failed too is held behind it.
 *	  Returns whether it was parked (else held).
 */
static bool
ledger_park(VbLedger *l, VbFlight *f, VbLanded *r, int64_t now_ms, int backoff_cap_ms)
{
	VbLogCtx	c = ledger_ctx(l, f);
	bool		strip = f->kind == VB_KIND_DEAD_LETTER && vb_produce_fault_too_large(f->err) &&
		!vb_park_strip(l->park, f->event_id);
	int			attempts = vb_park_attempts(l->park, f->event_id);
	int			delay = strip ? 0 : vb_backoff_ms(attempts + 1, backoff_cap_ms);
	VbProduceFault fault = vb_produce_fault(f->err);

	if (attempts == 0 && vb_park_hold(l->park, f->event_id, f->kind, f->key, f->key_len))
		return false;
	if (strip)
		r->stripped++;
	if (attempts > 0)
	{
		attempts = vb_park_failed_again(l->park, f->event_id, strip, strip ? 0 : now_ms + delay);
		r->parked++;
		vb_log(VB_LOG_WARN, &c, "event %" PRId64 " still not delivered (%d failures): %s",
			   f->event_id, attempts, strip ? "sent again without its value" : "retried later");
		return true;
	}
	vb_park_add_head(l->park, f->event_id, f->kind, f->key, f->key_len,
					 fault == VB_PF_TOPIC, strip, strip ? 0 : now_ms + delay);
	if (strip)
		vb_log(VB_LOG_WARN, &c, "dead letter %" PRId64 " is too large for its topic: sent again "
			   "without its value (the raw value stays in voltpay.rejected_messages)", f->event_id);
	else
		vb_log(VB_LOG_ERROR, &c, "event %" PRId64 " cannot be delivered (a permanent error): parked "
			   "in the outbox and retried alone in %d ms and less often after; %s wait behind it",
			   f->event_id, delay, fault == VB_PF_TOPIC ? "the other events of its topic" :
			   "the later events with its key");
	r->parked++;
	return true;
}

/*
 * vb_ledger_land
 *	  Lands the head of the flight that has delivery reports (see the file
 *	  header).  Ends a failure once the flight is empty: the next fetch
 *	  waits a backoff (capped at backoff_cap_ms).  A permanent failure
 *	  parks its event instead (ledger_park()).
 */
VbLanded
vb_ledger_land(VbLedger *l, int64_t now_ms, int backoff_cap_ms)
{
	VbLanded	r = {0};
	int			k = 0;

	while (k < l->nflight && l->flight[k]->done)
		k++;
	for (int i = 0; i < k; i++)
	{
		VbFlight   *f = l->flight[i];

		if (f->forgotten)
			;					/* published again from the outbox */
		else if (f->err && (vb_park_is_head(l->park, f->event_id) ||
							vb_produce_fault(f->err) != VB_PF_TRANSIENT ||
							vb_park_blocked(l->park, f->kind, f->key, f->key_len, f->event_id)))
			(void) ledger_park(l, f, &r, now_ms, backoff_cap_ms);
		else if (f->err)
			ledger_fail_one(l, f, r.failed++);
		else if (vb_park_is_head(l->park, f->event_id))
		{
			int			attempts = vb_park_attempts(l->park, f->event_id);
			int			released = vb_park_release(l->park, f->event_id);
			VbLogCtx	c = ledger_ctx(l, f);

			c.error = NULL;
			vb_log(VB_LOG_INFO, &c, "parked event %" PRId64 " delivered after %d failures; "
				   "%d events held behind it are published now", f->event_id, attempts, released);
			r.released += 1 + released;
			ledger_queue_ack(l, f, now_ms);
			r.acked++;
		}
		else if (vb_park_hold(l->park, f->event_id, f->kind, f->key, f->key_len))
			;					/* overtook a parked event: again after it */
		else if (!(l->failing && ledger_blocked(l, f)))
		{
			ledger_queue_ack(l, f, now_ms);
			r.acked++;
		}
		/* else: published again after the failed one */
		ledger_flight_free(f);
	}
	if (k > 0)					/* (flight may be NULL while nothing flew) */
		memmove(l->flight, l->flight + k, sizeof(VbFlight *) * (size_t) (l->nflight - k));
	l->nflight -= k;
	if (r.failed)
		vb_warn("%d events not delivered; publishing starts again from the oldest pending event "
				"once the %d in flight have landed", r.failed, l->nflight);
	if (l->failing && l->nflight == 0)
	{
		ledger_clear_failed(l);
		l->failing = false;
		l->not_before = now_ms + vb_backoff_ms(++l->attempt, backoff_cap_ms);
		r.failure_ended = true;
	}
	return r;
}

/*
 * vb_ledger_inflight / vb_ledger_settled / vb_ledger_failing
 *	  Events produced and not landed; whether each has its report; whether
 *	  a failure is being landed.
 */
int
vb_ledger_inflight(const VbLedger *l)
{
	return l->nflight;
}

bool
vb_ledger_settled(const VbLedger *l)
{
	for (int i = 0; i < l->nflight; i++)
		if (!l->flight[i]->done)
			return false;
	return true;
}

bool
vb_ledger_failing(const VbLedger *l)
{
	return l->failing;
}

/*
 * vb_ledger_exclude
 *	  The event ids a fetch must leave out (in flight, or delivered and
 *	  waiting for their acknowledgement), malloc'd; returns how many.
 */
int
vb_ledger_exclude(const VbLedger *l, int64_t **ids)
{
	*ids = vb_xmalloc(sizeof(int64_t) *
					  (size_t) (l->nflight + l->nacks + vb_park_count(l->park) + 1));
	for (int i = 0; i < l->nflight; i++)
		(*ids)[i] = l->flight[i]->event_id;
	if (l->nacks)
		memcpy(*ids + l->nflight, l->acks, sizeof(int64_t) * (size_t) l->nacks);
	return l->nflight + l->nacks + vb_park_exclude(l->park, *ids + l->nflight + l->nacks);
}

/*
 * vb_ledger_acks
 *	  The delivered events waiting for their acknowledgement, oldest
 *	  first.
 */
int
vb_ledger_acks(const VbLedger *l, const int64_t **ids)
{
	*ids = l->acks;
	return l->nacks;
}

/*
 * vb_ledger_acked
 *	  The first n waiting acknowledgements committed: per_kind gets how
 *	  many of each kind that was (they count as published).
 */
void
vb_ledger_acked(VbLedger *l, int n, int64_t now_ms, uint64_t per_kind[VB_NKINDS])
{
	memset(per_kind, 0, sizeof(uint64_t) * VB_NKINDS);
	if (n <= 0)
		return;
	if (n > l->nacks)
		n = l->nacks;
	for (int i = 0; i < n; i++)
		if (l->ack_kinds[i] >= 0 && l->ack_kinds[i] < VB_NKINDS)
			per_kind[l->ack_kinds[i]]++;
	memmove(l->acks, l->acks + n, sizeof(int64_t) * (size_t) (l->nacks - n));
	memmove(l->ack_kinds, l->ack_kinds + n, sizeof(int) * (size_t) (l->nacks - n));
	l->nacks -= n;
	if (l->nacks > 0)
		l->acks_since = now_ms;
}

/*
 * vb_ledger_acks_due
 *	  Acknowledgements have waited wait_ms for a batch to carry them.
 */
bool
vb_ledger_acks_due(const VbLedger *l, int64_t now_ms, int wait_ms)
{
	return l->nacks > 0 && now_ms - l->acks_since >= wait_ms;
}

/*
 * vb_ledger_acks_failed
 *	  Sending the acknowledgements failed: not again before a backoff.
 */
void
vb_ledger_acks_failed(VbLedger *l, int64_t now_ms, int backoff_cap_ms)
{
	l->acks_since = now_ms + vb_backoff_ms(++l->attempt, backoff_cap_ms);
}

/*
 * vb_ledger_forget
 *	  The database is another one now (a failover): event ids known so far
 *	  may name other events there.  Drops the acknowledgements not sent,
 *	  and what is in flight will land without one; out of sync.  Events
 *	  that were delivered are published again (at-least-once).
 */
void
vb_ledger_forget(VbLedger *l)
{
	for (int i = 0; i < l->nflight; i++)
		l->flight[i]->forgotten = true;
	l->nacks = 0;
	l->synced = false;
	vb_park_clear(l->park);
}

/*
 * vb_ledger_hold
 *	  Called before an event is produced: true when it must wait behind a
 *	  parked event of its destination (it stays in the outbox, left out of
 *	  the fetches until that one is delivered).
 */
bool
vb_ledger_hold(VbLedger *l, const VbEvent *e)
{
	return vb_park_hold(l->park, e->event_id, e->kind, e->key, e->key ? e->key_len : 0);
}

/*
 * vb_ledger_strip
 *	  Whether the event is a dead letter to send without its value.
 */
bool
vb_ledger_strip(const VbLedger *l, int64_t event_id)
{
	return vb_park_strip(l->park, event_id);
}

/*
 * vb_ledger_retry_due
 *	  Releases the parked events whose backoff has passed to the next
 *	  fetch; returns how many.
 */
int
vb_ledger_retry_due(VbLedger *l, int64_t now_ms)
{
	return vb_park_due(l->park, now_ms);
}

/*
 * vb_ledger_fetched
 *	  After a fetch (complete: it took everything pending): a parked event
 *	  released to it that is still not in flight is gone from the outbox
 *	  (a DBA deleted it, its partition went elsewhere), and what waited
 *	  behind it is released.  Returns how many were gone.
 */
int
vb_ledger_fetched(VbLedger *l, bool complete)
{
	int64_t    *ids;
	int			n = vb_park_retrying(l->park, &ids);
	int			gone = 0;

	for (int i = 0; complete && i < n; i++)
	{
		bool		inflight = false;

		for (int j = 0; j < l->nflight && !inflight; j++)
			inflight = l->flight[j]->event_id == ids[i];
		if (!inflight)
		{
			vb_info("parked event %" PRId64 " is no longer in the outbox of our partitions: forgotten", ids[i]);
			(void) vb_park_release(l->park, ids[i]);
			gone++;
		}
	}
	free(ids);
	return gone;
}

/*
 * vb_ledger_parked / vb_ledger_unpark
 *	  Events parked or held; forgets them (partitions given up): they are
 *	  fetched again.
 */
int
vb_ledger_parked(const VbLedger *l)
{
	return vb_park_count(l->park);
}

void
vb_ledger_unpark(VbLedger *l)
{
	vb_park_clear(l->park);
}

/*
 * vb_ledger_synced / vb_ledger_set_synced
 */
bool
vb_ledger_synced(const VbLedger *l)
{
	return l->synced;
}

void
vb_ledger_set_synced(VbLedger *l, bool synced)
{
	l->synced = synced;
}

/*
 * vb_ledger_backing_off
 *	  Whether a fetch must still wait after a failure.
 */
bool
vb_ledger_backing_off(const VbLedger *l, int64_t now_ms)
{
	return now_ms < l->not_before;
}

/*
 * vb_ledger_fetch_failed
 *	  A fetch failed: back off before the next.
 */
void
vb_ledger_fetch_failed(VbLedger *l, int64_t now_ms, int backoff_cap_ms)
{
	l->not_before = now_ms + vb_backoff_ms(++l->attempt, backoff_cap_ms);
}

/*
 * vb_ledger_recovered
 *	  Publishing works again: returns the failures in a row there were
 *	  (0: none) and resets the count.
 */
int
vb_ledger_recovered(VbLedger *l)
{
	int			n = l->attempt;

	l->attempt = 0;
	return n;
}
