/*-------------------------------------------------------------------------
 *
 * lanes.h
 *	  Layer 4: parallel apply (lanes.c): with --db-connections N > 1, N
 *	  lanes, each a database connection and a thread, apply a round's
 *	  messages, each partition on one lane.  Only loop.c uses it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef VOLTPAY_LANES_H
#define VOLTPAY_LANES_H

#include "applier.h"

/*
 * The main thread's chores while lanes work: may_poll, whether the
 * consumer may be polled now (vb_fanout_may_poll()); retrying, whether a
 * lane waits a retry backoff.
 */
typedef void (*VbLanesChores) (VbLoop *L, bool may_poll, bool retrying);

extern VbStatus vb_lanes_open(VbLoop *L, VbError *err);
extern int	vb_lanes_pick(VbLoop *L, VbMsgList *next);
extern VbStatus vb_lanes_apply(VbLoop *L, VbMsgList *cur, VbLanesChores chores, VbError *err);
extern bool vb_lanes_connected(const VbLoop *L);
extern void vb_lanes_close(VbLoop *L);

#endif							/* VOLTPAY_LANES_H */
