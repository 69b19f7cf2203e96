/*-------------------------------------------------------------------------
 *
 * validate.c
 *	  Field rules of contract v1: UUID, account id, amount, IBAN, BIC,
 *	  e-mail address, RFC 3339 timestamp, names and text lengths.
 *
 * Every validator works on a NUL-terminated, valid UTF-8 string (message.c
 * has verified the encoding), never raises an ERROR for bad input, and
 * allocates only in CurrentMemoryContext.  On failure it sets *detail to a
 * palloc'd predicate without a subject or final period, for example "fails
 * the ISO 13616 mod-97 check"; the caller, who knows the field, completes
 * it as "Field \"debtor.iban\" fails the ISO 13616 mod-97 check.".
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "datatype/timestamp.h"
#include "lib/stringinfo.h"
#include "utils/datetime.h"

#include "voltpay.h"

#define VAL_MAX_ACCOUNT_ID	64
#define VAL_MAX_INT_DIGITS	18
#define VAL_MAX_NAME		140
#define VAL_MAX_EMAIL		254

#define VAL_IS_DIGIT(c)		((c) >= '0' && (c) <= '9')
#define VAL_IS_UPPER(c)		((c) >= 'A' && (c) <= 'Z')
#define VAL_IS_LOWER(c)		((c) >= 'a' && (c) <= 'z')
#define VAL_IS_ALPHA(c)		(VAL_IS_UPPER(c) || VAL_IS_LOWER(c))
#define VAL_IS_ALNUM(c)		(VAL_IS_ALPHA(c) || VAL_IS_DIGIT(c))
#define VAL_TO_UPPER(c)		(VAL_IS_LOWER(c) ? (char) ((c) - 'a' + 'A') : (c))

static bool val_fail(char **detail, const char *fmt, ...) pg_attribute_printf(2, 3);

/*
 * val_fail
 *	  Sets *detail to a palloc'd copy of the formatted predicate (when
 *	  detail is not NULL) and returns false, so that validators can
 *	  "return val_fail(detail, ...)".
 */
static bool
val_fail(char **detail, const char *fmt, ...)
{
	if (detail != NULL)
	{
		StringInfoData buf;

		initStringInfo(&buf);
		for (;;)
		{
			va_list		args;
			int			needed;

			va_start(args, fmt);
			needed = appendStringInfoVA(&buf, fmt, args);
			va_end(args);
			if (needed == 0)
				break;
			enlargeStringInfo(&buf, needed);
		}
		*detail = buf.data;
	}
	return false;
}

/*
 * val_hex
 *	  Value of one hexadecimal digit, or -1.
 */
static int
val_hex(char c)
{
	if (VAL_IS_DIGIT(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * val_digits
 *	  Parses exactly n decimal digits at s into *out; false when any of them
 *	  is not a digit (a NUL stops the scan, so s may be short).
 */
static bool
val_digits(const char *s, int n, int *out)
{
	int			v = 0;

	for (int i = 0; i < n; i++)
	{
		if (!VAL_IS_DIGIT(s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

/*
 * vp_utf8_length
 *	  Number of characters (Unicode code points) of a valid UTF-8 string:
 *	  every byte that is not a continuation byte starts one.
 */
int
vp_utf8_length(const char *s)
{
	int			n = 0;

	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
	{
		if ((*p & 0xC0) != 0x80)
			n++;
	}
	return n;
}

/*
 * vp_parse_uuid
 *	  Parses the canonical text form of a UUID, 8-4-4-4-12 hexadecimal
 *	  digits in any case, with the hyphens and nothing else (no braces, no
 *	  spaces).  Returns false, leaving *out undefined, for anything else.
 */
bool
vp_parse_uuid(const char *s, pg_uuid_t *out)
{
	int			byte = 0;

	if (strlen(s) != 36)
		return false;
	for (int i = 0; i < 36;)
	{
		int			hi,
					lo;

		if (i == 8 || i == 13 || i == 18 || i == 23)
		{
			if (s[i] != '-')
				return false;
			i++;
			continue;
		}
		hi = val_hex(s[i]);
		lo = val_hex(s[i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out->data[byte++] = (unsigned char) (hi << 4 | lo);
		i += 2;
	}
	return byte == UUID_LEN;
}

/*
 * vp_check_account_id
 *	  An account id is 1 to 64 characters of [A-Za-z0-9._-].
 */
bool
vp_check_account_id(const char *s, char **detail)
{
	size_t		len = strlen(s);

	if (len == 0)
		return val_fail(detail, "is empty");
	for (size_t i = 0; i < len; i++)
	{
		char		c = s[i];

		if (!VAL_IS_ALNUM(c) && c != '.' && c != '_' && c != '-')
			return val_fail(detail, "contains a character other than A-Z, a-z, 0-9, \".\", \"_\" and \"-\"");
	}
	if (len > VAL_MAX_ACCOUNT_ID)
		return val_fail(detail, "is longer than %d characters", VAL_MAX_ACCOUNT_ID);
	return true;
}

/*
 * vp_parse_amount
 *	  Checks the text of an amount (a JSON string, or the literal text of a
 *	  JSON number) against the amount rules and builds its canonical form.
 *
 *	  The text must be digits with an optional "." and fraction digits: no
 *	  sign, no exponent, no spaces, no leading zero in a multi-digit integer
 *	  part, at least one digit on both sides of the point, at most 18
 *	  integer digits and at most minor_unit fraction digits, and a value
 *	  above zero.  It is handled as text throughout, never as a float.
 *
 *	  *canonical receives the integer part, then, when minor_unit > 0, "."
 *	  and the fraction padded with zeros to minor_unit digits: "12.5" with
 *	  minor unit 2 gives "12.50", "100" with minor unit 0 gives "100".
 */
bool
vp_parse_amount(const char *s, int minor_unit, char **canonical, char **detail)
{
	const char *p = s;
	const char *int_start;
	const char *frac_start = NULL;
	int			n_int;
	int			n_frac = 0;
	bool		nonzero = false;
	char	   *out;
	char	   *o;

	Assert(minor_unit >= 0 && minor_unit <= 9);

	if (*p == '\0')
		return val_fail(detail, "is empty");
	if (*p == '-' || *p == '+')
		return val_fail(detail, "has a sign; amounts are unsigned and above zero");

	int_start = p;
	while (VAL_IS_DIGIT(*p))
	{
		if (*p != '0')
			nonzero = true;
		p++;
	}
	n_int = (int) (p - int_start);
	if (n_int == 0)
		return val_fail(detail, "must start with a digit");

	if (*p == '.')
	{
		p++;
		frac_start = p;
		while (VAL_IS_DIGIT(*p))
		{
			if (*p != '0')
				nonzero = true;
			p++;
		}
		n_frac = (int) (p - frac_start);
		if (n_frac == 0)
			return val_fail(detail, "must have digits after the decimal point");
	}

	if (*p == 'e' || *p == 'E')
		return val_fail(detail, "has an exponent; write the amount as plain decimal digits");
	if (*p != '\0')
		return val_fail(detail, "is not a plain decimal number (digits with an optional \".\" and fraction)");
	if (n_int > 1 && *int_start == '0')
		return val_fail(detail, "has a leading zero");
	if (n_int > VAL_MAX_INT_DIGITS)
		return val_fail(detail, "has %d integer digits, more than %d",
						n_int, VAL_MAX_INT_DIGITS);
	if (n_frac > minor_unit)
	{
		if (minor_unit == 0)
			return val_fail(detail, "has %d fraction digit%s but the currency has no minor unit",
							n_frac, n_frac == 1 ? "" : "s");
		return val_fail(detail, "has %d fraction digits but the currency allows at most %d",
						n_frac, minor_unit);
	}
	if (!nonzero)
		return val_fail(detail, "must be greater than zero");

	out = palloc(n_int + 1 + minor_unit + 1);
	memcpy(out, int_start, n_int);
	o = out + n_int;
	if (minor_unit > 0)
	{
		*o++ = '.';
		if (n_frac > 0)
			memcpy(o, frac_start, n_frac);
		memset(o + n_frac, '0', minor_unit - n_frac);
		o += minor_unit;
	}
	*o = '\0';
	*canonical = out;
	return true;
}

/*
 * val_iban_bban
 *	  Checks the BBAN of an IBAN of country `country` (upper case, len
 *	  characters) against the registry's format string of the country,
 *	  "<count>!<class>..." with class n (digits), a (upper-case letters) or
 *	  c (upper-case letters and digits).  On failure the detail names the
 *	  first character out of place, counted from 1 in the whole IBAN.
 */
static bool
val_iban_bban(const char *bban, int len, const char *country,
			  const char *format, char **detail)
{
	int			pos = 0;

	for (const char *f = format; *f;)
	{
		int			count = 0;
		char		cls;

		while (VAL_IS_DIGIT(*f))
			count = count * 10 + (*f++ - '0');
		if (*f == '!')
			f++;
		cls = *f;
		if (cls == '\0' || count == 0)
			elog(ERROR, "voltpay: bad IBAN registry format \"%s\" of %s",
				 format, country);
		f++;
		for (int k = 0; k < count; k++, pos++)
		{
			char		c = pos < len ? bban[pos] : '\0';
			bool		ok;
			const char *want;

			switch (cls)
			{
				case 'n':
					ok = VAL_IS_DIGIT(c);
					want = "a digit";
					break;
				case 'a':
					ok = VAL_IS_UPPER(c);
					want = "a letter";
					break;
				default:
					ok = VAL_IS_DIGIT(c) || VAL_IS_UPPER(c);
					want = "a letter or a digit";
					break;
			}
			if (!ok)
				return val_fail(detail, "has \"%c\" at position %d where the IBAN registry's format of %s (%s) has %s",
								c, pos + 5, country, format, want);
		}
	}
	if (pos != len)
		elog(ERROR, "voltpay: IBAN registry format \"%s\" of %s does not describe %d characters",
			 format, country, len);
	return true;
}

/*
 * vp_check_iban
 *	  Checks an IBAN per ISO 13616: after removing spaces and upper-casing
 *	  letters it must be letters and digits only, start with a country of
 *	  the IBAN registry, have that country's length, carry check digits 02
 *	  to 98, have a BBAN of the structure the registry gives for the
 *	  country (val_iban_bban), and pass the ISO 7064 mod-97-10 check (the
 *	  number formed by the BBAN, then the country and check digits, letters
 *	  as 10..35, leaves remainder 1 when divided by 97).  *normalised
 *	  receives the compact, upper-case form.
 *
 *	  The structure is checked before mod-97 so that a digit replaced by a
 *	  letter (which mod-97 alone can let through) gets the precise detail.
 */
bool
vp_check_iban(const char *s, char **normalised, char **detail)
{
	size_t		srclen = strlen(s);
	char	   *iban = palloc(srclen + 1);
	int			len = 0;
	int			expected;
	const char *bban_format;
	char		country[3];
	int			check;
	int			rem = 0;

	for (size_t i = 0; i < srclen; i++)
	{
		char		c = s[i];

		if (c == ' ')
			continue;
		if (!VAL_IS_ALNUM(c))
			return val_fail(detail, "contains a character other than letters, digits and spaces");
		iban[len++] = VAL_TO_UPPER(c);
	}
	iban[len] = '\0';

	if (len == 0)
		return val_fail(detail, "is empty");
	if (len < 4 || !VAL_IS_UPPER(iban[0]) || !VAL_IS_UPPER(iban[1]))
		return val_fail(detail, "does not start with a two-letter country code");
	country[0] = iban[0];
	country[1] = iban[1];
	country[2] = '\0';
	expected = vp_iban_length(country, &bban_format);
	if (expected < 0)
		return val_fail(detail, "has country code \"%s\", which is not in the ISO 13616 IBAN registry",
						country);
	if (len != expected)
		return val_fail(detail, "has %d characters but IBANs of %s have %d",
						len, country, expected);
	if (!val_digits(iban + 2, 2, &check))
		return val_fail(detail, "does not have two check digits after the country code");
	if (check < 2 || check > 98)
		return val_fail(detail, "has check digits %02d, outside 02 to 98", check);
	if (!val_iban_bban(iban + 4, len - 4, country, bban_format, detail))
		return false;

	for (int k = 0; k < len; k++)
	{
		char		c = iban[(k + 4) % len];

		if (VAL_IS_DIGIT(c))
			rem = (rem * 10 + (c - '0')) % 97;
		else
			rem = (rem * 100 + (c - 'A' + 10)) % 97;
	}
	if (rem != 1)
		return val_fail(detail, "fails the ISO 13616 mod-97 check");

	*normalised = iban;
	return true;
}

/*
 * vp_check_bic
 *	  Checks a BIC per ISO 9362:2014: 4 letters or digits (business party
 *	  prefix; before 2014 the "bank code" was 4 letters, and the 2014
 *	  edition opened it to digits), 2 letters forming an ISO 3166-1 country
 *	  code, 2 letters or digits (business party suffix, formerly location),
 *	  and optionally 3 letters or digits (branch), so 8 or 11 characters.
 *	  Lower-case letters are accepted; *normalised receives the upper-case
 *	  form.
 */
bool
vp_check_bic(const char *s, char **normalised, char **detail)
{
	size_t		len = strlen(s);
	char	   *bic;
	char		country[3];

	if (len != 8 && len != 11)
		return val_fail(detail, "must have 8 or 11 characters, not %d", (int) len);
	bic = palloc(len + 1);
	for (size_t i = 0; i < len; i++)
	{
		if (!VAL_IS_ALNUM(s[i]))
			return val_fail(detail, "contains a character other than letters and digits");
		bic[i] = VAL_TO_UPPER(s[i]);
	}
	bic[len] = '\0';
	for (int i = 4; i < 6; i++)
	{
		if (!VAL_IS_UPPER(bic[i]))
			return val_fail(detail, "must have letters at positions 5 and 6 (the country code)");
	}
	country[0] = bic[4];
	country[1] = bic[5];
	country[2] = '\0';
	if (!vp_is_country_code(country))
		return val_fail(detail, "has country code \"%s\", which is not an ISO 3166-1 country",
						country);
	*normalised = bic;
	return true;
}

/*
 * val_email_domain_ok
 *	  A domain of an e-mail address: at least one dot, and no empty label
 *	  (no leading, trailing or doubled dot).
 */
static bool
val_email_domain_ok(const char *d)
{
	bool		dot = false;
	bool		label_empty = true;

	for (const char *p = d; *p; p++)
	{
		if (*p == '.')
		{
			if (label_empty)
				return false;
			dot = true;
			label_empty = true;
		}
		else
			label_empty = false;
	}
	return dot && !label_empty;
}

/*
 * vp_check_email
 *	  An e-mail address of contract v1: at most 254 characters, no spaces
 *	  or control characters, exactly one "@", a non-empty local part before
 *	  it, and after it a domain with at least one dot and no empty label.
 *	  Deliberately not a full RFC 5321 parser: delivery is what really
 *	  validates an address.
 */
bool
vp_check_email(const char *s, char **detail)
{
	const char *at = NULL;

	if (*s == '\0')
		return val_fail(detail, "is empty");
	if (vp_utf8_length(s) > VAL_MAX_EMAIL)
		return val_fail(detail, "is longer than %d characters", VAL_MAX_EMAIL);
	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
	{
		if (*p <= 0x20 || *p == 0x7F ||
			(*p == 0xC2 && p[1] >= 0x80 && p[1] <= 0xA0))
			return val_fail(detail, "contains a space or a control character");
		if (*p == '@')
		{
			if (at != NULL)
				return val_fail(detail, "contains more than one \"@\"");
			at = (const char *) p;
		}
	}
	if (at == NULL)
		return val_fail(detail, "has no \"@\"");
	if (at == s)
		return val_fail(detail, "has no local part before the \"@\"");
	if (!val_email_domain_ok(at + 1))
		return val_fail(detail, "does not have a domain with a dot after the \"@\"");
	return true;
}

/*
 * vp_check_name
 *	  A party name: 1 to 140 characters (code points, not bytes), no
 *	  control characters (U+0000-U+001F, U+007F-U+009F), not only spaces.
 */
bool
vp_check_name(const char *s, char **detail)
{
	bool		only_spaces = true;
	int			len;

	if (*s == '\0')
		return val_fail(detail, "is empty");
	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
	{
		if (*p < 0x20 || *p == 0x7F || (*p == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F))
			return val_fail(detail, "contains a control character");
		if (*p != ' ')
			only_spaces = false;
	}
	if (only_spaces)
		return val_fail(detail, "contains only spaces");
	len = vp_utf8_length(s);
	if (len > VAL_MAX_NAME)
		return val_fail(detail, "has %d characters, more than %d", len, VAL_MAX_NAME);
	return true;
}

/*
 * vp_parse_rfc3339
 *	  Parses an RFC 3339 date-time with a mandatory offset:
 *
 *		YYYY-MM-DDTHH:MM:SS[.fraction](Z|+hh:mm|-hh:mm)
 *
 *	  "T" and "Z" may be lower case (RFC 3339 section 5.6); a space instead of
 *	  "T" is not accepted.  The date must exist (days in month, leap years),
 *	  hours 00-23, minutes 00-59, seconds 00-60 (a leap second 60 counts as
 *	  the next minute's 00, as PostgreSQL does), offsets up to 23:59.  A
 *	  fraction of any length is rounded half up to microseconds.
 *
 *	  The conversion is done here with date2j() and plain arithmetic, not
 *	  through PostgreSQL's input functions, which raise errors.
 */
bool
vp_parse_rfc3339(const char *s, TimestampTz *out, char **detail)
{
	const char *p = s;
	int			year,
				mon,
				mday,
				hour,
				min,
				sec;
	int64		usec = 0;
	int			offset_sec = 0;
	int64		days;
	TimestampTz ts;

	if (!val_digits(p, 4, &year) || p[4] != '-' ||
		!val_digits(p + 5, 2, &mon) || p[7] != '-' ||
		!val_digits(p + 8, 2, &mday))
		return val_fail(detail, "is not an RFC 3339 timestamp: it must start with a date YYYY-MM-DD");
	p += 10;
	if (*p != 'T' && *p != 't')
		return val_fail(detail, "is not an RFC 3339 timestamp: the date must be followed by \"T\" and a time");
	p++;
	if (!val_digits(p, 2, &hour) || p[2] != ':' ||
		!val_digits(p + 3, 2, &min) || p[5] != ':' ||
		!val_digits(p + 6, 2, &sec))
		return val_fail(detail, "is not an RFC 3339 timestamp: the time must be HH:MM:SS");
	p += 8;
	if (*p == '.')
	{
		int			n = 0;

		p++;
		if (!VAL_IS_DIGIT(*p))
			return val_fail(detail, "is not an RFC 3339 timestamp: a \".\" must be followed by digits");
		for (; VAL_IS_DIGIT(*p); p++, n++)
		{
			if (n < 6)
				usec = usec * 10 + (*p - '0');
			else if (n == 6 && *p >= '5')
				usec++;
		}
		for (; n < 6; n++)
			usec *= 10;
	}
	if (*p == 'Z' || *p == 'z')
		p++;
	else if (*p == '+' || *p == '-')
	{
		int			oh,
					om;

		if (!val_digits(p + 1, 2, &oh) || p[3] != ':' || !val_digits(p + 4, 2, &om))
			return val_fail(detail, "is not an RFC 3339 timestamp: the offset must be Z, +hh:mm or -hh:mm");
		if (oh > 23 || om > 59)
			return val_fail(detail, "has an offset out of range");
		offset_sec = (oh * 60 + om) * 60;
		if (*p == '-')
			offset_sec = -offset_sec;
		p += 6;
	}
	else if (*p == '\0')
		return val_fail(detail, "has no UTC offset; end it with Z or +hh:mm");
	else
		return val_fail(detail, "is not an RFC 3339 timestamp: the offset must be Z, +hh:mm or -hh:mm");
	if (*p != '\0')
		return val_fail(detail, "has unexpected characters after the offset");

	if (mon < 1 || mon > 12)
		return val_fail(detail, "has month %02d, outside 01 to 12", mon);
	if (mday < 1 || mday > day_tab[isleap(year) ? 1 : 0][mon - 1])
		return val_fail(detail, "has day %02d, which month %02d of %04d does not have",
						mday, mon, year);
	if (hour > 23 || min > 59 || sec > 60)
		return val_fail(detail, "has a time of day out of range");

	days = (int64) date2j(year, mon, mday) - POSTGRES_EPOCH_JDATE;
	ts = ((days * HOURS_PER_DAY + hour) * MINS_PER_HOUR + min) * SECS_PER_MINUTE + sec;
	ts = (ts - offset_sec) * USECS_PER_SEC + usec;
	if (!IS_VALID_TIMESTAMP(ts))
		return val_fail(detail, "is out of the timestamp range");
	*out = ts;
	return true;
}
