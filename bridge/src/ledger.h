/*-------------------------------------------------------------------------
 *
 * ledger.h
 *	  Layer 0: the outbox's bookkeeping, without I/O (ledger.c): events in
 *	  flight in produce order, their delivery reports, the failed
 *	  destinations that later events wait behind, the acknowledgements to
 *	  send, the backoff after failures, and whether the outbox is in sync.
 *
 *-------------------------------------------------------------------------
 */
#ifndef VOLTPAY_LEDGER_H
#define VOLTPAY_LEDGER_H

#include <stdbool.h>
#include <stdint.h>

#include "event.h"

typedef struct VbLedger VbLedger;
typedef struct VbFlight VbFlight;

/* What one vb_ledger_land() did. */
typedef struct VbLanded
{
	int			acked;			/* delivered events queued for outbox_ack() */
	int			failed;			/* events not delivered (stay in the outbox) */
	bool		failure_ended;	/* a failure's flight has landed: backoff set */
	int			parked;			/* permanent failures: parked (park.c) */
	int			stripped;		/* dead letters to send again without value */
	int			released;		/* heads delivered, so held events released */
} VbLanded;

extern VbLedger *vb_ledger_new(const char *const topics[VB_NKINDS]);
extern void vb_ledger_free(VbLedger *l);

extern VbFlight *vb_ledger_add(VbLedger *l, VbEvent *e);
extern void vb_ledger_delivered(VbFlight *f, int err);
extern const char *vb_flight_message_id(const VbFlight *f);
extern int	vb_flight_kind(const VbFlight *f);
extern const char *vb_flight_key(const VbFlight *f, size_t *len);
extern VbLanded vb_ledger_land(VbLedger *l, int64_t now_ms, int backoff_cap_ms);

extern int	vb_ledger_inflight(const VbLedger *l);
extern bool vb_ledger_settled(const VbLedger *l);
extern bool vb_ledger_failing(const VbLedger *l);
extern int	vb_ledger_exclude(const VbLedger *l, int64_t **ids);

extern int	vb_ledger_acks(const VbLedger *l, const int64_t **ids);
extern void vb_ledger_acked(VbLedger *l, int n, int64_t now_ms,
							uint64_t per_kind[VB_NKINDS]);
extern bool vb_ledger_acks_due(const VbLedger *l, int64_t now_ms, int wait_ms);
extern void vb_ledger_acks_failed(VbLedger *l, int64_t now_ms, int backoff_cap_ms);

extern void vb_ledger_forget(VbLedger *l);
extern bool vb_ledger_hold(VbLedger *l, const VbEvent *e);
extern bool vb_ledger_strip(const VbLedger *l, int64_t event_id);
extern int	vb_ledger_retry_due(VbLedger *l, int64_t now_ms);
extern int	vb_ledger_fetched(VbLedger *l, bool complete);
extern int	vb_ledger_parked(const VbLedger *l);
extern void vb_ledger_unpark(VbLedger *l);
extern bool vb_ledger_synced(const VbLedger *l);
extern void vb_ledger_set_synced(VbLedger *l, bool synced);
extern bool vb_ledger_backing_off(const VbLedger *l, int64_t now_ms);
extern void vb_ledger_fetch_failed(VbLedger *l, int64_t now_ms, int backoff_cap_ms);
extern int	vb_ledger_recovered(VbLedger *l);

#endif							/* VOLTPAY_LEDGER_H */
