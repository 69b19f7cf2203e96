/*-------------------------------------------------------------------------
 *
 * latency.c
 *	  Layer 0: the end-to-end latency map.
 *
 * Two generations of an open-addressing table keyed by the 36-character
 * message id; when the current one holds VB_LATENCY_GENERATION entries
 * (half full, so probe sequences stay short) the older one is dropped
 * and the current one becomes the older.  Events are published soon
 * after their batch, so the entries they need are recent; an id not
 * found simply has no latency observed.
 *
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>

#include "latency.h"
#include "util.h"

#define LAT_SIZE	(2 * VB_LATENCY_GENERATION)	/* a power of two */

typedef struct LatEntry
{
	uint32_t	hash;
	char		id[37];
	int64_t		ts_ms;
} LatEntry;

struct VbLatency
{
	LatEntry   *gen[2];			/* [0] current, [1] older */
	int			count;			/* entries in the current one */
};

/*
 * lat_hash
 *	  FNV-1a of a message id.
 */
static uint32_t
lat_hash(const char *s)
{
	uint32_t	h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char) *s) * 16777619u;
	return h;
}

/*
 * lat_find
 *	  The slot of message_id (whose lat_hash() is h) in table m: its
 *	  entry, or the empty slot where it would go.
 */
static LatEntry *
lat_find(LatEntry *m, const char *message_id, uint32_t h)
{
	uint32_t	i;

	for (i = h & (LAT_SIZE - 1); m[i].id[0]; i = (i + 1) & (LAT_SIZE - 1))
		if (m[i].hash == h && strcmp(m[i].id, message_id) == 0)
			break;
	return &m[i];
}

/*
 * vb_latency_new / vb_latency_free
 */
VbLatency *
vb_latency_new(void)
{
	VbLatency  *lat = vb_xcalloc(1, sizeof(VbLatency));

	lat->gen[0] = vb_xcalloc(LAT_SIZE, sizeof(LatEntry));
	lat->gen[1] = vb_xcalloc(LAT_SIZE, sizeof(LatEntry));
	return lat;
}

void
vb_latency_free(VbLatency *lat)
{
	if (!lat)
		return;
	free(lat->gen[0]);
	free(lat->gen[1]);
	free(lat);
}

/*
 * vb_latency_note
 *	  Remembers when the record of message_id was written to Kafka (ms
 *	  since the epoch).  Ignored: a negative (unknown) timestamp, an id
 *	  that is not 36 characters, an id already noted.
 */
void
vb_latency_note(VbLatency *lat, const char *message_id, int64_t ts_ms)
{
	LatEntry   *e;
	uint32_t	h;

	if (ts_ms < 0 || !message_id || strlen(message_id) != 36)
		return;
	if (lat->count >= VB_LATENCY_GENERATION)
	{
		LatEntry   *older = lat->gen[1];

		memset(older, 0, LAT_SIZE * sizeof(LatEntry));
		lat->gen[1] = lat->gen[0];
		lat->gen[0] = older;
		lat->count = 0;
	}
	h = lat_hash(message_id);
	e = lat_find(lat->gen[0], message_id, h);
	if (e->id[0])
		return;
	memcpy(e->id, message_id, 37);
	e->hash = h;
	e->ts_ms = ts_ms;
	lat->count++;
}

/*
 * vb_latency_get
 *	  The Kafka timestamp noted for message_id, or -1.
 */
int64_t
vb_latency_get(const VbLatency *lat, const char *message_id)
{
	uint32_t	h;

	if (!message_id || strlen(message_id) != 36)
		return -1;
	h = lat_hash(message_id);
	for (int g = 0; g < 2; g++)
	{
		LatEntry   *e = lat_find(lat->gen[g], message_id, h);

		if (e->id[0])
			return e->ts_ms;
	}
	return -1;
}
