/*-------------------------------------------------------------------------
 *
 * loop.h
 *	  Layer 4: the bridge's main loop (loop.c), the one place that
 *	  schedules consuming, applying and publishing.
 *
 *-------------------------------------------------------------------------
 */
#ifndef VOLTPAY_LOOP_H
#define VOLTPAY_LOOP_H

#include "config.h"

typedef struct VbLoop VbLoop;

extern VbLoop *vb_loop_new(const VbConfig *conf);
extern VbStatus vb_loop_connect(VbLoop *loop, VbError *err);
extern VbStatus vb_loop_open(VbLoop *loop, const char *brokers, VbError *err);
extern int	vb_loop_run(VbLoop *loop);
extern void vb_loop_close(VbLoop *loop);

#endif							/* VOLTPAY_LOOP_H */
