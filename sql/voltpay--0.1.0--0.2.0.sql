-- voltpay 0.1.0 -> 0.2.0: apply_payment_batch_events(), the apply that also
-- returns the outbox events it queued (the bridge publishes from it).

\echo Use "ALTER EXTENSION voltpay UPDATE TO '0.2.0'" to load this file. \quit

CREATE FUNCTION @extschema@.apply_payment_batch_events(
	keys		text[],
	payloads	bytea[],
	topic		text			DEFAULT NULL,
	partitions	integer[]		DEFAULT NULL,
	offsets		bigint[]		DEFAULT NULL,
	timestamps	timestamptz[]	DEFAULT NULL,
	traceparents text[]			DEFAULT NULL,
	quarantine	boolean			DEFAULT true,
	OUT ordinal		integer,
	OUT message_id	uuid,
	OUT status		text,
	OUT reason		text,
	OUT detail		text,
	OUT payment_id	uuid,
	OUT trace_id	text,
	OUT event_id	bigint,
	OUT event_kind	text,
	OUT event_key	text,
	OUT event_value	bytea,
	OUT header_names text[],
	OUT header_values text[])
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'apply_payment_batch_events'
LANGUAGE C VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.apply_payment_batch_events(text[], bytea[], text, integer[], bigint[], timestamptz[], text[], boolean) IS
	'apply_payment_batch() that also returns the outbox events it queued: one row per event, in event order (a message without events: one row, event columns NULL).';

REVOKE ALL ON FUNCTION @extschema@.apply_payment_batch_events(text[], bytea[], text, integer[], bigint[], timestamptz[], text[], boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.apply_payment_batch_events(text[], bytea[], text, integer[], bigint[], timestamptz[], text[], boolean)
	TO voltpay_writer, voltpay_dba;
