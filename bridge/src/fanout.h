/*-------------------------------------------------------------------------
 *
 * fanout.h
 *	  Layer 0: the decisions of parallel apply (fanout.c), without I/O or
 *	  threads: which database connection (lane) applies each partition,
 *	  the messages in hand cut into one slice per lane, which lane carries
 *	  the outbox's acknowledgements, when the consumer may be polled while
 *	  lanes work, and the outcome of a round.
 *
 *-------------------------------------------------------------------------
 */
#ifndef VOLTPAY_FANOUT_H
#define VOLTPAY_FANOUT_H

#include <stdbool.h>
#include <stdint.h>

#include "msglist.h"
#include "util.h"

/* Which lane applies each partition (-1: none). */
typedef struct VbPartMap
{
	int		   *lane;			/* indexed by partition */
	int			cap;
	int			nlanes;
} VbPartMap;

extern void vb_partmap_init(VbPartMap *pm, int nlanes);
extern void vb_partmap_free(VbPartMap *pm);
extern int	vb_partmap_update(VbPartMap *pm, const int32_t *assigned, int n);
extern int	vb_partmap_lane(const VbPartMap *pm, int32_t partition);
extern int	vb_partmap_count(const VbPartMap *pm, int lane);
extern void vb_partmap_split(const VbPartMap *pm, VbMsg *m, int n, int *bounds);
extern int	vb_partmap_select(const VbPartMap *pm, VbMsg *m, int n, int quota);

/*
 * The outbox's waiting acknowledgements ride in one lane's transaction
 * at a time (two transactions deleting the same outbox rows would wait
 * on each other); epoch moves when the outbox forgets what it knew.
 */
typedef struct VbAckClaim
{
	int			owner;			/* lane holding them, -1: none */
	int			n;				/* how many it holds */
	uint64_t	epoch;			/* at the claim */
	uint64_t	cur_epoch;
} VbAckClaim;

extern void vb_ackclaim_init(VbAckClaim *c);
extern int	vb_ackclaim_take(VbAckClaim *c, int lane, int available);
extern int	vb_ackclaim_release(VbAckClaim *c, int lane, bool committed);
extern void vb_ackclaim_forget(VbAckClaim *c);

extern bool vb_fanout_may_poll(int lanes_in_db);
extern VbStatus vb_fanout_worst(VbStatus a, VbStatus b);

#endif							/* VOLTPAY_FANOUT_H */
