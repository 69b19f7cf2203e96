/*-------------------------------------------------------------------------
 *
 * unit.h
 *	  A minimal TAP producer for the bridge's C unit tests: each check is
 *	  one "ok N - name" or "not ok N - name" line, the plan comes last
 *	  ("1..N"), and the exit status is 1 when any check failed, so prove
 *	  (or any TAP harness) runs them.
 *
 *-------------------------------------------------------------------------
 */
#ifndef VOLTPAY_UNIT_H
#define VOLTPAY_UNIT_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int	unit_n;
static int	unit_failed;

#define ok(cond, ...) \
	do { \
		int unit_c = (cond) ? 1 : 0; \
		unit_n++; \
		if (unit_c) \
			printf("ok %d - ", unit_n); \
		else \
		{ \
			unit_failed++; \
			printf("not ok %d - ", unit_n); \
		} \
		printf(__VA_ARGS__); \
		printf("\n"); \
		if (!unit_c) \
			printf("#   failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
	} while (0)

#define is_int(got, want, ...) \
	do { \
		long long unit_g = (long long) (got), unit_w = (long long) (want); \
		ok(unit_g == unit_w, __VA_ARGS__); \
		if (unit_g != unit_w) \
			printf("#   got %lld, want %lld\n", unit_g, unit_w); \
	} while (0)

#define is_str(got, want, ...) \
	do { \
		const char *unit_g = (got), *unit_w = (want); \
		int unit_same = unit_g && unit_w ? strcmp(unit_g, unit_w) == 0 : unit_g == unit_w; \
		ok(unit_same, __VA_ARGS__); \
		if (!unit_same) \
			printf("#   got \"%s\", want \"%s\"\n", unit_g ? unit_g : "(null)", unit_w ? unit_w : "(null)"); \
	} while (0)

static inline int
unit_done(void)
{
	printf("1..%d\n", unit_n);
	fflush(stdout);
	if (unit_failed)
		printf("# %d of %d failed\n", unit_failed, unit_n);
	fflush(stdout);
	return unit_failed ? 1 : 0;
}

#endif							/* VOLTPAY_UNIT_H */
