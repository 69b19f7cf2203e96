/*-------------------------------------------------------------------------
 *
 * msglist.c
 *	  Layer 0: lists of consumed messages.  The byte count changes only
 *	  here.
 *
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>

#include "msglist.h"
#include "util.h"

/*
 * msglist_bytes
 *	  What one message holds.
 */
static size_t
msglist_bytes(const rd_kafka_message_t *rkm)
{
	return rkm->len + rkm->key_len;
}

/*
 * vb_msglist_push
 *	  Appends a message (the list owns it now).
 */
void
vb_msglist_push(VbMsgList *l, rd_kafka_message_t *rkm, int64_t now_ms)
{
	vb_grow((void **) &l->m, &l->cap, l->n + 1, sizeof(VbMsg));
	if (l->n == 0)
		l->first_ms = now_ms;
	l->m[l->n].rkm = rkm;
	l->m[l->n].revoked = false;
	l->n++;
	l->bytes += msglist_bytes(rkm);
}

/*
 * vb_msglist_move
 *	  Appends the first k messages of src to dst, in order, and removes
 *	  them from src; src's remaining messages count as arrived now.
 */
void
vb_msglist_move(VbMsgList *dst, VbMsgList *src, int k, int64_t now_ms)
{
	if (k > src->n)
		k = src->n;
	if (k <= 0)
		return;
	vb_grow((void **) &dst->m, &dst->cap, dst->n + k, sizeof(VbMsg));
	if (dst->n == 0)
		dst->first_ms = src->first_ms;
	memcpy(dst->m + dst->n, src->m, sizeof(VbMsg) * (size_t) k);
	for (int i = 0; i < k; i++)
	{
		size_t		b = msglist_bytes(src->m[i].rkm);

		dst->bytes += b;
		src->bytes -= b;
	}
	dst->n += k;
	memmove(src->m, src->m + k, sizeof(VbMsg) * (size_t) (src->n - k));
	src->n -= k;
	if (src->n > 0)
		src->first_ms = now_ms;
}

/*
 * vb_msglist_drop_unassigned
 *	  Destroys the messages whose partition assigned() says is no longer
 *	  ours, keeping the order of the others; returns how many went.
 */
int
vb_msglist_drop_unassigned(VbMsgList *l, bool (*assigned) (void *arg, int32_t partition),
						   void *arg)
{
	int			w = 0;
	int			dropped = 0;

	for (int i = 0; i < l->n; i++)
	{
		rd_kafka_message_t *rkm = l->m[i].rkm;

		if (assigned(arg, rkm->partition))
		{
			l->m[w++] = l->m[i];
			continue;
		}
		l->bytes -= msglist_bytes(rkm);
		rd_kafka_message_destroy(rkm);
		dropped++;
	}
	l->n = w;
	return dropped;
}

/*
 * vb_msglist_clear
 *	  Destroys the messages and empties the list.
 */
void
vb_msglist_clear(VbMsgList *l)
{
	for (int i = 0; i < l->n; i++)
		rd_kafka_message_destroy(l->m[i].rkm);
	l->n = 0;
	l->bytes = 0;
}

/*
 * vb_msglist_free
 *	  vb_msglist_clear() and frees the array.
 */
void
vb_msglist_free(VbMsgList *l)
{
	vb_msglist_clear(l);
	free(l->m);
	memset(l, 0, sizeof(*l));
}

/*
 * vb_msg_ctx
 *	  A log context for one message (topic: its topic when the message
 *	  does not name one).
 */
VbLogCtx
vb_msg_ctx(const rd_kafka_message_t *m, const char *topic)
{
	VbLogCtx	c = VB_LOGCTX_INIT;

	c.topic = m->rkt ? rd_kafka_topic_name(m->rkt) : topic;
	c.partition = m->partition;
	c.offset = m->offset;
	return c;
}
