-- Message contract v1: the normalised values a valid message is stored with
-- (canonical amount, compact upper-case IBAN, upper-case BIC, created_at as
-- an instant), seen through apply_payment_batch() and voltpay.payments.
BEGIN;
SELECT plan(31);

CREATE FUNCTION pg_temp.base() RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
	SELECT '{"account_id": "ACC-1", "amount": "12.50", "currency": "EUR",
			 "debtor": {"name": "Ann Smith", "iban": "DE89370400440532013000", "bic": "COBADEFFXXX"},
			 "creditor": {"name": "Bob Jones", "iban": "GB82WEST12345698765432"},
			 "created_at": "2026-11-24T10:00:00Z"}'::jsonb
$$;
-- The message_id and payment_id of case n.
CREATE FUNCTION pg_temp.id(n int) RETURNS uuid LANGUAGE sql IMMUTABLE AS $$
	SELECT ('00000000-0000-4000-8000-' || lpad(n::text, 12, '0'))::uuid
$$;
CREATE FUNCTION pg_temp.pid(n int) RETURNS uuid LANGUAGE sql IMMUTABLE AS $$
	SELECT ('00000000-0000-4000-9000-' || lpad(n::text, 12, '0'))::uuid
$$;
-- Applies case n: the base with o merged and the keys in drop removed, then
-- raw members appended (for JSON number literals).  Returns the status, with
-- reason and detail when not applied.
CREATE FUNCTION pg_temp.apply(n int, o jsonb, raw text DEFAULT NULL, drop text[] DEFAULT '{}')
RETURNS text LANGUAGE sql AS $$
	SELECT r.status || coalesce(' ' || r.reason || ': ' || r.detail, '')
	  FROM voltpay.apply_payment_batch(ARRAY['ACC-1'], ARRAY[convert_to(
			left(((pg_temp.base() || jsonb_build_object('message_id', pg_temp.id(n), 'payment_id', pg_temp.pid(n)) || o) - drop)::text, -1)
			|| coalesce(', ' || raw, '') || '}', 'UTF8')]) AS r
$$;
CREATE FUNCTION pg_temp.stored(n int) RETURNS voltpay.payments LANGUAGE sql AS $$
	SELECT * FROM voltpay.payments WHERE message_id = pg_temp.id(n)
$$;

-- Amounts: exactly the currency's minor-unit digits, taken from the text.
SELECT is(pg_temp.apply(1, '{"amount": "12.5"}'), 'applied', 'EUR "12.5" is applied');
SELECT is(pg_temp.apply(2, '{}', '"amount": 12.5', '{amount}'), 'applied', 'EUR JSON number 12.5 is applied');
SELECT is(pg_temp.apply(3, '{"amount": "7"}'), 'applied', 'EUR "7" is applied');
SELECT is(pg_temp.apply(4, '{"currency": "JPY", "amount": "100"}'), 'applied', 'JPY "100" is applied');
SELECT is(pg_temp.apply(5, '{"currency": "BHD", "amount": "1.2"}'), 'applied', 'BHD "1.2" is applied');
SELECT is(pg_temp.apply(6, '{"currency": "CLF", "amount": "1"}'), 'applied', 'CLF "1" is applied');
SELECT is(pg_temp.apply(7, '{"amount": "999999999999999999.99"}'), 'applied', 'the largest EUR amount is applied');
SELECT is(pg_temp.apply(8, '{}', '"amount": 0.1', '{amount}'), 'applied', 'EUR JSON number 0.1 is applied');
SELECT results_eq(
	$$SELECT n, (pg_temp.stored(n)).amount::text, (pg_temp.stored(n)).currency FROM generate_series(1, 8) AS n ORDER BY n$$,
	$$VALUES (1, '12.50', 'EUR'), (2, '12.50', 'EUR'), (3, '7.00', 'EUR'), (4, '100', 'JPY'),
			 (5, '1.200', 'BHD'), (6, '1.0000', 'CLF'), (7, '999999999999999999.99', 'EUR'), (8, '0.10', 'EUR')$$,
	'amounts are stored in canonical form, exact (no float rounding)');

-- IBAN and BIC.
SELECT is(pg_temp.apply(10, '{"debtor": {"name": " Ann  Smith ", "iban": "de89 3704 0044 0532 0130 00", "bic": "cobadeffxxx"},
							   "creditor": {"name": "Bob Jones", "iban": "  gb82 west 1234 5698 7654 32", "bic": "nwbkGB2l"}}'),
		  'applied', 'a message with spaced, lower-case IBANs and BICs is applied');
SELECT results_eq(
	$$SELECT debtor_name, debtor_iban, debtor_bic, creditor_iban, creditor_bic FROM pg_temp.stored(10)$$,
	$$VALUES (' Ann  Smith ', 'DE89370400440532013000', 'COBADEFFXXX', 'GB82WEST12345698765432', 'NWBKGB2L')$$,
	'IBANs are stored without spaces in upper case, BICs in upper case, names as sent');
SELECT is(pg_temp.apply(11, '{"debtor": {"name": "Ann", "iban": "DE89370400440532013000", "bic": null}}'),
		  'applied', 'a message with a null BIC is applied');
SELECT is((pg_temp.stored(11)).debtor_bic, NULL, 'a null BIC is stored as NULL');

-- Optional fields.
SELECT is(pg_temp.apply(12, '{"remittance_info": "Rechnung Nr. 4711 – März", "customer_email": "zoë@exämple.de"}'),
		  'applied', 'a message with remittance_info and customer_email is applied');
SELECT results_eq(
	$$SELECT remittance_info, customer_email FROM pg_temp.stored(12)$$,
	$$VALUES ('Rechnung Nr. 4711 – März', 'zoë@exämple.de')$$,
	'remittance_info and customer_email are stored as sent');
SELECT is(pg_temp.apply(13, '{"remittance_info": null, "customer_email": null}'), 'applied',
		  'a message with null optional fields is applied');
SELECT results_eq(
	$$SELECT remittance_info, customer_email FROM pg_temp.stored(13)$$,
	$$VALUES (NULL::text, NULL::text)$$,
	'null optional fields are stored as absent');

-- created_at: the instant, whatever the offset.  pg_input says whether
-- PostgreSQL's own timestamptz input must agree (not for a tie at the 7th
-- fraction digit: the contract rounds half up, PostgreSQL's float rounding
-- may not).
CREATE TEMP TABLE ts (n int, created_at text, expect timestamptz, pg_input boolean);
INSERT INTO ts VALUES
	(20, '2026-11-24T12:00:00+02:00', '2026-11-24 10:00:00+00', true),
	(21, '2026-11-24T04:30:00-05:30', '2026-11-24 10:00:00+00', true),
	(22, '2026-11-24t10:00:00z', '2026-11-24 10:00:00+00', true),
	(23, '2026-11-24T10:00:00.1234567Z', '2026-11-24 10:00:00.123457+00', true),
	(24, '2026-11-24T10:00:00.1234565Z', '2026-11-24 10:00:00.123457+00', false),
	(25, '2026-11-24T09:59:59.9999997Z', '2026-11-24 10:00:00+00', true),
	(26, '2016-12-31T23:59:60Z', '2017-01-01 00:00:00+00', true),
	(27, '2024-02-29T23:30:00-01:00', '2024-03-01 00:30:00+00', true),
	(28, '1999-12-31T23:59:59.999999-00:00', '1999-12-31 23:59:59.999999+00', true),
	(29, '9999-12-31T23:59:59Z', '9999-12-31 23:59:59+00', true),
	(30, '0001-01-01T00:00:00+14:00', '0001-12-31 10:00:00+00 BC', true);
SELECT is(pg_temp.apply(n, jsonb_build_object('created_at', created_at)), 'applied',
		  'created_at ' || created_at || ' is applied')
  FROM ts ORDER BY n;
SELECT results_eq(
	$$SELECT n, (pg_temp.stored(n)).created_at FROM ts ORDER BY n$$,
	$$SELECT n, expect FROM ts ORDER BY n$$,
	'created_at is stored as the instant it names');
SELECT is((SELECT count(*)::int FROM ts
			WHERE pg_input AND (pg_temp.stored(n)).created_at IS DISTINCT FROM created_at::timestamptz),
		  0, 'created_at agrees with PostgreSQL''s own timestamptz input');

-- The payment row keeps the parsed ids.
SELECT results_eq(
	$$SELECT payment_id, account_id FROM pg_temp.stored(1)$$,
	$$VALUES ('00000000-0000-4000-9000-000000000001'::uuid, 'ACC-1')$$,
	'payment_id and account_id are stored as parsed');

SELECT * FROM finish();
ROLLBACK;
