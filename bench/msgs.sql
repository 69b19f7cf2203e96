-- Message generators shared by the benchmarks (bench/apply.sh,
-- bench/growth.sh): contract-v1 payloads, 1000 accounts, 100 partitions,
-- 30% asking for an e-mail, and UUIDv7 message ids.
CREATE SCHEMA IF NOT EXISTS bench;

-- A version 7 UUID (RFC 9562): the Unix time in milliseconds in the first
-- 48 bits, then random bits; version nibble 0111 (gen_random_uuid()'s 0100
-- with bits 52 and 53 set).
CREATE OR REPLACE FUNCTION bench.uuid7(ts timestamptz DEFAULT clock_timestamp())
RETURNS uuid LANGUAGE sql VOLATILE AS $$
	SELECT encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
		placing substring(int8send(floor(extract(epoch FROM ts) * 1000)::bigint) FROM 3)
		FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid
$$;

-- The raw record value of message i with the given message id.
CREATE OR REPLACE FUNCTION bench.payload(i int, message_id uuid)
RETURNS bytea LANGUAGE sql VOLATILE AS $$
	SELECT convert_to(jsonb_strip_nulls(jsonb_build_object(
		'message_id', message_id, 'payment_id', gen_random_uuid(),
		'account_id', 'acc-' || (i % 1000),
		'amount', ((i * 7919) % 100000) || '.' || lpad(((i * 31) % 100)::text, 2, '0'),
		'currency', (ARRAY['EUR', 'USD', 'GBP', 'CHF'])[1 + i % 4],
		'debtor', jsonb_build_object('name', 'Debtor ' || i, 'iban', 'DE89370400440532013000', 'bic', 'COBADEFFXXX'),
		'creditor', jsonb_build_object('name', 'Creditor ' || (i % 97), 'iban', (ARRAY['GB82WEST12345698765432', 'FR1420041010050500013M02606', 'NL91ABNA0417164300'])[1 + i % 3]),
		'remittance_info', 'Invoice ' || i,
		'customer_email', CASE WHEN i % 10 < 3 THEN 'customer' || i || '@example.com' END,
		'created_at', '2026-11-24T10:00:00Z'))::text, 'UTF8')
$$;

-- bench.msgs: n messages, i = 1..n, keyed by account, on 100 partitions;
-- message ids version 4 (random) or 7 (time-ordered, now).
CREATE OR REPLACE FUNCTION bench.make_msgs(n int, id_version int DEFAULT 4)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	DROP TABLE IF EXISTS bench.msgs;
	CREATE TABLE bench.msgs (i int PRIMARY KEY, key text, payload bytea, part int);
	INSERT INTO bench.msgs
	SELECT i, 'acc-' || (i % 1000),
		   bench.payload(i, CASE WHEN id_version = 7 THEN bench.uuid7() ELSE gen_random_uuid() END),
		   i % 100
	  FROM generate_series(1, n) i;
	ANALYZE bench.msgs;
END
$$;
