CREATE EXTENSION voltpay;

CREATE FUNCTION vg_msg(i int, o jsonb DEFAULT '{}') RETURNS bytea LANGUAGE sql AS $$
	SELECT convert_to((jsonb_build_object(
		'message_id', md5('m' || i)::uuid, 'payment_id', md5('p' || i)::uuid,
		'account_id', 'acc-' || (i % 17), 'amount', (i % 5000) || '.' || lpad((i % 100)::text, 2, '0'),
		'currency', 'EUR',
		'debtor', jsonb_build_object('name', 'Débiteur ' || i, 'iban', 'DE89370400440532013000', 'bic', 'COBADEFFXXX'),
		'creditor', jsonb_build_object('name', 'Creditor ' || i, 'iban', 'GB82WEST12345698765432'),
		'remittance_info', 'Invoice ' || i, 'customer_email', 'c' || i || '@example.com',
		'created_at', '2026-11-24T10:00:00.123456+02:00') || o)::text, 'UTF8')
$$;

SELECT status, reason, count(*) FROM voltpay.apply_payment_batch(
	(SELECT array_agg('acc-' || (i % 17) ORDER BY i) FROM generate_series(1, 500) i),
	(SELECT array_agg(vg_msg(i) ORDER BY i) FROM generate_series(1, 500) i),
	'vg', (SELECT array_agg(i % 7 ORDER BY i) FROM generate_series(1, 500) i),
	(SELECT array_agg(i::bigint ORDER BY i) FROM generate_series(1, 500) i)) GROUP BY 1, 2 ORDER BY 1, 2;

SELECT status, reason, count(*) FROM voltpay.apply_payment_batch(
	(SELECT array_agg(NULL::text) FROM generate_series(1, 300) i),
	(SELECT array_agg(CASE i % 15
		WHEN 0 THEN vg_msg(i, '{"amount": "-1.00"}')
		WHEN 1 THEN vg_msg(i, '{"amount": "1e3"}')
		WHEN 2 THEN vg_msg(i, '{"debtor": {"name": "x", "iban": "DE89370400440532013001"}}')
		WHEN 3 THEN vg_msg(i, '{"currency": "eur"}')
		WHEN 4 THEN vg_msg(i, '{"created_at": "2026-02-30T10:00:00Z"}')
		WHEN 5 THEN vg_msg(i, '{"customer_email": "no-at-sign"}')
		WHEN 6 THEN convert_to(repeat('[', 20000), 'UTF8')
		WHEN 7 THEN convert_to('{"a": "' || repeat('x', 70000) || '"}', 'UTF8')
		WHEN 8 THEN '\xc328'::bytea
		WHEN 9 THEN convert_to('{"message_id": "1", "message_id": "2"}', 'UTF8')
		WHEN 10 THEN convert_to('{"message_id": "\u0000"}', 'UTF8')
		WHEN 11 THEN vg_msg(i - 11)
		WHEN 12 THEN vg_msg(i - 12, '{"amount": "0.01"}')
		WHEN 13 THEN NULL
		ELSE vg_msg(i, '{"remittance_info": null, "customer_email": null, "debtor": {"name": "Ü", "iban": "fr14 2004 1010 0505 0001 3m02 606"}}') END
		ORDER BY i) FROM generate_series(1, 300) i)) GROUP BY 1, 2 ORDER BY 1, 2;

SELECT count(*) FROM voltpay.apply_payment_batch(ARRAY[NULL, NULL, NULL]::text[], ARRAY[vg_msg(9001), vg_msg(9002), vg_msg(9003)],
	traceparents => ARRAY['00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'ff-junk', NULL]);

-- The events variant: applied with e-mail (2 events), duplicates (none),
-- rejected (dead letters, one without a message id).
SELECT status, count(*), count(event_id), sum(cardinality(header_names)) FROM voltpay.apply_payment_batch_events(
	(SELECT array_agg('acc-' || (i % 17) ORDER BY i) FROM generate_series(490, 620) i),
	(SELECT array_agg(CASE WHEN i % 9 = 0 THEN convert_to('[' || i || ']', 'UTF8') ELSE vg_msg(i) END ORDER BY i)
	   FROM generate_series(490, 620) i),
	'vg', (SELECT array_agg(i % 7 ORDER BY i) FROM generate_series(490, 620) i),
	(SELECT array_agg(i::bigint + 100000 ORDER BY i) FROM generate_series(490, 620) i)) GROUP BY 1 ORDER BY 1;

-- The raw-bytes variant (0.3.0): keys and traceparents as bytea, among
-- them keys that are not text (invalid UTF-8, a NUL byte) and a
-- traceparent that is not text.
SELECT status, reason, count(*), count(event_id) FROM voltpay.apply_record_batch(
	(SELECT array_agg(CASE i % 10 WHEN 0 THEN '\x61ff'::bytea WHEN 1 THEN '\x610062'::bytea
			ELSE convert_to('acc-' || (i % 17), 'UTF8') END ORDER BY i) FROM generate_series(700, 760) i),
	(SELECT array_agg(vg_msg(i) ORDER BY i) FROM generate_series(700, 760) i),
	'vg', (SELECT array_agg(i % 7 ORDER BY i) FROM generate_series(700, 760) i),
	(SELECT array_agg(i::bigint + 200000 ORDER BY i) FROM generate_series(700, 760) i),
	traceparents => (SELECT array_agg(CASE WHEN i % 3 = 0 THEN '\xff00'::bytea
			ELSE convert_to('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'UTF8') END ORDER BY i)
		FROM generate_series(700, 760) i)) GROUP BY 1, 2 ORDER BY 1, 2;

SELECT count(*) FROM voltpay.validate_message(vg_msg(1), 'acc-1');

SELECT count(*) FROM voltpay.validate_message(vg_msg(1), '\x61ff'::bytea);

SELECT count(*) FROM voltpay.outbox_fetch(100000);

SELECT voltpay.outbox_ack(ARRAY(SELECT event_id FROM voltpay.outbox_fetch(1000)));

SELECT voltpay.republish_payment(md5('p' || 3)::uuid);

SELECT voltpay.forget_message(md5('m' || 3)::uuid);

SELECT status FROM voltpay.reprocess_rejected((SELECT min(rejection_id) FROM voltpay.rejected_message));

SELECT voltpay.quarantine_message('k', 'x'::bytea, 'vg', 1, 99999, now(), 'XX000', 'boom');

SELECT voltpay.sweep_idempotency();

SELECT count(*) FROM voltpay.payments;

