/*-------------------------------------------------------------------------
 *
 * jsonout.h
 *	  JSON lines for the tools that write them (the load generator's
 *	  manifest, the topic dump, the transactional producer's manifests),
 *	  on jansson: bytes as a JSON string when they are text, else as
 *	  base64 (OpenSSL's EVP_EncodeBlock) under NAME_b64, and one compact
 *	  object per line.  Failures (out of memory, a write error) are fatal.
 *
 *-------------------------------------------------------------------------
 */
#ifndef VOLTPAY_TOOLS_JSONOUT_H
#define VOLTPAY_TOOLS_JSONOUT_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

extern json_t *jo_text(const void *s, size_t len);
extern json_t *jo_base64(const void *d, size_t len);
extern void jo_set(json_t *obj, const char *name, json_t *value);
extern void jo_set_bytes(json_t *obj, const char *name, const void *d, size_t len);
extern void jo_write_line(FILE *fp, json_t *obj);

#endif							/* VOLTPAY_TOOLS_JSONOUT_H */
