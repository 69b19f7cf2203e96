/*-------------------------------------------------------------------------
 *
 * msglist.h
 *	  Layer 0: a list of consumed Kafka messages (msglist.c), with the
 *	  bytes it holds and when its first message arrived.
 *
 *-------------------------------------------------------------------------
 */
#ifndef VOLTPAY_MSGLIST_H
#define VOLTPAY_MSGLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "log.h"

typedef struct VbMsg
{
	rd_kafka_message_t *rkm;
	bool		revoked;		/* its partition was revoked meanwhile */
} VbMsg;

typedef struct VbMsgList
{
	VbMsg	   *m;
	int			n;
	int			cap;
	int64_t		first_ms;		/* when its first message arrived */
	size_t		bytes;			/* keys and values held */
} VbMsgList;

extern void vb_msglist_push(VbMsgList *l, rd_kafka_message_t *rkm, int64_t now_ms);
extern void vb_msglist_move(VbMsgList *dst, VbMsgList *src, int k, int64_t now_ms);
extern int	vb_msglist_drop_unassigned(VbMsgList *l, bool (*assigned) (void *arg, int32_t partition),
									   void *arg);
extern void vb_msglist_clear(VbMsgList *l);
extern VbLogCtx vb_msg_ctx(const rd_kafka_message_t *m, const char *topic);
extern void vb_msglist_free(VbMsgList *l);

#endif							/* VOLTPAY_MSGLIST_H */
