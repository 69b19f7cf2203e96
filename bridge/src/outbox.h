/*-------------------------------------------------------------------------
 *
 * outbox.h
 *	  Layer 3: publishing the transactional outbox (outbox.c): the
 *	  producer, the ledger, the events of committed batches, fetching and
 *	  acknowledging.
 *
 *-------------------------------------------------------------------------
 */
#ifndef VOLTPAY_OUTBOX_H
#define VOLTPAY_OUTBOX_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "db.h"
#include "event.h"

typedef struct VbOutbox VbOutbox;

extern VbStatus vb_outbox_new(const VbConfig *conf, const char *brokers, VbDb *db,
							  VbOutbox **out, VbError *err);
extern void vb_outbox_close(VbOutbox *ob);

/* Told of every delivery report (message id, VB_KIND_*, error; 0: stored). */
typedef void (*VbOutboxDeliveredFn) (void *arg, const char *message_id, int kind, int err);
extern void vb_outbox_on_delivered(VbOutbox *ob, VbOutboxDeliveredFn fn, void *arg);

extern VbStatus vb_outbox_pump(VbOutbox *ob, bool fetch, const int32_t *partitions,
							   int npartitions, bool *more);
extern void vb_outbox_poll(VbOutbox *ob, int timeout_ms);
extern int	vb_outbox_inflight(const VbOutbox *ob);
extern bool vb_outbox_idle(const VbOutbox *ob);
extern void vb_outbox_settle(VbOutbox *ob, int timeout_ms);
extern void vb_outbox_abandon(VbOutbox *ob);
extern void vb_outbox_resync(VbOutbox *ob, const char *why);
extern void vb_outbox_forget(VbOutbox *ob);

extern void vb_outbox_note_message(VbOutbox *ob, const char *message_id, int64_t ts_ms);
extern int	vb_outbox_acks(const VbOutbox *ob, const int64_t **ids);
extern void vb_outbox_acked(VbOutbox *ob, int n);
extern void vb_outbox_take_event(VbOutbox *ob, VbEvent *e);
extern void vb_outbox_produce_pending(VbOutbox *ob);
extern void vb_outbox_update_backlog(VbOutbox *ob, const int32_t *partitions,
									 int npartitions);

#endif							/* VOLTPAY_OUTBOX_H */
