-- Message contract v1 (docs/message-contract.md) through
-- voltpay.validate_message(): the envelope (empty, size, UTF-8, JSON syntax,
-- depth, duplicate keys, object), message_id, payment_id, account_id and the
-- record key, currency, amount, and the shape of the result row.
-- Parties, optional fields, created_at and check order: contract_fields.sql.
BEGIN;
SELECT plan(169);

-- A valid message; every case below changes one thing.
CREATE FUNCTION pg_temp.base() RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
	SELECT '{"message_id": "6f1c2b8e-4c1a-4f7e-9a51-0d2b3c4d5e6f",
			 "payment_id": "0b7f3a52-2d4e-4b8a-8c6d-1e2f3a4b5c6d",
			 "account_id": "ACC-1", "amount": "12.50", "currency": "EUR",
			 "debtor": {"name": "Ann Smith", "iban": "DE89370400440532013000", "bic": "COBADEFFXXX"},
			 "creditor": {"name": "Bob Jones", "iban": "GB82WEST12345698765432"},
			 "remittance_info": "Invoice 42", "customer_email": "ann@example.com",
			 "created_at": "2026-11-24T10:00:00Z"}'::jsonb
$$;
-- The base with top-level fields replaced or added.
CREATE FUNCTION pg_temp.m(o jsonb DEFAULT '{}') RETURNS bytea LANGUAGE sql AS $$
	SELECT convert_to((pg_temp.base() || o)::text, 'UTF8')
$$;
-- The base without one field.
CREATE FUNCTION pg_temp.d(path text[]) RETURNS bytea LANGUAGE sql AS $$
	SELECT convert_to((pg_temp.base() #- path)::text, 'UTF8')
$$;
-- Raw JSON text, for what jsonb cannot carry (duplicate keys, number
-- literals, \u0000): the base (with o merged and field drop removed) minus
-- its closing brace, then extra members, then the brace.
CREATE FUNCTION pg_temp.x(extra text, o jsonb DEFAULT '{}', drop text DEFAULT '') RETURNS bytea LANGUAGE sql AS $$
	SELECT convert_to(left(((pg_temp.base() || o) - drop)::text, -1) || ', ' || extra || '}', 'UTF8')
$$;
CREATE FUNCTION pg_temp.t(s text) RETURNS bytea LANGUAGE sql AS $$
	SELECT convert_to(s, 'UTF8')
$$;
-- The base padded with an unknown field to exactly n bytes.
CREATE FUNCTION pg_temp.sized(n int) RETURNS bytea LANGUAGE sql AS $$
	SELECT pg_temp.m(jsonb_build_object('pad',
		repeat('x', n - octet_length(pg_temp.m('{"pad": ""}')))))
$$;

CREATE TEMP TABLE cases (
	n		serial,
	what	text NOT NULL,
	payload	bytea,
	rkey	text DEFAULT 'ACC-1',
	expect	text NOT NULL			-- a reason code, or 'valid'
);

INSERT INTO cases (what, payload, rkey, expect) VALUES
	-- envelope
	('the base message is valid', pg_temp.m(), 'ACC-1', 'valid'),
	('the base message is valid without a record key', pg_temp.m(), NULL, 'valid'),
	('a NULL value is empty_value', NULL, 'ACC-1', 'empty_value'),
	('a zero-length value is empty_value', ''::bytea, 'ACC-1', 'empty_value'),
	('a value of exactly 64 KiB is accepted', pg_temp.sized(65536), 'ACC-1', 'valid'),
	('a value of 64 KiB + 1 byte is too_large', pg_temp.sized(65537), 'ACC-1', 'too_large'),
	('a 1 MiB value is too_large', pg_temp.sized(1048576), 'ACC-1', 'too_large'),
	('too_large wins over bad UTF-8', decode(repeat('ff', 70000), 'hex'), 'ACC-1', 'too_large'),
	-- UTF-8
	('an invalid UTF-8 sequence is invalid_json',
		pg_temp.t('{"message_id": "') || '\xc328'::bytea || pg_temp.t('"}'), 'ACC-1', 'invalid_json'),
	('a lone continuation byte is invalid_json', pg_temp.m() || '\x80'::bytea, 'ACC-1', 'invalid_json'),
	('an overlong UTF-8 encoding is invalid_json',
		pg_temp.t('{"a": "') || '\xc0af'::bytea || pg_temp.t('"}'), 'ACC-1', 'invalid_json'),
	('a UTF-8 encoded surrogate is invalid_json',
		pg_temp.t('{"a": "') || '\xeda080'::bytea || pg_temp.t('"}'), 'ACC-1', 'invalid_json'),
	('a Latin-1 byte in a name is invalid_json',
		pg_temp.t('{"a": "Zo') || '\xeb'::bytea || pg_temp.t('"}'), 'ACC-1', 'invalid_json'),
	('a NUL byte is invalid_json', pg_temp.t('{"a": 1') || '\x00'::bytea || pg_temp.t('}'), 'ACC-1', 'invalid_json'),
	('multibyte UTF-8 in a name is fine', pg_temp.m('{"debtor": {"name": "Zoë Ødegård 山田", "iban": "DE89370400440532013000"}}'), 'ACC-1', 'valid'),
	-- JSON syntax
	('text that is not JSON is invalid_json', pg_temp.t('hello'), 'ACC-1', 'invalid_json'),
	('a truncated object is invalid_json', pg_temp.t('{"message_id": '), 'ACC-1', 'invalid_json'),
	('a trailing comma is invalid_json', pg_temp.x('"z": 1,'), 'ACC-1', 'invalid_json'),
	('garbage after the object is invalid_json', pg_temp.m() || pg_temp.t(' x'), 'ACC-1', 'invalid_json'),
	('two objects are invalid_json', pg_temp.m() || pg_temp.m(), 'ACC-1', 'invalid_json'),
	('a byte order mark is invalid_json', '\xefbbbf'::bytea || pg_temp.m(), 'ACC-1', 'invalid_json'),
	('single-quoted strings are invalid_json', pg_temp.t('{''a'': 1}'), 'ACC-1', 'invalid_json'),
	('only whitespace is invalid_json', pg_temp.t('   '), 'ACC-1', 'invalid_json'),
	('whitespace around the object is fine', pg_temp.t(E'\n\t ') || pg_temp.m() || pg_temp.t(E' \r\n'), 'ACC-1', 'valid'),
	('\u0000 in a string is invalid_json', pg_temp.x('"note": "a\u0000b"'), 'ACC-1', 'invalid_json'),
	('a lone surrogate escape is invalid_json', pg_temp.x('"note": "\ud800"'), 'ACC-1', 'invalid_json'),
	('a surrogate pair escape is fine', pg_temp.x('"note": "\ud83d\ude00"'), 'ACC-1', 'valid'),
	('an unknown escape is invalid_json', pg_temp.x('"note": "\q"'), 'ACC-1', 'invalid_json'),
	('a raw tab inside a string is invalid_json', pg_temp.x(E'"note": "a\tb"'), 'ACC-1', 'invalid_json'),
	-- not an object
	('an array is invalid_json', pg_temp.t('[]'), 'ACC-1', 'invalid_json'),
	('an array holding the message is invalid_json', pg_temp.t('[') || pg_temp.m() || pg_temp.t(']'), 'ACC-1', 'invalid_json'),
	('a string is invalid_json', pg_temp.t('"{}"'), 'ACC-1', 'invalid_json'),
	('a number is invalid_json', pg_temp.t('42'), 'ACC-1', 'invalid_json'),
	('JSON null is invalid_json', pg_temp.t('null'), 'ACC-1', 'invalid_json'),
	('true is invalid_json', pg_temp.t('true'), 'ACC-1', 'invalid_json'),
	-- nesting
	('10000 open brackets are invalid_json', pg_temp.t(repeat('[', 10000)), 'ACC-1', 'invalid_json'),
	('10000 nested arrays are invalid_json', pg_temp.t(repeat('[', 10000) || repeat(']', 10000)), 'ACC-1', 'invalid_json'),
	('10000 nested objects are invalid_json', pg_temp.t(repeat('{"a":', 10000) || '1' || repeat('}', 10000)), 'ACC-1', 'invalid_json'),
	('deep nesting in an unknown field is invalid_json',
		pg_temp.x('"x": ' || repeat('[', 10000) || repeat(']', 10000)), 'ACC-1', 'invalid_json'),
	('nesting 32 levels deep (the limit) is fine', pg_temp.x('"x": ' || repeat('[', 31) || repeat(']', 31)), 'ACC-1', 'valid'),
	('nesting 33 levels deep is invalid_json', pg_temp.x('"x": ' || repeat('[', 32) || repeat(']', 32)), 'ACC-1', 'invalid_json'),
	('brackets inside strings do not count as nesting', pg_temp.m(jsonb_build_object('x', repeat('[{', 5000))), 'ACC-1', 'valid'),
	-- duplicate keys
	('a duplicate top-level key is invalid_json', pg_temp.x('"amount": "12.50"'), 'ACC-1', 'invalid_json'),
	('a duplicate unknown key is invalid_json', pg_temp.x('"z": 1, "z": 1'), 'ACC-1', 'invalid_json'),
	('a duplicate key spelt with an escape is invalid_json', pg_temp.x('"\u0061mount": "12.50"'), 'ACC-1', 'invalid_json'),
	('a duplicate key inside debtor is invalid_json',
		pg_temp.x('"debtor": {"name": "Ann", "iban": "DE89370400440532013000", "name": "Ann"}', '{}', 'debtor'), 'ACC-1', 'invalid_json'),
	('a duplicate key deep in an unknown field is invalid_json', pg_temp.x('"x": [{"y": {"k": 1, "k": 2}}]'), 'ACC-1', 'invalid_json'),
	('the same key in sibling objects is fine', pg_temp.x('"x": [{"k": 1}, {"k": 2}], "y": {"k": {"k": 3}}'), 'ACC-1', 'valid'),
	-- message_id
	('message_id missing is missing_field', pg_temp.d('{message_id}'), 'ACC-1', 'missing_field'),
	('message_id null is missing_field', pg_temp.m('{"message_id": null}'), 'ACC-1', 'missing_field'),
	('message_id in upper case is fine', pg_temp.m('{"message_id": "6F1C2B8E-4C1A-4F7E-9A51-0D2B3C4D5E6F"}'), 'ACC-1', 'valid'),
	('message_id without hyphens is invalid_field', pg_temp.m('{"message_id": "6f1c2b8e4c1a4f7e9a510d2b3c4d5e6f"}'), 'ACC-1', 'invalid_field'),
	('message_id in braces is invalid_field', pg_temp.m('{"message_id": "{6f1c2b8e-4c1a-4f7e-9a51-0d2b3c4d5e6f}"}'), 'ACC-1', 'invalid_field'),
	('message_id with a non-hex digit is invalid_field', pg_temp.m('{"message_id": "6f1c2b8e-4c1a-4f7e-9a51-0d2b3c4d5e6g"}'), 'ACC-1', 'invalid_field'),
	('message_id one digit short is invalid_field', pg_temp.m('{"message_id": "6f1c2b8e-4c1a-4f7e-9a51-0d2b3c4d5e6"}'), 'ACC-1', 'invalid_field'),
	('message_id with misplaced hyphens is invalid_field', pg_temp.m('{"message_id": "6f1c2b8e4-c1a-4f7e-9a51-0d2b3c4d5e6f"}'), 'ACC-1', 'invalid_field'),
	('message_id with spaces is invalid_field', pg_temp.m('{"message_id": " 6f1c2b8e-4c1a-4f7e-9a51-0d2b3c4d5e6f"}'), 'ACC-1', 'invalid_field'),
	('message_id as a number is invalid_field', pg_temp.m('{"message_id": 42}'), 'ACC-1', 'invalid_field'),
	('message_id as an object is invalid_field', pg_temp.m('{"message_id": {}}'), 'ACC-1', 'invalid_field'),
	-- payment_id
	('payment_id missing is missing_field', pg_temp.d('{payment_id}'), 'ACC-1', 'missing_field'),
	('payment_id null is missing_field', pg_temp.m('{"payment_id": null}'), 'ACC-1', 'missing_field'),
	('payment_id mixed case is fine', pg_temp.m('{"payment_id": "0B7F3A52-2d4e-4B8A-8c6d-1E2F3A4B5C6D"}'), 'ACC-1', 'valid'),
	('payment_id not a UUID is invalid_field', pg_temp.m('{"payment_id": "pay-1"}'), 'ACC-1', 'invalid_field'),
	('payment_id as an array is invalid_field', pg_temp.m('{"payment_id": ["0b7f3a52-2d4e-4b8a-8c6d-1e2f3a4b5c6d"]}'), 'ACC-1', 'invalid_field'),
	-- account_id and the record key
	('account_id missing is missing_field', pg_temp.d('{account_id}'), 'ACC-1', 'missing_field'),
	('account_id null is missing_field', pg_temp.m('{"account_id": null}'), 'ACC-1', 'missing_field'),
	('account_id with every allowed kind of character is fine', pg_temp.m('{"account_id": "aZ09._-"}'), 'aZ09._-', 'valid'),
	('account_id of 1 character is fine', pg_temp.m('{"account_id": "7"}'), '7', 'valid'),
	('account_id of 64 characters is fine', pg_temp.m(jsonb_build_object('account_id', repeat('a', 64))), repeat('a', 64), 'valid'),
	('account_id of 65 characters is invalid_field', pg_temp.m(jsonb_build_object('account_id', repeat('a', 65))), repeat('a', 65), 'invalid_field'),
	('account_id empty is invalid_field', pg_temp.m('{"account_id": ""}'), '', 'invalid_field'),
	('account_id with a space is invalid_field', pg_temp.m('{"account_id": "ACC 1"}'), 'ACC 1', 'invalid_field'),
	('account_id with a slash is invalid_field', pg_temp.m('{"account_id": "ACC/1"}'), 'ACC/1', 'invalid_field'),
	('account_id with a non-ASCII letter is invalid_field', pg_temp.m('{"account_id": "ÄCC-1"}'), 'ÄCC-1', 'invalid_field'),
	('account_id as a number is invalid_field', pg_temp.m('{"account_id": 42}'), '42', 'invalid_field'),
	('account_id other than the record key is key_mismatch', pg_temp.m(), 'ACC-2', 'key_mismatch'),
	('the key comparison is case-sensitive', pg_temp.m(), 'acc-1', 'key_mismatch'),
	('an empty record key is key_mismatch', pg_temp.m(), '', 'key_mismatch'),
	('a NULL record key is not compared', pg_temp.m('{"account_id": "other"}'), NULL, 'valid'),
	('a bad account_id is invalid_field before the key check', pg_temp.m('{"account_id": "A B"}'), 'ACC-1', 'invalid_field'),
	-- currency
	('currency missing is missing_field', pg_temp.d('{currency}'), 'ACC-1', 'missing_field'),
	('currency null is missing_field', pg_temp.m('{"currency": null}'), 'ACC-1', 'missing_field'),
	('currency "usd" (lower case) is unknown_currency', pg_temp.m('{"currency": "usd"}'), 'ACC-1', 'unknown_currency'),
	('currency "XYZ" is unknown_currency', pg_temp.m('{"currency": "XYZ"}'), 'ACC-1', 'unknown_currency'),
	('currency "" is unknown_currency', pg_temp.m('{"currency": ""}'), 'ACC-1', 'unknown_currency'),
	('currency "EURO" is unknown_currency', pg_temp.m('{"currency": "EURO"}'), 'ACC-1', 'unknown_currency'),
	('currency " EUR" is unknown_currency', pg_temp.m('{"currency": " EUR"}'), 'ACC-1', 'unknown_currency'),
	('currency XAU (no minor unit) is unknown_currency', pg_temp.m('{"currency": "XAU"}'), 'ACC-1', 'unknown_currency'),
	('currency XTS (testing code) is unknown_currency', pg_temp.m('{"currency": "XTS"}'), 'ACC-1', 'unknown_currency'),
	('currency XXX (no currency) is unknown_currency', pg_temp.m('{"currency": "XXX"}'), 'ACC-1', 'unknown_currency'),
	('currency HRK (withdrawn 2023) is unknown_currency', pg_temp.m('{"currency": "HRK"}'), 'ACC-1', 'unknown_currency'),
	('currency 12 (a number) is invalid_field', pg_temp.m('{"currency": 12}'), 'ACC-1', 'invalid_field'),
	('currency as an array is invalid_field', pg_temp.m('{"currency": ["EUR"]}'), 'ACC-1', 'invalid_field'),
	('currency USD is fine', pg_temp.m('{"currency": "USD"}'), 'ACC-1', 'valid'),
	('currency CHF is fine', pg_temp.m('{"currency": "CHF"}'), 'ACC-1', 'valid'),
	('currency XCG (since 2025) is fine', pg_temp.m('{"currency": "XCG"}'), 'ACC-1', 'valid'),
	('currency ZWG is fine', pg_temp.m('{"currency": "ZWG"}'), 'ACC-1', 'valid'),
	-- amount: format
	('amount missing is missing_field', pg_temp.d('{amount}'), 'ACC-1', 'missing_field'),
	('amount null is missing_field', pg_temp.m('{"amount": null}'), 'ACC-1', 'missing_field'),
	('amount "12.5" is fine (padded to 12.50)', pg_temp.m('{"amount": "12.5"}'), 'ACC-1', 'valid'),
	('amount "12" is fine', pg_temp.m('{"amount": "12"}'), 'ACC-1', 'valid'),
	('amount "0.50" is fine', pg_temp.m('{"amount": "0.50"}'), 'ACC-1', 'valid'),
	('amount "0.01" is fine', pg_temp.m('{"amount": "0.01"}'), 'ACC-1', 'valid'),
	('amount as the JSON number 12.5 is fine', pg_temp.x('"amount": 12.5', '{}', 'amount'), 'ACC-1', 'valid'),
	('amount as the JSON number 12 is fine', pg_temp.x('"amount": 12', '{}', 'amount'), 'ACC-1', 'valid'),
	('amount "0" is invalid_amount', pg_temp.m('{"amount": "0"}'), 'ACC-1', 'invalid_amount'),
	('amount "0.00" is invalid_amount', pg_temp.m('{"amount": "0.00"}'), 'ACC-1', 'invalid_amount'),
	('amount as the JSON number 0 is invalid_amount', pg_temp.x('"amount": 0', '{}', 'amount'), 'ACC-1', 'invalid_amount'),
	('amount "-1" is invalid_amount', pg_temp.m('{"amount": "-1"}'), 'ACC-1', 'invalid_amount'),
	('amount as the JSON number -1 is invalid_amount', pg_temp.x('"amount": -1', '{}', 'amount'), 'ACC-1', 'invalid_amount'),
	('amount "+1" is invalid_amount', pg_temp.m('{"amount": "+1"}'), 'ACC-1', 'invalid_amount'),
	('amount "1e3" is invalid_amount', pg_temp.m('{"amount": "1e3"}'), 'ACC-1', 'invalid_amount'),
	('amount as the JSON number 1e3 is invalid_amount', pg_temp.x('"amount": 1e3', '{}', 'amount'), 'ACC-1', 'invalid_amount'),
	('amount as the JSON number 1.5E+2 is invalid_amount', pg_temp.x('"amount": 1.5E+2', '{}', 'amount'), 'ACC-1', 'invalid_amount'),
	('amount "1." is invalid_amount', pg_temp.m('{"amount": "1."}'), 'ACC-1', 'invalid_amount'),
	('amount ".5" is invalid_amount', pg_temp.m('{"amount": ".5"}'), 'ACC-1', 'invalid_amount'),
	('amount "01.00" is invalid_amount', pg_temp.m('{"amount": "01.00"}'), 'ACC-1', 'invalid_amount'),
	('amount "00.5" is invalid_amount', pg_temp.m('{"amount": "00.5"}'), 'ACC-1', 'invalid_amount'),
	('amount "" is invalid_amount', pg_temp.m('{"amount": ""}'), 'ACC-1', 'invalid_amount'),
	('amount " 12.50" is invalid_amount', pg_temp.m('{"amount": " 12.50"}'), 'ACC-1', 'invalid_amount'),
	('amount "12,50" is invalid_amount', pg_temp.m('{"amount": "12,50"}'), 'ACC-1', 'invalid_amount'),
	('amount "1 000" is invalid_amount', pg_temp.m('{"amount": "1 000"}'), 'ACC-1', 'invalid_amount'),
	('amount "1.2.3" is invalid_amount', pg_temp.m('{"amount": "1.2.3"}'), 'ACC-1', 'invalid_amount'),
	('amount "NaN" is invalid_amount', pg_temp.m('{"amount": "NaN"}'), 'ACC-1', 'invalid_amount'),
	('amount "Infinity" is invalid_amount', pg_temp.m('{"amount": "Infinity"}'), 'ACC-1', 'invalid_amount'),
	('amount "0x10" is invalid_amount', pg_temp.m('{"amount": "0x10"}'), 'ACC-1', 'invalid_amount'),
	('amount in Arabic-Indic digits is invalid_amount', pg_temp.m('{"amount": "١٢"}'), 'ACC-1', 'invalid_amount'),
	('amount with 18 integer digits is fine', pg_temp.m('{"amount": "999999999999999999.99"}'), 'ACC-1', 'valid'),
	('amount with 19 integer digits is invalid_amount', pg_temp.m('{"amount": "1000000000000000000"}'), 'ACC-1', 'invalid_amount'),
	('amount as a JSON number with 19 integer digits is invalid_amount',
		pg_temp.x('"amount": 1000000000000000000', '{}', 'amount'), 'ACC-1', 'invalid_amount'),
	('amount true is invalid_field', pg_temp.m('{"amount": true}'), 'ACC-1', 'invalid_field'),
	('amount as an object is invalid_field', pg_temp.m('{"amount": {"value": "12.50"}}'), 'ACC-1', 'invalid_field'),
	-- amount: minor units
	('EUR with 3 fraction digits is invalid_amount', pg_temp.m('{"amount": "1.234"}'), 'ACC-1', 'invalid_amount'),
	('EUR with trailing zeros past 2 digits is invalid_amount', pg_temp.m('{"amount": "12.500"}'), 'ACC-1', 'invalid_amount'),
	('EUR JSON number with 3 fraction digits is invalid_amount', pg_temp.x('"amount": 12.345', '{}', 'amount'), 'ACC-1', 'invalid_amount'),
	('JPY "100" is fine', pg_temp.m('{"currency": "JPY", "amount": "100"}'), 'ACC-1', 'valid'),
	('JPY "100.5" is invalid_amount', pg_temp.m('{"currency": "JPY", "amount": "100.5"}'), 'ACC-1', 'invalid_amount'),
	('JPY "100.0" is invalid_amount', pg_temp.m('{"currency": "JPY", "amount": "100.0"}'), 'ACC-1', 'invalid_amount'),
	('ISK "5000" is fine', pg_temp.m('{"currency": "ISK", "amount": "5000"}'), 'ACC-1', 'valid'),
	('BHD "1.234" is fine', pg_temp.m('{"currency": "BHD", "amount": "1.234"}'), 'ACC-1', 'valid'),
	('BHD "1.2345" is invalid_amount', pg_temp.m('{"currency": "BHD", "amount": "1.2345"}'), 'ACC-1', 'invalid_amount'),
	('KWD "0.001" is fine', pg_temp.m('{"currency": "KWD", "amount": "0.001"}'), 'ACC-1', 'valid'),
	('CLF "1.2345" (4 minor digits) is fine', pg_temp.m('{"currency": "CLF", "amount": "1.2345"}'), 'ACC-1', 'valid'),
	('UYW "0.0001" is fine', pg_temp.m('{"currency": "UYW", "amount": "0.0001"}'), 'ACC-1', 'valid');

SELECT is(coalesce(v.reason, 'valid'), c.expect, c.what)
  FROM cases AS c CROSS JOIN LATERAL voltpay.validate_message(c.payload, c.rkey) AS v
 ORDER BY c.n;

-- The result row.
SELECT is((SELECT count(*)::int FROM cases AS c, LATERAL voltpay.validate_message(c.payload, c.rkey) AS v
			WHERE v.valid <> (v.reason IS NULL) OR (v.reason IS NULL) <> (v.detail IS NULL)),
		  0, 'valid is true exactly when reason and detail are NULL');
SELECT is((SELECT count(*)::int FROM cases AS c, LATERAL voltpay.validate_message(c.payload, c.rkey) AS v
			WHERE NOT v.valid AND v.detail !~ '^[A-Z].*\.$'),
		  0, 'every detail is a sentence: capitalised, ending with a period');
SELECT results_eq(
	$$SELECT * FROM voltpay.validate_message(pg_temp.m('{"message_id": "6F1C2B8E-4C1A-4F7E-9A51-0D2B3C4D5E6F"}'), 'ACC-1')$$,
	$$VALUES (true, '6f1c2b8e-4c1a-4f7e-9a51-0d2b3c4d5e6f'::uuid, NULL::text, NULL::text)$$,
	'a valid message: valid, its message_id, no reason, no detail');
SELECT is((SELECT message_id FROM voltpay.validate_message(pg_temp.m('{"amount": "-1"}'), 'ACC-1')),
		  '6f1c2b8e-4c1a-4f7e-9a51-0d2b3c4d5e6f'::uuid, 'message_id is returned when a later rule rejects the message');
SELECT is((SELECT message_id FROM voltpay.validate_message(pg_temp.m('{"payment_id": 1}'), 'ACC-1')),
		  '6f1c2b8e-4c1a-4f7e-9a51-0d2b3c4d5e6f'::uuid, 'message_id is returned when the very next rule fails');
SELECT is((SELECT message_id FROM voltpay.validate_message(pg_temp.m('{"message_id": "nope"}'), 'ACC-1')),
		  NULL, 'message_id is NULL when it does not parse');
SELECT is((SELECT message_id FROM voltpay.validate_message(pg_temp.m() || pg_temp.t('x'), 'ACC-1')),
		  NULL, 'message_id is NULL when the JSON does not parse');
SELECT is((SELECT message_id FROM voltpay.validate_message(pg_temp.m(), 'ACC-1')),
		  '6f1c2b8e-4c1a-4f7e-9a51-0d2b3c4d5e6f'::uuid, 'message_id of the base message');

-- Details name the field and say what is wrong.
SELECT is((SELECT detail FROM voltpay.validate_message(NULL)), 'The value is null.', 'detail of a NULL value');
SELECT is((SELECT detail FROM voltpay.validate_message(pg_temp.sized(65537))),
		  'The value has 65537 bytes, more than the 65536 bytes (64 KiB) allowed.', 'detail of too_large');
SELECT matches((SELECT detail FROM voltpay.validate_message(pg_temp.m() || '\x80'::bytea)),
		  '^The value is not valid UTF-8', 'detail of bad UTF-8');
SELECT is((SELECT detail FROM voltpay.validate_message(pg_temp.t(repeat('[', 10000)))),
		  'The value nests arrays and objects more than 32 levels deep.', 'detail of deep nesting');
SELECT is((SELECT detail FROM voltpay.validate_message(pg_temp.t('[]'))),
		  'The value is an array, not a JSON object.', 'detail of an array');
SELECT matches((SELECT detail FROM voltpay.validate_message(pg_temp.t('{"a": tru}'))),
		  '^The value is not valid JSON \(line 1\): Token "tru" is invalid\.$', 'detail of a syntax error quotes the parser');
SELECT is((SELECT detail FROM voltpay.validate_message(pg_temp.x('"amount": "12.50"'))),
		  'Key "amount" appears more than once in the same object.', 'detail of a duplicate key');
SELECT is((SELECT detail FROM voltpay.validate_message(
			pg_temp.x('"debtor": {"iban": "DE89370400440532013000", "iban": "x", "name": "A"}', '{}', 'debtor'))),
		  'Key "debtor.iban" appears more than once in the same object.', 'detail of a duplicate key in a party');
SELECT is((SELECT detail FROM voltpay.validate_message(pg_temp.d('{message_id}'))),
		  'Required field "message_id" is missing.', 'detail of a missing field');
SELECT is((SELECT detail FROM voltpay.validate_message(pg_temp.m('{"payment_id": null}'))),
		  'Required field "payment_id" is null.', 'detail of a null required field');
SELECT is((SELECT detail FROM voltpay.validate_message(pg_temp.m('{"currency": 12}'))),
		  'Field "currency" must be a JSON string, not a number.', 'detail of a wrong JSON type');
SELECT is((SELECT detail FROM voltpay.validate_message(pg_temp.m('{"currency": "usd"}'))),
		  'Field "currency" ("usd") is not an active ISO 4217 currency code in upper case.', 'detail of unknown_currency');
SELECT is((SELECT detail FROM voltpay.validate_message(pg_temp.m(), 'ACC-2')),
		  'Field "account_id" ("ACC-1") differs from the record key ("ACC-2").', 'detail of key_mismatch');
SELECT is((SELECT detail FROM voltpay.validate_message(pg_temp.m('{"amount": "1.234"}'))),
		  'Field "amount" has 3 fraction digits but the currency allows at most 2.', 'detail of too many fraction digits');
SELECT is((SELECT detail FROM voltpay.validate_message(pg_temp.m('{"currency": "JPY", "amount": "100.5"}'))),
		  'Field "amount" has 1 fraction digit but the currency has no minor unit.', 'detail of a fraction in JPY');
SELECT is((SELECT detail FROM voltpay.validate_message(pg_temp.x('"amount": 1e3', '{}', 'amount'))),
		  'Field "amount" (the JSON number 1e3) has an exponent; write the amount as plain decimal digits.',
		  'detail of an exponent in a JSON number');
SELECT is((SELECT detail FROM voltpay.validate_message(pg_temp.m('{"amount": "0.00"}'))),
		  'Field "amount" must be greater than zero.', 'detail of a zero amount');

SELECT * FROM finish();
ROLLBACK;
