-- voltpay 0.2.0 -> 0.3.0: the record key as raw bytes.  A key that is not
-- text (invalid UTF-8, a NUL byte) made apply_payment_batch_events() raise
-- for the whole batch, and the bridge isolated the message by bisection;
-- apply_record_batch() takes keys (and traceparent headers) as bytea[] and
-- rejects such a message as invalid_key, like any other contract breach.
-- validate_message(bytea, bytea) checks a raw key; reprocess_rejected()
-- refuses an invalid_key rejection, whose key is not stored.  Everything
-- 0.2.0 offered stays as it was.

\echo Use "ALTER EXTENSION voltpay UPDATE TO '0.3.0'" to load this file. \quit

CREATE FUNCTION @extschema@.apply_record_batch(
	keys		bytea[],
	payloads	bytea[],
	topic		text			DEFAULT NULL,
	partitions	integer[]		DEFAULT NULL,
	offsets		bigint[]		DEFAULT NULL,
	timestamps	timestamptz[]	DEFAULT NULL,
	traceparents bytea[]		DEFAULT NULL,
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
AS 'MODULE_PATHNAME', 'apply_record_batch'
LANGUAGE C VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.apply_record_batch(bytea[], bytea[], text, integer[], bigint[], timestamptz[], bytea[], boolean) IS
	'apply_payment_batch_events() on raw record keys and traceparent headers (bytea): a key that is not text is rejected as invalid_key, never an error of the batch.';

CREATE FUNCTION @extschema@.validate_message(
	payload		bytea,
	key			bytea,
	OUT valid		boolean,
	OUT message_id	uuid,
	OUT reason		text,
	OUT detail		text)
RETURNS record
AS 'MODULE_PATHNAME', 'validate_message_bytea'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.validate_message(bytea, bytea) IS
	'Checks one raw message with its raw record key against contract v1 without applying it (a key that is not text: invalid_key).';

CREATE OR REPLACE FUNCTION @extschema@.reprocess_rejected(rejection_id bigint)
RETURNS TABLE (ordinal integer, message_id uuid, status text, reason text, detail text, payment_id uuid)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r	@extschema@.rejected_message;
	a	record;
BEGIN
	SELECT * INTO r FROM @extschema@.rejected_message AS m
	 WHERE m.rejection_id = reprocess_rejected.rejection_id FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'rejected message % does not exist', reprocess_rejected.rejection_id
			USING ERRCODE = 'no_data_found',
				  DETAIL = 'No row of voltpay.rejected_messages has this rejection_id.';
	END IF;
	-- Its key was not text, so it is not stored and the key rule cannot be
	-- checked again: applying it without a key would skip that rule.
	IF r.reason = 'invalid_key' THEN
		RAISE EXCEPTION 'rejected message % cannot be reprocessed', r.rejection_id
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = 'It was rejected because its record key is not text, and the key is not stored.',
				  HINT = 'Have the producer send the payment again with a valid key.';
	END IF;
	-- Applied again without coordinates and without a second quarantine
	-- row: the rejected row records the outcome instead.
	SELECT * INTO a
	  FROM @extschema@.apply_payment_batch(ARRAY[r.record_key], ARRAY[r.payload],
										   quarantine => false) AS x;
	UPDATE @extschema@.rejected_message AS m
	   SET reprocessed_at = now(), reprocess_status = a.status
	 WHERE m.rejection_id = r.rejection_id;
	ordinal := a.ordinal; message_id := a.message_id; status := a.status;
	reason := a.reason; detail := a.detail; payment_id := a.payment_id;
	RETURN NEXT;
END
$$;
COMMENT ON FUNCTION @extschema@.reprocess_rejected(bigint) IS
	'Applies a quarantined message again (after a fix or a forget_message) and records the outcome on its rejected row.';

REVOKE ALL ON FUNCTION @extschema@.apply_record_batch(bytea[], bytea[], text, integer[], bigint[], timestamptz[], bytea[], boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.apply_record_batch(bytea[], bytea[], text, integer[], bigint[], timestamptz[], bytea[], boolean)
	TO voltpay_writer, voltpay_dba;
REVOKE ALL ON FUNCTION @extschema@.validate_message(bytea, bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.validate_message(bytea, bytea) TO voltpay_dba;
