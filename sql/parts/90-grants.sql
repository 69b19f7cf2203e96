-- Privileges: roles get EXECUTE on functions, never rights on tables.

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA @extschema@ FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA @extschema@ FROM PUBLIC;

GRANT EXECUTE ON FUNCTION
	@extschema@.apply_payment_batch(text[], bytea[], text, integer[], bigint[], timestamptz[], text[], boolean),
	@extschema@.apply_payment_batch_events(text[], bytea[], text, integer[], bigint[], timestamptz[], text[], boolean),
	@extschema@.apply_record_batch(bytea[], bytea[], text, integer[], bigint[], timestamptz[], bytea[], boolean),
	@extschema@.outbox_fetch(integer, integer[]),
	@extschema@.outbox_ack(bigint[]),
	@extschema@.partition_positions(text),
	@extschema@.quarantine_message(text, bytea, text, integer, bigint, timestamptz, text, text, text)
TO voltpay_writer, voltpay_dba;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA @extschema@ TO voltpay_dba;
GRANT SELECT ON ALL TABLES IN SCHEMA @extschema@ TO voltpay_dba;
