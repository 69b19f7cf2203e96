-- Bridge quarantine and DBA functions.

CREATE FUNCTION @extschema@.quarantine_message(
	key			text,
	payload		bytea,
	topic		text,
	partition	integer,
	"offset"	bigint,
	"timestamp"	timestamptz,
	sqlstate	text,
	error		text,
	traceparent	text	DEFAULT NULL)
RETURNS boolean
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	v_id	bigint;
	v_msgid	uuid;
	v_span	text := left(replace(gen_random_uuid()::text, '-', ''), 16);
	v_tp	text;
BEGIN
	-- The dead letter continues the message's trace (W3C traceparent) with a
	-- new span, or starts a trace, as apply_payment_batch() does.
	IF traceparent ~ '^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$'
	   AND left(traceparent, 2) <> 'ff'
	   AND substr(traceparent, 4, 32) <> repeat('0', 32)
	   AND substr(traceparent, 37, 16) <> repeat('0', 16) THEN
		v_tp := '00-' || substr(traceparent, 4, 32) || '-' || v_span || '-' || right(traceparent, 2);
	ELSE
		v_tp := '00-' || replace(gen_random_uuid()::text, '-', '') || '-' || v_span || '-01';
	END IF;
	SELECT v.message_id INTO v_msgid FROM @extschema@.validate_message(payload, key) AS v;
	INSERT INTO @extschema@.rejected_message
		(message_id, reason, detail, sqlstate, record_key, payload,
		 src_topic, src_partition, src_offset, kafka_timestamp)
	VALUES (v_msgid, 'apply_error', COALESCE(error, 'The apply raised an error.'),
			sqlstate, key, payload, topic, partition, "offset", "timestamp")
	ON CONFLICT (src_topic, src_partition, src_offset) DO NOTHING
	RETURNING rejection_id INTO v_id;
	IF v_id IS NOT NULL THEN
		INSERT INTO @extschema@.outbox (kind, event_key, event_value, headers, message_id, src_partition)
		VALUES ('dead_letter', key, COALESCE(payload, '\x'::bytea),
				pg_catalog.jsonb_build_object(
					'event', 'payment_rejected',
					'voltpay-reason', 'apply_error',
					'voltpay-detail', COALESCE(error, ''),
					'voltpay-sqlstate', COALESCE(sqlstate, ''),
					'voltpay-source', pg_catalog.concat_ws(':', topic, partition, "offset"),
					'traceparent', v_tp)
				|| CASE WHEN v_msgid IS NULL THEN '{}'::jsonb
						ELSE pg_catalog.jsonb_build_object('message_id', v_msgid::text) END,
				v_msgid, partition);
	END IF;
	IF topic IS NOT NULL AND partition IS NOT NULL AND "offset" IS NOT NULL THEN
		INSERT INTO @extschema@.partition_position AS p (topic, partition, next_offset, rejected)
		VALUES (topic, partition, "offset" + 1, 1)
		ON CONFLICT ON CONSTRAINT partition_position_pkey DO UPDATE
			SET next_offset = GREATEST(p.next_offset, EXCLUDED.next_offset),
				rejected = p.rejected + 1,
				last_apply_at = now();
	END IF;
	RETURN v_id IS NOT NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.quarantine_message(text, bytea, text, integer, bigint, timestamptz, text, text, text) IS
	'Quarantines a message whose apply raised an error (reason apply_error), with its SQLSTATE, and moves the partition past it; false when already quarantined.';

CREATE FUNCTION @extschema@.reprocess_rejected(rejection_id bigint)
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

CREATE FUNCTION @extschema@.forget_message(message_id uuid)
RETURNS boolean
LANGUAGE sql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	WITH d AS (
		DELETE FROM @extschema@.idempotency AS i
		 WHERE i.message_id = forget_message.message_id RETURNING 1
	)
	SELECT count(*) > 0 FROM d;
END;
COMMENT ON FUNCTION @extschema@.forget_message(uuid) IS
	'Deletes a message id from the idempotency table so that the message can be applied again; true when it was there.';

CREATE FUNCTION @extschema@.set_partition_position(topic text, partition integer, next_offset bigint)
RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	v_old	bigint;
BEGIN
	IF next_offset IS NULL OR next_offset < 0 THEN
		RAISE EXCEPTION 'invalid position % for partition % of topic "%"', next_offset, partition, topic
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'A position is the next offset to apply, zero or more.';
	END IF;
	SELECT p.next_offset INTO v_old FROM @extschema@.partition_position AS p
	 WHERE p.topic = set_partition_position.topic AND p.partition = set_partition_position.partition
	   FOR UPDATE;
	INSERT INTO @extschema@.partition_position AS p (topic, partition, next_offset)
	VALUES (set_partition_position.topic, set_partition_position.partition, set_partition_position.next_offset)
	ON CONFLICT ON CONSTRAINT partition_position_pkey DO UPDATE
		SET next_offset = EXCLUDED.next_offset, last_apply_at = now();
	RETURN v_old;
END
$$;
COMMENT ON FUNCTION @extschema@.set_partition_position(text, integer, bigint) IS
	'Moves the recorded position of a partition (the bridge seeks there on its next assignment); returns the old position, NULL when there was none.';

-- Event bodies, as apply_payment_batch() builds them in C (apply.c):
-- republish_payment() must produce the same JSON (pgTAP checks it).
CREATE FUNCTION @extschema@.republish_payment(payment_id uuid)
RETURNS integer
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p		record;
	v_n		integer := 0;
	v_ts	text := 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"';
	-- A republish starts a new trace (W3C traceparent, sampled).
	v_tp	text := '00-' || replace(gen_random_uuid()::text, '-', '') || '-'
					|| left(replace(gen_random_uuid()::text, '-', ''), 16) || '-01';
BEGIN
	FOR p IN
		SELECT * FROM @extschema@.payments AS v
		 WHERE v.payment_id = republish_payment.payment_id
	LOOP
		INSERT INTO @extschema@.outbox (kind, event_key, event_value, headers, message_id, src_partition)
		VALUES ('read', p.account_id,
				convert_to(json_build_object(
					'event', 'payment_applied', 'version', 1,
					'message_id', p.message_id, 'payment_id', p.payment_id,
					'account_id', p.account_id, 'amount', p.amount::text,
					'currency', p.currency,
					'debtor', json_build_object('name', p.debtor_name, 'iban', p.debtor_iban, 'bic', p.debtor_bic),
					'creditor', json_build_object('name', p.creditor_name, 'iban', p.creditor_iban, 'bic', p.creditor_bic),
					'remittance_info', p.remittance_info,
					'created_at', to_char(p.created_at AT TIME ZONE 'UTC', v_ts),
					'applied_at', to_char(p.applied_at AT TIME ZONE 'UTC', v_ts))::text, 'UTF8'),
				jsonb_build_object('message_id', p.message_id::text, 'event', 'payment_applied', 'traceparent', v_tp),
				p.message_id, p.src_partition);
		v_n := v_n + 1;
		IF p.customer_email IS NOT NULL THEN
			INSERT INTO @extschema@.outbox (kind, event_key, event_value, headers, message_id, src_partition)
			VALUES ('email', p.account_id,
					convert_to(json_build_object(
						'event', 'payment_email', 'version', 1,
						'message_id', p.message_id, 'payment_id', p.payment_id,
						'account_id', p.account_id, 'customer_email', p.customer_email,
						'amount', p.amount::text, 'currency', p.currency,
						'creditor_name', p.creditor_name,
						'created_at', to_char(p.created_at AT TIME ZONE 'UTC', v_ts))::text, 'UTF8'),
					jsonb_build_object('message_id', p.message_id::text, 'event', 'payment_email', 'traceparent', v_tp),
					p.message_id, p.src_partition);
			v_n := v_n + 1;
		END IF;
	END LOOP;
	IF v_n = 0 THEN
		RAISE EXCEPTION 'payment % does not exist', republish_payment.payment_id
			USING ERRCODE = 'no_data_found',
				  DETAIL = 'No applied payment has this payment_id.';
	END IF;
	RETURN v_n;
END
$$;
COMMENT ON FUNCTION @extschema@.republish_payment(uuid) IS
	'Queues the downstream events of an applied payment again (read, and email when it has an address); returns how many.';
