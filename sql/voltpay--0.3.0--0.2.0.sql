-- voltpay 0.3.0 -> 0.2.0 (downgrade, used by the Liquibase rollback of
-- extension-0.3.0): drops what 0.3.0 added and puts 0.2.0's
-- reprocess_rejected() back.  Rows rejected as invalid_key stay in the
-- quarantine with their reason (a text column).

\echo Use "ALTER EXTENSION voltpay UPDATE TO '0.2.0'" to load this file. \quit

DROP FUNCTION @extschema@.apply_record_batch(bytea[], bytea[], text, integer[], bigint[], timestamptz[], bytea[], boolean);
DROP FUNCTION @extschema@.validate_message(bytea, bytea);

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
