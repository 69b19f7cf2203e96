/*-------------------------------------------------------------------------
 *
 * config.h
 *	  Layer 0: the bridge's options (config.c).  A VbConfig is filled once
 *	  by vb_config_load() and only read afterwards; each module gets the
 *	  pointer (or the fields it needs) when it is created.
 *
 *-------------------------------------------------------------------------
 */
#ifndef VOLTPAY_CONFIG_H
#define VOLTPAY_CONFIG_H

#include <stdbool.h>

#include <librdkafka/rdkafka.h>

#include "options.h"
#include "util.h"

extern VbStatus vb_config_load(VbConfig *conf, int argc, char **argv, VbError *err);
extern void vb_config_free(VbConfig *conf);
extern VbStatus vb_kconf_set(rd_kafka_conf_t *kconf, const char *name,
							 const char *value, VbError *err);
extern VbStatus vb_config_apply_props(const VbConfig *conf, rd_kafka_conf_t *kconf,
									  VbPropTarget which, VbError *err);
extern VbStatus vb_config_check_props(const VbConfig *conf, VbError *err);

#endif							/* VOLTPAY_CONFIG_H */
