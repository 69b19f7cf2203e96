-- Run once by test/suites/isolation.sh before the specs (spec files cannot
-- hold JSON: a brace ends their SQL blocks).  iso_msg(n) is a fixed valid
-- message for account acc-n; iso_msg(n, amount) a variant with another
-- payload under the same message_id.
CREATE FUNCTION iso_msg(n int, amount text DEFAULT '10.00') RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
	SELECT convert_to(jsonb_build_object(
		'message_id', format('00000000-0000-4000-8000-%s', lpad(n::text, 12, '0')),
		'payment_id', format('10000000-0000-4000-8000-%s', lpad(n::text, 12, '0')),
		'account_id', 'acc-' || n, 'amount', amount, 'currency', 'EUR',
		'debtor', jsonb_build_object('name', 'Ann', 'iban', 'DE89370400440532013000'),
		'creditor', jsonb_build_object('name', 'Bob', 'iban', 'GB82WEST12345698765432'),
		'created_at', '2026-11-24T10:00:00Z')::text, 'UTF8')
$$;
