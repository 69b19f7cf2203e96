-- Schema: objects, the no-index rule of the writer tables, SECURITY
-- DEFINER functions with a pinned search_path, comments.
BEGIN;
SELECT plan(22);

SELECT has_schema('voltpay');
SELECT has_table('voltpay', t, 'table voltpay.' || t || ' exists')
  FROM unnest(ARRAY['payment', 'payment_party', 'payment_remittance',
					'payment_notification', 'idempotency', 'rejected_message',
					'outbox', 'partition_position']) AS t;
SELECT has_view('voltpay', v, 'view voltpay.' || v || ' exists')
  FROM unnest(ARRAY['payments', 'rejected_messages', 'partition_status', 'outbox_status']) AS v;

SELECT is((SELECT count(*)::int FROM pg_index
			WHERE indrelid IN ('voltpay.payment'::regclass, 'voltpay.payment_party'::regclass,
							   'voltpay.payment_remittance'::regclass,
							   'voltpay.payment_notification'::regclass)),
		  0, 'the main writer tables have no indexes');
SELECT is((SELECT count(*)::int FROM pg_constraint
			WHERE conrelid IN ('voltpay.payment'::regclass, 'voltpay.payment_party'::regclass,
							   'voltpay.payment_remittance'::regclass,
							   'voltpay.payment_notification'::regclass)),
		  0, 'the main writer tables have no primary, unique or foreign keys');
SELECT col_is_pk('voltpay', 'idempotency', 'message_id', 'idempotency is keyed by message_id');
SELECT col_type_is('voltpay', 'idempotency', 'processed_on', 'date', 'idempotency.processed_on is a date');
SELECT col_type_is('voltpay', 'payment', 'amount', 'numeric', 'amounts are numeric, never float');

SELECT is((SELECT count(*)::int FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
			WHERE n.nspname = 'voltpay' AND p.prosecdef
			  AND NOT coalesce(p.proconfig::text LIKE '%search_path=pg_catalog, pg_temp%', false)),
		  0, 'every SECURITY DEFINER function pins search_path');
SELECT is((SELECT count(*)::int FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
			WHERE n.nspname = 'voltpay' AND obj_description(p.oid, 'pg_proc') IS NULL),
		  0, 'every function has a comment');
SELECT function_returns('voltpay', 'apply_payment_batch',
		ARRAY['text[]', 'bytea[]', 'text', 'integer[]', 'bigint[]', 'timestamp with time zone[]', 'text[]', 'boolean'],
		'setof record', 'apply_payment_batch() returns a set');
SELECT volatility_is('voltpay', 'apply_payment_batch',
		ARRAY['text[]', 'bytea[]', 'text', 'integer[]', 'bigint[]', 'timestamp with time zone[]', 'text[]', 'boolean'],
		'volatile', 'apply_payment_batch() is volatile');

SELECT * FROM finish();
ROLLBACK;
