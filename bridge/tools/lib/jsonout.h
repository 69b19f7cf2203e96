/*-------------------------------------------------------------------------
 *
 * jsonout.h
 *	  JSON output shared by the tools that write JSON lines (the load
 *	  generator's manifest, the topic dump): strings, base64 for bytes
 *	  that are not text, and the UTF-8 check that decides between them.
 *
 *-------------------------------------------------------------------------
 */
#ifndef VOLTPAY_TOOLS_JSONOUT_H
#define VOLTPAY_TOOLS_JSONOUT_H

#include <stddef.h>
#include <stdio.h>

extern int	jo_is_text(const unsigned char *s, size_t len);
extern void jo_string(FILE *fp, const char *s, size_t len);
extern void jo_base64(FILE *fp, const unsigned char *d, size_t len);

#endif							/* VOLTPAY_TOOLS_JSONOUT_H */
