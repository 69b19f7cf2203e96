/*-------------------------------------------------------------------------
 *
 * util.c
 *	  Layer 0: the error convention, clocks, backoff with jitter, checked
 *	  allocation and text helpers (see util.h).
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

/* The backoff's jitter; seeded on first use unless a test seeded it. */
static unsigned int util_seed;
static bool util_seeded;

/*
 * vb_error_set
 *	  Fills err (message folded onto one line, primary = message) and
 *	  returns status, so that a callee can `return vb_error_set(...)`.
 */
VbStatus
vb_error_set(VbError *err, VbStatus status, const char *sqlstate, const char *fmt,...)
{
	va_list		ap;

	err->status = status;
	snprintf(err->sqlstate, sizeof(err->sqlstate), "%s", sqlstate ? sqlstate : "");
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	vb_one_line(err->message);
	memcpy(err->primary, err->message, sizeof(err->primary) - 1);
	err->primary[sizeof(err->primary) - 1] = '\0';
	return status;
}

/*
 * vb_status_name
 *	  "ok", "transient", "poison" or "fatal", for logs and tests.
 */
const char *
vb_status_name(VbStatus status)
{
	switch (status)
	{
		case VB_OK:
			return "ok";
		case VB_TRANSIENT:
			return "transient";
		case VB_POISON:
			return "poison";
		case VB_FATAL:
			return "fatal";
	}
	return "unknown";
}

/*
 * vb_now_ms
 *	  Monotonic milliseconds, for timeouts and durations.
 */
int64_t
vb_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * vb_now_us
 *	  Monotonic microseconds, for durations summed over many short spans.
 */
int64_t
vb_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * vb_wall_us
 *	  Wall-clock microseconds since the Unix epoch.
 */
int64_t
vb_wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * vb_sleep_ms
 *	  Sleeps ms milliseconds (restarting after a signal; a caller that
 *	  must notice signals sleeps in short steps).
 */
void
vb_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long) (ms % 1000) * 1000000};

	while (ms > 0 && nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/*
 * vb_backoff_seed
 *	  Seeds the jitter (tests; otherwise seeded from the clock and pid).
 */
void
vb_backoff_seed(unsigned int seed)
{
	util_seed = seed;
	util_seeded = true;
}

/*
 * vb_backoff_ms
 *	  Exponential backoff with jitter: 100 ms doubling per attempt (the
 *	  first attempt is 1), capped at cap_ms, then a random point in its
 *	  upper half.
 */
int
vb_backoff_ms(int attempt, int cap_ms)
{
	int64_t		cap = 100;

	if (!util_seeded)
		vb_backoff_seed((unsigned int) (vb_wall_us() ^ ((int64_t) getpid() << 16)));
	for (int i = 1; i < attempt && cap < cap_ms; i++)
		cap *= 2;
	if (cap > cap_ms)
		cap = cap_ms;
	return (int) (cap / 2 + rand_r(&util_seed) % (cap / 2 + 1));
}

/*
 * util_oom
 *	  Out of memory: one line, then exit (nothing is lost: what is not
 *	  committed is read again from Kafka, what is not acknowledged is
 *	  published again).
 */
static void
util_oom(size_t size)
{
	/* A JSON line, as log.c writes them (log.c is not used here: it uses us). */
	fprintf(stderr, "{\"level\":\"error\",\"msg\":\"voltpay-bridge: out of memory (%zu bytes)\"}\n",
			size);
	exit(VB_EXIT_FATAL);
}

/*
 * vb_xmalloc / vb_xcalloc / vb_xrealloc
 *	  malloc(), calloc() and realloc() that exit on out-of-memory; a size
 *	  of 0 is served as 1, so the result is never NULL.
 */
void *
vb_xmalloc(size_t size)
{
	void	   *p = malloc(size ? size : 1);

	if (!p)
		util_oom(size);
	return p;
}

void *
vb_xcalloc(size_t n, size_t size)
{
	void	   *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		util_oom(n * size);
	return p;
}

void *
vb_xrealloc(void *old, size_t size)
{
	void	   *p = realloc(old, size ? size : 1);

	if (!p)
		util_oom(size);
	return p;
}

/*
 * vb_xstrdup / vb_xstrndup / vb_xmemdup0
 *	  Copies that exit on out-of-memory; vb_xmemdup0 adds a NUL after len
 *	  bytes.
 */
char *
vb_xstrdup(const char *s)
{
	return vb_xmemdup0(s, strlen(s));
}

char *
vb_xstrndup(const char *s, size_t n)
{
	return vb_xmemdup0(s, strnlen(s, n));
}

void *
vb_xmemdup0(const void *p, size_t len)
{
	char	   *s = vb_xmalloc(len + 1);

	if (len)
		memcpy(s, p, len);
	s[len] = '\0';
	return s;
}

/*
 * vb_grow
 *	  Makes room for need elements in a growable array, doubling from 64.
 */
void
vb_grow(void **arr, int *cap, int need, size_t elem)
{
	int			n = *cap;

	if (need <= n)
		return;
	while (n < need)
		n = n ? n * 2 : 64;
	*arr = vb_xrealloc(*arr, elem * (size_t) n);
	*cap = n;
}

/*
 * vb_utf8_valid
 *	  True when s[0..len) is well-formed UTF-8 without NUL bytes (what
 *	  PostgreSQL accepts as text).
 */
bool
vb_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *) s;
	size_t		i = 0;

	while (i < len)
	{
		unsigned char c = p[i];
		size_t		n;
		uint32_t	cp;

		if (c == 0)
			return false;
		if (c < 0x80)
		{
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, cp = c & 0x07;
		else
			return false;
		if (i + n >= len)
			return false;
		for (size_t k = 1; k <= n; k++)
		{
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
			cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

/*
 * vb_one_line
 *	  Folds a (libpq) message onto one line in place: newlines and tabs
 *	  become single spaces, trailing blanks go.
 */
void
vb_one_line(char *s)
{
	char	   *w = s;
	bool		space = false;

	for (char *r = s; *r; r++)
	{
		if (*r == '\n' || *r == '\t' || *r == '\r' || *r == ' ')
		{
			space = (w != s);
			continue;
		}
		if (space)
			*w++ = ' ';
		space = false;
		*w++ = *r;
	}
	*w = '\0';
}
