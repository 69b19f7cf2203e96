/*-------------------------------------------------------------------------
 *
 * event.c
 *	  Layer 0: outbox event kinds and freeing what an event holds.
 *
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>

#include "event.h"

static const char *const event_kind_names[VB_NKINDS] = {"read", "email", "dead_letter"};

/*
 * vb_event_kind
 *	  VB_KIND_* of an outbox kind name; VB_KIND_UNKNOWN for another.
 */
int
vb_event_kind(const char *name)
{
	for (int k = 0; k < VB_NKINDS; k++)
		if (name && strcmp(name, event_kind_names[k]) == 0)
			return k;
	return VB_KIND_UNKNOWN;
}

/*
 * vb_event_kind_name
 *	  The outbox name of a kind ("read", "email", "dead_letter").
 */
const char *
vb_event_kind_name(int kind)
{
	return kind >= 0 && kind < VB_NKINDS ? event_kind_names[kind] : "unknown";
}

/*
 * vb_event_clear
 *	  Frees what one event holds (not the event itself) and zeroes it.
 */
void
vb_event_clear(VbEvent *e)
{
	free(e->kind_name);
	free(e->key);
	free(e->value);
	free(e->message_id);
	for (int h = 0; h < e->nheaders; h++)
	{
		if (e->header_names)
			free(e->header_names[h]);
		if (e->header_values)
			free(e->header_values[h]);
	}
	free(e->header_names);
	free(e->header_values);
	memset(e, 0, sizeof(*e));
}

/*
 * vb_events_free
 *	  Frees an array of n events and what they hold.
 */
void
vb_events_free(VbEvent *events, int n)
{
	if (!events)
		return;
	for (int i = 0; i < n; i++)
		vb_event_clear(&events[i]);
	free(events);
}
