/*-------------------------------------------------------------------------
 *
 * jsonout.c
 *	  JSON lines shared by the tools (see jsonout.h): jansson builds and
 *	  writes the objects, OpenSSL encodes base64.
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "cli.h"
#include "jsonout.h"

/*
 * jo_text
 *	  A JSON string holding s/len when it is text: valid UTF-8 (jansson
 *	  checks it: shortest forms, no surrogates) with no NUL byte.  NULL
 *	  when it is not.
 */
json_t *
jo_text(const void *s, size_t len)
{
	if (len > 0 && memchr(s, '\0', len) != NULL)
		return NULL;
	return json_stringn(len > 0 ? s : "", len);
}

/*
 * jo_base64
 *	  A JSON string holding d/len in base64 (RFC 4648, padded, no line
 *	  breaks).
 */
json_t *
jo_base64(const void *d, size_t len)
{
	unsigned char *buf;
	int			n;
	json_t	   *v;

	if (len > (size_t) INT_MAX / 4 * 3)
		cli_fatal(1, "%zu bytes are too many for base64", len);
	buf = malloc((len + 2) / 3 * 4 + 1);
	if (buf == NULL)
		cli_fatal(1, "out of memory");
	n = EVP_EncodeBlock(buf, d, (int) len);
	v = json_stringn_nocheck((const char *) buf, (size_t) n);
	free(buf);
	if (v == NULL)
		cli_fatal(1, "out of memory");
	return v;
}

/*
 * jo_set
 *	  Sets obj[name] = value, taking the reference to value.  A NULL value
 *	  (what jansson's constructors return when out of memory or given
 *	  bytes that are not UTF-8) or a failed set is fatal.
 */
void
jo_set(json_t *obj, const char *name, json_t *value)
{
	if (value == NULL)
		cli_fatal(1, "could not make the JSON value of \"%s\"", name);
	if (json_object_set_new(obj, name, value) != 0)
		cli_fatal(1, "could not set \"%s\" in a JSON object (not UTF-8, or out of memory)",
				  name);
}

/*
 * jo_set_bytes
 *	  Sets name to d/len as a string when it is text, else name_b64 to its
 *	  base64; name is null when d is NULL.
 */
void
jo_set_bytes(json_t *obj, const char *name, const void *d, size_t len)
{
	json_t	   *v;
	char		b64name[128];

	if (d == NULL)
	{
		jo_set(obj, name, json_null());
		return;
	}
	v = jo_text(d, len);
	if (v != NULL)
	{
		jo_set(obj, name, v);
		return;
	}
	snprintf(b64name, sizeof(b64name), "%s_b64", name);
	jo_set(obj, b64name, jo_base64(d, len));
}

/*
 * jo_write_line
 *	  Writes obj compactly (members in insertion order) and a newline to
 *	  fp, then releases obj.  A write error is fatal.
 */
void
jo_write_line(FILE *fp, json_t *obj)
{
	/* One string and one write: json_dumpf would fwrite every token. */
	char	   *line = json_dumps(obj, JSON_COMPACT);

	if (line == NULL)
		cli_fatal(1, "out of memory");
	if (fputs(line, fp) == EOF || fputc('\n', fp) == EOF)
		cli_fatal(1, "could not write a JSON line: %s", strerror(errno));
	free(line);
	json_decref(obj);
}
