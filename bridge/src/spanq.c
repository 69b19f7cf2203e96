/*-------------------------------------------------------------------------
 *
 * spanq.c
 *	  Layer 0: a bounded queue of finished spans, the only thing the main
 *	  thread and the exporter's thread share.
 *
 * Pushing never waits: when the queue is full (the backend is slow or
 * down and the exporter is behind) the span is freed at once and the
 * caller counts it as dropped, so tracing can never slow applies by more
 * than one mutex round.  The exporter pops batches, waiting up to a
 * bound for a batch to fill.
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "spanq.h"
#include "util.h"

struct VbSpanQueue
{
	pthread_mutex_t lock;
	pthread_cond_t ready;		/* a batch's worth, or closed */
	VbSpan	  **ring;
	int			cap;
	int			head;			/* oldest */
	int			n;
	int			want;			/* the waiting popper's batch size; 0: none */
	bool		closed;
};

/*
 * vb_spanq_new
 *	  A queue of at most capacity spans (at least 1).
 */
VbSpanQueue *
vb_spanq_new(int capacity)
{
	VbSpanQueue *q = vb_xcalloc(1, sizeof(VbSpanQueue));
	pthread_condattr_t attr;

	q->cap = capacity > 0 ? capacity : 1;
	q->ring = vb_xcalloc((size_t) q->cap, sizeof(VbSpan *));
	pthread_mutex_init(&q->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&q->ready, &attr);
	pthread_condattr_destroy(&attr);
	return q;
}

/*
 * vb_spanq_free
 *	  Frees the queue and the spans it still holds (no thread may use it).
 */
void
vb_spanq_free(VbSpanQueue *q)
{
	if (!q)
		return;
	for (int i = 0; i < q->n; i++)
		vb_span_free(q->ring[(q->head + i) % q->cap]);
	free(q->ring);
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->ready);
	free(q);
}

/*
 * vb_spanq_push
 *	  Queues s without waiting (the queue owns it then).  False when the
 *	  queue is full or closed: s is freed, the caller counts a drop.
 */
bool
vb_spanq_push(VbSpanQueue *q, VbSpan *s)
{
	bool		ok;

	pthread_mutex_lock(&q->lock);
	ok = q->n < q->cap && !q->closed;
	if (ok)
	{
		q->ring[(q->head + q->n) % q->cap] = s;
		q->n++;
		if (q->want > 0 && q->n >= q->want)
			pthread_cond_signal(&q->ready);
	}
	pthread_mutex_unlock(&q->lock);
	if (!ok)
		vb_span_free(s);
	return ok;
}

/*
 * vb_spanq_pop
 *	  Takes up to max of the oldest spans into out; waits up to wait_ms
 *	  for max of them to be there (less once the queue is closed or the
 *	  wait is over).  Returns how many.
 */
int
vb_spanq_pop(VbSpanQueue *q, VbSpan **out, int max, int wait_ms)
{
	struct timespec until;
	int			n;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += wait_ms / 1000;
	until.tv_nsec += (long) (wait_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L)
		until.tv_sec++, until.tv_nsec -= 1000000000L;
	pthread_mutex_lock(&q->lock);
	q->want = max;
	while (q->n < max && !q->closed &&
		   pthread_cond_timedwait(&q->ready, &q->lock, &until) != ETIMEDOUT)
		;
	q->want = 0;
	n = q->n < max ? q->n : max;
	for (int i = 0; i < n; i++)
	{
		out[i] = q->ring[q->head];
		q->ring[q->head] = NULL;
		q->head = (q->head + 1) % q->cap;
	}
	q->n -= n;
	pthread_mutex_unlock(&q->lock);
	return n;
}

/*
 * vb_spanq_close
 *	  No more pushes; a waiting pop returns at once.
 */
void
vb_spanq_close(VbSpanQueue *q)
{
	pthread_mutex_lock(&q->lock);
	q->closed = true;
	pthread_cond_broadcast(&q->ready);
	pthread_mutex_unlock(&q->lock);
}

/*
 * vb_spanq_closed / vb_spanq_len
 */
bool
vb_spanq_closed(VbSpanQueue *q)
{
	bool		c;

	pthread_mutex_lock(&q->lock);
	c = q->closed;
	pthread_mutex_unlock(&q->lock);
	return c;
}

int
vb_spanq_len(VbSpanQueue *q)
{
	int			n;

	pthread_mutex_lock(&q->lock);
	n = q->n;
	pthread_mutex_unlock(&q->lock);
	return n;
}
