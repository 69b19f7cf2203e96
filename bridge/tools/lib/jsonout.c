/*-------------------------------------------------------------------------
 *
 * jsonout.c
 *	  JSON output shared by the tools (see jsonout.h).
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>

#include "jsonout.h"

/*
 * jo_is_text
 *	  True when s/len is valid UTF-8 (shortest forms, no surrogates) with
 *	  no NUL byte, so that JSON can hold it as a string.
 */
int
jo_is_text(const unsigned char *s, size_t len)
{
	size_t		i = 0;

	while (i < len)
	{
		unsigned char c = s[i];
		int			n;
		uint32_t	cp;

		if (c == 0)
			return 0;
		if (c < 0x80)
		{
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0)
			n = 1, cp = c & 0x1f;
		else if ((c & 0xf0) == 0xe0)
			n = 2, cp = c & 0x0f;
		else if ((c & 0xf8) == 0xf0)
			n = 3, cp = c & 0x07;
		else
			return 0;
		if (i + (size_t) n >= len)
			return 0;			/* truncated sequence */
		for (int k = 1; k <= n; k++)
		{
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
			(n == 3 && cp < 0x10000) || cp > 0x10ffff ||
			(cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += (size_t) n + 1;
	}
	return 1;
}

/*
 * jo_string
 *	  Writes s/len (valid UTF-8) as a JSON string: quotes, backslashes and
 *	  control characters escaped, everything else as it is.
 */
void
jo_string(FILE *fp, const char *s, size_t len)
{
	fputc('"', fp);
	for (size_t i = 0; i < len; i++)
	{
		unsigned char ch = (unsigned char) s[i];

		if (ch == '"' || ch == '\\')
			fprintf(fp, "\\%c", ch);
		else if (ch == '\n')
			fputs("\\n", fp);
		else if (ch < 0x20 || ch == 0x7f)
			fprintf(fp, "\\u%04x", ch);
		else
			fputc(ch, fp);
	}
	fputc('"', fp);
}

/*
 * jo_base64
 *	  Writes d/len as a quoted base64 string (RFC 4648, padded).
 */
void
jo_base64(FILE *fp, const unsigned char *d, size_t len)
{
	static const char tbl[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t		i;

	fputc('"', fp);
	for (i = 0; i + 2 < len; i += 3)
	{
		uint32_t	v = (uint32_t) d[i] << 16 | (uint32_t) d[i + 1] << 8 | d[i + 2];

		fputc(tbl[v >> 18], fp);
		fputc(tbl[(v >> 12) & 63], fp);
		fputc(tbl[(v >> 6) & 63], fp);
		fputc(tbl[v & 63], fp);
	}
	if (len - i == 1)
	{
		uint32_t	v = (uint32_t) d[i] << 16;

		fprintf(fp, "%c%c==", tbl[v >> 18], tbl[(v >> 12) & 63]);
	}
	else if (len - i == 2)
	{
		uint32_t	v = (uint32_t) d[i] << 16 | (uint32_t) d[i + 1] << 8;

		fprintf(fp, "%c%c%c=", tbl[v >> 18], tbl[(v >> 12) & 63], tbl[(v >> 6) & 63]);
	}
	fputc('"', fp);
}
