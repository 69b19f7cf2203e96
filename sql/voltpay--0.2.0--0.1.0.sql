-- voltpay 0.2.0 -> 0.1.0 (downgrade, used by the Liquibase rollback of
-- extension-0.2.0): drops what 0.2.0 added.  No data lives in it.

\echo Use "ALTER EXTENSION voltpay UPDATE TO '0.1.0'" to load this file. \quit

DROP FUNCTION @extschema@.apply_payment_batch_events(text[], bytea[], text, integer[], bigint[], timestamptz[], text[], boolean);
