-- apply_payment_batch(): statuses, idempotency, conflicts, mixed batches,
-- quarantine, outbox contents, recorded positions and caller errors.
BEGIN;
SELECT plan(57);

-- A valid contract-v1 message, with overrides.
CREATE FUNCTION pg_temp.msg(o jsonb DEFAULT '{}') RETURNS bytea LANGUAGE sql AS $$
	SELECT convert_to((jsonb_build_object(
		'message_id', gen_random_uuid(), 'payment_id', gen_random_uuid(),
		'account_id', 'acc-1', 'amount', '12.50', 'currency', 'EUR',
		'debtor', jsonb_build_object('name', 'Ann Smith', 'iban', 'DE89370400440532013000', 'bic', 'COBADEFFXXX'),
		'creditor', jsonb_build_object('name', 'Bob Jones', 'iban', 'GB82WEST12345698765432'),
		'remittance_info', 'Invoice 42',
		'created_at', '2026-11-24T10:00:00Z') || o)::text, 'UTF8')
$$;
-- Applies one message, then reads its stored amount (a second statement,
-- so that it sees the rows the first one wrote).
CREATE FUNCTION pg_temp.amount_of(m bytea) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	v_pid uuid;
BEGIN
	SELECT payment_id INTO v_pid FROM voltpay.apply_payment_batch(ARRAY[NULL]::text[], ARRAY[m]);
	RETURN (SELECT amount::text FROM voltpay.payments WHERE payment_id = v_pid);
END
$$;
CREATE TEMP TABLE r AS SELECT * FROM voltpay.apply_payment_batch(ARRAY[]::text[], ARRAY[]::bytea[]) LIMIT 0;

-- One valid message.
SELECT results_eq(
	$$SELECT ordinal, message_id, status, reason FROM voltpay.apply_payment_batch(ARRAY['acc-1'],
		ARRAY[pg_temp.msg('{"message_id": "11111111-1111-1111-1111-111111111111", "payment_id": "a1111111-1111-1111-1111-111111111111", "customer_email": "ann@example.com"}')])$$,
	$$VALUES (1, '11111111-1111-1111-1111-111111111111'::uuid, 'applied', NULL::text)$$,
	'a valid message is applied');
SELECT results_eq(
	$$SELECT payment_id, account_id, amount, currency, debtor_iban, creditor_name, debtor_bic, creditor_bic, remittance_info, customer_email
		FROM voltpay.payments WHERE message_id = '11111111-1111-1111-1111-111111111111'$$,
	$$VALUES ('a1111111-1111-1111-1111-111111111111'::uuid, 'acc-1', 12.50::numeric, 'EUR', 'DE89370400440532013000',
			  'Bob Jones', 'COBADEFFXXX', NULL::text, 'Invoice 42', 'ann@example.com')$$,
	'the payment lands in the normalised tables, one flat row in voltpay.payments');
SELECT is((SELECT amount::text FROM voltpay.payments WHERE message_id = '11111111-1111-1111-1111-111111111111'),
		  '12.50', 'the amount keeps the currency''s two decimals');
SELECT is((SELECT count(*)::int FROM voltpay.payment_party WHERE payment_id = 'a1111111-1111-1111-1111-111111111111'),
		  2, 'debtor and creditor are two party rows');
SELECT is((SELECT processed_on FROM voltpay.idempotency WHERE message_id = '11111111-1111-1111-1111-111111111111'),
		  current_date, 'the idempotency row is dated today');
SELECT is((SELECT encode(payload_hash, 'hex') FROM voltpay.idempotency WHERE message_id = '11111111-1111-1111-1111-111111111111'),
		  encode(sha256(pg_temp.msg('{"message_id": "11111111-1111-1111-1111-111111111111", "payment_id": "a1111111-1111-1111-1111-111111111111", "customer_email": "ann@example.com"}')), 'hex'),
		  'the idempotency row keeps the SHA-256 of the raw payload');

-- Outbox: a read event and an email event, keyed by account, in order.
SELECT results_eq(
	$$SELECT kind, event_key, headers->>'message_id', headers->>'event' FROM voltpay.outbox
		WHERE message_id = '11111111-1111-1111-1111-111111111111' ORDER BY event_id$$,
	$$VALUES ('read', 'acc-1', '11111111-1111-1111-1111-111111111111', 'payment_applied'),
			 ('email', 'acc-1', '11111111-1111-1111-1111-111111111111', 'payment_email')$$,
	'an applied payment with an e-mail adds a read and an email event');
SELECT is((SELECT convert_from(event_value, 'UTF8')::jsonb - 'applied_at' FROM voltpay.outbox
			WHERE message_id = '11111111-1111-1111-1111-111111111111' AND kind = 'read'),
		  '{"event": "payment_applied", "version": 1, "message_id": "11111111-1111-1111-1111-111111111111",
			"payment_id": "a1111111-1111-1111-1111-111111111111", "account_id": "acc-1", "amount": "12.50",
			"currency": "EUR", "debtor": {"name": "Ann Smith", "iban": "DE89370400440532013000", "bic": "COBADEFFXXX"},
			"creditor": {"name": "Bob Jones", "iban": "GB82WEST12345698765432", "bic": null},
			"remittance_info": "Invoice 42", "created_at": "2026-11-24T10:00:00.000000Z"}'::jsonb,
		  'the read event carries the payment, amount as a string');
SELECT is((SELECT convert_from(event_value, 'UTF8')::jsonb->>'customer_email' FROM voltpay.outbox
			WHERE message_id = '11111111-1111-1111-1111-111111111111' AND kind = 'email'),
		  'ann@example.com', 'the email event carries the address');

-- Redelivery: byte-identical is a duplicate, same id with other bytes a conflict.
SELECT results_eq(
	$$SELECT status, reason FROM voltpay.apply_payment_batch(ARRAY['acc-1'],
		ARRAY[pg_temp.msg('{"message_id": "11111111-1111-1111-1111-111111111111", "payment_id": "a1111111-1111-1111-1111-111111111111", "customer_email": "ann@example.com"}')])$$,
	$$VALUES ('duplicate', NULL::text)$$,
	'the same bytes again are a duplicate');
SELECT results_eq(
	$$SELECT status, reason FROM voltpay.apply_payment_batch(ARRAY['acc-1'],
		ARRAY[pg_temp.msg('{"message_id": "11111111-1111-1111-1111-111111111111", "amount": "99.00"}')])$$,
	$$VALUES ('rejected', 'idempotency_conflict')$$,
	'the same id with another payload is an idempotency conflict');
SELECT is((SELECT count(*)::int FROM voltpay.payments WHERE message_id = '11111111-1111-1111-1111-111111111111'),
		  1, 'the payment is still there once');
SELECT is((SELECT reason FROM voltpay.rejected_messages WHERE message_id = '11111111-1111-1111-1111-111111111111'),
		  'idempotency_conflict', 'the conflicting message is quarantined');
SELECT is((SELECT convert_from(payload, 'UTF8')::jsonb->>'amount' FROM voltpay.rejected_messages
			WHERE message_id = '11111111-1111-1111-1111-111111111111'),
		  '99.00', 'the quarantine keeps the raw payload');
SELECT is((SELECT count(*)::int FROM voltpay.outbox WHERE kind = 'dead_letter'
			AND message_id = '11111111-1111-1111-1111-111111111111'),
		  1, 'the conflict adds a dead-letter event');

-- A mixed batch with coordinates: results in input order.
TRUNCATE r;
INSERT INTO r SELECT * FROM voltpay.apply_payment_batch(
	ARRAY['acc-2', 'acc-2', 'acc-3', 'acc-2', 'acc-2', NULL, 'acc-9'],
	ARRAY[pg_temp.msg('{"message_id": "22222222-2222-2222-2222-222222222201", "account_id": "acc-2", "payment_id": "b2222222-2222-2222-2222-222222222201"}'),
		  pg_temp.msg('{"message_id": "22222222-2222-2222-2222-222222222202", "account_id": "acc-2", "debtor": {"name": "X", "iban": "DE00370400440532013000"}}'),
		  pg_temp.msg('{"message_id": "22222222-2222-2222-2222-222222222203", "account_id": "acc-3", "payment_id": "b2222222-2222-2222-2222-222222222203", "customer_email": "c@example.org"}'),
		  pg_temp.msg('{"message_id": "22222222-2222-2222-2222-222222222201", "account_id": "acc-2", "payment_id": "b2222222-2222-2222-2222-222222222201"}'),
		  pg_temp.msg('{"message_id": "22222222-2222-2222-2222-222222222201", "account_id": "acc-2", "amount": "1.00"}'),
		  NULL,
		  pg_temp.msg('{"message_id": "22222222-2222-2222-2222-222222222207", "account_id": "acc-2"}')],
	'payment_writer_topic', ARRAY[3, 3, 4, 3, 3, 5, 3], ARRAY[10, 11, 20, 12, 13, 7, 14]::bigint[],
	ARRAY[now(), now(), now(), now(), now(), now(), now()]);
SELECT results_eq(
	$$SELECT ordinal, status, reason FROM r ORDER BY ordinal$$,
	$$VALUES (1, 'applied', NULL::text), (2, 'rejected', 'invalid_iban'), (3, 'applied', NULL),
			 (4, 'duplicate', NULL), (5, 'rejected', 'idempotency_conflict'), (6, 'rejected', 'empty_value'),
			 (7, 'rejected', 'key_mismatch')$$,
	'a mixed batch gives one row per message in input order');
SELECT ok((SELECT detail FROM r WHERE ordinal = 2) ~ 'debtor\.iban', 'the detail names the field at fault');
SELECT ok((SELECT bool_and(detail IS NOT NULL) FROM r WHERE status <> 'applied'), 'every non-applied row has a detail');
SELECT is((SELECT payment_id FROM r WHERE ordinal = 3), 'b2222222-2222-2222-2222-222222222203'::uuid,
		  'the result carries the payment id');
SELECT results_eq(
	$$SELECT partition, next_offset, applied, duplicate, rejected FROM voltpay.partition_status
		WHERE topic = 'payment_writer_topic' ORDER BY partition$$,
	$$VALUES (3, 15::bigint, 1::bigint, 1::bigint, 3::bigint), (4, 21, 1, 0, 0), (5, 8, 0, 0, 1)$$,
	'each partition records its next offset and counts');
SELECT results_eq(
	$$SELECT "offset", reason FROM voltpay.rejected_messages WHERE topic = 'payment_writer_topic' ORDER BY "offset"$$,
	$$VALUES (7::bigint, 'empty_value'), (11, 'invalid_iban'), (13, 'idempotency_conflict'), (14, 'key_mismatch')$$,
	'rejected messages are quarantined with their coordinates');
SELECT results_eq(
	$$SELECT kind, headers->>'voltpay-source' FROM voltpay.outbox WHERE src_partition IS NOT NULL ORDER BY event_id$$,
	$$VALUES ('read', NULL), ('dead_letter', 'payment_writer_topic:3:11'), ('read', NULL), ('email', NULL),
			 ('dead_letter', 'payment_writer_topic:3:13'), ('dead_letter', 'payment_writer_topic:5:7'),
			 ('dead_letter', 'payment_writer_topic:3:14')$$,
	'outbox events follow the input order');
SELECT is((SELECT event_value FROM voltpay.outbox
			WHERE headers->>'voltpay-source' = 'payment_writer_topic:3:11'),
		  (SELECT payload FROM voltpay.rejected_messages WHERE "offset" = 11),
		  'a dead-letter event carries the original value');
SELECT is((SELECT headers->>'voltpay-reason' FROM voltpay.outbox
			WHERE headers->>'voltpay-source' = 'payment_writer_topic:3:11'),
		  'invalid_iban', 'a dead-letter event says why');

-- Redelivery of the whole batch: everything below the position is a duplicate.
SELECT results_eq(
	$$SELECT array_agg(status ORDER BY ordinal) FROM voltpay.apply_payment_batch(
		ARRAY['acc-2', 'acc-2'], ARRAY[pg_temp.msg('{"account_id": "acc-2"}'), 'garbage'::bytea],
		'payment_writer_topic', ARRAY[3, 5], ARRAY[12, 7]::bigint[])$$,
	$$VALUES (ARRAY['duplicate', 'duplicate'])$$,
	'messages below the recorded position are duplicates, even new or invalid ones');
SELECT is((SELECT count(*)::int FROM voltpay.rejected_messages), 5, 'a redelivered reject is not stored again');

-- A rejected message redelivered after the position moved back: rejected again, stored once.
SELECT is(voltpay.set_partition_position('payment_writer_topic', 5, 0), 8::bigint, 'set_partition_position returns the old position');
SELECT results_eq(
	$$SELECT status, reason FROM voltpay.apply_payment_batch(ARRAY['acc-2'], ARRAY[NULL::bytea],
		'payment_writer_topic', ARRAY[5], ARRAY[7]::bigint[])$$,
	$$VALUES ('rejected', 'empty_value')$$,
	'below a moved-back position the message is checked again');
SELECT is((SELECT count(*)::int FROM voltpay.rejected_messages WHERE topic = 'payment_writer_topic' AND "offset" = 7),
		  1, 'the same coordinates are quarantined once');
SELECT is((SELECT count(*)::int FROM voltpay.outbox WHERE headers->>'voltpay-source' = 'payment_writer_topic:5:7'),
		  1, 'and dead-lettered once');

-- Within one batch: a repeat is a duplicate of the first, a variant a conflict.
SELECT results_eq(
	$$SELECT array_agg(status || coalesce(':' || reason, '') ORDER BY ordinal) FROM voltpay.apply_payment_batch(
		ARRAY[NULL, NULL, NULL]::text[],
		ARRAY[pg_temp.msg('{"message_id": "33333333-3333-3333-3333-333333333333", "payment_id": "c3333333-3333-3333-3333-333333333333"}'),
			  pg_temp.msg('{"message_id": "33333333-3333-3333-3333-333333333333", "payment_id": "c3333333-3333-3333-3333-333333333333"}'),
			  pg_temp.msg('{"message_id": "33333333-3333-3333-3333-333333333333", "amount": "7.00"}')])$$,
	$$VALUES (ARRAY['applied', 'duplicate', 'rejected:idempotency_conflict'])$$,
	'duplicates inside one batch follow the same rules');

-- Exact money.
SELECT is(pg_temp.amount_of(pg_temp.msg('{"amount": "999999999999999999.99"}'))::numeric,
		  999999999999999999.99::numeric, 'the largest amount is stored exactly');
SELECT is(pg_temp.amount_of(convert_to(replace(convert_from(pg_temp.msg('{"amount": "X"}'), 'UTF8'), '"X"', '0.1'), 'UTF8')),
		  '0.10', 'a JSON number amount is read from its text, not through a float');
SELECT is(pg_temp.amount_of(pg_temp.msg('{"amount": "100", "currency": "JPY"}')),
		  '100', 'JPY has no minor unit');
SELECT is(pg_temp.amount_of(pg_temp.msg('{"amount": "1.5", "currency": "BHD"}')),
		  '1.500', 'BHD keeps three decimals');

-- quarantine => false stores nothing.
SELECT is((SELECT status FROM voltpay.apply_payment_batch(ARRAY[NULL]::text[], ARRAY['nope'::bytea], quarantine => false)),
		  'rejected', 'without quarantine a bad message is still rejected');
SELECT is((SELECT count(*)::int FROM voltpay.rejected_messages WHERE payload = 'nope'::bytea), 0, 'but not stored');

-- The one-message functions.
SELECT is((voltpay.apply_payment(pg_temp.msg('{"account_id": "acc-7"}'), 'acc-7')).status, 'applied',
		  'apply_payment(bytea, key) applies one message');
SELECT is((voltpay.apply_payment(convert_from(pg_temp.msg('{"account_id": "acc-7"}'), 'UTF8'))).status, 'applied',
		  'apply_payment(text) applies one message');
SELECT is((voltpay.apply_payment('{"message_id": 1}'::text)).reason, 'invalid_field',
		  'apply_payment reports the reason');

-- Trace context: events continue the message's trace with a new span.
TRUNCATE r;
INSERT INTO r SELECT * FROM voltpay.apply_payment_batch(
	ARRAY[NULL, NULL, NULL]::text[],
	ARRAY[pg_temp.msg('{"message_id": "66666666-6666-6666-6666-666666666601", "customer_email": "t@example.com"}'),
		  pg_temp.msg('{"message_id": "66666666-6666-6666-6666-666666666602"}'),
		  pg_temp.msg('{"message_id": "66666666-6666-6666-6666-666666666603"}')],
	traceparents => ARRAY['00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', NULL, 'garbage']);
SELECT is((SELECT trace_id FROM r WHERE ordinal = 1), '4bf92f3577b34da6a3ce929d0e0e4736',
		  'apply returns the incoming trace id');
SELECT results_eq(
	$$SELECT kind, left(headers->>'traceparent', 36), right(headers->>'traceparent', 3),
			 headers->>'traceparent' <> '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
		FROM voltpay.outbox WHERE message_id = '66666666-6666-6666-6666-666666666601' ORDER BY event_id$$,
	$$VALUES ('read', '00-4bf92f3577b34da6a3ce929d0e0e4736-', '-01', true),
			 ('email', '00-4bf92f3577b34da6a3ce929d0e0e4736-', '-01', true)$$,
	'each event carries the same trace with a new span id');
SELECT is((SELECT count(DISTINCT headers->>'traceparent')::int FROM voltpay.outbox
			WHERE message_id = '66666666-6666-6666-6666-666666666601'), 1,
		  'both events name the writer''s span (one per message) as their parent');
SELECT ok((SELECT headers->>'traceparent' ~ '^00-[0-9a-f]{32}-[0-9a-f]{16}-01$' FROM voltpay.outbox
			WHERE message_id = '66666666-6666-6666-6666-666666666602'), 'a message without a traceparent starts a new trace');
SELECT is((SELECT substr(o.headers->>'traceparent', 4, 32) FROM voltpay.outbox o
			WHERE o.message_id = '66666666-6666-6666-6666-666666666602'),
		  (SELECT trace_id FROM r WHERE ordinal = 2), 'and apply returns the new trace id');
SELECT isnt((SELECT trace_id FROM r WHERE ordinal = 3), NULL, 'an invalid traceparent starts a new trace too');

-- Caller errors raise.
SELECT throws_ok($$SELECT * FROM voltpay.apply_payment_batch(ARRAY['a', 'b'], ARRAY['x'::bytea])$$,
				 '2202E', NULL, 'arrays of different lengths are a caller error');
SELECT throws_ok($$SELECT * FROM voltpay.apply_payment_batch(NULL, ARRAY['x'::bytea])$$,
				 '22004', NULL, 'a NULL keys array is a caller error');
SELECT throws_ok($$SELECT * FROM voltpay.apply_payment_batch(ARRAY['a'], NULL)$$,
				 '22004', NULL, 'a NULL payloads array is a caller error');
SELECT throws_ok($$SELECT * FROM voltpay.apply_payment_batch(ARRAY['a'], ARRAY['x'::bytea], 't', ARRAY[1])$$,
				 '22023', NULL, 'partitions without offsets is a caller error');
SELECT throws_ok($$SELECT * FROM voltpay.apply_payment_batch(ARRAY['a'], ARRAY['x'::bytea], NULL, ARRAY[1], ARRAY[1]::bigint[])$$,
				 '22023', NULL, 'coordinates without a topic is a caller error');
SELECT throws_ok($$SELECT * FROM voltpay.apply_payment_batch(ARRAY[['a']], ARRAY[['x'::bytea]])$$,
				 '2202E', NULL, 'a two-dimensional array is a caller error');
SELECT is((SELECT count(*)::int FROM voltpay.apply_payment_batch(ARRAY[]::text[], ARRAY[]::bytea[])), 0,
		  'an empty batch returns no rows');

-- The batch's memory is kept for the session and emptied by the next
-- batch, also after an error; a call made while another runs (here from a
-- DBA's trigger on the quarantine) gets memory of its own.
SELECT throws_ok($$SELECT * FROM voltpay.apply_payment_batch(ARRAY['a'], ARRAY['x'::bytea], 't', ARRAY[-1], ARRAY[1]::bigint[])$$,
				 '22023', NULL, 'a negative partition is a caller error');
SELECT is((SELECT status FROM voltpay.apply_payment_batch(ARRAY['acc-8'],
			ARRAY[pg_temp.msg('{"account_id": "acc-8", "message_id": "88888888-8888-4888-8888-888888888801"}')])),
		  'applied', 'the batch after a caller error is applied');
CREATE FUNCTION pg_temp.nested_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM voltpay.apply_payment(pg_temp.msg('{"account_id": "acc-9", "message_id": "99999999-9999-4999-8999-999999999901"}'), 'acc-9');
	RETURN NULL;
END
$$;
CREATE TRIGGER nested_apply AFTER INSERT ON voltpay.rejected_message
	FOR EACH ROW EXECUTE FUNCTION pg_temp.nested_apply();
SELECT results_eq(
	$$SELECT ordinal, status FROM voltpay.apply_payment_batch(ARRAY['acc-8', 'acc-8'],
		ARRAY['not json'::bytea, pg_temp.msg('{"account_id": "acc-8", "message_id": "88888888-8888-4888-8888-888888888802"}')])$$,
	$$VALUES (1, 'rejected'), (2, 'applied')$$,
	'a batch whose quarantine trigger applies another message completes');
SELECT is((SELECT count(*)::int FROM voltpay.payments
			WHERE message_id IN ('99999999-9999-4999-8999-999999999901', '88888888-8888-4888-8888-888888888802')),
		  2, 'both the nested and the outer message are applied');
DROP TRIGGER nested_apply ON voltpay.rejected_message;

SELECT * FROM finish();
ROLLBACK;
