/*-------------------------------------------------------------------------
 *
 * util.h
 *	  Layer 0 of voltpay-bridge: exit codes, the error convention, clocks,
 *	  backoff, checked allocation and text helpers.  Depends on nothing
 *	  else of the bridge.
 *
 * The error convention: a function that can fail returns a VbStatus and,
 * on failure, fills the VbError its caller passed (vb_error_set()).  The
 * status says what the caller should do about it: retry later
 * (VB_TRANSIENT), set the message aside (VB_POISON), or stop
 * (VB_FATAL).  Out of memory is never returned: vb_xmalloc() and friends
 * log one line and exit, as frontend PostgreSQL's pg_malloc() does.
 *
 *-------------------------------------------------------------------------
 */
#ifndef VOLTPAY_UTIL_H
#define VOLTPAY_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef VB_VERSION
#define VB_VERSION "unknown"
#endif

/* Exit codes. */
#define VB_EXIT_OK		0		/* clean shutdown */
#define VB_EXIT_FATAL	1		/* fatal runtime error, after the drain */
#define VB_EXIT_CONFIG	2		/* bad configuration or usage */
#define VB_EXIT_TLS		3		/* TLS refused: a certificate not verified */
#define VB_EXIT_AUTH	4		/* a peer refused the bridge's credentials */

typedef enum VbStatus
{
	VB_OK = 0,
	VB_TRANSIENT,				/* try again later: nothing was lost */
	VB_POISON,					/* the data is at fault: set it aside */
	VB_FATAL					/* the set-up is at fault: stop */
} VbStatus;

typedef struct VbError
{
	VbStatus	status;
	char		sqlstate[6];	/* database errors; "" otherwise */
	char		message[1024];	/* one line: what failed, and why */
	char		primary[512];	/* the server's primary message alone */
} VbError;

extern VbStatus vb_error_set(VbError *err, VbStatus status, const char *sqlstate,
							 const char *fmt,...)
			__attribute__((format(printf, 4, 5)));
extern const char *vb_status_name(VbStatus status);

extern int64_t vb_now_ms(void);
extern int64_t vb_now_us(void);
extern int64_t vb_wall_us(void);
extern void vb_sleep_ms(int ms);
extern int	vb_backoff_ms(int attempt, int cap_ms);
extern void vb_backoff_seed(unsigned int seed);

extern void *vb_xmalloc(size_t size);
extern void *vb_xcalloc(size_t n, size_t size);
extern void *vb_xrealloc(void *p, size_t size);
extern char *vb_xstrdup(const char *s);
extern char *vb_xstrndup(const char *s, size_t n);
extern void *vb_xmemdup0(const void *p, size_t len);

/* Grows *arr (elements of elem bytes, *cap of them) to hold need. */
extern void vb_grow(void **arr, int *cap, int need, size_t elem);

extern bool vb_utf8_valid(const char *s, size_t len);
extern void vb_one_line(char *s);

#endif							/* VOLTPAY_UTIL_H */
