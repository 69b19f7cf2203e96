/*-------------------------------------------------------------------------
 *
 * mock.h
 *	  Layer 1: --embedded-kafka, librdkafka's mock cluster in-process
 *	  (mock.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef VOLTPAY_MOCK_H
#define VOLTPAY_MOCK_H

#include "util.h"

typedef struct VbMock VbMock;

extern VbStatus vb_mock_start(const char *const topics[4], VbMock **out,
							  const char **bootstraps, VbError *err);
extern void vb_mock_stop(VbMock *mock);

#endif							/* VOLTPAY_MOCK_H */
