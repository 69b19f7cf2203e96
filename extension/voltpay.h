/*-------------------------------------------------------------------------
 *
 * voltpay.h
 *	  Shared declarations of the voltpay extension.
 *
 * The extension is split by concern:
 *	  voltpay.c		module init (_PG_init), GUCs shared by all parts
 *	  message.c		parses one Kafka record value (contract v1) into a
 *					VpPayment: the contract's checks in order
 *	  message_json.c	its JSON pass: depth pre-scan, PostgreSQL's JSON
 *					parser (common/jsonapi.h) collecting the fields,
 *					duplicate keys (message_int.h: what the two share)
 *	  message_sql.c	validate_message(), the contract check from SQL
 *	  validate.c	field rules: UUID, account id, amount, IBAN, BIC, email,
 *					RFC 3339 timestamps, text lengths
 *	  iso_tables.c	ISO 4217 currencies and ISO 13616 IBAN country lengths
 *	  apply.c		apply_payment_batch(): arguments, parsing, quarantine,
 *					result rows, the batch's memory (apply_int.h: the
 *					batch state)
 *	  positions.c	recorded positions of the source partitions
 *	  idempotency.c	the batch's message ids in voltpay.idempotency:
 *					duplicates, conflicts
 *	  writer.c		writer tables and outbox rows of a batch
 *	  bulk.c		multi-row heap insertion into voltpay's own tables
 *	  spi_util.c	SPI plans kept for the session, checked execution
 *					(apply.c, idempotency.c, positions.c, sweeper.c)
 *	  outbox.c		bodies and headers of the downstream events
 *	  trace.c		W3C trace context carried to the events
 *	  sweeper.c		idempotency retention: sweep function and background
 *					worker
 *
 *-------------------------------------------------------------------------
 */
#ifndef VOLTPAY_H
#define VOLTPAY_H

#include "postgres.h"

#include "utils/jsonb.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

/* Largest record value accepted (contract v1): 64 KiB. */
#define VP_MAX_MESSAGE_BYTES	(64 * 1024)

/* Deepest JSON nesting accepted; deeper values are invalid_json. */
#define VP_MAX_JSON_DEPTH		32

/* Length of a SHA-256 payload hash. */
#define VP_HASH_LEN				32

/*
 * Rejection reasons.  The codes (vp_reason_code) are a stable part of the
 * message contract: never rename one.
 */
typedef enum VpReason
{
	VP_OK = 0,
	VP_EMPTY_VALUE,				/* NULL or zero-length record value */
	VP_TOO_LARGE,				/* value over VP_MAX_MESSAGE_BYTES */
	VP_INVALID_JSON,			/* not UTF-8, not JSON, not an object,
								 * duplicate keys, nesting too deep */
	VP_MISSING_FIELD,			/* a required field absent or null */
	VP_INVALID_FIELD,			/* a field of the wrong type or format */
	VP_KEY_MISMATCH,			/* account_id differs from the record key */
	VP_UNKNOWN_CURRENCY,		/* not an active ISO 4217 code */
	VP_INVALID_AMOUNT,			/* amount breaks the amount rules */
	VP_INVALID_IBAN,			/* debtor or creditor IBAN fails ISO 13616 */
	VP_IDEMPOTENCY_CONFLICT,	/* message_id seen with another payload */
	VP_INVALID_KEY				/* record key not UTF-8 or with a NUL byte */
} VpReason;

/* One party of a payment; bic is NULL when absent. */
typedef struct VpParty
{
	char	   *name;
	char	   *iban;			/* normalised: no spaces, upper case */
	char	   *bic;			/* upper case, or NULL */
} VpParty;

/*
 * A parsed, validated contract-v1 payment.  All strings are palloc'd in
 * the memory context current at vp_message_parse() and are valid UTF-8
 * without NUL bytes.
 */
typedef struct VpPayment
{
	bool		has_message_id; /* message_id parsed (set even when a later
								 * rule rejects the message) */
	pg_uuid_t	message_id;
	pg_uuid_t	payment_id;
	char	   *account_id;
	char	   *amount;			/* canonical decimal text with exactly the
								 * currency's minor-unit digits, "12.50" */
	char		currency[4];	/* ISO 4217 alphabetic code, NUL-terminated */
	int			minor_unit;		/* the currency's ISO 4217 minor unit */
	VpParty		debtor;
	VpParty		creditor;
	char	   *remittance_info;	/* NULL when absent */
	char	   *customer_email; /* NULL when absent */
	TimestampTz created_at;
} VpPayment;

/* message.c */

/*
 * Parse and validate one record against contract v1.
 *
 * data/len is the raw value (data may be NULL for a null value); key/keylen
 * the raw record key (key NULL: no key), which must be valid UTF-8 without
 * NUL bytes (else VP_INVALID_KEY, before any other rule).  Returns VP_OK and fills
 * *out, or returns a reason and sets *detail to a palloc'd English sentence
 * naming the field at fault.  Never raises an ERROR for bad input, whatever
 * its size or nesting; only out-of-memory can raise.
 */
extern VpReason vp_message_parse(const char *data, size_t len,
								 const char *key, size_t keylen,
								 VpPayment *out, char **detail);

/*
 * True when a raw record key is text (valid UTF-8, no NUL byte); else sets
 * *detail (when not NULL) to the invalid_key sentence.
 */
extern bool vp_check_key(const char *key, size_t keylen, char **detail);

/* The detail of a too_large rejection of a value of len bytes. */
extern char *vp_too_large_detail(size_t len);

/* Stable text code of a reason ("invalid_amount"); NULL for VP_OK. */
extern const char *vp_reason_code(VpReason reason);

/*
 * validate.c: each returns true when valid, else sets *detail.  The input is
 * a NUL-terminated, valid UTF-8 string; *detail is a palloc'd predicate
 * without subject or final period ("fails the ISO 13616 mod-97 check"),
 * which the caller completes as `Field "debtor.iban" <predicate>.`
 */
extern bool vp_parse_uuid(const char *s, pg_uuid_t *out);
extern bool vp_check_account_id(const char *s, char **detail);
extern bool vp_parse_amount(const char *s, int minor_unit, char **canonical,
							char **detail);
extern bool vp_check_iban(const char *s, char **normalised, char **detail);
extern bool vp_check_bic(const char *s, char **normalised, char **detail);
extern bool vp_check_email(const char *s, char **detail);
extern bool vp_parse_rfc3339(const char *s, TimestampTz *out, char **detail);
extern int	vp_utf8_length(const char *s);
extern bool vp_check_name(const char *s, char **detail);

/* iso_tables.c */

/* Minor unit of an active ISO 4217 code, or -1 when unknown. */
extern int	vp_currency_minor_unit(const char *code);

/*
 * IBAN length of an ISO 13616 country code, or -1 when unknown; *bban (when
 * bban is not NULL) receives the registry's BBAN format ("8!n10!n").
 */
extern int	vp_iban_length(const char *country, const char **bban);

/* True for an assigned ISO 3166-1 alpha-2 country code. */
extern bool vp_is_country_code(const char *country);

/* bulk.c */
typedef struct VpBulkInsert VpBulkInsert;
extern Oid	vp_relation_oid(const char *relname);
extern VpBulkInsert *vp_bulk_begin(const char *relname);
extern void vp_bulk_add(VpBulkInsert *b, Datum *values, bool *nulls);
extern int64 vp_bulk_nextval(VpBulkInsert *b, int16 attnum);
extern void vp_bulk_end(VpBulkInsert *b);

/* outbox.c: event bodies and headers (see sql/parts/50-dba.sql) */
extern char *vp_event_read(const VpPayment *p, TimestampTz applied_at);
extern char *vp_event_email(const VpPayment *p);
#define VP_MAX_HEADERS	6
typedef struct VpHeaders
{
	int			n;
	const char *keys[VP_MAX_HEADERS];
	const char *values[VP_MAX_HEADERS];
} VpHeaders;
extern void vp_event_headers(VpHeaders *h, const pg_uuid_t *message_id,
							 const char *event, const char *traceparent);
extern void vp_dead_letter_headers(VpHeaders *h, const pg_uuid_t *message_id,
								   const char *reason, const char *detail,
								   const char *topic, int32 partition,
								   int64 offset, bool has_coordinates,
								   const char *traceparent);
extern Jsonb *vp_headers_jsonb(const VpHeaders *h);
extern char *vp_uuid_text(const pg_uuid_t *u);

/* trace.c: W3C traceparent, "00-<trace id>-<span id>-<flags>" */
#define VP_TRACEPARENT_LEN		55
extern bool vp_traceparent_valid(const char *s);
extern bool vp_trace_child(const char *in, char *out);

/* sweeper.c */
extern void vp_sweeper_init(void);

#endif							/* VOLTPAY_H */
