/*-------------------------------------------------------------------------
 *
 * fanout.c
 *	  Layer 0: the decisions of parallel apply (--db-connections N > 1).
 *
 * Each partition is applied by one lane (one database connection) at a
 * time, so a partition's messages commit in offset order and its
 * recorded position, its outbox events and its Kafka offset move as with
 * one connection.  The map is sticky: a partition keeps its lane while it
 * stays assigned; new partitions go to the lane with the fewest, and
 * after a rebalance that left the lanes uneven the heaviest lane's
 * highest partitions move to the lightest.  The loop changes the map only
 * between rounds, when no lane holds a message, so a partition is never
 * on two connections at once.
 *
 * The messages in hand are cut into one contiguous slice per lane by a
 * stable counting sort: within a slice, and so within a partition,
 * consumption order (offset order) is kept.
 *
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>

#include "fanout.h"

/*
 * vb_partmap_init / vb_partmap_free
 *	  An empty map over nlanes lanes (at least one).
 */
void
vb_partmap_init(VbPartMap *pm, int nlanes)
{
	memset(pm, 0, sizeof(*pm));
	pm->nlanes = nlanes > 0 ? nlanes : 1;
}

void
vb_partmap_free(VbPartMap *pm)
{
	free(pm->lane);
	pm->lane = NULL;
	pm->cap = 0;
}

/*
 * vb_partmap_lane
 *	  The lane of a partition, or -1.
 */
int
vb_partmap_lane(const VbPartMap *pm, int32_t partition)
{
	if (partition < 0 || partition >= pm->cap)
		return -1;
	return pm->lane[partition];
}

/*
 * vb_partmap_count
 *	  How many partitions a lane applies.
 */
int
vb_partmap_count(const VbPartMap *pm, int lane)
{
	int			n = 0;

	for (int p = 0; p < pm->cap; p++)
		n += pm->lane[p] == lane;
	return n;
}

/*
 * fanout_lightest / fanout_heaviest
 *	  The lane with the fewest partitions (the lowest on ties), the one
 *	  with the most (the lowest on ties); counts holds each lane's.
 */
static int
fanout_lightest(const int *counts, int nlanes)
{
	int			best = 0;

	for (int l = 1; l < nlanes; l++)
		if (counts[l] < counts[best])
			best = l;
	return best;
}

static int
fanout_heaviest(const int *counts, int nlanes)
{
	int			best = 0;

	for (int l = 1; l < nlanes; l++)
		if (counts[l] > counts[best])
			best = l;
	return best;
}

/*
 * vb_partmap_update
 *	  The assignment is assigned[0..n) (any order): partitions no longer
 *	  in it leave the map, those new to it go (in increasing order) to the
 *	  lightest lane, and if the counts then differ by more than one the
 *	  heaviest lane's highest partition moves to the lightest, until they
 *	  do not.  Returns how many partitions came or moved (0: the map did
 *	  not change).  Only between rounds: see the file header.
 */
int
vb_partmap_update(VbPartMap *pm, const int32_t *assigned, int n)
{
	int			maxp = -1;
	bool	   *in;
	int		   *counts = vb_xcalloc((size_t) pm->nlanes, sizeof(int));
	int			changed = 0;

	for (int i = 0; i < n; i++)
		if (assigned[i] > maxp)
			maxp = assigned[i];
	if (maxp >= pm->cap)
	{
		int			old = pm->cap;

		pm->lane = vb_xrealloc(pm->lane, sizeof(int) * (size_t) (maxp + 1));
		pm->cap = maxp + 1;
		for (int p = old; p < pm->cap; p++)
			pm->lane[p] = -1;
	}
	in = vb_xcalloc((size_t) (pm->cap > 0 ? pm->cap : 1), sizeof(bool));
	for (int i = 0; i < n; i++)
		if (assigned[i] >= 0)
			in[assigned[i]] = true;

	for (int p = 0; p < pm->cap; p++)
	{
		if (!in[p])
			pm->lane[p] = -1;
		else if (pm->lane[p] >= 0 && pm->lane[p] < pm->nlanes)
			counts[pm->lane[p]]++;
		else
			pm->lane[p] = -1;
	}
	for (int p = 0; p < pm->cap; p++)
		if (in[p] && pm->lane[p] < 0)
		{
			int			l = fanout_lightest(counts, pm->nlanes);

			pm->lane[p] = l;
			counts[l]++;
			changed++;
		}
	for (;;)
	{
		int			hi = fanout_heaviest(counts, pm->nlanes);
		int			lo = fanout_lightest(counts, pm->nlanes);
		int			p;

		if (counts[hi] - counts[lo] <= 1)
			break;
		for (p = pm->cap - 1; p >= 0 && pm->lane[p] != hi; p--)
			;
		pm->lane[p] = lo;
		counts[hi]--;
		counts[lo]++;
		changed++;
	}
	free(in);
	free(counts);
	return changed;
}

/*
 * vb_partmap_split
 *	  Reorders m[0..n) by lane, keeping the order within each lane
 *	  (stable); lane l's messages are then m[bounds[l]..bounds[l + 1]).
 *	  bounds has nlanes + 1 elements.  A message of a partition the map
 *	  does not hold (revoked meanwhile: marked so) goes to lane 0.
 */
void
vb_partmap_split(const VbPartMap *pm, VbMsg *m, int n, int *bounds)
{
	VbMsg	   *tmp;
	int		   *at = vb_xcalloc((size_t) pm->nlanes + 1, sizeof(int));

	for (int l = 0; l <= pm->nlanes; l++)
		bounds[l] = 0;
	for (int i = 0; i < n; i++)
	{
		int			l = vb_partmap_lane(pm, m[i].rkm->partition);

		bounds[(l < 0 ? 0 : l) + 1]++;
	}
	for (int l = 0; l < pm->nlanes; l++)
		bounds[l + 1] += bounds[l];
	if (n > 0)
	{
		tmp = vb_xmalloc(sizeof(VbMsg) * (size_t) n);
		memcpy(at, bounds, sizeof(int) * (size_t) pm->nlanes);
		for (int i = 0; i < n; i++)
		{
			int			l = vb_partmap_lane(pm, m[i].rkm->partition);

			tmp[at[l < 0 ? 0 : l]++] = m[i];
		}
		memcpy(m, tmp, sizeof(VbMsg) * (size_t) n);
		free(tmp);
	}
	free(at);
}

/*
 * vb_partmap_select
 *	  Picks a round from the messages polled, m[0..n): each lane's first
 *	  `quota` messages (in order), moved to the front, in order; the rest
 *	  behind them, in order.  Returns how many were picked.  Within a
 *	  partition (one lane) the picked messages come before the others, so
 *	  offset order is kept; taking the picked prefix gives every lane whole
 *	  batches, not a share of the first messages that cuts one lane's
 *	  transactions short.  A partition the map does not hold counts as lane
 *	  0's.
 */
int
vb_partmap_select(const VbPartMap *pm, VbMsg *m, int n, int quota)
{
	int		   *taken = vb_xcalloc((size_t) pm->nlanes, sizeof(int));
	VbMsg	   *tmp;
	int			k = 0,
				rest;

	if (n <= 0)
	{
		free(taken);
		return 0;
	}
	tmp = vb_xmalloc(sizeof(VbMsg) * (size_t) n);
	for (int i = 0; i < n; i++)
	{
		int			l = vb_partmap_lane(pm, m[i].rkm->partition);

		if (taken[l < 0 ? 0 : l]++ < quota)
			tmp[k++] = m[i];
	}
	rest = k;
	memset(taken, 0, sizeof(int) * (size_t) pm->nlanes);
	for (int i = 0; i < n; i++)
	{
		int			l = vb_partmap_lane(pm, m[i].rkm->partition);

		if (taken[l < 0 ? 0 : l]++ >= quota)
			tmp[rest++] = m[i];
	}
	memcpy(m, tmp, sizeof(VbMsg) * (size_t) n);
	free(tmp);
	free(taken);
	return k;
}

/*
 * vb_ackclaim_init
 *	  Nobody holds the acknowledgements.
 */
void
vb_ackclaim_init(VbAckClaim *c)
{
	memset(c, 0, sizeof(*c));
	c->owner = -1;
}

/*
 * vb_ackclaim_take
 *	  A lane is about to send a transaction and `available` delivered
 *	  events wait for their acknowledgement: how many it carries.  All of
 *	  them when no other lane holds them; none otherwise (or when none
 *	  wait).
 */
int
vb_ackclaim_take(VbAckClaim *c, int lane, int available)
{
	if (c->owner >= 0 || available <= 0)
		return 0;
	c->owner = lane;
	c->n = available;
	c->epoch = c->cur_epoch;
	return available;
}

/*
 * vb_ackclaim_release
 *	  The lane's call ended; committed: its first transaction (the one
 *	  carrying the acknowledgements) committed.  How many of the first
 *	  waiting acknowledgements count as done: those it carried if it held
 *	  them, it committed, and the outbox did not forget meanwhile (its
 *	  list is not the one they were taken from); else 0, and they are sent
 *	  again.
 */
int
vb_ackclaim_release(VbAckClaim *c, int lane, bool committed)
{
	int			n;

	if (c->owner != lane)
		return 0;
	n = committed && c->epoch == c->cur_epoch ? c->n : 0;
	c->owner = -1;
	c->n = 0;
	return n;
}

/*
 * vb_ackclaim_forget
 *	  The outbox dropped its waiting acknowledgements (another database):
 *	  what a lane carries does not count against the new list.
 */
void
vb_ackclaim_forget(VbAckClaim *c)
{
	c->cur_epoch++;
}

/*
 * vb_fanout_may_poll
 *	  Whether the main thread may poll the consumer (serving rebalances)
 *	  while lanes work: only when none is inside a database call, so that
 *	  a revocation or a rewind lands between transactions, as with one
 *	  connection (a lane waiting its retry backoff is not inside one).
 */
bool
vb_fanout_may_poll(int lanes_in_db)
{
	return lanes_in_db == 0;
}

/*
 * vb_fanout_worst
 *	  The outcome of a round from its lanes': fatal over transient over
 *	  poison over done.
 */
VbStatus
vb_fanout_worst(VbStatus a, VbStatus b)
{
	static const int rank[] = {[VB_OK] = 0,[VB_POISON] = 1,[VB_TRANSIENT] = 2,[VB_FATAL] = 3};

	return rank[b] > rank[a] ? b : a;
}
