-- The apply logic of voltpay.apply_payment_batch() written in PL/pgSQL, for
-- the benchmark only (make bench compares it with the C function and with
-- COPY).  Same tables, same idempotency and outbox rows, same positions; the
-- validation covers the same rules (UUIDs, account id, key, currency and
-- minor unit, amount, IBAN mod-97 and length, names, e-mail, timestamp).
CREATE SCHEMA IF NOT EXISTS bench;

CREATE TABLE bench.currency (code text PRIMARY KEY, minor int NOT NULL);
INSERT INTO bench.currency VALUES ('EUR', 2), ('USD', 2), ('GBP', 2), ('CHF', 2), ('JPY', 0), ('BHD', 3), ('SEK', 2), ('NOK', 2), ('DKK', 2), ('PLN', 2);
CREATE TABLE bench.iban_length (country text PRIMARY KEY, len int NOT NULL);
INSERT INTO bench.iban_length VALUES ('DE', 22), ('GB', 22), ('FR', 27), ('NL', 18), ('ES', 24), ('IT', 27), ('BE', 16), ('AT', 20), ('CH', 21), ('PL', 28), ('SE', 24), ('NO', 15), ('DK', 18), ('IE', 22), ('PT', 25), ('FI', 18);

CREATE FUNCTION bench.iban_ok(iban text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
	s text := upper(replace(iban, ' ', ''));
	r text;
	rem int := 0;
	c text;
	i int;
BEGIN
	IF s !~ '^[A-Z]{2}[0-9]{2}[A-Z0-9]+$' THEN RETURN false; END IF;
	IF (SELECT len FROM bench.iban_length WHERE country = left(s, 2)) IS DISTINCT FROM length(s) THEN RETURN false; END IF;
	r := substr(s, 5) || left(s, 4);
	FOR i IN 1 .. length(r) LOOP
		c := substr(r, i, 1);
		IF c ~ '[0-9]' THEN rem := (rem * 10 + c::int) % 97;
		ELSE rem := (rem * 100 + ascii(c) - 55) % 97;
		END IF;
	END LOOP;
	RETURN rem = 1;
END
$$;

CREATE FUNCTION bench.apply_payment_batch_plpgsql(keys text[], payloads bytea[], topic text, partitions int[], offsets bigint[])
RETURNS TABLE (ordinal int, message_id uuid, status text, reason text)
LANGUAGE plpgsql AS $$
DECLARE
	i int;
	j jsonb;
	v_reason text;
	v_minor int;
	v_amount text;
	v_mid uuid;
	v_hash bytea;
	v_old bytea;
	v_ins uuid;
	v_now timestamptz := now();
	v_read jsonb;
BEGIN
	FOR i IN 1 .. coalesce(array_length(payloads, 1), 0) LOOP
		ordinal := i; message_id := NULL; reason := NULL; v_reason := NULL;
		BEGIN
			j := convert_from(payloads[i], 'UTF8')::jsonb;
		EXCEPTION WHEN OTHERS THEN
			v_reason := 'invalid_json';
		END;
		IF v_reason IS NULL AND jsonb_typeof(j) <> 'object' THEN v_reason := 'invalid_json'; END IF;
		IF v_reason IS NULL THEN
			IF NOT (j ? 'message_id' AND j ? 'payment_id' AND j ? 'account_id' AND j ? 'amount'
					AND j ? 'currency' AND j ? 'debtor' AND j ? 'creditor' AND j ? 'created_at') THEN
				v_reason := 'missing_field';
			ELSIF j->>'message_id' !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
				OR j->>'payment_id' !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
				OR j->>'account_id' !~ '^[A-Za-z0-9._-]{1,64}$' THEN
				v_reason := 'invalid_field';
			ELSIF keys[i] IS NOT NULL AND keys[i] <> j->>'account_id' THEN
				v_reason := 'key_mismatch';
			END IF;
		END IF;
		IF v_reason IS NULL THEN
			message_id := (j->>'message_id')::uuid;
			SELECT c.minor INTO v_minor FROM bench.currency c WHERE c.code = j->>'currency';
			v_amount := j->>'amount';
			IF v_minor IS NULL THEN v_reason := 'unknown_currency';
			ELSIF v_amount !~ '^(0|[1-9][0-9]{0,17})(\.[0-9]+)?$'
				OR length(coalesce(substring(v_amount from '\.([0-9]+)$'), '')) > v_minor
				OR v_amount::numeric <= 0 THEN v_reason := 'invalid_amount';
			ELSIF NOT bench.iban_ok(j->'debtor'->>'iban') OR NOT bench.iban_ok(j->'creditor'->>'iban') THEN
				v_reason := 'invalid_iban';
			ELSIF length(j->'debtor'->>'name') NOT BETWEEN 1 AND 140 OR length(j->'creditor'->>'name') NOT BETWEEN 1 AND 140
				OR length(coalesce(j->>'remittance_info', '')) > 140
				OR (j->>'customer_email' IS NOT NULL AND j->>'customer_email' !~ '^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$')
				OR j->>'created_at' !~ '^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$' THEN
				v_reason := 'invalid_field';
			END IF;
		END IF;
		IF v_reason IS NULL THEN
			v_hash := sha256(payloads[i]);
			INSERT INTO voltpay.idempotency AS x (message_id, processed_on, payload_hash)
			VALUES (message_id, current_date, v_hash) ON CONFLICT DO NOTHING RETURNING x.message_id INTO v_ins;
			IF v_ins IS NULL THEN
				SELECT x.payload_hash INTO v_old FROM voltpay.idempotency x WHERE x.message_id = apply_payment_batch_plpgsql.message_id;
				IF v_old = v_hash THEN status := 'duplicate'; RETURN NEXT; CONTINUE; END IF;
				v_reason := 'idempotency_conflict';
			END IF;
		END IF;
		IF v_reason IS NOT NULL THEN
			status := 'rejected'; reason := v_reason;
			INSERT INTO voltpay.rejected_message (message_id, reason, detail, record_key, payload, src_topic, src_partition, src_offset)
			VALUES (message_id, v_reason, v_reason, keys[i], payloads[i], topic, partitions[i], offsets[i])
			ON CONFLICT DO NOTHING;
			INSERT INTO voltpay.outbox (kind, event_key, event_value, headers, message_id, src_partition)
			VALUES ('dead_letter', keys[i], coalesce(payloads[i], ''), jsonb_build_object('voltpay-reason', v_reason), message_id, partitions[i]);
			RETURN NEXT; CONTINUE;
		END IF;
		INSERT INTO voltpay.payment VALUES ((j->>'payment_id')::uuid, message_id, j->>'account_id',
			round(v_amount::numeric, v_minor), j->>'currency', (j->>'created_at')::timestamptz, v_now, topic, partitions[i], offsets[i]);
		INSERT INTO voltpay.payment_party VALUES
			((j->>'payment_id')::uuid, 'debtor', j->'debtor'->>'name', upper(replace(j->'debtor'->>'iban', ' ', '')), upper(j->'debtor'->>'bic')),
			((j->>'payment_id')::uuid, 'creditor', j->'creditor'->>'name', upper(replace(j->'creditor'->>'iban', ' ', '')), upper(j->'creditor'->>'bic'));
		IF j->>'remittance_info' IS NOT NULL THEN
			INSERT INTO voltpay.payment_remittance VALUES ((j->>'payment_id')::uuid, j->>'remittance_info');
		END IF;
		IF j->>'customer_email' IS NOT NULL THEN
			INSERT INTO voltpay.payment_notification VALUES ((j->>'payment_id')::uuid, j->>'customer_email');
		END IF;
		v_read := jsonb_build_object('event', 'payment_applied', 'version', 1, 'message_id', message_id,
			'payment_id', j->>'payment_id', 'account_id', j->>'account_id', 'amount', round(v_amount::numeric, v_minor)::text,
			'currency', j->>'currency', 'debtor', j->'debtor', 'creditor', j->'creditor',
			'remittance_info', j->'remittance_info', 'created_at', j->>'created_at', 'applied_at', v_now);
		INSERT INTO voltpay.outbox (kind, event_key, event_value, headers, message_id, src_partition)
		VALUES ('read', j->>'account_id', convert_to(v_read::text, 'UTF8'),
				jsonb_build_object('message_id', message_id, 'event', 'payment_applied'), message_id, partitions[i]);
		IF j->>'customer_email' IS NOT NULL THEN
			INSERT INTO voltpay.outbox (kind, event_key, event_value, headers, message_id, src_partition)
			VALUES ('email', j->>'account_id', convert_to(jsonb_build_object('event', 'payment_email', 'message_id', message_id,
					'customer_email', j->>'customer_email', 'amount', round(v_amount::numeric, v_minor)::text)::text, 'UTF8'),
					jsonb_build_object('message_id', message_id, 'event', 'payment_email'), message_id, partitions[i]);
		END IF;
		status := 'applied';
		RETURN NEXT;
	END LOOP;
	IF topic IS NOT NULL THEN
		INSERT INTO voltpay.partition_position AS p (topic, partition, next_offset)
		SELECT topic, u.p, max(u.o) + 1 FROM unnest(partitions, offsets) AS u (p, o) GROUP BY u.p ORDER BY u.p
		ON CONFLICT ON CONSTRAINT partition_position_pkey DO UPDATE SET next_offset = GREATEST(p.next_offset, EXCLUDED.next_offset);
	END IF;
END
$$;
