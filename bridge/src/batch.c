/*-------------------------------------------------------------------------
 *
 * batch.c
 *	  Layer 3: applying the messages in hand, in offset order.
 *
 * A transaction holds up to --batch-size messages; up to
 * VB_BATCH_PIPELINE of them go to the server in one round trip.  When one
 * fails, those before it are committed and none after it ran: it is dealt
 * with alone (vb_batch_decide()), then the rest go on.
 *	  transient (08, 40, 53, ...):	wait a backoff, apply it again;
 *	  poison (any other error):		a message of it makes the apply raise:
 *									split it in halves, each applied in its
 *									own transaction, in order, until the
 *									single offending message is found; it
 *									is quarantined (raw bytes, SQLSTATE,
 *									message) and the rest is applied;
 *	  fatal (28, 3D, 3F, 42):		the set-up is wrong (missing function,
 *									missing rights): quarantining every
 *									message would be wrong, so stop.
 * Working in offset order keeps the recorded positions honest: a
 * position never passes a message that is not yet applied or
 * quarantined.  (A record key that is not text is the extension's
 * invalid_key rejection, since 0.3.0 takes keys as bytes: no error of the
 * batch.)  Messages of partitions revoked meanwhile (marked by the
 * consumer while the caller waits) are left out.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "log.h"

/*
 * vb_batch_decide
 *	  What to do after an apply of nmsgs messages ended with st.
 */
VbBatchAction
vb_batch_decide(VbStatus st, int nmsgs)
{
	switch (st)
	{
		case VB_OK:
			return VB_ACT_DONE;
		case VB_TRANSIENT:
			return VB_ACT_RETRY;
		case VB_POISON:
			return nmsgs > 1 ? VB_ACT_SPLIT : VB_ACT_QUARANTINE;
		case VB_FATAL:
			break;
	}
	return VB_ACT_FATAL;
}

/*
 * vb_quarantine_decide
 *	  What to do after a quarantine attempt ended with st: a poison error
 *	  with the key sent is tried once more without it (the key may be what
 *	  fails); anything else that is not transient leaves no safe way on.
 */
VbQuarantineAction
vb_quarantine_decide(VbStatus st, bool with_key)
{
	switch (st)
	{
		case VB_OK:
			return VB_QACT_DONE;
		case VB_TRANSIENT:
			return VB_QACT_RETRY;
		case VB_POISON:
			return with_key ? VB_QACT_WITHOUT_KEY : VB_QACT_FATAL;
		case VB_FATAL:
			break;
	}
	return VB_QACT_FATAL;
}

/*
 * vb_batch_split
 *	  The index that halves l->m[lo..hi) by its messages not revoked: the
 *	  first half holds half of them (rounded down, at least one when there
 *	  are two or more).
 */
int
vb_batch_split(const VbMsgList *l, int lo, int hi)
{
	int			live = 0,
				seen = 0,
				mid = lo;

	for (int i = lo; i < hi; i++)
		live += !l->m[i].revoked;
	while (seen < live / 2 && mid < hi)
	{
		if (!l->m[mid].revoked)
			seen++;
		mid++;
	}
	return mid;
}

/*
 * batch_quarantine
 *	  Stores the one message whose apply raised, with its SQLSTATE and
 *	  error, and moves its partition's position past it.  If even that
 *	  fails on the record key, it is stored without the key; if it still
 *	  fails, the bridge cannot make progress safely: fatal.
 */
static VbStatus
batch_quarantine(VbMsg *vm, const char *sqlstate_in, const char *error_in, bool with_key,
				 const VbBatchOps *ops, VbError *err)
{
	rd_kafka_message_t *m = vm->rkm;
	int			attempt = 0;
	char		sqlstate[6];
	char		error[sizeof(err->primary)];

	/* Copies: the inputs may live in err, which each attempt overwrites. */
	snprintf(sqlstate, sizeof(sqlstate), "%s", sqlstate_in ? sqlstate_in : "");
	snprintf(error, sizeof(error), "%s", error_in ? error_in : "");

	for (;;)
	{
		VbLogCtx	c = vb_msg_ctx(m, NULL);
		bool		stored = false;
		VbStatus	st;

		if (vm->revoked)
			return VB_OK;
		st = ops->quarantine(ops->arg, m, sqlstate, error, with_key, &stored, err);
		switch (vb_quarantine_decide(st, with_key))
		{
			case VB_QACT_DONE:
				c.sqlstate = sqlstate;
				c.error = error;
				vb_log(VB_LOG_WARN, &c, "message quarantined: its apply raised an error%s",
					   stored ? "" : " (it was already quarantined)");
				ops->resync(ops->arg, "a message was quarantined");
				ops->quarantined(ops->arg, m);
				return VB_OK;
			case VB_QACT_RETRY:
				if (!ops->wait_retry(ops->arg, ++attempt, err, "quarantine"))
					return VB_TRANSIENT;
				continue;
			case VB_QACT_WITHOUT_KEY:
				c.sqlstate = err->sqlstate;
				c.error = err->message;
				vb_log(VB_LOG_WARN, &c, "quarantine failed: trying again without the record key");
				with_key = false;
				continue;
			case VB_QACT_FATAL:
				c.sqlstate = err->sqlstate;
				c.error = err->message;
				vb_log(VB_LOG_ERROR, &c, "cannot quarantine the message");
				vb_error_set(err, VB_FATAL, err->sqlstate, "a poison message cannot be quarantined");
				return VB_FATAL;
		}
	}
}

/*
 * batch_live
 *	  The messages of l->m[lo..hi) not revoked, into arr; *first (when
 *	  not NULL) gets the index of the first.  Returns how many.
 */
static int
batch_live(const VbMsgList *l, int lo, int hi, rd_kafka_message_t **arr, int *first)
{
	int			n = 0;

	for (int i = lo; i < hi; i++)
		if (!l->m[i].revoked)
		{
			if (n == 0 && first)
				*first = i;
			arr[n++] = l->m[i].rkm;
		}
	return n;
}

/*
 * batch_range
 *	  Applies l->m[lo..hi) in one transaction, retrying transient errors
 *	  and isolating a poison message by bisection.  failed, when not NULL,
 *	  is the error this range already met (in a pipeline).
 */
static VbStatus
batch_range(VbMsgList *l, int lo, int hi, const VbError *failed, const VbBatchOps *ops,
			VbError *err)
{
	int			attempt = 0;
	rd_kafka_message_t **arr = vb_xmalloc(sizeof(*arr) * (size_t) (hi - lo + 1));
	VbStatus	rc = VB_OK;

	for (;;)
	{
		VbBatchChunk chunk;
		int			first = lo,
					ndone = 0,
					mid;
		VbStatus	st;

		chunk.msgs = arr;
		chunk.n = batch_live(l, lo, hi, arr, &first);
		if (chunk.n == 0)
			break;
		if (failed)
		{
			*err = *failed;
			st = err->status;
			failed = NULL;
		}
		else
			st = ops->apply(ops->arg, &chunk, 1, &ndone, err);
		if (st != VB_OK)
			/* A commit whose outcome is unknown may have queued events. */
			ops->resync(ops->arg, "a batch failed");
		switch (vb_batch_decide(st, chunk.n))
		{
			case VB_ACT_DONE:
				if (attempt > 0)
					vb_info("database back: batch applied after %d retries", attempt);
				break;
			case VB_ACT_RETRY:
				if (!ops->wait_retry(ops->arg, ++attempt, err, "apply"))
					rc = VB_TRANSIENT;
				else
					continue;
				break;
			case VB_ACT_FATAL:
				{
					VbLogCtx	c = VB_LOGCTX_INIT;

					c.sqlstate = err->sqlstate;
					c.error = err->message;
					vb_log(VB_LOG_ERROR, &c, "apply_payment_batch failed on the set-up, not on a message");
					vb_error_set(err, VB_FATAL, c.sqlstate, "database set-up error");
					rc = VB_FATAL;
				}
				break;
			case VB_ACT_QUARANTINE:
				rc = batch_quarantine(&l->m[first], err->sqlstate, err->primary, true, ops, err);
				break;
			case VB_ACT_SPLIT:
				{
					VbLogCtx	c = vb_msg_ctx(arr[0], NULL);

					c.offset = -1;
					c.partition = -1;
					c.sqlstate = err->sqlstate;
					c.error = err->message;
					vb_log(VB_LOG_WARN, &c, "batch of %d messages raised an error: isolating the message",
						   chunk.n);
					mid = vb_batch_split(l, lo, hi);
					rc = batch_range(l, lo, mid, NULL, ops, err);
					if (rc == VB_OK)
						rc = batch_range(l, mid, hi, NULL, ops, err);
				}
				break;
		}
		break;
	}
	free(arr);
	return rc;
}

/*
 * batch_pipelined
 *	  Applies l->m[lo..hi) in transactions of up to batch_size messages,
 *	  up to VB_BATCH_PIPELINE of them per round trip.  When one fails,
 *	  those before it are committed and none after it ran: it goes through
 *	  batch_range() (retries, poison isolation), then the rest.
 */
static VbStatus
batch_pipelined(VbMsgList *l, int lo, int hi, int batch_size, const VbBatchOps *ops,
				VbError *err)
{
	rd_kafka_message_t **arr = vb_xmalloc(sizeof(*arr) * (size_t) (hi - lo + 1));
	VbStatus	rc = VB_OK;

	while (lo < hi && rc == VB_OK)
	{
		VbBatchChunk chunks[VB_BATCH_PIPELINE];
		int			bound[VB_BATCH_PIPELINE + 1];
		int			nc = 0,
					used = 0,
					i = lo,
					ndone = 0;

		bound[0] = lo;
		while (i < hi && nc < VB_BATCH_PIPELINE)
		{
			int			start = used;

			for (; i < hi && used - start < batch_size; i++)
				if (!l->m[i].revoked)
					arr[used++] = l->m[i].rkm;
			bound[nc + 1] = i;
			if (used == start)
				break;			/* only revoked messages left */
			chunks[nc].msgs = arr + start;
			chunks[nc].n = used - start;
			nc++;
		}
		if (nc == 0)
			break;
		if (ops->apply(ops->arg, chunks, nc, &ndone, err) == VB_OK || ndone >= nc)
		{
			/*
			 * Every transaction committed (even when only the sync point
			 * after them was lost: the next call reconnects).
			 */
			lo = bound[nc];
			continue;
		}
		rc = batch_range(l, bound[ndone], bound[ndone + 1], err, ops, err);
		lo = bound[ndone + 1];
	}
	free(arr);
	return rc;
}

/*
 * vb_batch_apply
 *	  Applies every message of l not revoked, in order (see the file
 *	  header).  VB_OK when all are applied or quarantined; VB_TRANSIENT
 *	  when the drain deadline passed during a retry (nothing after the
 *	  last commit counts: it is read again); VB_FATAL with err saying why.
 */
VbStatus
vb_batch_apply(VbMsgList *l, int batch_size, const VbBatchOps *ops, VbError *err)
{
	return batch_pipelined(l, 0, l->n, batch_size, ops, err);
}
