/*-------------------------------------------------------------------------
 *
 * voltpay-loadgen.c
 *	  Produces realistic contract-v1 payment messages to a Kafka topic, keyed
 *	  by account id, with chosen fractions of upstream duplicates, conflicts
 *	  (same message_id, other payload) and invalid messages, and writes a
 *	  manifest of what Kafka acknowledged for test/bridge/checker.py.
 *
 *	  voltpay-loadgen --brokers LIST [--topic T] [--count N] [--rate N]
 *					  [--accounts N] [--first-account N]
 *					  [--duplicate-fraction F]
 *					  [--conflict-fraction F] [--invalid-fraction F]
 *					  [--invalid-kinds LIST] [--email-fraction F]
 *					  [--seed N] [--manifest FILE] [--manifest-payloads]
 *					  [-X key=value]...
 *
 * Valid messages carry IBANs with correct ISO 13616 check digits (and the
 * national check digits of the countries that have simple ones), amounts
 * as exact decimal strings built from integer minor units in EUR, USD,
 * GBP, CHF (2 decimals), JPY (0) and BHD (3), and "seq N" in
 * remittance_info: N counts the valid messages of each account, so the
 * order of an account's events can be checked downstream.
 *
 * The manifest has one JSON object per line for each message whose
 * delivery report succeeded (so it holds only what Kafka acknowledged):
 * message_id, account_id, key, topic, partition, offset, kind (valid,
 * duplicate, conflict, invalid), variant (for invalid: bad_iban,
 * bad_amount, invalid_json, missing_field, key_mismatch,
 * unknown_currency, and with --invalid-kinds all also empty, tombstone,
 * too_large, binary, deep_json, bad_field; huge, 1.5 MB, only when named),
 * expect (applied, duplicate,
 * rejected), reason (expected rejection reason), sha256 of the value,
 * seq, amount, currency, email, and with --manifest-payloads the value
 * ("payload", or "payload_b64" when it is not UTF-8 text).
 *
 * The producer is idempotent with acks=all.  Exit status: 0 when every
 * message was acknowledged, 1 when some were not (or on interrupt), 2 on
 * bad options.
 *
 *-------------------------------------------------------------------------
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <openssl/evp.h>

#include "lib/cli.h"
#include "lib/jsonout.h"

#define LG_RING_SIZE		4096	/* recent valid messages for duplicates */
#define LG_TOO_LARGE_BYTES	(70 * 1024)
#define LG_HUGE_BYTES		(1500 * 1000)	/* above Kafka's default 1 MB limits */
#define LG_MAX_PAYLOAD		(LG_HUGE_BYTES + 64 * 1024)

/* Set by SIGINT/SIGTERM. */
static volatile sig_atomic_t run = 1;

/*-------------------------------------------------------------------------
 * Random numbers: xoshiro256** seeded through splitmix64, so that a seed
 * reproduces the same messages (except created_at, taken from the clock).
 *-------------------------------------------------------------------------
 */
static uint64_t lg_rng[4];

/*
 * lg_splitmix
 *	  One step of splitmix64, used to expand the seed.
 */
static uint64_t
lg_splitmix(uint64_t *x)
{
	uint64_t	z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/*
 * lg_seed
 *	  Seeds the generator.
 */
static void
lg_seed(uint64_t seed)
{
	int			i;

	for (i = 0; i < 4; i++)
		lg_rng[i] = lg_splitmix(&seed);
}

static inline uint64_t
lg_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/*
 * lg_next
 *	  Next 64 random bits.
 */
static uint64_t
lg_next(void)
{
	uint64_t	result = lg_rotl(lg_rng[1] * 5, 7) * 9;
	uint64_t	t = lg_rng[1] << 17;

	lg_rng[2] ^= lg_rng[0];
	lg_rng[3] ^= lg_rng[1];
	lg_rng[1] ^= lg_rng[2];
	lg_rng[0] ^= lg_rng[3];
	lg_rng[2] ^= t;
	lg_rng[3] = lg_rotl(lg_rng[3], 45);
	return result;
}

/*
 * lg_uniform
 *	  Uniform double in [0, 1).
 */
static double
lg_uniform(void)
{
	return (double) (lg_next() >> 11) * (1.0 / 9007199254740992.0);
}

/*
 * lg_below
 *	  Uniform integer in [0, n); n > 0.
 */
static uint64_t
lg_below(uint64_t n)
{
	return lg_next() % n;
}

/*
 * lg_uuid
 *	  Writes a random (version 4) UUID, 36 characters and a NUL, to out.
 */
static void
lg_uuid(char *out)
{
	uint64_t	hi = lg_next();
	uint64_t	lo = lg_next();

	hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;
	lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
	snprintf(out, 37, "%08x-%04x-%04x-%04x-%012" PRIx64,
			 (unsigned) (hi >> 32), (unsigned) ((hi >> 16) & 0xffff),
			 (unsigned) (hi & 0xffff), (unsigned) (lo >> 48),
			 (uint64_t) (lo & 0xffffffffffffULL));
}

/*
 * lg_sha256_hex
 *	  SHA-256 of data/len as 64 lower-case hex digits and a NUL in out, for
 *	  the manifest: the checker compares it with
 *	  voltpay.idempotency.payload_hash and with dead-letter values.  The
 *	  digest is fetched from OpenSSL once (lg_sha256, freed at exit).
 */
static EVP_MD *lg_sha256;

static void
lg_sha256_hex(const void *data, size_t len, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (lg_sha256 == NULL && (lg_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL)
		cli_fatal(1, "OpenSSL has no SHA-256");
	if (!EVP_Digest(data, len, md, &mdlen, lg_sha256, NULL) || mdlen != 32)
		cli_fatal(1, "SHA-256 failed");
	for (unsigned int i = 0; i < mdlen; i++)
	{
		out[2 * i] = "0123456789abcdef"[md[i] >> 4];
		out[2 * i + 1] = "0123456789abcdef"[md[i] & 15];
	}
	out[2 * mdlen] = '\0';
}

/*-------------------------------------------------------------------------
 * Payment contents.
 *-------------------------------------------------------------------------
 */

/* Currencies and their ISO 4217 minor units. */
static const struct
{
	const char *code;
	int			minor;
}			lg_currencies[] = {
	{"EUR", 2}, {"EUR", 2}, {"EUR", 2}, {"USD", 2}, {"GBP", 2},
	{"CHF", 2}, {"JPY", 0}, {"BHD", 3},
};

/*
 * IBAN formats: country and BBAN pattern ('n' digit, 'a' capital letter,
 * 'c' digit or capital letter).  BE and FR get their national check
 * digits computed (lg_national_check).
 */
static const struct
{
	const char *country;
	const char *bban;
}			lg_ibans[] = {
	{"DE", "nnnnnnnnnnnnnnnnnn"},
	{"GB", "aaaannnnnnnnnnnnnn"},
	{"NL", "aaaannnnnnnnnn"},
	{"AT", "nnnnnnnnnnnnnnnn"},
	{"CH", "nnnnncccccccccccc"},
	{"IE", "aaaannnnnnnnnnnnnn"},
	{"LU", "nnnccccccccccccc"},
	{"BE", "nnnnnnnnnnnn"},
	{"FR", "nnnnnnnnnnnnnnnnnnnnnnn"},
};

static const char *lg_first[] = {
	"Ann", "Bob", "Carla", "David", "Eva", "Farid", "Greta", "Hugo", "Ines",
	"Jan", "Katrin", "Luca", "Maria", "Noah", "Olga", "Pierre", "Quentin",
	"Rosa", "Sven", "Tomasz", "Ulla", "Victor", "Wiebke", "Yusuf", "Zoë",
	"José", "Åsa", "Chloé", "Jürgen", "Siobhán"
};
static const char *lg_last[] = {
	"Smith", "Jones", "Müller", "Schmidt", "Dubois", "Rossi", "García",
	"Nowak", "Jansen", "Peeters", "Murphy", "Novak", "Berg", "Larsen",
	"O'Brien", "Fischer", "Weber", "Martin", "Bernard", "Costa", "Horvat",
	"Kowalski", "Lindqvist", "Meyer", "Wagner", "Becker", "Hoffmann",
	"Schulz", "Keller", "Brown"
};
static const char *lg_first_ascii[] = {
	"ann", "bob", "carla", "david", "eva", "farid", "greta", "hugo", "ines",
	"jan", "katrin", "luca", "maria", "noah", "olga", "pierre", "quentin",
	"rosa", "sven", "tomasz", "ulla", "victor", "wiebke", "yusuf", "zoe",
	"jose", "asa", "chloe", "juergen", "siobhan"
};
static const char *lg_remit[] = {
	"Invoice", "Rent", "Order", "Subscription", "Refund", "Salary",
	"Insurance premium", "Utilities", "Loan repayment", "Membership fee"
};

#define LG_N(a) ((int) (sizeof(a) / sizeof((a)[0])))

/* One party of a payment. */
typedef struct LgParty
{
	char		name[64];
	char		iban[48];
	char		bic[12];		/* "" when absent */
} LgParty;

/* Everything a payment message says. */
typedef struct LgFields
{
	char		message_id[37];
	char		payment_id[37];
	int			account;
	int64_t		minor;			/* amount in minor units */
	int			currency;		/* index into lg_currencies */
	LgParty		debtor;
	LgParty		creditor;
	char		remittance[96];
	char		email[96];		/* "" when absent */
	char		created_at[96];
	long		seq;
} LgFields;

/* What the delivery report needs to write a manifest line. */
typedef struct LgMsg
{
	char		message_id[37]; /* "" when the value has none */
	char		account_id[16];
	char		key[16];		/* "" for a null key */
	const char *kind;
	const char *variant;		/* NULL unless invalid */
	const char *expect;
	const char *reason;			/* NULL unless rejected */
	char		sha256[65];
	long		seq;			/* -1 when none */
	char		amount[32];		/* "" unless known */
	char		currency[8];
	int			email;
	char	   *payload;		/* with --manifest-payloads */
	size_t		payload_len;
	int			null_value;
} LgMsg;

/*
 * Invalid variants, their expected reasons, and whether they are default
 * (2: only when named, not in "all": a huge record needs a topic and
 * brokers that take it, and the producer's message.max.bytes is raised).
 */
static const struct
{
	const char *name;
	const char *reason;
	int			dflt;
}			lg_variants[] = {
	{"bad_iban", "invalid_iban", 1},
	{"bad_amount", "invalid_amount", 1},
	{"invalid_json", "invalid_json", 1},
	{"missing_field", "missing_field", 1},
	{"key_mismatch", "key_mismatch", 1},
	{"unknown_currency", "unknown_currency", 1},
	{"empty", "empty_value", 0},
	{"tombstone", "empty_value", 0},
	{"too_large", "too_large", 0},
	{"binary", "invalid_json", 0},
	{"deep_json", "invalid_json", 0},
	{"bad_field", "invalid_field", 0},
	{"huge", "too_large", 2},
};

#define LG_NVARIANTS LG_N(lg_variants)

/* Options and state. */
static const char *lg_topic = "payment_writer_topic";
static long lg_count = 1000;
static double lg_rate = 0;
static int	lg_accounts = 1000;
static int	lg_first_account = 0;	/* account ids lg_first_account.. */
static double lg_dup_frac = 0;
static double lg_conf_frac = 0;
static double lg_inv_frac = 0;
static double lg_email_frac = 0.3;
static int	lg_variant_on[LG_NVARIANTS];
static int	lg_manifest_payloads = 0;
static FILE *lg_manifest = NULL;
static long *lg_seqs;

static LgFields *lg_ring;
static long lg_ring_n = 0;

static long lg_acked = 0;
static long lg_failed = 0;
static long lg_kind_acked[4];

/*
 * lg_stop
 *	  Signal handler: stop producing, then flush and exit.
 */
static void
lg_stop(int sig)
{
	(void) sig;
	run = 0;
}

/*
 * lg_iban_mod97
 *	  ISO 7064 MOD 97-10 remainder of s with letters as 10..35.
 */
static int
lg_iban_mod97(const char *s)
{
	int			rem = 0;

	for (; *s; s++)
	{
		if (*s >= '0' && *s <= '9')
			rem = (rem * 10 + (*s - '0')) % 97;
		else
			rem = (rem * 100 + (*s - 'A' + 10)) % 97;
	}
	return rem;
}

/*
 * lg_national_check
 *	  Fixes the national check digits inside bban for the countries whose
 *	  rule is simple: BE (last 2 = first 10 mod 97, 97 for 0) and FR (RIB
 *	  key over bank, branch and an all-digit account number).
 */
static void
lg_national_check(const char *country, char *bban)
{
	char		buf[16];

	if (strcmp(country, "BE") == 0)
	{
		long long	v;
		int			k;

		memcpy(buf, bban, 10);
		buf[10] = '\0';
		v = atoll(buf);
		k = (int) (v % 97);
		if (k == 0)
			k = 97;
		snprintf(buf, sizeof(buf), "%02d", k);
		memcpy(bban + 10, buf, 2);
	}
	else if (strcmp(country, "FR") == 0)
	{
		long long	bank, branch, account;
		int			k;

		memcpy(buf, bban, 5);
		buf[5] = '\0';
		bank = atoll(buf);
		memcpy(buf, bban + 5, 5);
		buf[5] = '\0';
		branch = atoll(buf);
		memcpy(buf, bban + 10, 11);
		buf[11] = '\0';
		account = atoll(buf);
		k = 97 - (int) ((89 * bank + 15 * branch + 3 * account) % 97);
		snprintf(buf, sizeof(buf), "%02d", k);
		memcpy(bban + 21, buf, 2);
	}
}

/*
 * lg_make_iban
 *	  Generates a valid IBAN and a matching BIC (bic may be left empty).
 */
static void
lg_make_party(LgParty *p)
{
	int			c = (int) lg_below(LG_N(lg_ibans));
	const char *pat = lg_ibans[c].bban;
	const char *country = lg_ibans[c].country;
	char		bban[36];
	char		tmp[48];
	size_t		i;
	int			check;
	static const char alnum[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

	for (i = 0; pat[i]; i++)
	{
		if (pat[i] == 'n')
			bban[i] = (char) ('0' + lg_below(10));
		else if (pat[i] == 'a')
			bban[i] = (char) ('A' + lg_below(26));
		else
			bban[i] = alnum[lg_below(36)];
	}
	bban[i] = '\0';
	lg_national_check(country, bban);
	snprintf(tmp, sizeof(tmp), "%s%s00", bban, country);
	check = 98 - lg_iban_mod97(tmp);
	snprintf(p->iban, sizeof(p->iban), "%s%02d%s", country, check, bban);

	snprintf(p->name, sizeof(p->name), "%s %s",
			 lg_first[lg_below(LG_N(lg_first))], lg_last[lg_below(LG_N(lg_last))]);

	if (lg_below(10) < 7)
	{
		char		bank[5];

		for (i = 0; i < 4; i++)
			bank[i] = (char) ('A' + lg_below(26));
		bank[4] = '\0';
		snprintf(p->bic, sizeof(p->bic), "%s%s%c%c%s", bank, country,
				 alnum[lg_below(36)], alnum[1 + lg_below(35)],
				 lg_below(2) ? "XXX" : "");
	}
	else
		p->bic[0] = '\0';
}

/*
 * lg_format_amount
 *	  Formats minor units with the currency's number of decimals.
 */
static void
lg_format_amount(int64_t minor, int decimals, char *out, size_t size)
{
	int64_t		scale = 1;
	int			i;

	for (i = 0; i < decimals; i++)
		scale *= 10;
	if (decimals == 0)
		snprintf(out, size, "%" PRId64, minor);
	else
		snprintf(out, size, "%" PRId64 ".%0*" PRId64, minor / scale, decimals,
				 minor % scale);
}

/*
 * lg_now_rfc3339
 *	  The current UTC time as RFC 3339 with milliseconds.
 */
static void
lg_now_rfc3339(char *out, size_t size)
{
	struct timespec ts;
	struct tm	tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
			 tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
}

/*
 * lg_new_fields
 *	  A fresh valid payment for a random account; seq_it says whether it
 *	  takes the account's next sequence number.
 */
static void
lg_new_fields(LgFields *f, int seq_it)
{
	double		u;

	memset(f, 0, sizeof(*f));
	lg_uuid(f->message_id);
	lg_uuid(f->payment_id);
	f->account = lg_first_account + (int) lg_below((uint64_t) lg_accounts);
	f->currency = (int) lg_below(LG_N(lg_currencies));
	/* Log-uniform between 1 and 10^7 minor units. */
	u = lg_uniform();
	f->minor = (int64_t) exp(u * log(1e7));
	if (f->minor < 1)
		f->minor = 1;
	lg_make_party(&f->debtor);
	lg_make_party(&f->creditor);
	f->seq = seq_it ? ++lg_seqs[f->account] : -1;
	if (f->seq >= 0)
		snprintf(f->remittance, sizeof(f->remittance), "%s %u seq %ld",
				 lg_remit[lg_below(LG_N(lg_remit))],
				 (unsigned) (1000 + lg_below(900000)), f->seq);
	else
		snprintf(f->remittance, sizeof(f->remittance), "%s %u",
				 lg_remit[lg_below(LG_N(lg_remit))],
				 (unsigned) (1000 + lg_below(900000)));
	if (lg_uniform() < lg_email_frac)
		snprintf(f->email, sizeof(f->email), "%s.%u@example.com",
				 lg_first_ascii[lg_below(LG_N(lg_first_ascii))],
				 (unsigned) f->account);
	lg_now_rfc3339(f->created_at, sizeof(f->created_at));
}

/* Fields a render may leave out or replace (for invalid variants). */
typedef struct LgRender
{
	const char *omit;			/* field name to leave out */
	const char *amount;			/* replaces the amount */
	const char *currency;		/* replaces the currency */
	const char *created_at;		/* replaces created_at */
} LgRender;

/*
 * lg_party_json
 *	  Appends a party object at p; returns the new end.
 */
static char *
lg_party_json(char *p, const LgParty *party)
{
	p += sprintf(p, "{\"name\":\"%s\",\"iban\":\"%s\"", party->name, party->iban);
	if (party->bic[0])
		p += sprintf(p, ",\"bic\":\"%s\"", party->bic);
	*p++ = '}';
	*p = '\0';
	return p;
}

/*
 * lg_render
 *	  Writes the JSON value of f into buf (LG_MAX_PAYLOAD bytes at least),
 *	  honouring the overrides of r (may be NULL).  Returns the length.
 *	  Names contain no characters needing JSON escapes except the
 *	  apostrophe, which needs none.
 */
static size_t
lg_render(const LgFields *f, const LgRender *r, char *buf)
{
	char	   *p = buf;
	char		amount[32];
	const char *omit = r && r->omit ? r->omit : "";

	lg_format_amount(f->minor, lg_currencies[f->currency].minor, amount, sizeof(amount));
	p += sprintf(p, "{");
	if (strcmp(omit, "message_id") != 0)
		p += sprintf(p, "\"message_id\":\"%s\",", f->message_id);
	if (strcmp(omit, "payment_id") != 0)
		p += sprintf(p, "\"payment_id\":\"%s\",", f->payment_id);
	if (strcmp(omit, "account_id") != 0)
		p += sprintf(p, "\"account_id\":\"acc-%05d\",", f->account);
	if (strcmp(omit, "amount") != 0)
		p += sprintf(p, "\"amount\":\"%s\",", r && r->amount ? r->amount : amount);
	if (strcmp(omit, "currency") != 0)
		p += sprintf(p, "\"currency\":\"%s\",",
					 r && r->currency ? r->currency : lg_currencies[f->currency].code);
	if (strcmp(omit, "debtor") != 0)
	{
		p += sprintf(p, "\"debtor\":");
		p = lg_party_json(p, &f->debtor);
		*p++ = ',';
	}
	if (strcmp(omit, "creditor") != 0)
	{
		p += sprintf(p, "\"creditor\":");
		p = lg_party_json(p, &f->creditor);
		*p++ = ',';
	}
	p += sprintf(p, "\"remittance_info\":\"%s\",", f->remittance);
	if (f->email[0])
		p += sprintf(p, "\"customer_email\":\"%s\",", f->email);
	if (strcmp(omit, "created_at") != 0)
		p += sprintf(p, "\"created_at\":\"%s\",",
					 r && r->created_at ? r->created_at : f->created_at);
	p[-1] = '}';				/* replaces the last comma */
	*p = '\0';
	return (size_t) (p - buf);
}

/*
 * lg_ring_add
 *	  Remembers a valid message for later duplicates and conflicts.
 */
static void
lg_ring_add(const LgFields *f)
{
	lg_ring[lg_ring_n % LG_RING_SIZE] = *f;
	lg_ring_n++;
}

/*
 * lg_ring_pick
 *	  A random remembered valid message, or NULL when there is none.
 */
static const LgFields *
lg_ring_pick(void)
{
	long		n = lg_ring_n < LG_RING_SIZE ? lg_ring_n : LG_RING_SIZE;

	if (n == 0)
		return NULL;
	return &lg_ring[lg_below((uint64_t) n)];
}

/*
 * lg_msg_from
 *	  Fills the manifest fields of m shared by every kind.
 */
static void
lg_msg_from(LgMsg *m, const LgFields *f, const char *kind, const char *expect)
{
	m->kind = kind;
	m->expect = expect;
	snprintf(m->message_id, sizeof(m->message_id), "%s", f->message_id);
	snprintf(m->account_id, sizeof(m->account_id), "acc-%05d", f->account);
	snprintf(m->key, sizeof(m->key), "acc-%05d", f->account);
	m->seq = f->seq;
	lg_format_amount(f->minor, lg_currencies[f->currency].minor, m->amount,
					 sizeof(m->amount));
	snprintf(m->currency, sizeof(m->currency), "%s", lg_currencies[f->currency].code);
	m->email = f->email[0] != '\0';
}

/*
 * lg_make_invalid
 *	  Builds an invalid message of a random enabled variant.  Returns the
 *	  value length; may clear m->key or set m->null_value.
 */
static size_t
lg_make_invalid(LgMsg *m, char *buf)
{
	int			enabled[LG_NVARIANTS];
	int			n = 0;
	int			i;
	int			v;
	LgFields	f;
	LgRender	r;
	size_t		len;
	const char *name;

	for (i = 0; i < LG_NVARIANTS; i++)
		if (lg_variant_on[i])
			enabled[n++] = i;
	v = enabled[lg_below((uint64_t) n)];
	name = lg_variants[v].name;

	lg_new_fields(&f, 0);
	lg_msg_from(m, &f, "invalid", "rejected");
	m->variant = name;
	m->reason = lg_variants[v].reason;
	memset(&r, 0, sizeof(r));

	if (strcmp(name, "bad_iban") == 0)
	{
		/* Same format, wrong check digits. */
		LgParty    *p = lg_below(2) ? &f.debtor : &f.creditor;
		int			cd = (p->iban[2] - '0') * 10 + (p->iban[3] - '0');

		cd = 2 + (cd - 2 + 1 + (int) lg_below(95)) % 97;
		p->iban[2] = (char) ('0' + cd / 10);
		p->iban[3] = (char) ('0' + cd % 10);
		return lg_render(&f, NULL, buf);
	}
	if (strcmp(name, "bad_amount") == 0)
	{
		static char amount[32];
		int			d = lg_currencies[f.currency].minor;

		switch (lg_below(3))
		{
			case 0:				/* one decimal too many */
				lg_format_amount(f.minor * 10 + 1 + (int64_t) lg_below(9), d + 1,
								 amount, sizeof(amount));
				break;
			case 1:				/* negative */
				amount[0] = '-';
				lg_format_amount(f.minor, d, amount + 1, sizeof(amount) - 1);
				break;
			default:			/* exponent notation */
				snprintf(amount, sizeof(amount), "%" PRId64 "e2", f.minor);
				break;
		}
		r.amount = amount;
		return lg_render(&f, &r, buf);
	}
	if (strcmp(name, "invalid_json") == 0)
	{
		m->message_id[0] = '\0';
		m->amount[0] = '\0';
		len = lg_render(&f, NULL, buf);
		switch (lg_below(3))
		{
			case 0:				/* truncated */
				len = len / 2;
				buf[len] = '\0';
				return len;
			case 1:				/* trailing comma */
				buf[len - 1] = ',';
				buf[len] = '}';
				buf[len + 1] = '\0';
				return len + 1;
			default:
				return (size_t) sprintf(buf, "payment %s of %s", f.message_id,
										m->account_id);
		}
	}
	if (strcmp(name, "missing_field") == 0)
	{
		static const char *fields[] = {"amount", "currency", "debtor", "creditor"};

		r.omit = fields[lg_below(4)];
		return lg_render(&f, &r, buf);
	}
	if (strcmp(name, "key_mismatch") == 0)
	{
		snprintf(m->key, sizeof(m->key), "acc-%05d", lg_first_account +
				 (f.account - lg_first_account + 1 +
				  (int) lg_below((uint64_t) (lg_accounts > 1 ? lg_accounts - 1 : 1)))
				 % (lg_accounts > 1 ? lg_accounts : 2));
		if (strcmp(m->key, m->account_id) == 0)
			snprintf(m->key, sizeof(m->key), "acc-x%04d", f.account % 10000);
		return lg_render(&f, NULL, buf);
	}
	if (strcmp(name, "unknown_currency") == 0)
	{
		static const char *codes[] = {"EUX", "ZZZ", "ABC", "QQQ"};
		int			k = (int) lg_below(4);

		r.currency = codes[k];
		m->amount[0] = '\0';
		snprintf(m->currency, sizeof(m->currency), "%s", codes[k]);
		return lg_render(&f, &r, buf);
	}
	if (strcmp(name, "empty") == 0)
	{
		m->message_id[0] = '\0';
		buf[0] = '\0';
		return 0;
	}
	if (strcmp(name, "tombstone") == 0)
	{
		m->message_id[0] = '\0';
		m->null_value = 1;
		buf[0] = '\0';
		return 0;
	}
	if (strcmp(name, "too_large") == 0 || strcmp(name, "huge") == 0)
	{
		/* A well-formed message padded past 64 KiB (or 1.5 MB). */
		char	   *p;
		size_t		size = name[0] == 'h' ? LG_HUGE_BYTES : LG_TOO_LARGE_BYTES;

		m->message_id[0] = '\0';
		len = lg_render(&f, NULL, buf);
		p = buf + len - 1;		/* the closing brace */
		p += sprintf(p, ",\"padding\":\"");
		while ((size_t) (p - buf) < size)
			*p++ = 'x';
		p += sprintf(p, "\"}");
		return (size_t) (p - buf);
	}
	if (strcmp(name, "binary") == 0)
	{
		m->message_id[0] = '\0';
		len = 16 + lg_below(200);
		for (i = 0; i < (int) len; i++)
			buf[i] = (char) (0x80 | lg_below(128));	/* never valid UTF-8 alone */
		buf[0] = (char) 0xff;
		return len;
	}
	if (strcmp(name, "deep_json") == 0)
	{
		int			depth = 200;
		char	   *p;

		m->message_id[0] = '\0';
		p = buf + sprintf(buf, "{\"message_id\":\"%s\",\"x\":", f.message_id);
		for (i = 0; i < depth; i++)
			*p++ = '[';
		for (i = 0; i < depth; i++)
			*p++ = ']';
		*p++ = '}';
		*p = '\0';
		return (size_t) (p - buf);
	}
	/* bad_field: created_at that is no RFC 3339 timestamp. */
	r.created_at = "yesterday at noon";
	return lg_render(&f, &r, buf);
}

/*
 * lg_json_opt
 *	  s as a JSON string, or null when s is NULL or empty.
 */
static json_t *
lg_json_opt(const char *s)
{
	if (s == NULL || *s == '\0')
		return json_null();
	return json_string(s);
}

/*
 * lg_kind_index
 *	  Index of a kind name in lg_kind_acked.
 */
static int
lg_kind_index(const char *kind)
{
	if (strcmp(kind, "valid") == 0)
		return 0;
	if (strcmp(kind, "duplicate") == 0)
		return 1;
	if (strcmp(kind, "conflict") == 0)
		return 2;
	return 3;
}

/*
 * lg_manifest_line
 *	  Writes the manifest line of an acknowledged message.
 */
static void
lg_manifest_line(FILE *fp, const LgMsg *m, const rd_kafka_message_t *rkm)
{
	json_t	   *o = json_object();

	if (o == NULL)
		cli_fatal(1, "out of memory");
	jo_set(o, "message_id", lg_json_opt(m->message_id));
	jo_set(o, "account_id", lg_json_opt(m->account_id));
	jo_set(o, "key", lg_json_opt(m->key));
	jo_set(o, "topic", lg_json_opt(rd_kafka_topic_name(rkm->rkt)));
	jo_set(o, "partition", json_integer(rkm->partition));
	jo_set(o, "offset", json_integer(rkm->offset));
	jo_set(o, "kind", json_string(m->kind));
	jo_set(o, "variant", lg_json_opt(m->variant));
	jo_set(o, "expect", json_string(m->expect));
	jo_set(o, "reason", lg_json_opt(m->reason));
	jo_set(o, "sha256", lg_json_opt(m->null_value ? NULL : m->sha256));
	jo_set(o, "seq", m->seq >= 0 ? json_integer(m->seq) : json_null());
	jo_set(o, "amount", lg_json_opt(m->amount));
	jo_set(o, "currency", lg_json_opt(m->currency));
	jo_set(o, "email", json_boolean(m->email));
	if (m->payload != NULL)
		jo_set_bytes(o, "payload", m->payload, m->payload_len);
	jo_write_line(fp, o);
}

/*
 * lg_dr_cb
 *	  Delivery report: writes the manifest line of an acknowledged message
 *	  and frees its LgMsg.  Runs inside rd_kafka_poll()/flush() on the main
 *	  thread.
 */
static void
lg_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque)
{
	LgMsg	   *m = rkm->_private;
	FILE	   *fp = lg_manifest;

	(void) rk;
	(void) opaque;
	if (rkm->err)
	{
		if (lg_failed < 10)
			fprintf(stderr, "voltpay-loadgen: delivery failed: %s\n",
					rd_kafka_err2str(rkm->err));
		lg_failed++;
	}
	else
	{
		lg_acked++;
		lg_kind_acked[lg_kind_index(m->kind)]++;
		if (fp != NULL)
			lg_manifest_line(fp, m, rkm);
	}
	free(m->payload);
	free(m);
}

/*
 * lg_parse_fraction
 *	  Parses a fraction between 0 and 1 or exits.
 */
static double
lg_parse_fraction(const char *opt, const char *s)
{
	char	   *end;
	double		v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !(v >= 0 && v <= 1))
		cli_fatal(2, "invalid %s \"%s\": expected a number between 0 and 1", opt, s);
	return v;
}

/*
 * lg_parse_long
 *	  Parses a non-negative integer or exits.
 */
static long
lg_parse_long(const char *opt, const char *s)
{
	char	   *end;
	long		v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0)
		cli_fatal(2, "invalid %s \"%s\": expected a non-negative integer", opt, s);
	return v;
}

/*
 * lg_set_variants
 *	  Enables the invalid variants named in a comma-separated list
 *	  ("all" and "default" are accepted).
 */
static void
lg_set_variants(const char *list)
{
	char	   *copy = strdup(list);
	char	   *save = NULL;
	char	   *tok;
	int			i;

	memset(lg_variant_on, 0, sizeof(lg_variant_on));
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
	{
		int			found = 0;

		for (i = 0; i < LG_NVARIANTS; i++)
		{
			if ((strcmp(tok, "all") == 0 && lg_variants[i].dflt != 2) ||
				(strcmp(tok, "default") == 0 && lg_variants[i].dflt == 1) ||
				strcmp(tok, lg_variants[i].name) == 0)
			{
				lg_variant_on[i] = 1;
				found = 1;
			}
		}
		if (!found)
			cli_fatal(2, "unknown invalid kind \"%s\"", tok);
	}
	free(copy);
}

/*
 * lg_usage
 *	  Prints the usage text to fp.
 */
static void
lg_usage(FILE *fp)
{
	int			i;

	fprintf(fp,
			"usage: voltpay-loadgen --brokers LIST [options]\n"
			"  -b, --brokers LIST          bootstrap servers\n"
			"  -t, --topic T               topic (payment_writer_topic)\n"
			"  -n, --count N               messages to send, every kind included (1000)\n"
			"  -r, --rate N                messages per second, 0 = as fast as possible (0)\n"
			"  --accounts N                distinct account ids (1000)\n"
			"  --first-account N           the first account id, so that loads run side\n"
			"                              by side need not share accounts (0)\n"
			"  --duplicate-fraction F      exact re-sends of earlier valid messages (0)\n"
			"  --conflict-fraction F       earlier message_id with another amount (0)\n"
			"  --invalid-fraction F        invalid messages (0)\n"
			"  --invalid-kinds LIST        comma-separated, \"default\" or \"all\":");
	for (i = 0; i < LG_NVARIANTS; i++)
		fprintf(fp, "%s%s%s", i % 4 == 0 ? "\n                                " : " ",
				lg_variants[i].name, lg_variants[i].dflt == 1 ? "*" : "");
	fprintf(fp,
			"\n"
			"  --email-fraction F          valid messages with customer_email (0.3)\n"
			"  --seed N                    random seed (default: from the clock)\n"
			"  --manifest FILE             one JSON line per acknowledged message\n"
			"  --manifest-payloads         include each value in the manifest\n"
			"  -X key=value                librdkafka producer property\n"
			"  -h, --help\n");
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"brokers", required_argument, NULL, 'b'},
		{"topic", required_argument, NULL, 't'},
		{"count", required_argument, NULL, 'n'},
		{"rate", required_argument, NULL, 'r'},
		{"accounts", required_argument, NULL, 'A'},
		{"first-account", required_argument, NULL, 'F'},
		{"duplicate-fraction", required_argument, NULL, 'D'},
		{"conflict-fraction", required_argument, NULL, 'C'},
		{"invalid-fraction", required_argument, NULL, 'I'},
		{"invalid-kinds", required_argument, NULL, 'K'},
		{"email-fraction", required_argument, NULL, 'E'},
		{"seed", required_argument, NULL, 'S'},
		{"manifest", required_argument, NULL, 'M'},
		{"manifest-payloads", no_argument, NULL, 'P'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	const char *brokers = NULL;
	const char *manifest_path = NULL;
	uint64_t	seed = 0;
	int			seeded = 0;
	char		errstr[512];
	rd_kafka_conf_t *conf;
	rd_kafka_t *rk;
	char	   *buf;
	long		i;
	long		sent[4] = {0, 0, 0, 0};
	struct timespec t0, t1;
	double		elapsed;
	struct sigaction sa;
	int			c;
	int			nvariants = 0;

	cli_progname = "voltpay-loadgen";

	/*
	 * Producer defaults, set before the options so that -X overrides them:
	 * idempotent, acks=all, Java-compatible key partitioning.
	 */
	conf = rd_kafka_conf_new();
	cli_conf_set(conf, "enable.idempotence", "true");
	cli_conf_set(conf, "acks", "all");
	cli_conf_set(conf, "linger.ms", "5");
	cli_conf_set(conf, "partitioner", "murmur2_random");
	/* Room for a "huge" record (1.5 MB); batches stay at batch.size. */
	cli_conf_set(conf, "message.max.bytes", "2000000");
	lg_set_variants("default");

	while ((c = getopt_long(argc, argv, "b:t:n:r:X:h", longopts, NULL)) != -1)
	{
		switch (c)
		{
			case 'b':
				brokers = optarg;
				break;
			case 't':
				lg_topic = optarg;
				break;
			case 'n':
				lg_count = lg_parse_long("--count", optarg);
				break;
			case 'r':
				lg_rate = (double) lg_parse_long("--rate", optarg);
				break;
			case 'A':
				lg_accounts = (int) lg_parse_long("--accounts", optarg);
				if (lg_accounts < 1 || lg_accounts > 99999)
					cli_fatal(2, "invalid --accounts \"%s\": expected 1 to 99999", optarg);
				break;
			case 'F':
				lg_first_account = (int) lg_parse_long("--first-account", optarg);
				if (lg_first_account > 99999)
					cli_fatal(2, "invalid --first-account \"%s\": expected 0 to 99999", optarg);
				break;
			case 'D':
				lg_dup_frac = lg_parse_fraction("--duplicate-fraction", optarg);
				break;
			case 'C':
				lg_conf_frac = lg_parse_fraction("--conflict-fraction", optarg);
				break;
			case 'I':
				lg_inv_frac = lg_parse_fraction("--invalid-fraction", optarg);
				break;
			case 'K':
				lg_set_variants(optarg);
				break;
			case 'E':
				lg_email_frac = lg_parse_fraction("--email-fraction", optarg);
				break;
			case 'S':
				seed = (uint64_t) strtoull(optarg, NULL, 10);
				seeded = 1;
				break;
			case 'M':
				manifest_path = optarg;
				break;
			case 'P':
				lg_manifest_payloads = 1;
				break;
			case 'X':
				cli_conf_kv(conf, optarg);
				break;
			case 'h':
				lg_usage(stdout);
				return 0;
			default:
				lg_usage(stderr);
				return 2;
		}
	}
	if (optind < argc)
		cli_fatal(2, "unexpected argument \"%s\"", argv[optind]);
	if (brokers == NULL)
		cli_fatal(2, "--brokers is required");
	if (lg_first_account + lg_accounts > 100000)
		cli_fatal(2, "--first-account plus --accounts is more than 100000: account ids have 5 digits");
	if (lg_dup_frac + lg_conf_frac + lg_inv_frac > 1)
		cli_fatal(2, "duplicate, conflict and invalid fractions add up to more than 1");
	for (i = 0; i < LG_NVARIANTS; i++)
		nvariants += lg_variant_on[i];
	if (nvariants == 0)
		cli_fatal(2, "no invalid kind enabled");
	if (!seeded)
		seed = (uint64_t) time(NULL) ^ ((uint64_t) getpid() << 32);
	lg_seed(seed);

	if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, errstr,
						  sizeof(errstr)) != RD_KAFKA_CONF_OK)
		cli_fatal(2, "bootstrap.servers: %s", errstr);
	rd_kafka_conf_set_dr_msg_cb(conf, lg_dr_cb);

	if (manifest_path != NULL)
	{
		lg_manifest = fopen(manifest_path, "w");
		if (lg_manifest == NULL)
			cli_fatal(1, "could not open manifest \"%s\": %s", manifest_path,
					 strerror(errno));
	}

	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (rk == NULL)
		cli_fatal(2, "%s", errstr);
	conf = NULL;				/* owned by rk */

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = lg_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	lg_seqs = calloc((size_t) lg_accounts, sizeof(long));
	lg_ring = calloc(LG_RING_SIZE, sizeof(LgFields));
	buf = malloc(LG_MAX_PAYLOAD);
	if (lg_seqs == NULL || lg_ring == NULL || buf == NULL)
		cli_fatal(1, "out of memory");

	fprintf(stderr, "voltpay-loadgen: seed %" PRIu64 ", %ld messages to %s\n",
			seed, lg_count, lg_topic);
	clock_gettime(CLOCK_MONOTONIC, &t0);

	for (i = 0; i < lg_count && run; i++)
	{
		LgMsg	   *m = calloc(1, sizeof(LgMsg));
		double		u = lg_uniform();
		size_t		len;
		const LgFields *orig;
		rd_kafka_resp_err_t err;

		if (m == NULL)
			cli_fatal(1, "out of memory");

		/* Rate limit: message i is due at t0 + i / rate. */
		if (lg_rate > 0)
		{
			for (;;)
			{
				double		due = (double) i / lg_rate;
				double		now;

				clock_gettime(CLOCK_MONOTONIC, &t1);
				now = (double) (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
				if (now >= due || !run)
					break;
				rd_kafka_poll(rk, (int) ((due - now) * 1000) + 1);
			}
		}

		/*
		 * The draw u picks the kind.  A duplicate or conflict drawn before
		 * any valid message exists to copy becomes a valid message, never
		 * an invalid one: a load without --invalid-fraction has none.
		 */
		orig = lg_ring_pick();
		if (u < lg_dup_frac && orig != NULL)
		{
			len = lg_render(orig, NULL, buf);
			lg_msg_from(m, orig, "duplicate", "duplicate");
		}
		else if (u < lg_dup_frac + lg_conf_frac && orig != NULL)
		{
			LgFields	f = *orig;

			f.minor += 1 + (int64_t) lg_below(1000);
			len = lg_render(&f, NULL, buf);
			lg_msg_from(m, &f, "conflict", "rejected");
			m->reason = "idempotency_conflict";
		}
		else if (u >= lg_dup_frac + lg_conf_frac &&
				 u < lg_dup_frac + lg_conf_frac + lg_inv_frac)
			len = lg_make_invalid(m, buf);
		else
		{
			LgFields	f;

			lg_new_fields(&f, 1);
			len = lg_render(&f, NULL, buf);
			lg_msg_from(m, &f, "valid", "applied");
			lg_ring_add(&f);
		}
		lg_sha256_hex(buf, len, m->sha256);
		if (lg_manifest_payloads)
		{
			m->payload = malloc(len + 1);
			if (m->payload == NULL)
				cli_fatal(1, "out of memory");
			memcpy(m->payload, buf, len);
			m->payload[len] = '\0';
			m->payload_len = len;
		}
		sent[lg_kind_index(m->kind)]++;

		for (;;)
		{
			err = rd_kafka_producev(rk,
									RD_KAFKA_V_TOPIC(lg_topic),
									RD_KAFKA_V_KEY(m->key[0] ? m->key : NULL,
												   strlen(m->key)),
									RD_KAFKA_V_VALUE(m->null_value ? NULL : buf,
													 m->null_value ? 0 : len),
									RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
									RD_KAFKA_V_OPAQUE(m),
									RD_KAFKA_V_END);
			if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
				break;
			rd_kafka_poll(rk, 10);	/* let delivery reports free room */
		}
		if (err)
		{
			fprintf(stderr, "voltpay-loadgen: produce failed: %s\n", rd_kafka_err2str(err));
			lg_failed++;
			free(m->payload);
			free(m);
		}
		rd_kafka_poll(rk, 0);
	}

	/* Wait for every delivery report (each message has its own timeout). */
	while (rd_kafka_outq_len(rk) > 0)
	{
		rd_kafka_flush(rk, 1000);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	elapsed = (double) (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;

	if (lg_manifest != NULL && fclose(lg_manifest) != 0)
	{
		fprintf(stderr, "voltpay-loadgen: could not write manifest: %s\n", strerror(errno));
		lg_failed++;
	}
	lg_manifest = NULL;
	rd_kafka_destroy(rk);

	fprintf(stderr,
			"voltpay-loadgen: sent %ld (valid %ld, duplicate %ld, conflict %ld, invalid %ld), "
			"acknowledged %ld, failed %ld, %.1f s, %.0f msg/s%s\n",
			sent[0] + sent[1] + sent[2] + sent[3], sent[0], sent[1], sent[2], sent[3],
			lg_acked, lg_failed, elapsed, elapsed > 0 ? (double) lg_acked / elapsed : 0,
			run ? "" : " (interrupted)");
	free(buf);
	free(lg_ring);
	free(lg_seqs);
	EVP_MD_free(lg_sha256);
	return (lg_failed == 0 && run) ? 0 : 1;
}
