/*-------------------------------------------------------------------------
 *
 * park.c
 *	  Layer 0: outbox events held back after a permanent producer error
 *	  (see park.h; the ledger decides when, ledger.c).
 *
 * A transient error (a timeout, a broker down, a leader moving) fails
 * everything in flight alike, and the ledger retries all of it after one
 * backoff.  A permanent one (a record too large for the topic, a topic
 * that does not exist or that the bridge may not write) would fail again
 * at once, for ever, and must not hold up the other events.  Such an
 * event becomes a head: it is left out of the outbox fetches and retried
 * alone, each time after a longer backoff, until it is delivered (an
 * operator raised the topic's limit, created the topic, granted the
 * ACL).  Its destination is blocked meanwhile, so that order holds where
 * it matters: the later events with the same topic and key (one account's
 * events, in order), or for an error of the whole topic every event of
 * that topic.  They are held, also left out of the fetches, and become
 * fetchable again when their head is delivered.  A dead letter too large
 * for its topic is sent again at once without its value (strip).
 *
 * Everything is kept in one array, heads and held events alike: a few
 * heads are expected, and held events only as many as the outbox holds of
 * a blocked destination.
 *
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "park.h"
#include "util.h"

typedef struct ParkEntry
{
	int64_t		event_id;
	int			kind;
	char	   *key;			/* NULL: no key */
	size_t		key_len;
	bool		head;			/* the failed event itself (else: held) */
	bool		whole_topic;	/* head: every key of the kind waits */
	bool		retrying;		/* head: released to the next fetch */
	bool		strip;			/* head: a dead letter sent without value */
	int			attempts;		/* head: failures so far */
	int64_t		retry_at;		/* head: released at */
} ParkEntry;

struct VbPark
{
	ParkEntry  *e;
	int			n;
	int			cap;
};

/*
 * vb_produce_fault
 *	  What a delivery error (or a refusal of rd_kafka_producev()) means:
 *	  the record can never be stored as it is, nothing can be stored in
 *	  its topic until an operator acts, or (everything else, the default
 *	  for codes not listed) a transient fault.
 */
VbProduceFault
vb_produce_fault(int err)
{
	switch ((rd_kafka_resp_err_t) err)
	{
		case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
		case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
		case RD_KAFKA_RESP_ERR_INVALID_RECORD:
		case RD_KAFKA_RESP_ERR_INVALID_TIMESTAMP:
		case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
		case RD_KAFKA_RESP_ERR__INVALID_ARG:
			return VB_PF_RECORD;
		case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
		case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
		case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
		case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
		case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
		case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
		case RD_KAFKA_RESP_ERR_INVALID_REQUIRED_ACKS:
		case RD_KAFKA_RESP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT:
			return VB_PF_TOPIC;
		default:
			return VB_PF_TRANSIENT;
	}
}

/*
 * vb_produce_fault_too_large
 *	  Whether the error says the record is larger than the producer's
 *	  message.max.bytes or the topic's max.message.bytes.
 */
bool
vb_produce_fault_too_large(int err)
{
	return err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ||
		err == RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE;
}

VbPark *
vb_park_new(void)
{
	return vb_xcalloc(1, sizeof(VbPark));
}

void
vb_park_free(VbPark *p)
{
	if (!p)
		return;
	vb_park_clear(p);
	free(p->e);
	free(p);
}

/*
 * park_find
 *	  The entry of an event, or -1.
 */
static int
park_find(const VbPark *p, int64_t event_id)
{
	for (int i = 0; i < p->n; i++)
		if (p->e[i].event_id == event_id)
			return i;
	return -1;
}

/*
 * park_blocks
 *	  Whether head h blocks an event of this kind and key.
 */
static bool
park_blocks(const ParkEntry *h, int kind, const char *key, size_t key_len)
{
	if (!h->head || h->kind != kind)
		return false;
	if (h->whole_topic)
		return true;
	if ((h->key == NULL) != (key == NULL))
		return false;
	return !key || (h->key_len == key_len && memcmp(h->key, key, key_len) == 0);
}

/*
 * park_remove
 *	  Removes entry i, keeping the order of the others.
 */
static void
park_remove(VbPark *p, int i)
{
	free(p->e[i].key);
	memmove(p->e + i, p->e + i + 1, sizeof(ParkEntry) * (size_t) (p->n - i - 1));
	p->n--;
}

/*
 * park_append
 *	  A new entry at the end, its key copied.
 */
static ParkEntry *
park_append(VbPark *p, int64_t event_id, int kind, const char *key, size_t key_len)
{
	ParkEntry  *x;

	vb_grow((void **) &p->e, &p->cap, p->n + 1, sizeof(ParkEntry));
	x = &p->e[p->n++];
	memset(x, 0, sizeof(*x));
	x->event_id = event_id;
	x->kind = kind;
	if (key)
	{
		x->key = vb_xmalloc(key_len + 1);
		memcpy(x->key, key, key_len);
		x->key[key_len] = '\0';
		x->key_len = key_len;
	}
	return x;
}

/*
 * vb_park_is_head
 *	  Whether the event is a head.
 */
bool
vb_park_is_head(const VbPark *p, int64_t event_id)
{
	int			i = park_find(p, event_id);

	return i >= 0 && p->e[i].head;
}

/*
 * vb_park_blocked
 *	  Whether an event of this kind and key waits behind a head other than
 *	  itself.
 */
bool
vb_park_blocked(const VbPark *p, int kind, const char *key, size_t key_len, int64_t event_id)
{
	for (int i = 0; i < p->n; i++)
		if (p->e[i].event_id != event_id && park_blocks(&p->e[i], kind, key, key_len))
			return true;
	return false;
}

/*
 * vb_park_add_head
 *	  An event failed permanently: it becomes a head, retried at retry_at
 *	  (at once, released to the next fetch, when retry_at is 0), and
 *	  blocks its topic and key (whole_topic: its topic).  An event held so
 *	  far becomes a head in place.
 */
void
vb_park_add_head(VbPark *p, int64_t event_id, int kind, const char *key, size_t key_len,
				 bool whole_topic, bool strip, int64_t retry_at)
{
	int			i = park_find(p, event_id);
	ParkEntry  *x = i >= 0 ? &p->e[i] : park_append(p, event_id, kind, key, key_len);

	x->head = true;
	x->whole_topic = whole_topic;
	x->strip = strip;
	x->attempts = 1;
	x->retry_at = retry_at;
	x->retrying = retry_at == 0;
}

/*
 * vb_park_failed_again
 *	  A head's retry failed: back to waiting until retry_at (0: released
 *	  at once), sent without its value from now on if strip_now.  Returns
 *	  its failures so far (0: not a head).
 */
int
vb_park_failed_again(VbPark *p, int64_t event_id, bool strip_now, int64_t retry_at)
{
	int			i = park_find(p, event_id);
	ParkEntry  *x;

	if (i < 0 || !p->e[i].head)
		return 0;
	x = &p->e[i];
	x->attempts++;
	if (strip_now)
		x->strip = true;
	x->retry_at = retry_at;
	x->retrying = retry_at == 0;
	return x->attempts;
}

/*
 * vb_park_hold
 *	  An event about to be produced, or delivered while a head blocks its
 *	  destination: if it waits behind a head, it is held (left out of the
 *	  fetches until the head is delivered) and true is returned.  A head
 *	  itself is never held.
 */
bool
vb_park_hold(VbPark *p, int64_t event_id, int kind, const char *key, size_t key_len)
{
	int			i = park_find(p, event_id);

	if (i >= 0)
		return !p->e[i].head;
	if (!vb_park_blocked(p, kind, key, key_len, event_id))
		return false;
	(void) park_append(p, event_id, kind, key, key_len);
	return true;
}

/*
 * vb_park_release
 *	  A head was delivered, or is gone from the outbox: it is removed, and
 *	  so are the held events that no other head blocks (they are fetched
 *	  again, in order).  Returns how many held events were released.
 */
int
vb_park_release(VbPark *p, int64_t event_id)
{
	int			i = park_find(p, event_id);
	int			released = 0;

	if (i < 0 || !p->e[i].head)
		return 0;
	park_remove(p, i);
	for (int j = 0; j < p->n;)
	{
		ParkEntry  *x = &p->e[j];

		if (!x->head && !vb_park_blocked(p, x->kind, x->key, x->key_len, x->event_id))
		{
			park_remove(p, j);
			released++;
		}
		else
			j++;
	}
	return released;
}

/*
 * vb_park_due
 *	  Releases the heads whose backoff has passed to the next fetch;
 *	  returns how many.
 */
int
vb_park_due(VbPark *p, int64_t now_ms)
{
	int			n = 0;

	for (int i = 0; i < p->n; i++)
		if (p->e[i].head && !p->e[i].retrying && now_ms >= p->e[i].retry_at)
		{
			p->e[i].retrying = true;
			n++;
		}
	return n;
}

/*
 * vb_park_retrying
 *	  The heads released to the next fetch, malloc'd; returns how many.
 */
int
vb_park_retrying(const VbPark *p, int64_t **ids)
{
	int			n = 0;

	*ids = vb_xmalloc(sizeof(int64_t) * (size_t) (p->n + 1));
	for (int i = 0; i < p->n; i++)
		if (p->e[i].head && p->e[i].retrying)
			(*ids)[n++] = p->e[i].event_id;
	return n;
}

/*
 * vb_park_strip
 *	  Whether the event is a dead letter to send without its value.
 */
bool
vb_park_strip(const VbPark *p, int64_t event_id)
{
	int			i = park_find(p, event_id);

	return i >= 0 && p->e[i].head && p->e[i].strip;
}

/*
 * vb_park_attempts
 *	  A head's failures so far (0: not a head).
 */
int
vb_park_attempts(const VbPark *p, int64_t event_id)
{
	int			i = park_find(p, event_id);

	return i >= 0 && p->e[i].head ? p->e[i].attempts : 0;
}

/*
 * vb_park_exclude
 *	  Writes the ids a fetch must leave out (held events, and heads not
 *	  released) to out, which has room for vb_park_count(); returns how
 *	  many.
 */
int
vb_park_exclude(const VbPark *p, int64_t *out)
{
	int			n = 0;

	for (int i = 0; i < p->n; i++)
		if (!p->e[i].head || !p->e[i].retrying)
			out[n++] = p->e[i].event_id;
	return n;
}

/*
 * vb_park_count / vb_park_heads
 *	  Events parked (heads and held); heads alone.
 */
int
vb_park_count(const VbPark *p)
{
	return p->n;
}

int
vb_park_heads(const VbPark *p)
{
	int			n = 0;

	for (int i = 0; i < p->n; i++)
		n += p->e[i].head;
	return n;
}

/*
 * vb_park_clear
 *	  Forgets everything (partitions given up, another database): the
 *	  events are fetched again, and a head that still fails is parked
 *	  again.
 */
void
vb_park_clear(VbPark *p)
{
	for (int i = 0; i < p->n; i++)
		free(p->e[i].key);
	p->n = 0;
}
