/*
 * ext_message.c
 *	  libFuzzer harness of vp_message_parse() (extension/message.c), with
 *	  the field validators and reference tables it calls.
 *
 * Input: byte 0 is the record key's length n (0xFF: no key), then n bytes
 * of key (fewer if the input ends), then the record value.  Checked on
 * every input, beyond what ASan and UBSan see:
 *
 *	  - a reason and a detail exactly when the message is rejected;
 *	  - the detail is text: valid UTF-8, no NUL byte (it is stored in a text
 *		column and sent as a Kafka header; one that is not would make the
 *		apply raise for the whole batch);
 *	  - an accepted payment's strings are text, its IBANs and BICs are valid
 *		in their normalised form, its amount is canonical.
 *
 * With VP_FUZZ_VERDICTS set in the environment it also prints one line per
 * input: the input's FNV-1a 64-bit hash in hexadecimal, "valid" or the
 * reason code, and the detail, separated by tabs, which
 * fuzz/extension/compare-ext_message.py compares with
 * voltpay.validate_message() (the hash, because libFuzzer may run an input
 * more than once).
 */
#include "postgres.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "mb/pg_wchar.h"

#include "voltpay.h"
#include "shim.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int	print_verdicts = -1;

static uint64_t
fnv1a(const uint8_t *data, size_t size)
{
	uint64_t	h = UINT64_C(14695981039346656037);

	for (size_t i = 0; i < size; i++)
	{
		h ^= data[i];
		h *= UINT64_C(1099511628211);
	}
	return h;
}

/* s with backslash, tab and newline escaped, for one line of output. */
static void
print_escaped(const char *s)
{
	for (; *s; s++)
	{
		if (*s == '\\')
			fputs("\\\\", stdout);
		else if (*s == '\t')
			fputs("\\t", stdout);
		else if (*s == '\n')
			fputs("\\n", stdout);
		else
			putchar(*s);
	}
}

static void
check_text(const char *what, const char *s)
{
	size_t		len;

	if (s == NULL)
		return;
	len = strlen(s);
	if (pg_encoding_verifymbstr(PG_UTF8, s, (int) len) != (int) len)
	{
		fprintf(stderr, "%s is not valid UTF-8: %s\n", what, s);
		abort();
	}
}

static void
check_party(const VpParty *p)
{
	char	   *norm;
	char	   *detail;

	check_text("party name", p->name);
	if (!vp_check_iban(p->iban, &norm, &detail) || strcmp(norm, p->iban) != 0)
	{
		fprintf(stderr, "normalised IBAN %s does not validate to itself\n", p->iban);
		abort();
	}
	if (p->bic != NULL &&
		(!vp_check_bic(p->bic, &norm, &detail) || strcmp(norm, p->bic) != 0))
	{
		fprintf(stderr, "normalised BIC %s does not validate to itself\n", p->bic);
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *key = NULL;
	size_t		keylen = 0;
	const char *value;
	size_t		len;
	VpPayment	p;
	VpReason	r;
	char	   *detail = NULL;
	char	   *copy;

	if (print_verdicts < 0)
		print_verdicts = getenv("VP_FUZZ_VERDICTS") != NULL;
	if (size == 0)
		return 0;
	if (data[0] != 0xFF)
	{
		keylen = Min((size_t) data[0], size - 1);
		key = (const char *) data + 1;
	}
	value = (const char *) data + 1 + keylen;
	len = size - 1 - keylen;

	/* a copy of exactly len bytes, so ASan sees any read past the value */
	copy = malloc(len ? len : 1);
	memcpy(copy, value, len);

	r = vp_message_parse(copy, len, key, keylen, &p, &detail);
	if ((r == VP_OK) != (detail == NULL) || (r != VP_OK && vp_reason_code(r) == NULL))
	{
		fprintf(stderr, "reason %d with detail %s\n", (int) r, detail ? detail : "(null)");
		abort();
	}
	check_text("detail", detail);
	if (r == VP_OK)
	{
		char	   *canon;
		char	   *why;

		check_text("account_id", p.account_id);
		check_text("remittance_info", p.remittance_info);
		check_text("customer_email", p.customer_email);
		check_party(&p.debtor);
		check_party(&p.creditor);
		if (!vp_parse_amount(p.amount, p.minor_unit, &canon, &why) ||
			strcmp(canon, p.amount) != 0)
		{
			fprintf(stderr, "amount %s is not canonical\n", p.amount);
			abort();
		}
	}
	if (print_verdicts)
	{
		printf("%016" PRIx64 "\t%s\t", fnv1a(data, size),
			   r == VP_OK ? "valid" : vp_reason_code(r));
		print_escaped(detail ? detail : "");
		putchar('\n');
	}

	free(copy);
	vp_shim_reset();
	return 0;
}
