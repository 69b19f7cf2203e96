/*
 * ext_fields.c
 *	  libFuzzer harness of the field validators (extension/validate.c) and
 *	  reference tables (extension/iso_tables.c) called directly, so that
 *	  the fuzzer need not build a whole message to reach one.
 *
 * Input: byte 0 picks the validator (modulo 8), byte 1 the minor unit of
 * an amount (modulo 10), the rest is the field's text.  The validators
 * require valid UTF-8 without NUL bytes (message.c guarantees it), so
 * other inputs are skipped.  Checked beyond ASan and UBSan: a rejection
 * has a detail that is valid UTF-8; an accepted IBAN, BIC or amount
 * validates again to itself in its normalised form.
 */
#include "postgres.h"

#include <stdio.h>
#include <stdlib.h>

#include "mb/pg_wchar.h"

#include "voltpay.h"
#include "shim.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fail(const char *what, const char *s)
{
	fprintf(stderr, "%s: %s\n", what, s ? s : "(null)");
	abort();
}

static void
check_detail(bool ok, const char *detail)
{
	size_t		len;

	if (ok)
		return;
	if (detail == NULL)
		fail("rejected without a detail", NULL);
	len = strlen(detail);
	if (pg_encoding_verifymbstr(PG_UTF8, detail, (int) len) != (int) len)
		fail("detail is not valid UTF-8", detail);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *s;
	char	   *out = NULL;
	char	   *again = NULL;
	char	   *detail = NULL;
	int			minor;
	bool		ok;
	size_t		len;

	if (size < 2)
		return 0;
	len = size - 2;
	if (memchr(data + 2, '\0', len) != NULL ||
		pg_encoding_verifymbstr(PG_UTF8, (const char *) data + 2, (int) len) != (int) len)
		return 0;
	s = malloc(len + 1);
	memcpy(s, data + 2, len);
	s[len] = '\0';
	minor = data[1] % 10;

	switch (data[0] % 8)
	{
		case 0:
			{
				pg_uuid_t	u;

				(void) vp_parse_uuid(s, &u);
				break;
			}
		case 1:
			ok = vp_check_account_id(s, &detail);
			check_detail(ok, detail);
			break;
		case 2:
			ok = vp_parse_amount(s, minor, &out, &detail);
			check_detail(ok, detail);
			if (ok && (!vp_parse_amount(out, minor, &again, &detail) ||
					   strcmp(out, again) != 0))
				fail("canonical amount does not parse to itself", out);
			break;
		case 3:
			ok = vp_check_iban(s, &out, &detail);
			check_detail(ok, detail);
			if (ok && (!vp_check_iban(out, &again, &detail) || strcmp(out, again) != 0))
				fail("normalised IBAN does not validate to itself", out);
			if (ok)
			{
				char		country[3] = {out[0], out[1], '\0'};

				if (vp_iban_length(country, NULL) != (int) strlen(out))
					fail("accepted IBAN of the wrong length", out);
			}
			break;
		case 4:
			ok = vp_check_bic(s, &out, &detail);
			check_detail(ok, detail);
			if (ok && (!vp_check_bic(out, &again, &detail) || strcmp(out, again) != 0))
				fail("normalised BIC does not validate to itself", out);
			break;
		case 5:
			ok = vp_check_email(s, &detail);
			check_detail(ok, detail);
			break;
		case 6:
			{
				TimestampTz ts;

				ok = vp_parse_rfc3339(s, &ts, &detail);
				check_detail(ok, detail);
				if (ok && !IS_VALID_TIMESTAMP(ts))
					fail("accepted timestamp out of range", s);
				break;
			}
		default:
			ok = vp_check_name(s, &detail);
			check_detail(ok, detail);
			(void) vp_currency_minor_unit(s);
			(void) vp_is_country_code(s);
			break;
	}
	free(s);
	vp_shim_reset();
	return 0;
}
