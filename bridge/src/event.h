/*-------------------------------------------------------------------------
 *
 * event.h
 *	  Layer 0: one outbox event, as the database hands it over and the
 *	  producer sends it (event.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef VOLTPAY_EVENT_H
#define VOLTPAY_EVENT_H

#include <stddef.h>
#include <stdint.h>

/* Event kinds: the outbox's kind column, each with its topic. */
#define VB_KIND_READ		0
#define VB_KIND_EMAIL		1
#define VB_KIND_DEAD_LETTER	2
#define VB_KIND_UNKNOWN		3
#define VB_NKINDS			3

typedef struct VbEvent
{
	int64_t		event_id;
	int			kind;			/* VB_KIND_* */
	char	   *kind_name;
	char	   *key;			/* NULL: no key */
	size_t		key_len;
	char	   *value;
	size_t		value_len;
	char	   *message_id;		/* NULL when unknown */
	int32_t		src_partition;	/* -1 when none */
	int			nheaders;
	char	  **header_names;
	char	  **header_values;
} VbEvent;

extern int	vb_event_kind(const char *name);
extern const char *vb_event_kind_name(int kind);
extern void vb_event_clear(VbEvent *e);
extern void vb_events_free(VbEvent *events, int n);

#endif							/* VOLTPAY_EVENT_H */
