/*-------------------------------------------------------------------------
 *
 * message_int.h
 *	  What message.c (the contract's field checks) and message_json.c (the
 *	  JSON pass that collects the fields) share: the collected values and
 *	  the parse state.  Private to those two files.
 *
 *-------------------------------------------------------------------------
 */
#ifndef VOLTPAY_MESSAGE_INT_H
#define VOLTPAY_MESSAGE_INT_H

#include "voltpay.h"

/* What a collected JSON value was. */
typedef enum MsgKind
{
	MSG_ABSENT = 0,
	MSG_STRING,
	MSG_NUMBER,
	MSG_TRUE,
	MSG_FALSE,
	MSG_NULL,
	MSG_OBJECT,
	MSG_ARRAY
} MsgKind;

/* One collected field: its kind and, for scalars, its text. */
typedef struct MsgValue
{
	MsgKind		kind;
	char	   *text;			/* de-escaped string or number lexeme */
} MsgValue;

/* The top-level fields the contract knows, in check order. */
typedef enum MsgTopField
{
	MSG_F_MESSAGE_ID,
	MSG_F_PAYMENT_ID,
	MSG_F_ACCOUNT_ID,
	MSG_F_CURRENCY,
	MSG_F_AMOUNT,
	MSG_F_DEBTOR,
	MSG_F_CREDITOR,
	MSG_F_REMITTANCE_INFO,
	MSG_F_CUSTOMER_EMAIL,
	MSG_F_CREATED_AT,
	MSG_N_TOP
} MsgTopField;

extern const char *const vp_msg_top_names[MSG_N_TOP];

/* The fields of a party object. */
typedef enum MsgPartyField
{
	MSG_P_NAME,
	MSG_P_IBAN,
	MSG_P_BIC,
	MSG_N_PARTY
} MsgPartyField;
/* One open JSON container while parsing. */
typedef struct MsgLevel
{
	bool		is_object;
	int			field;			/* known field being parsed, or -1 */
	char	  **keys;			/* keys seen in this object */
	int			nkeys;
	int			maxkeys;
	uint32		known;			/* known fields seen (bit per field) */
	bool		check_keys;		/* a key that is not a known field, or a known
								 * one twice: compare all keys */
} MsgLevel;

/* Semantic state of the parse. */
typedef struct MsgState
{
	int			depth;			/* containers open; levels[depth] innermost */
	MsgLevel	levels[VP_MAX_JSON_DEPTH + 2];
	MsgKind		root;			/* kind of the whole value */
	int			party;			/* 0 debtor, 1 creditor while inside it */
	MsgValue	top[MSG_N_TOP];
	MsgValue	parties[2][MSG_N_PARTY];
	char	   *dup_detail;		/* first duplicate key, as a detail */
} MsgState;

/* message_json.c */
extern char *vp_msg_quote(const char *s);
extern const char *vp_msg_kind_name(MsgKind kind);
extern bool vp_msg_prescan(const char *data, size_t len, char **detail);
extern bool vp_msg_parse_json(char *buf, size_t len, MsgState *st, char **detail);

#endif							/* VOLTPAY_MESSAGE_INT_H */
