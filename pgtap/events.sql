-- apply_payment_batch_events(): the same apply as apply_payment_batch(),
-- with the outbox events it queued in the result.  The events in the
-- result must be exactly the rows it wrote to voltpay.outbox.
BEGIN;
SELECT plan(17);

CREATE FUNCTION pg_temp.msg(o jsonb DEFAULT '{}') RETURNS bytea LANGUAGE sql AS $$
	SELECT convert_to((jsonb_build_object(
		'message_id', gen_random_uuid(), 'payment_id', gen_random_uuid(),
		'account_id', 'acc-1', 'amount', '12.50', 'currency', 'EUR',
		'debtor', jsonb_build_object('name', 'Ann Smith', 'iban', 'DE89370400440532013000'),
		'creditor', jsonb_build_object('name', 'Bob Jones', 'iban', 'GB82WEST12345698765432'),
		'created_at', '2026-11-24T10:00:00Z') || o)::text, 'UTF8')
$$;

-- A mixed batch: applied with an e-mail (2 events), applied without (1),
-- a duplicate of the first (none), an invalid message (quarantined: a
-- dead-letter event), a message that is not JSON (dead letter, no id).
CREATE TEMP TABLE input AS
SELECT * FROM (VALUES
	(1, 'acc-1', pg_temp.msg('{"message_id": "e0000000-0000-0000-0000-000000000001", "payment_id": "f0000000-0000-0000-0000-000000000001", "customer_email": "ann@example.com"}')),
	(2, 'acc-2', pg_temp.msg('{"message_id": "e0000000-0000-0000-0000-000000000002", "payment_id": "f0000000-0000-0000-0000-000000000002", "account_id": "acc-2"}')),
	(3, 'acc-1', pg_temp.msg('{"message_id": "e0000000-0000-0000-0000-000000000001", "payment_id": "f0000000-0000-0000-0000-000000000001", "customer_email": "ann@example.com"}')),
	(4, 'acc-3', pg_temp.msg('{"message_id": "e0000000-0000-0000-0000-000000000004", "account_id": "acc-3", "currency": "XXX"}')),
	(5, NULL, convert_to('not json', 'UTF8'))
) AS t(n, k, v);
CREATE TEMP TABLE args AS
SELECT array_agg(k ORDER BY n) AS keys, array_agg(v ORDER BY n) AS payloads,
	   array_agg(7 ORDER BY n) AS parts, array_agg(100 + n::bigint ORDER BY n) AS offs,
	   array_agg('2026-11-25 10:00:00+00'::timestamptz ORDER BY n) AS tss,
	   array_agg(format('00-%s-00f067aa0ba902b7-01', lpad(n::text, 32, 'a')) ORDER BY n) AS tps
  FROM input;

-- What apply_payment_batch() says about the same batch, kept in psql
-- variables while a savepoint takes the apply back.
SAVEPOINT plain;
SELECT json_agg(r ORDER BY r.ordinal) AS plain_json
  FROM args, voltpay.apply_payment_batch(keys, payloads, 'in', parts, offs, tss, tps) AS r \gset
SELECT json_agg(json_build_object('kind', kind, 'event_key', event_key, 'headers', headers - 'traceparent')
				ORDER BY event_id) AS plain_outbox_json FROM voltpay.outbox \gset
ROLLBACK TO SAVEPOINT plain;
CREATE TEMP TABLE plain AS
SELECT * FROM json_to_recordset(:'plain_json') AS x(ordinal int, message_id uuid, status text,
	reason text, detail text, payment_id uuid, trace_id text);
CREATE TEMP TABLE plain_outbox AS
SELECT * FROM json_to_recordset(:'plain_outbox_json') AS x(kind text, event_key text, headers jsonb);
SELECT is((SELECT count(*)::int FROM voltpay.outbox), 0, 'the savepoint took the plain apply back');

CREATE TEMP TABLE ev AS
SELECT r.* FROM args, voltpay.apply_payment_batch_events(keys, payloads, 'in', parts, offs, tss, tps) AS r;

SELECT results_eq(
	$$SELECT DISTINCT ordinal, message_id, status, reason, detail, payment_id, trace_id FROM ev ORDER BY ordinal$$,
	$$SELECT ordinal, message_id, status, reason, detail, payment_id, trace_id FROM plain ORDER BY ordinal$$,
	'the message columns are those of apply_payment_batch() for the same batch');
SELECT results_eq(
	$$SELECT ordinal, event_kind FROM ev ORDER BY ordinal, event_id$$,
	$$VALUES (1, 'read'), (1, 'email'), (2, 'read'), (3, NULL), (4, 'dead_letter'), (5, 'dead_letter')$$,
	'one row per event, a message without events gets one row with NULL event columns');
SELECT is((SELECT count(*)::int FROM ev WHERE event_id IS NULL AND
		   num_nulls(event_kind, event_key, event_value, header_names, header_values) <> 5),
		  0, 'a row without an event has every event column NULL');
SELECT results_eq(
	$$SELECT event_id FROM ev WHERE event_id IS NOT NULL$$,
	$$SELECT event_id FROM ev WHERE event_id IS NOT NULL ORDER BY event_id$$,
	'rows come in event order');

-- The events are exactly the outbox rows.
SELECT results_eq(
	$$SELECT event_id, event_kind, event_key, event_value, jsonb_object(header_names, header_values), message_id, 7
		FROM ev WHERE event_id IS NOT NULL ORDER BY event_id$$,
	$$SELECT event_id, kind, event_key, event_value, headers, message_id, src_partition FROM voltpay.outbox ORDER BY event_id$$,
	'each returned event is the outbox row it wrote: id, kind, key, value, headers');
SELECT results_eq(
	$$SELECT kind, event_key, headers - 'traceparent' FROM voltpay.outbox ORDER BY event_id$$,
	$$SELECT kind, event_key, headers FROM plain_outbox$$,
	'the outbox rows are those apply_payment_batch() writes (apart from new span ids)');
SELECT is((SELECT count(*)::int FROM ev WHERE event_id IS NOT NULL
		   AND cardinality(header_names) = cardinality(header_values)
		   AND header_names = (SELECT array_agg(x ORDER BY x) FROM unnest(header_names) AS x)),
		  5, 'header names and values pair up, names in order');
SELECT results_eq(
	$$SELECT header_names FROM ev WHERE ordinal IN (1, 5) ORDER BY event_id$$,
	$$VALUES ('{event,message_id,traceparent}'::text[]), ('{event,message_id,traceparent}'), ('{event,traceparent,voltpay-detail,voltpay-reason,voltpay-source}')$$,
	'event headers, and a dead letter without a message id has no message_id header');
SELECT is((SELECT header_values[array_position(header_names, 'voltpay-source')] FROM ev WHERE ordinal = 4),
		  'in:7:104', 'a dead letter names its source topic, partition and offset');
SELECT is((SELECT event_value FROM ev WHERE ordinal = 5), convert_to('not json', 'UTF8'),
		  'a dead letter carries the raw bytes');
SELECT is((SELECT count(DISTINCT split_part(header_values[array_position(header_names, 'traceparent')], '-', 2))::int
			 FROM ev WHERE ordinal = 1),
		  1, 'the events of one message share its trace id');
SELECT is((SELECT bool_and(split_part(header_values[array_position(header_names, 'traceparent')], '-', 2) = trace_id)
			 FROM ev WHERE event_id IS NOT NULL),
		  true, 'each event continues its message''s trace (trace_id column)');

-- quarantine => false: rejected messages queue no dead letter.
SELECT results_eq(
	$$SELECT ordinal, status, event_id FROM voltpay.apply_payment_batch_events(ARRAY['acc-9'],
		ARRAY[pg_temp.msg('{"account_id": "acc-9", "amount": "-1"}')], quarantine => false)$$,
	$$VALUES (1, 'rejected', NULL::bigint)$$,
	'without quarantine a rejected message has no event');
SELECT is_empty(
	$$SELECT * FROM voltpay.apply_payment_batch_events(ARRAY[]::text[], ARRAY[]::bytea[])$$,
	'an empty batch returns no rows');
SELECT throws_ok(
	$$SELECT * FROM voltpay.apply_payment_batch_events(ARRAY['a', 'b'], ARRAY[pg_temp.msg()])$$,
	'2202E', 'argument "keys" has 2 elements but "payloads" has 1', 'caller errors are those of apply_payment_batch()');

-- The writer role may call it, and only through it write.
SELECT ok(has_function_privilege('voltpay_writer',
		'voltpay.apply_payment_batch_events(text[], bytea[], text, integer[], bigint[], timestamptz[], text[], boolean)', 'EXECUTE')
	  AND NOT has_function_privilege('public',
		'voltpay.apply_payment_batch_events(text[], bytea[], text, integer[], bigint[], timestamptz[], text[], boolean)', 'EXECUTE'),
	  'voltpay_writer may execute it, PUBLIC may not');

SELECT * FROM finish();
ROLLBACK;
