-- Roles: voltpay_writer executes the apply functions and nothing else;
-- voltpay_dba gets the rest; PUBLIC gets nothing.
BEGIN;
SELECT plan(14);

SELECT has_role('voltpay_writer');
SELECT has_role('voltpay_dba');

SELECT ok(has_function_privilege('voltpay_writer',
	'voltpay.apply_payment_batch(text[], bytea[], text, integer[], bigint[], timestamptz[], text[], boolean)', 'EXECUTE'),
	'writer may apply batches');
SELECT ok(has_function_privilege('voltpay_writer', 'voltpay.outbox_fetch(integer, integer[])', 'EXECUTE'),
	'writer may fetch the outbox');
SELECT ok(has_function_privilege('voltpay_writer', 'voltpay.outbox_ack(bigint[])', 'EXECUTE'),
	'writer may acknowledge events');
SELECT ok(NOT has_function_privilege('voltpay_writer', 'voltpay.forget_message(uuid)', 'EXECUTE'),
	'writer may not forget messages');
SELECT ok(NOT has_function_privilege('voltpay_writer', 'voltpay.set_partition_position(text, integer, bigint)', 'EXECUTE'),
	'writer may not move positions');
SELECT is((SELECT count(*)::int FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = 'voltpay' AND c.relkind IN ('r', 'v')
			  AND (has_table_privilege('voltpay_writer', c.oid, 'SELECT')
				   OR has_table_privilege('voltpay_writer', c.oid, 'INSERT'))),
		  0, 'writer has no table rights at all');
SELECT ok(has_function_privilege('voltpay_dba', 'voltpay.forget_message(uuid)', 'EXECUTE'),
	'dba may forget messages');
SELECT ok(has_table_privilege('voltpay_dba', 'voltpay.payments', 'SELECT'), 'dba may read payments');
SELECT ok(NOT has_table_privilege('voltpay_dba', 'voltpay.payment', 'INSERT'), 'dba may not write tables directly');
SELECT ok(NOT has_function_privilege('public', 'voltpay.apply_payment_batch(text[], bytea[], text, integer[], bigint[], timestamptz[], text[], boolean)', 'EXECUTE'),
	'PUBLIC may not apply');

-- As the writer role itself: applying works, reading a table does not.
CREATE ROLE voltpay_test_bridge LOGIN IN ROLE voltpay_writer;
SET LOCAL ROLE voltpay_test_bridge;
SELECT is((SELECT status FROM voltpay.apply_payment_batch(ARRAY[NULL]::text[], ARRAY['{}'::bytea])),
		  'rejected', 'a writer login applies through the function');
SELECT throws_ok('SELECT count(*) FROM voltpay.payment', '42501', NULL,
				 'a writer login cannot read the writer tables');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
