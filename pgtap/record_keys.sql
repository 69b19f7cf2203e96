-- Record keys that are not text (0.3.0): a key with invalid UTF-8 or a NUL
-- byte is the message's invalid_key rejection, through
-- validate_message(bytea, bytea) and apply_record_batch(), which takes keys
-- and traceparent headers as bytea[]; the rest of the batch is applied and
-- the call never raises.  The 0.2.0 functions (text[] keys) stay.
BEGIN;
SELECT plan(28);

CREATE FUNCTION pg_temp.msg(o jsonb DEFAULT '{}') RETURNS bytea LANGUAGE sql AS $$
	SELECT convert_to((jsonb_build_object(
		'message_id', gen_random_uuid(), 'payment_id', gen_random_uuid(),
		'account_id', 'acc-1', 'amount', '12.50', 'currency', 'EUR',
		'debtor', jsonb_build_object('name', 'Ann Smith', 'iban', 'DE89370400440532013000'),
		'creditor', jsonb_build_object('name', 'Bob Jones', 'iban', 'GB82WEST12345698765432'),
		'created_at', '2026-11-24T10:00:00Z') || o)::text, 'UTF8')
$$;
CREATE FUNCTION pg_temp.v(payload bytea, key bytea) RETURNS text LANGUAGE sql AS $$
	SELECT COALESCE(v.reason || ': ' || v.detail, 'valid')
	  FROM voltpay.validate_message(payload, key) AS v
$$;

-- The functions.
SELECT has_function('voltpay', 'apply_record_batch',
	ARRAY['bytea[]', 'bytea[]', 'text', 'integer[]', 'bigint[]', 'timestamp with time zone[]', 'bytea[]', 'boolean'],
	'apply_record_batch(bytea[] keys, ..., bytea[] traceparents, ...) exists');
SELECT has_function('voltpay', 'validate_message', ARRAY['bytea', 'bytea'], 'validate_message(bytea, bytea) exists');
SELECT has_function('voltpay', 'apply_payment_batch_events',
	ARRAY['text[]', 'bytea[]', 'text', 'integer[]', 'bigint[]', 'timestamp with time zone[]', 'text[]', 'boolean'],
	'the 0.2.0 apply_payment_batch_events(text[] ...) is still there');
SELECT ok(has_function_privilege('voltpay_writer',
	'voltpay.apply_record_batch(bytea[], bytea[], text, integer[], bigint[], timestamptz[], bytea[], boolean)', 'EXECUTE'),
	'the writer may call apply_record_batch()');
SELECT ok(NOT has_function_privilege('public',
	'voltpay.apply_record_batch(bytea[], bytea[], text, integer[], bigint[], timestamptz[], bytea[], boolean)', 'EXECUTE'),
	'PUBLIC may not');
SELECT ok(NOT has_function_privilege('voltpay_writer', 'voltpay.validate_message(bytea, bytea)', 'EXECUTE'),
	'validate_message(bytea, bytea) is for the DBA, like validate_message(bytea, text)');

-- validate_message with raw keys.
SELECT is(pg_temp.v(pg_temp.msg(), 'acc-1'::bytea), 'valid', 'a text key equal to account_id: valid');
SELECT is(pg_temp.v(pg_temp.msg(), 'acc-2'::bytea), 'key_mismatch: Field "account_id" ("acc-1") differs from the record key ("acc-2").',
	'a text key that differs: key_mismatch');
SELECT is(pg_temp.v(pg_temp.msg(), '\x6163632dff'::bytea),
	'invalid_key: The record key is not text: invalid UTF-8 byte sequence at offset 4 (key 5 bytes, \x6163632dff).',
	'a key with an invalid UTF-8 byte: invalid_key, the key in hexadecimal in the detail');
SELECT is(pg_temp.v(pg_temp.msg(), '\x61636300'::bytea),
	'invalid_key: The record key is not text: it contains a NUL byte at offset 3 (key 4 bytes, \x61636300).',
	'a key with a NUL byte: invalid_key');
SELECT is(pg_temp.v(pg_temp.msg(), '\xc3'::bytea),
	'invalid_key: The record key is not text: invalid UTF-8 byte sequence at offset 0 (key 1 bytes, \xc3).',
	'a key cut inside a character: invalid_key');
SELECT is(pg_temp.v(pg_temp.msg(), convert_to('acc-1é', 'UTF8')), 'key_mismatch: Field "account_id" ("acc-1") differs from the record key ("acc-1é").',
	'a non-ASCII key that is valid UTF-8 is text: key_mismatch, not invalid_key');
SELECT is(pg_temp.v(pg_temp.msg(), decode(repeat('ff', 40), 'hex')),
	'invalid_key: The record key is not text: invalid UTF-8 byte sequence at offset 0 (key 40 bytes, \x' || repeat('ff', 32) || '...).',
	'a long key shows its first 32 bytes');
SELECT is(pg_temp.v(''::bytea, '\xff'::bytea), 'invalid_key: The record key is not text: invalid UTF-8 byte sequence at offset 0 (key 1 bytes, \xff).',
	'the key is checked first, before an empty value');
SELECT is(pg_temp.v(decode(repeat('20', 70000), 'hex'), '\xff'::bytea), 'invalid_key: The record key is not text: invalid UTF-8 byte sequence at offset 0 (key 1 bytes, \xff).',
	'and before the size');
SELECT is((SELECT reason FROM voltpay.validate_message(pg_temp.msg(), 'acc-1'::text)), NULL,
	'validate_message(bytea, text) still takes a text key');

-- apply_record_batch: the batch is applied around a key that is not text.
CREATE TEMP TABLE result AS
SELECT * FROM voltpay.apply_record_batch(
	ARRAY['\x6163632dff'::bytea, 'acc-1'::bytea, NULL],
	ARRAY[pg_temp.msg('{"message_id": "e1000000-0000-0000-0000-000000000001"}'),
		  pg_temp.msg('{"message_id": "e1000000-0000-0000-0000-000000000002"}'),
		  pg_temp.msg('{"message_id": "e1000000-0000-0000-0000-000000000003"}')],
	'in', ARRAY[3, 3, 3], ARRAY[10, 11, 12]::bigint[], NULL,
	ARRAY['\x00'::bytea, '\xff'::bytea, convert_to('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'UTF8')]);

SELECT results_eq($$SELECT DISTINCT ordinal, status, reason FROM result ORDER BY ordinal$$,
	$$VALUES (1, 'rejected', 'invalid_key'), (2, 'applied', NULL::text), (3, 'applied', NULL)$$,
	'one call: the message with a key that is not text is rejected as invalid_key, the others applied');
SELECT is((SELECT DISTINCT detail FROM result WHERE ordinal = 1),
	'The record key is not text: invalid UTF-8 byte sequence at offset 4 (key 5 bytes, \x6163632dff).',
	'with the key in the detail');
SELECT is((SELECT DISTINCT message_id FROM result WHERE ordinal = 1), NULL,
	'the value is not parsed after the key fails (no message_id)');
SELECT results_eq($$SELECT event_kind, event_key FROM result WHERE ordinal = 1$$,
	$$VALUES ('dead_letter', NULL::text)$$,
	'its dead-letter event has no key (the key is not text)');
SELECT is((SELECT header_values[array_position(header_names, 'voltpay-reason')] FROM result WHERE ordinal = 1),
	'invalid_key', 'the dead letter says invalid_key');
SELECT results_eq($$SELECT record_key, reason, "offset" FROM voltpay.rejected_messages WHERE topic = 'in'$$,
	$$VALUES (NULL::text, 'invalid_key', 10::bigint)$$,
	'quarantined with a NULL record_key and its coordinates');
SELECT is((SELECT convert_from(payload, 'UTF8')::jsonb->>'message_id' FROM voltpay.rejected_messages WHERE topic = 'in'),
	'e1000000-0000-0000-0000-000000000001', 'with its payload kept');
SELECT is((SELECT DISTINCT trace_id FROM result WHERE ordinal = 3), '4bf92f3577b34da6a3ce929d0e0e4736',
	'a valid traceparent given as bytea continues its trace');
SELECT ok((SELECT bool_and(trace_id ~ '^[0-9a-f]{32}$') FROM result WHERE ordinal IN (1, 2)),
	'traceparents with a NUL or invalid byte start a new trace instead of raising');
SELECT is((SELECT next_offset FROM voltpay.partition_positions('in')), 13::bigint,
	'the partition moves past all three');

-- reprocess_rejected() cannot check the key again: it refuses.
SELECT throws_ok(format('SELECT * FROM voltpay.reprocess_rejected(%s)',
		(SELECT rejection_id FROM voltpay.rejected_messages WHERE topic = 'in')),
	'55000', NULL, 'reprocess_rejected() refuses an invalid_key rejection');

-- The text[] function gives the same verdicts on text keys.
SELECT results_eq($$SELECT ordinal, status, reason FROM voltpay.apply_payment_batch_events(
		ARRAY['acc-1', 'acc-2'], ARRAY[pg_temp.msg(), pg_temp.msg()])
	  WHERE event_kind IS DISTINCT FROM 'email' ORDER BY ordinal, event_id$$,
	$$VALUES (1, 'applied', NULL::text), (2, 'rejected', 'key_mismatch')$$,
	'apply_payment_batch_events(text[] ...) still works as in 0.2.0');

SELECT * FROM finish();
ROLLBACK;
