/*-------------------------------------------------------------------------
 *
 * iso_tables.c
 *	  Reference tables of contract v1: ISO 4217 currencies with their minor
 *	  units, ISO 13616 IBAN lengths by country, ISO 3166-1 alpha-2 codes.
 *
 * Every table is a static array sorted by code (strcmp order) and searched
 * with bsearch().  Keep them sorted when editing: assertion-enabled builds
 * check the order (iso_check_sorted) on every lookup.
 *
 * Sources and choices:
 *
 *	  ISO 4217 List One as published by the maintenance agency (SIX) on
 *	  2026-01-01.  All codes with a numeric minor unit are listed, including
 *	  the fund codes (BOV, CHE, CHW, CLF, COU, MXV, USN, UYI, UYW) and XAD.
 *	  Codes whose minor unit is "N.A." are left out on purpose: precious
 *	  metals (XAU, XAG, XPD, XPT), bond market units (XBA-XBD), XDR, XSU,
 *	  XUA and the testing/no-currency codes XTS and XXX.  An amount in them
 *	  has no defined number of fraction digits, so contract v1 cannot say
 *	  what a valid amount is.  Withdrawn codes are not listed either (for
 *	  example HRK since 2023, SLL, ZWL, ANG replaced by XCG, and BGN since
 *	  Bulgaria adopted the euro on 2026-01-01).
 *
 *	  IBAN lengths and BBAN formats: the SWIFT IBAN registry (ISO 13616),
 *	  release 101, 89 countries; the format strings are copied as the
 *	  registry writes them ("4!a6!n8!n" for GB) and interpreted by
 *	  vp_check_iban().
 *	  Territories that use another country's IBAN prefix (for example
 *	  Guadeloupe uses FR, Jersey uses GB, Aland uses FI) need no entry.
 *
 *	  Country codes: the 249 officially assigned ISO 3166-1 alpha-2 codes,
 *	  plus XK (Kosovo), a user-assigned code that SWIFT uses in BICs and the
 *	  IBAN registry uses for Kosovo's IBANs.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <stdlib.h>

#include "voltpay.h"

typedef struct IsoCurrency
{
	const char *code;
	int			minor_unit;
} IsoCurrency;

typedef struct IsoIbanCountry
{
	const char *country;
	int			length;
	const char *bban;			/* the registry's BBAN format, "8!n10!n" */
} IsoIbanCountry;

/* ISO 4217 List One (2026-01-01), codes with a minor unit, sorted. */
static const IsoCurrency iso_currencies[] = {
	{"AED", 2}, {"AFN", 2}, {"ALL", 2}, {"AMD", 2}, {"AOA", 2}, {"ARS", 2},
	{"AUD", 2}, {"AWG", 2}, {"AZN", 2}, {"BAM", 2}, {"BBD", 2}, {"BDT", 2},
	{"BHD", 3}, {"BIF", 0}, {"BMD", 2}, {"BND", 2}, {"BOB", 2}, {"BOV", 2},
	{"BRL", 2}, {"BSD", 2}, {"BTN", 2}, {"BWP", 2}, {"BYN", 2}, {"BZD", 2},
	{"CAD", 2}, {"CDF", 2}, {"CHE", 2}, {"CHF", 2}, {"CHW", 2}, {"CLF", 4},
	{"CLP", 0}, {"CNY", 2}, {"COP", 2}, {"COU", 2}, {"CRC", 2}, {"CUP", 2},
	{"CVE", 2}, {"CZK", 2}, {"DJF", 0}, {"DKK", 2}, {"DOP", 2}, {"DZD", 2},
	{"EGP", 2}, {"ERN", 2}, {"ETB", 2}, {"EUR", 2}, {"FJD", 2}, {"FKP", 2},
	{"GBP", 2}, {"GEL", 2}, {"GHS", 2}, {"GIP", 2}, {"GMD", 2}, {"GNF", 0},
	{"GTQ", 2}, {"GYD", 2}, {"HKD", 2}, {"HNL", 2}, {"HTG", 2}, {"HUF", 2},
	{"IDR", 2}, {"ILS", 2}, {"INR", 2}, {"IQD", 3}, {"IRR", 2}, {"ISK", 0},
	{"JMD", 2}, {"JOD", 3}, {"JPY", 0}, {"KES", 2}, {"KGS", 2}, {"KHR", 2},
	{"KMF", 0}, {"KPW", 2}, {"KRW", 0}, {"KWD", 3}, {"KYD", 2}, {"KZT", 2},
	{"LAK", 2}, {"LBP", 2}, {"LKR", 2}, {"LRD", 2}, {"LSL", 2}, {"LYD", 3},
	{"MAD", 2}, {"MDL", 2}, {"MGA", 2}, {"MKD", 2}, {"MMK", 2}, {"MNT", 2},
	{"MOP", 2}, {"MRU", 2}, {"MUR", 2}, {"MVR", 2}, {"MWK", 2}, {"MXN", 2},
	{"MXV", 2}, {"MYR", 2}, {"MZN", 2}, {"NAD", 2}, {"NGN", 2}, {"NIO", 2},
	{"NOK", 2}, {"NPR", 2}, {"NZD", 2}, {"OMR", 3}, {"PAB", 2}, {"PEN", 2},
	{"PGK", 2}, {"PHP", 2}, {"PKR", 2}, {"PLN", 2}, {"PYG", 0}, {"QAR", 2},
	{"RON", 2}, {"RSD", 2}, {"RUB", 2}, {"RWF", 0}, {"SAR", 2}, {"SBD", 2},
	{"SCR", 2}, {"SDG", 2}, {"SEK", 2}, {"SGD", 2}, {"SHP", 2}, {"SLE", 2},
	{"SOS", 2}, {"SRD", 2}, {"SSP", 2}, {"STN", 2}, {"SVC", 2}, {"SYP", 2},
	{"SZL", 2}, {"THB", 2}, {"TJS", 2}, {"TMT", 2}, {"TND", 3}, {"TOP", 2},
	{"TRY", 2}, {"TTD", 2}, {"TWD", 2}, {"TZS", 2}, {"UAH", 2}, {"UGX", 0},
	{"USD", 2}, {"USN", 2}, {"UYI", 0}, {"UYU", 2}, {"UYW", 4}, {"UZS", 2},
	{"VED", 2}, {"VES", 2}, {"VND", 0}, {"VUV", 0}, {"WST", 2}, {"XAD", 2},
	{"XAF", 0}, {"XCD", 2}, {"XCG", 2}, {"XOF", 0}, {"XPF", 0}, {"YER", 2},
	{"ZAR", 2}, {"ZMW", 2}, {"ZWG", 2},
};

/*
 * SWIFT IBAN registry (release 101): total IBAN length and the registry's
 * own BBAN format string by country, sorted.  A format is a sequence of
 * <count>!<class> with class n (digits), a (upper-case letters) or c
 * (upper-case letters and digits); the counts add up to the length minus 4.
 */
static const IsoIbanCountry iso_iban_countries[] = {
	{"AD", 24, "4!n4!n12!c"},
	{"AE", 23, "3!n16!n"},
	{"AL", 28, "8!n16!c"},
	{"AT", 20, "5!n11!n"},
	{"AZ", 28, "4!a20!c"},
	{"BA", 20, "3!n3!n8!n2!n"},
	{"BE", 16, "3!n7!n2!n"},
	{"BG", 22, "4!a4!n2!n8!c"},
	{"BH", 22, "4!a14!c"},
	{"BI", 27, "5!n5!n11!n2!n"},
	{"BR", 29, "8!n5!n10!n1!a1!c"},
	{"BY", 28, "4!c4!n16!c"},
	{"CH", 21, "5!n12!c"},
	{"CR", 22, "4!n14!n"},
	{"CY", 28, "3!n5!n16!c"},
	{"CZ", 24, "4!n16!n"},
	{"DE", 22, "8!n10!n"},
	{"DJ", 27, "5!n5!n11!n2!n"},
	{"DK", 18, "4!n9!n1!n"},
	{"DO", 28, "4!c20!n"},
	{"EE", 20, "2!n14!n"},
	{"EG", 29, "4!n4!n17!n"},
	{"ES", 24, "4!n4!n1!n1!n10!n"},
	{"FI", 18, "3!n11!n"},
	{"FK", 18, "2!a12!n"},
	{"FO", 18, "4!n9!n1!n"},
	{"FR", 27, "5!n5!n11!c2!n"},
	{"GB", 22, "4!a6!n8!n"},
	{"GE", 22, "2!a16!n"},
	{"GI", 23, "4!a15!c"},
	{"GL", 18, "4!n9!n1!n"},
	{"GR", 27, "3!n4!n16!c"},
	{"GT", 28, "4!c20!c"},
	{"HN", 28, "4!a20!n"},
	{"HR", 21, "7!n10!n"},
	{"HU", 28, "3!n4!n1!n15!n1!n"},
	{"IE", 22, "4!a6!n8!n"},
	{"IL", 23, "3!n3!n13!n"},
	{"IQ", 23, "4!a3!n12!n"},
	{"IS", 26, "4!n2!n6!n10!n"},
	{"IT", 27, "1!a5!n5!n12!c"},
	{"JO", 30, "4!a4!n18!c"},
	{"KW", 30, "4!a22!c"},
	{"KZ", 20, "3!n13!c"},
	{"LB", 28, "4!n20!c"},
	{"LC", 32, "4!a24!c"},
	{"LI", 21, "5!n12!c"},
	{"LT", 20, "5!n11!n"},
	{"LU", 20, "3!n13!c"},
	{"LV", 21, "4!a13!c"},
	{"LY", 25, "3!n3!n15!n"},
	{"MC", 27, "5!n5!n11!c2!n"},
	{"MD", 24, "2!c18!c"},
	{"ME", 22, "3!n13!n2!n"},
	{"MK", 19, "3!n10!c2!n"},
	{"MN", 20, "4!n12!n"},
	{"MR", 27, "5!n5!n11!n2!n"},
	{"MT", 31, "4!a5!n18!c"},
	{"MU", 30, "4!a2!n2!n12!n3!n3!a"},
	{"NI", 28, "4!a20!n"},
	{"NL", 18, "4!a10!n"},
	{"NO", 15, "4!n6!n1!n"},
	{"OM", 23, "3!n16!c"},
	{"PK", 24, "4!a16!c"},
	{"PL", 28, "8!n16!n"},
	{"PS", 29, "4!a21!c"},
	{"PT", 25, "4!n4!n11!n2!n"},
	{"QA", 29, "4!a21!c"},
	{"RO", 24, "4!a16!c"},
	{"RS", 22, "3!n13!n2!n"},
	{"RU", 33, "9!n5!n15!c"},
	{"SA", 24, "2!n18!c"},
	{"SC", 31, "4!a2!n2!n16!n3!a"},
	{"SD", 18, "2!n12!n"},
	{"SE", 24, "3!n16!n1!n"},
	{"SI", 19, "5!n8!n2!n"},
	{"SK", 24, "4!n6!n10!n"},
	{"SM", 27, "1!a5!n5!n12!c"},
	{"SO", 23, "4!n3!n12!n"},
	{"ST", 25, "4!n4!n11!n2!n"},
	{"SV", 28, "4!a20!n"},
	{"TL", 23, "3!n14!n2!n"},
	{"TN", 24, "2!n3!n13!n2!n"},
	{"TR", 26, "5!n1!n16!c"},
	{"UA", 29, "6!n19!c"},
	{"VA", 22, "3!n15!n"},
	{"VG", 24, "4!a16!n"},
	{"XK", 20, "4!n10!n2!n"},
	{"YE", 30, "4!a4!n18!c"},
};

/* ISO 3166-1 alpha-2 assigned codes plus XK, sorted. */
static const char *const iso_countries[] = {
	"AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT",
	"AU", "AW", "AX", "AZ", "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI",
	"BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS", "BT", "BV", "BW", "BY",
	"BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
	"CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM",
	"DO", "DZ", "EC", "EE", "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK",
	"FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF", "GG", "GH", "GI", "GL",
	"GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
	"HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR",
	"IS", "IT", "JE", "JM", "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN",
	"KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC", "LI", "LK", "LR", "LS",
	"LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
	"ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW",
	"MX", "MY", "MZ", "NA", "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP",
	"NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG", "PH", "PK", "PL", "PM",
	"PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
	"SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM",
	"SN", "SO", "SR", "SS", "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF",
	"TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO", "TR", "TT", "TV", "TW",
	"TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
	"VN", "VU", "WF", "WS", "XK", "YE", "YT", "ZA", "ZM", "ZW",
};

#define ISO_LENGTHOF(a) (sizeof(a) / sizeof((a)[0]))

/*
 * iso_cmp_code
 *	  bsearch/qsort comparator: the key is a NUL-terminated code, each
 *	  element starts with a pointer to one.
 */
static int
iso_cmp_code(const void *key, const void *elem)
{
	return strcmp((const char *) key, *(const char *const *) elem);
}

#ifdef USE_ASSERT_CHECKING
/*
 * iso_check_sorted
 *	  True when the n codes, found every stride bytes from base, are in
 *	  strictly increasing strcmp order (what bsearch needs).
 */
static bool
iso_check_sorted(const void *base, size_t n, size_t stride)
{
	for (size_t i = 1; i < n; i++)
	{
		const char *a = *(const char *const *) ((const char *) base + (i - 1) * stride);
		const char *b = *(const char *const *) ((const char *) base + i * stride);

		if (strcmp(a, b) >= 0)
			return false;
	}
	return true;
}
#endif

/*
 * iso_valid_key
 *	  True when s is exactly len upper-case ASCII letters; anything else
 *	  cannot be in the tables, and is refused before searching.
 */
static bool
iso_valid_key(const char *s, int len)
{
	if (s == NULL)
		return false;
	for (int i = 0; i < len; i++)
	{
		if (s[i] < 'A' || s[i] > 'Z')
			return false;
	}
	return s[len] == '\0';
}

/*
 * vp_currency_minor_unit
 *	  Minor unit of an active ISO 4217 alphabetic code (upper case, exact),
 *	  or -1 when the code is not in the table.
 */
int
vp_currency_minor_unit(const char *code)
{
	const IsoCurrency *c;

	Assert(iso_check_sorted(iso_currencies, ISO_LENGTHOF(iso_currencies),
							sizeof(IsoCurrency)));
	if (!iso_valid_key(code, 3))
		return -1;
	c = bsearch(code, iso_currencies, ISO_LENGTHOF(iso_currencies),
				sizeof(IsoCurrency), iso_cmp_code);
	return c ? c->minor_unit : -1;
}

/*
 * vp_iban_length
 *	  Total IBAN length for an ISO 13616 country code (two upper-case
 *	  letters, NUL-terminated), or -1 when the registry has no such country.
 *	  When bban is not NULL, *bban receives the registry's BBAN format
 *	  string of the country (NULL for an unknown country).
 */
int
vp_iban_length(const char *country, const char **bban)
{
	const IsoIbanCountry *c;

	Assert(iso_check_sorted(iso_iban_countries, ISO_LENGTHOF(iso_iban_countries),
							sizeof(IsoIbanCountry)));
	if (bban != NULL)
		*bban = NULL;
	if (!iso_valid_key(country, 2))
		return -1;
	c = bsearch(country, iso_iban_countries, ISO_LENGTHOF(iso_iban_countries),
				sizeof(IsoIbanCountry), iso_cmp_code);
	if (c == NULL)
		return -1;
	if (bban != NULL)
		*bban = c->bban;
	return c->length;
}

/*
 * vp_is_country_code
 *	  True for an assigned ISO 3166-1 alpha-2 code (two upper-case letters,
 *	  NUL-terminated), and for XK (see the file header).
 */
bool
vp_is_country_code(const char *country)
{
	Assert(iso_check_sorted(iso_countries, ISO_LENGTHOF(iso_countries),
							sizeof(const char *)));
	if (!iso_valid_key(country, 2))
		return false;
	return bsearch(country, iso_countries, ISO_LENGTHOF(iso_countries),
				   sizeof(const char *), iso_cmp_code) != NULL;
}
