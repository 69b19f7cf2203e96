-- Message contract v1 (docs/message-contract.md) through
-- voltpay.validate_message(): debtor and creditor (name, IBAN, BIC),
-- remittance_info, customer_email, created_at, unknown fields, null versus
-- absent, and the order in which rules are checked (first failure wins).
BEGIN;
SELECT plan(170);

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
-- The base with one (possibly nested) value set.
CREATE FUNCTION pg_temp.s(path text[], v jsonb) RETURNS bytea LANGUAGE sql AS $$
	SELECT convert_to(jsonb_set(pg_temp.base(), path, v)::text, 'UTF8')
$$;
-- The base without one (possibly nested) field.
CREATE FUNCTION pg_temp.d(path text[]) RETURNS bytea LANGUAGE sql AS $$
	SELECT convert_to((pg_temp.base() #- path)::text, 'UTF8')
$$;
-- The base with debtor.iban set.
CREATE FUNCTION pg_temp.iban(v text) RETURNS bytea LANGUAGE sql AS $$
	SELECT pg_temp.s('{debtor,iban}', to_jsonb(v))
$$;

CREATE TEMP TABLE cases (
	n		serial,
	what	text NOT NULL,
	payload	bytea,
	expect	text NOT NULL			-- a reason code, or 'valid'
);

INSERT INTO cases (what, payload, expect) VALUES
	-- debtor and creditor objects
	('debtor missing is missing_field', pg_temp.d('{debtor}'), 'missing_field'),
	('debtor null is missing_field', pg_temp.m('{"debtor": null}'), 'missing_field'),
	('creditor missing is missing_field', pg_temp.d('{creditor}'), 'missing_field'),
	('creditor null is missing_field', pg_temp.m('{"creditor": null}'), 'missing_field'),
	('debtor as a string is invalid_field', pg_temp.m('{"debtor": "Ann Smith"}'), 'invalid_field'),
	('creditor as an array is invalid_field', pg_temp.m('{"creditor": [{"name": "Bob", "iban": "GB82WEST12345698765432"}]}'), 'invalid_field'),
	('debtor as an empty object is missing_field (name)', pg_temp.m('{"debtor": {}}'), 'missing_field'),
	('unknown fields inside debtor are ignored', pg_temp.s('{debtor,address}', '{"city": "Berlin", "lines": ["a", "b"]}'), 'valid'),
	('fields nested deeper than a party are not party fields',
		pg_temp.s('{debtor,extra}', '{"name": 1, "iban": "bad", "bic": 2}'), 'valid'),
	-- names
	('debtor.name missing is missing_field', pg_temp.d('{debtor,name}'), 'missing_field'),
	('creditor.name null is missing_field', pg_temp.s('{creditor,name}', 'null'), 'missing_field'),
	('debtor.name as a number is invalid_field', pg_temp.s('{debtor,name}', '42'), 'invalid_field'),
	('debtor.name empty is invalid_field', pg_temp.s('{debtor,name}', '""'), 'invalid_field'),
	('debtor.name of only spaces is invalid_field', pg_temp.s('{debtor,name}', '"   "'), 'invalid_field'),
	('debtor.name with inner and outer spaces is fine', pg_temp.s('{debtor,name}', '" Ann  Smith "'), 'valid'),
	('debtor.name with a tab is invalid_field', pg_temp.s('{debtor,name}', '"Ann\tSmith"'), 'invalid_field'),
	('debtor.name with a newline is invalid_field', pg_temp.s('{debtor,name}', '"Ann\nSmith"'), 'invalid_field'),
	('debtor.name with U+001F is invalid_field', pg_temp.s('{debtor,name}', '"Ann\u001fSmith"'), 'invalid_field'),
	('debtor.name with DEL is invalid_field', pg_temp.s('{debtor,name}', '"Ann\u007fSmith"'), 'invalid_field'),
	('debtor.name with a C1 control (U+0085) is invalid_field', pg_temp.s('{debtor,name}', '"Ann\u0085Smith"'), 'invalid_field'),
	('debtor.name with a no-break space is fine', pg_temp.s('{debtor,name}', '"Ann\u00a0Smith"'), 'valid'),
	('debtor.name of 140 ASCII characters is fine', pg_temp.s('{debtor,name}', to_jsonb(repeat('a', 140))), 'valid'),
	('debtor.name of 141 ASCII characters is invalid_field', pg_temp.s('{debtor,name}', to_jsonb(repeat('a', 141))), 'invalid_field'),
	('debtor.name of 140 two-byte characters (280 bytes) is fine', pg_temp.s('{debtor,name}', to_jsonb(repeat('é', 140))), 'valid'),
	('debtor.name of 141 two-byte characters is invalid_field', pg_temp.s('{debtor,name}', to_jsonb(repeat('é', 141))), 'invalid_field'),
	('creditor.name of 140 four-byte characters (560 bytes) is fine', pg_temp.s('{creditor,name}', to_jsonb(repeat('😀', 140))), 'valid'),
	('creditor.name of 141 four-byte characters is invalid_field', pg_temp.s('{creditor,name}', to_jsonb(repeat('😀', 141))), 'invalid_field'),
	('creditor.name of 140 three-byte characters is fine', pg_temp.s('{creditor,name}', to_jsonb(repeat('山', 140))), 'valid'),
	-- IBAN
	('debtor.iban missing is missing_field', pg_temp.d('{debtor,iban}'), 'missing_field'),
	('creditor.iban null is missing_field', pg_temp.s('{creditor,iban}', 'null'), 'missing_field'),
	('debtor.iban as a number is invalid_field', pg_temp.s('{debtor,iban}', '89370400440532013000'), 'invalid_field'),
	('an IBAN with spaces and lower case is normalised and fine', pg_temp.iban('de89 3704 0044 0532 0130 00'), 'valid'),
	('an IBAN with spaces at both ends is fine', pg_temp.iban('  DE89370400440532013000 '), 'valid'),
	('a Norwegian IBAN (15) is fine', pg_temp.iban('NO9386011117947'), 'valid'),
	('a Saint Lucia IBAN (32) is fine', pg_temp.iban('LC55HEMM000100010012001200023015'), 'valid'),
	('a Russian IBAN (33) is fine', pg_temp.iban('RU0304452522540817810538091310419'), 'valid'),
	('a French IBAN with a letter in the BBAN is fine', pg_temp.iban('FR1420041010050500013M02606'), 'valid'),
	('a Kosovo IBAN is fine', pg_temp.iban('XK051212012345678906'), 'valid'),
	('a Yemen IBAN is fine', pg_temp.iban('YE15CBYE0001018861234567891234'), 'valid'),
	('an IBAN with a bad checksum is invalid_iban', pg_temp.iban('DE88370400440532013000'), 'invalid_iban'),
	('an IBAN with two digits swapped is invalid_iban', pg_temp.iban('DE89370400440532031000'), 'invalid_iban'),
	('a creditor IBAN with a bad checksum is invalid_iban', pg_temp.s('{creditor,iban}', '"GB82WEST12345698765433"'), 'invalid_iban'),
	('an IBAN of a country outside the registry (US) is invalid_iban', pg_temp.iban('US64SVBKUS6S3300958879'), 'invalid_iban'),
	('an IBAN of an unassigned country (ZZ) is invalid_iban', pg_temp.iban('ZZ89370400440532013000'), 'invalid_iban'),
	('an IBAN one character short is invalid_iban', pg_temp.iban('DE8937040044053201300'), 'invalid_iban'),
	('an IBAN one character long is invalid_iban', pg_temp.iban('DE893704004405320130000'), 'invalid_iban'),
	('check digits 01 (passing mod-97) are invalid_iban', pg_temp.iban('DE01370400440000000042'), 'invalid_iban'),
	('check digits 98 for the same account are fine', pg_temp.iban('DE98370400440000000042'), 'valid'),
	('check digits 99 (passing mod-97) are invalid_iban', pg_temp.iban('DE99370400440000000024'), 'invalid_iban'),
	('an IBAN with letters as check digits is invalid_iban', pg_temp.iban('DEAB370400440532013000'), 'invalid_iban'),
	('an IBAN with a hyphen is invalid_iban', pg_temp.iban('DE89-3704-0044-0532-0130-00'), 'invalid_iban'),
	('an empty IBAN is invalid_iban', pg_temp.iban(''), 'invalid_iban'),
	('an IBAN of spaces is invalid_iban', pg_temp.iban('    '), 'invalid_iban'),
	('an IBAN starting with digits is invalid_iban', pg_temp.iban('8937040044053201300000'), 'invalid_iban'),
	-- BIC
	('a BIC of 11 characters is fine', pg_temp.s('{debtor,bic}', '"DEUTDEFF500"'), 'valid'),
	('a BIC of 8 characters is fine', pg_temp.s('{debtor,bic}', '"NWBKGB2L"'), 'valid'),
	('a lower-case BIC is fine (upper-cased)', pg_temp.s('{debtor,bic}', '"cobadeffxxx"'), 'valid'),
	('a creditor BIC is checked too', pg_temp.s('{creditor,bic}', '"NWBKGB2"'), 'invalid_field'),
	('a BIC of 9 characters is invalid_field', pg_temp.s('{debtor,bic}', '"COBADEFFX"'), 'invalid_field'),
	('a BIC of 7 characters is invalid_field', pg_temp.s('{debtor,bic}', '"COBADEF"'), 'invalid_field'),
	('a BIC of 12 characters is invalid_field', pg_temp.s('{debtor,bic}', '"COBADEFFXXXX"'), 'invalid_field'),
	('a BIC with a digit in the business party prefix is fine (ISO 9362:2014)', pg_temp.s('{debtor,bic}', '"C0BADEFFXXX"'), 'valid'),
	('a BIC whose business party prefix is all digits is fine (ISO 9362:2014)', pg_temp.s('{debtor,bic}', '"1234DEFF"'), 'valid'),
	('a lower-case BIC with digits in the prefix is fine', pg_temp.s('{debtor,bic}', '"9a8bgb2lxxx"'), 'valid'),
	('a BIC with a symbol in the business party prefix is invalid_field', pg_temp.s('{debtor,bic}', '"CO_ADEFF"'), 'invalid_field'),
	('a BIC with a non-ASCII letter in the prefix is invalid_field', pg_temp.s('{debtor,bic}', '"CÖBADEFF"'), 'invalid_field'),
	('a BIC with a digit in the second country letter is invalid_field', pg_temp.s('{debtor,bic}', '"1234D1FF"'), 'invalid_field'),
	('a BIC with an unassigned country (ZZ) is invalid_field', pg_temp.s('{debtor,bic}', '"COBAZZFFXXX"'), 'invalid_field'),
	('a BIC with a digit in the country is invalid_field', pg_temp.s('{debtor,bic}', '"COBAD1FFXXX"'), 'invalid_field'),
	('a BIC with a space is invalid_field', pg_temp.s('{debtor,bic}', '"COBA DEFF"'), 'invalid_field'),
	('a BIC with a symbol in the branch is invalid_field', pg_temp.s('{debtor,bic}', '"COBADEFF-XX"'), 'invalid_field'),
	('a Kosovo (XK) BIC is fine', pg_temp.s('{debtor,bic}', '"RBKOXKPR"'), 'valid'),
	('a BIC as a number is invalid_field', pg_temp.s('{debtor,bic}', '12345678'), 'invalid_field'),
	('an empty BIC is invalid_field', pg_temp.s('{debtor,bic}', '""'), 'invalid_field'),
	('a null BIC is absent: fine', pg_temp.s('{debtor,bic}', 'null'), 'valid'),
	('a missing BIC is fine', pg_temp.d('{debtor,bic}'), 'valid'),
	-- remittance_info
	('remittance_info missing is fine', pg_temp.d('{remittance_info}'), 'valid'),
	('remittance_info null is absent: fine', pg_temp.m('{"remittance_info": null}'), 'valid'),
	('remittance_info empty is fine', pg_temp.m('{"remittance_info": ""}'), 'valid'),
	('remittance_info of 140 characters is fine', pg_temp.m(jsonb_build_object('remittance_info', repeat('r', 140))), 'valid'),
	('remittance_info of 141 characters is invalid_field', pg_temp.m(jsonb_build_object('remittance_info', repeat('r', 141))), 'invalid_field'),
	('remittance_info of 140 two-byte characters is fine', pg_temp.m(jsonb_build_object('remittance_info', repeat('ü', 140))), 'valid'),
	('remittance_info of 141 two-byte characters is invalid_field', pg_temp.m(jsonb_build_object('remittance_info', repeat('ü', 141))), 'invalid_field'),
	('remittance_info of 140 four-byte characters is fine', pg_temp.m(jsonb_build_object('remittance_info', repeat('€😀', 70))), 'valid'),
	('remittance_info as a number is invalid_field', pg_temp.m('{"remittance_info": 42}'), 'invalid_field'),
	('remittance_info as an object is invalid_field', pg_temp.m('{"remittance_info": {"ref": "x"}}'), 'invalid_field'),
	-- customer_email
	('customer_email missing is fine', pg_temp.d('{customer_email}'), 'valid'),
	('customer_email null is absent: fine', pg_temp.m('{"customer_email": null}'), 'valid'),
	('customer_email with a sub-domain and plus is fine', pg_temp.m('{"customer_email": "ann.smith+pay@mail.example.co.uk"}'), 'valid'),
	('customer_email with non-ASCII characters is fine', pg_temp.m('{"customer_email": "zoë@exämple.de"}'), 'valid'),
	('customer_email of 254 characters is fine', pg_temp.m(jsonb_build_object('customer_email', repeat('a', 242) || '@example.com')), 'valid'),
	('customer_email of 255 characters is invalid_field', pg_temp.m(jsonb_build_object('customer_email', repeat('a', 243) || '@example.com')), 'invalid_field'),
	('customer_email without @ is invalid_field', pg_temp.m('{"customer_email": "ann.example.com"}'), 'invalid_field'),
	('customer_email with two @ is invalid_field', pg_temp.m('{"customer_email": "ann@smith@example.com"}'), 'invalid_field'),
	('customer_email without local part is invalid_field', pg_temp.m('{"customer_email": "@example.com"}'), 'invalid_field'),
	('customer_email without a dot in the domain is invalid_field', pg_temp.m('{"customer_email": "ann@localhost"}'), 'invalid_field'),
	('customer_email with an empty domain is invalid_field', pg_temp.m('{"customer_email": "ann@"}'), 'invalid_field'),
	('customer_email with a domain ending in a dot is invalid_field', pg_temp.m('{"customer_email": "ann@example."}'), 'invalid_field'),
	('customer_email with a domain starting with a dot is invalid_field', pg_temp.m('{"customer_email": "ann@.example.com"}'), 'invalid_field'),
	('customer_email with two dots in a row is invalid_field', pg_temp.m('{"customer_email": "ann@example..com"}'), 'invalid_field'),
	('customer_email with a space is invalid_field', pg_temp.m('{"customer_email": "ann smith@example.com"}'), 'invalid_field'),
	('customer_email with a trailing space is invalid_field', pg_temp.m('{"customer_email": "ann@example.com "}'), 'invalid_field'),
	('customer_email with a control character is invalid_field', pg_temp.m('{"customer_email": "ann\u0007@example.com"}'), 'invalid_field'),
	('customer_email empty is invalid_field', pg_temp.m('{"customer_email": ""}'), 'invalid_field'),
	('customer_email as a number is invalid_field', pg_temp.m('{"customer_email": 42}'), 'invalid_field'),
	-- created_at
	('created_at missing is missing_field', pg_temp.d('{created_at}'), 'missing_field'),
	('created_at null is missing_field', pg_temp.m('{"created_at": null}'), 'missing_field'),
	('created_at with Z is fine', pg_temp.m('{"created_at": "2026-11-24T10:00:00Z"}'), 'valid'),
	('created_at with +02:00 is fine', pg_temp.m('{"created_at": "2026-11-24T12:00:00+02:00"}'), 'valid'),
	('created_at with -05:30 is fine', pg_temp.m('{"created_at": "2026-11-24T04:30:00-05:30"}'), 'valid'),
	('created_at with -00:00 is fine', pg_temp.m('{"created_at": "2026-11-24T10:00:00-00:00"}'), 'valid'),
	('created_at with a fraction is fine', pg_temp.m('{"created_at": "2026-11-24T10:00:00.123Z"}'), 'valid'),
	('created_at with nanoseconds is fine', pg_temp.m('{"created_at": "2026-11-24T10:00:00.123456789+01:00"}'), 'valid'),
	('created_at with lower-case t and z is fine', pg_temp.m('{"created_at": "2026-11-24t10:00:00z"}'), 'valid'),
	('created_at on 29 February of a leap year is fine', pg_temp.m('{"created_at": "2024-02-29T10:00:00Z"}'), 'valid'),
	('created_at on 29 February 2000 is fine', pg_temp.m('{"created_at": "2000-02-29T00:00:00Z"}'), 'valid'),
	('created_at at 23:59:59 on 31 December is fine', pg_temp.m('{"created_at": "2026-12-31T23:59:59Z"}'), 'valid'),
	('created_at with a leap second is fine', pg_temp.m('{"created_at": "2016-12-31T23:59:60Z"}'), 'valid'),
	('created_at without offset is invalid_field', pg_temp.m('{"created_at": "2026-11-24T10:00:00"}'), 'invalid_field'),
	('created_at on 2026-02-30 is invalid_field', pg_temp.m('{"created_at": "2026-02-30T10:00:00Z"}'), 'invalid_field'),
	('created_at on 29 February 2026 is invalid_field', pg_temp.m('{"created_at": "2026-02-29T10:00:00Z"}'), 'invalid_field'),
	('created_at on 29 February 1900 is invalid_field', pg_temp.m('{"created_at": "1900-02-29T10:00:00Z"}'), 'invalid_field'),
	('created_at on 31 April is invalid_field', pg_temp.m('{"created_at": "2026-04-31T10:00:00Z"}'), 'invalid_field'),
	('created_at in month 13 is invalid_field', pg_temp.m('{"created_at": "2026-13-01T10:00:00Z"}'), 'invalid_field'),
	('created_at on day 00 is invalid_field', pg_temp.m('{"created_at": "2026-11-00T10:00:00Z"}'), 'invalid_field'),
	('created_at at hour 24 is invalid_field', pg_temp.m('{"created_at": "2026-11-24T24:00:00Z"}'), 'invalid_field'),
	('created_at at minute 60 is invalid_field', pg_temp.m('{"created_at": "2026-11-24T10:60:00Z"}'), 'invalid_field'),
	('created_at at second 61 is invalid_field', pg_temp.m('{"created_at": "2026-11-24T10:00:61Z"}'), 'invalid_field'),
	('created_at with a space instead of T is invalid_field', pg_temp.m('{"created_at": "2026-11-24 10:00:00Z"}'), 'invalid_field'),
	('created_at as a date only is invalid_field', pg_temp.m('{"created_at": "2026-11-24"}'), 'invalid_field'),
	('created_at without seconds is invalid_field', pg_temp.m('{"created_at": "2026-11-24T10:00Z"}'), 'invalid_field'),
	('created_at with an offset without colon is invalid_field', pg_temp.m('{"created_at": "2026-11-24T10:00:00+0200"}'), 'invalid_field'),
	('created_at with an hour-only offset is invalid_field', pg_temp.m('{"created_at": "2026-11-24T10:00:00+02"}'), 'invalid_field'),
	('created_at with offset +24:00 is invalid_field', pg_temp.m('{"created_at": "2026-11-24T10:00:00+24:00"}'), 'invalid_field'),
	('created_at with a dot and no fraction digits is invalid_field', pg_temp.m('{"created_at": "2026-11-24T10:00:00.Z"}'), 'invalid_field'),
	('created_at with a time zone name is invalid_field', pg_temp.m('{"created_at": "2026-11-24T10:00:00 UTC"}'), 'invalid_field'),
	('created_at with text after the offset is invalid_field', pg_temp.m('{"created_at": "2026-11-24T10:00:00Zx"}'), 'invalid_field'),
	('created_at with a 5-digit year is invalid_field', pg_temp.m('{"created_at": "20260-11-24T10:00:00Z"}'), 'invalid_field'),
	('created_at as a number (epoch) is invalid_field', pg_temp.m('{"created_at": 1795514400}'), 'invalid_field'),
	('created_at as an empty string is invalid_field', pg_temp.m('{"created_at": ""}'), 'invalid_field'),
	-- unknown fields, null versus absent
	('unknown top-level fields are ignored', pg_temp.m('{"version": 2, "note": null, "meta": {"a": [1, {"b": true}]}, "tags": []}'), 'valid'),
	('field names are case-sensitive ("Amount" is unknown)',
		convert_to(((pg_temp.base() - 'amount') || '{"Amount": "12.50"}')::text, 'UTF8'), 'missing_field'),
	('all optional fields null is fine',
		pg_temp.m('{"remittance_info": null, "customer_email": null, "debtor": {"name": "A", "iban": "DE89370400440532013000", "bic": null}}'), 'valid'),
	('only the required fields is fine',
		convert_to((pg_temp.base() - 'remittance_info' - 'customer_email' #- '{debtor,bic}')::text, 'UTF8'), 'valid'),
	-- check order: first failure wins
	('a bad message_id is reported before a bad amount', pg_temp.m('{"message_id": "x", "amount": "-1"}'), 'invalid_field'),
	('a missing payment_id is reported before a bad currency', pg_temp.m('{"payment_id": null, "currency": "usd"}'), 'missing_field'),
	('an unknown currency is reported before a bad amount', pg_temp.m('{"currency": "usd", "amount": "-1"}'), 'unknown_currency'),
	('a bad amount is reported before a bad debtor', pg_temp.m('{"amount": "-1", "debtor": null}'), 'invalid_amount'),
	('a bad debtor IBAN is reported before a bad creditor name',
		convert_to(jsonb_set(jsonb_set(pg_temp.base(), '{debtor,iban}', '"DE00"'), '{creditor,name}', '""')::text, 'UTF8'), 'invalid_iban'),
	('a bad debtor name is reported before a bad debtor IBAN',
		convert_to(jsonb_set(jsonb_set(pg_temp.base(), '{debtor,iban}', '"DE00"'), '{debtor,name}', '""')::text, 'UTF8'), 'invalid_field'),
	('a bad creditor is reported before a bad remittance_info',
		pg_temp.m(jsonb_build_object('creditor', 'x', 'remittance_info', repeat('r', 141))), 'invalid_field'),
	('a bad customer_email is reported before a bad created_at', pg_temp.m('{"customer_email": "x", "created_at": "x"}'), 'invalid_field'),
	('invalid JSON is reported before missing fields', pg_temp.d('{message_id}') || '\x7d'::bytea, 'invalid_json');

SELECT is(coalesce(v.reason, 'valid'), c.expect, c.what)
  FROM cases AS c CROSS JOIN LATERAL voltpay.validate_message(c.payload, 'ACC-1') AS v
 ORDER BY c.n;

SELECT is((SELECT count(*)::int FROM cases AS c, LATERAL voltpay.validate_message(c.payload, 'ACC-1') AS v
			WHERE NOT v.valid AND v.detail !~ '^[A-Z].*\.$'),
		  0, 'every detail is a sentence: capitalised, ending with a period');

-- Details name the field at fault.
CREATE FUNCTION pg_temp.detail(p bytea) RETURNS text LANGUAGE sql AS $$
	SELECT detail FROM voltpay.validate_message(p, 'ACC-1')
$$;
SELECT is(pg_temp.detail(pg_temp.iban('DE88370400440532013000')),
		  'Field "debtor.iban" fails the ISO 13616 mod-97 check.', 'detail of a bad checksum');
SELECT is(pg_temp.detail(pg_temp.s('{creditor,iban}', '"US64SVBKUS6S3300958879"')),
		  'Field "creditor.iban" has country code "US", which is not in the ISO 13616 IBAN registry.',
		  'detail of an IBAN country outside the registry');
SELECT is(pg_temp.detail(pg_temp.iban('DE8937040044053201300')),
		  'Field "debtor.iban" has 21 characters but IBANs of DE have 22.', 'detail of a wrong IBAN length');
SELECT is(pg_temp.detail(pg_temp.iban('DE01370400440000000042')),
		  'Field "debtor.iban" has check digits 01, outside 02 to 98.', 'detail of out-of-range check digits');
SELECT is(pg_temp.detail(pg_temp.s('{debtor,bic}', '"COBADEFFX"')),
		  'Field "debtor.bic" must have 8 or 11 characters, not 9.', 'detail of a BIC length');
SELECT is(pg_temp.detail(pg_temp.s('{debtor,bic}', '"1234D1FF"')),
		  'Field "debtor.bic" must have letters at positions 5 and 6 (the country code).', 'detail of a BIC country that is not letters');
SELECT is(pg_temp.detail(pg_temp.iban('DE85A70400440532013000')),
		  'Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of DE (8!n10!n) has a digit.',
		  'detail of an IBAN that passes mod-97 but breaks the BBAN structure');
SELECT is(pg_temp.detail(pg_temp.s('{debtor,bic}', '"COBAZZFF"')),
		  'Field "debtor.bic" has country code "ZZ", which is not an ISO 3166-1 country.', 'detail of a BIC country');
SELECT is(pg_temp.detail(pg_temp.s('{creditor,name}', to_jsonb(repeat('é', 141)))),
		  'Field "creditor.name" has 141 characters, more than 140.', 'detail of a long name counts characters');
SELECT is(pg_temp.detail(pg_temp.s('{debtor,name}', '"  "')),
		  'Field "debtor.name" contains only spaces.', 'detail of a blank name');
SELECT is(pg_temp.detail(pg_temp.d('{creditor,iban}')),
		  'Required field "creditor.iban" is missing.', 'detail of a missing party field');
SELECT is(pg_temp.detail(pg_temp.m('{"debtor": "x"}')),
		  'Field "debtor" must be a JSON object, not a string.', 'detail of a party that is not an object');
SELECT is(pg_temp.detail(pg_temp.m(jsonb_build_object('remittance_info', repeat('ü', 141)))),
		  'Field "remittance_info" has 141 characters, more than 140.', 'detail of a long remittance_info');
SELECT is(pg_temp.detail(pg_temp.m('{"customer_email": "ann@localhost"}')),
		  'Field "customer_email" does not have a domain with a dot after the "@".', 'detail of an e-mail without a dotted domain');
SELECT is(pg_temp.detail(pg_temp.m('{"created_at": "2026-11-24T10:00:00"}')),
		  'Field "created_at" has no UTC offset; end it with Z or +hh:mm.', 'detail of a timestamp without offset');
SELECT is(pg_temp.detail(pg_temp.m('{"created_at": "2026-02-30T10:00:00Z"}')),
		  'Field "created_at" has day 30, which month 02 of 2026 does not have.', 'detail of an impossible date');

SELECT * FROM finish();
ROLLBACK;
