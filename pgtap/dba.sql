-- Outbox functions for the bridge, and the DBA repair functions.
BEGIN;
SELECT plan(27);

CREATE FUNCTION pg_temp.msg(o jsonb DEFAULT '{}') RETURNS bytea LANGUAGE sql AS $$
	SELECT convert_to((jsonb_build_object(
		'message_id', gen_random_uuid(), 'payment_id', gen_random_uuid(),
		'account_id', 'acc-1', 'amount', '12.50', 'currency', 'EUR',
		'debtor', jsonb_build_object('name', 'Ann Smith', 'iban', 'DE89370400440532013000'),
		'creditor', jsonb_build_object('name', 'Bob Jones', 'iban', 'GB82WEST12345698765432', 'bic', 'NWBKGB2L'),
		'created_at', '2026-11-24T12:30:00.5+02:00') || o)::text, 'UTF8')
$$;

SELECT is((SELECT count(*)::int FROM voltpay.apply_payment_batch(
	ARRAY['acc-1', 'acc-2', 'acc-3'],
	ARRAY[pg_temp.msg('{"message_id": "44444444-4444-4444-4444-444444444401", "payment_id": "d4444444-4444-4444-4444-444444444401", "customer_email": "a@example.com"}'),
		  pg_temp.msg('{"message_id": "44444444-4444-4444-4444-444444444402", "account_id": "acc-2"}'),
		  pg_temp.msg('{"message_id": "44444444-4444-4444-4444-444444444403", "account_id": "acc-3"}')],
	'in', ARRAY[0, 1, 2], ARRAY[0, 0, 0]::bigint[]) WHERE status = 'applied'), 3, 'three payments applied');

-- outbox_fetch / outbox_ack
SELECT results_eq($$SELECT src_partition, kind FROM voltpay.outbox_fetch(10)$$,
				  $$VALUES (0, 'read'), (0, 'email'), (1, 'read'), (2, 'read')$$,
				  'outbox_fetch returns pending events in order');
SELECT results_eq($$SELECT src_partition FROM voltpay.outbox_fetch(10, ARRAY[1, 2])$$,
				  $$VALUES (1), (2)$$,
				  'outbox_fetch with partitions returns only theirs');
SELECT is((SELECT count(*)::int FROM voltpay.outbox_fetch(2)), 2, 'outbox_fetch honours max_events');
SELECT is(voltpay.outbox_ack(ARRAY(SELECT event_id FROM voltpay.outbox_fetch(2))), 2::bigint, 'outbox_ack deletes what it is given');
SELECT is(voltpay.outbox_ack(ARRAY[-1]::bigint[]), 0::bigint, 'acknowledging an unknown event changes nothing');
SELECT is((SELECT count(*)::int FROM voltpay.outbox), 2, 'two events still pending');
SELECT results_eq($$SELECT kind, pending FROM voltpay.outbox_status$$, $$VALUES ('read', 2::bigint)$$,
				  'outbox_status shows the backlog');
SELECT results_eq($$SELECT partition, next_offset FROM voltpay.partition_positions('in')$$,
				  $$VALUES (0, 1::bigint), (1, 1), (2, 1)$$, 'partition_positions returns the recorded positions');

-- republish_payment builds the same events as the apply did.
CREATE TEMP TABLE original AS
	SELECT kind, convert_from(event_value, 'UTF8')::jsonb AS body, headers FROM voltpay.outbox WHERE false;
SELECT voltpay.outbox_ack(ARRAY(SELECT event_id FROM voltpay.outbox));
SELECT is(voltpay.republish_payment('d4444444-4444-4444-4444-444444444401'), 2, 'republish queues read and email events');
SELECT is((SELECT count(*)::int FROM voltpay.outbox WHERE message_id = '44444444-4444-4444-4444-444444444401'), 2,
		  'both events are pending again');
SELECT throws_ok($$SELECT voltpay.republish_payment('00000000-0000-0000-0000-000000000000')$$, 'P0002', NULL,
				 'republishing an unknown payment raises');

-- The C and SQL builders agree: apply a fresh payment, republish it, compare.
SELECT voltpay.outbox_ack(ARRAY(SELECT event_id FROM voltpay.outbox));
SELECT is((SELECT status FROM voltpay.apply_payment_batch(ARRAY['acc-5'],
	ARRAY[pg_temp.msg('{"message_id": "55555555-5555-5555-5555-555555555555", "payment_id": "e5555555-5555-5555-5555-555555555555", "account_id": "acc-5", "customer_email": "e@example.com", "remittance_info": "Ref \"5\" – ünïcode"}')])),
	'applied', 'a payment with every optional field is applied');
INSERT INTO original SELECT kind, convert_from(event_value, 'UTF8')::jsonb, headers - 'traceparent' FROM voltpay.outbox;
SELECT voltpay.outbox_ack(ARRAY(SELECT event_id FROM voltpay.outbox));
SELECT voltpay.republish_payment('e5555555-5555-5555-5555-555555555555');
SELECT set_eq($$SELECT kind, convert_from(event_value, 'UTF8')::jsonb, headers - 'traceparent' FROM voltpay.outbox$$,
			  $$SELECT kind, body, headers FROM original$$,
			  'republished events equal the events of the apply');
SELECT is((SELECT body->>'created_at' FROM original WHERE kind = 'read'), '2026-11-24T10:30:00.500000Z',
		  'event timestamps are RFC 3339 in UTC');

-- forget_message and reprocess_rejected
SELECT is((SELECT reason FROM voltpay.apply_payment_batch(ARRAY['acc-1'],
	ARRAY[pg_temp.msg('{"message_id": "44444444-4444-4444-4444-444444444401", "amount": "13.00"}')])),
	'idempotency_conflict', 'a reused id is rejected');
SELECT is(voltpay.forget_message('44444444-4444-4444-4444-444444444401'), true, 'forget_message deletes the idempotency row');
SELECT is(voltpay.forget_message('44444444-4444-4444-4444-444444444401'), false, 'forgetting twice finds nothing');
SELECT is((SELECT status FROM voltpay.reprocess_rejected(
			(SELECT rejection_id FROM voltpay.rejected_messages WHERE message_id = '44444444-4444-4444-4444-444444444401'))),
		  'applied', 'reprocess_rejected applies the quarantined message after the fix');
SELECT results_eq($$SELECT reprocess_status, reprocessed_at IS NOT NULL FROM voltpay.rejected_messages
					WHERE message_id = '44444444-4444-4444-4444-444444444401'$$,
				  $$VALUES ('applied', true)$$, 'the rejected row records the outcome');
SELECT is((SELECT count(*)::int FROM voltpay.rejected_messages), 1, 'reprocessing adds no quarantine row');
SELECT throws_ok($$SELECT * FROM voltpay.reprocess_rejected(-1)$$, 'P0002', NULL, 'reprocessing an unknown rejection raises');

-- quarantine_message (the bridge's poison-message path)
SELECT is(voltpay.quarantine_message('acc-9', 'poison'::bytea, 'in', 7, 41, now(), 'XX000', 'boom'), true,
		  'quarantine_message stores a message whose apply raised');
SELECT is(voltpay.quarantine_message('acc-9', 'poison'::bytea, 'in', 7, 41, now(), 'XX000', 'boom'), false,
		  'and stores it once');
SELECT results_eq($$SELECT reason, sqlstate, detail FROM voltpay.rejected_messages WHERE partition = 7$$,
				  $$VALUES ('apply_error', 'XX000', 'boom')$$, 'with its SQLSTATE and error');
SELECT is(voltpay.quarantine_message('acc-9', 'poison2'::bytea, 'in', 7, 42, now(), 'XX000', 'boom',
		  '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'), true, 'a poison message with a traceparent');
SELECT ok((SELECT headers->>'traceparent' ~ '^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$'
			   AND headers->>'traceparent' <> '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
			FROM voltpay.outbox WHERE headers->>'voltpay-source' = 'in:7:42'),
		  'its dead letter continues the trace with a new span');

SELECT * FROM finish();
ROLLBACK;
