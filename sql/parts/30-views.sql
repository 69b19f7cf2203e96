-- Views.

CREATE VIEW @extschema@.payments AS
SELECT p.message_id, p.payment_id, p.account_id, p.amount, p.currency,
	   p.created_at, p.applied_at,
	   d.name AS debtor_name, d.iban AS debtor_iban, d.bic AS debtor_bic,
	   c.name AS creditor_name, c.iban AS creditor_iban, c.bic AS creditor_bic,
	   r.remittance_info, n.customer_email,
	   p.src_topic, p.src_partition, p.src_offset
  FROM @extschema@.payment AS p
  JOIN @extschema@.payment_party AS d ON d.payment_id = p.payment_id AND d.role = 'debtor'
  JOIN @extschema@.payment_party AS c ON c.payment_id = p.payment_id AND c.role = 'creditor'
  LEFT JOIN @extschema@.payment_remittance AS r ON r.payment_id = p.payment_id
  LEFT JOIN @extschema@.payment_notification AS n ON n.payment_id = p.payment_id;
COMMENT ON VIEW @extschema@.payments IS
	'One flat row per applied payment (joins the normalised writer tables).';

CREATE VIEW @extschema@.rejected_messages AS
SELECT rejection_id, message_id, reason, detail, sqlstate, record_key,
	   payload, src_topic AS topic, src_partition AS partition,
	   src_offset AS "offset", kafka_timestamp, rejected_at,
	   reprocessed_at, reprocess_status
  FROM @extschema@.rejected_message;
COMMENT ON VIEW @extschema@.rejected_messages IS
	'Quarantined messages: raw payload, reason code, detail and Kafka coordinates.';

CREATE VIEW @extschema@.partition_status AS
SELECT topic, partition, next_offset, applied, duplicate, rejected, last_apply_at
  FROM @extschema@.partition_position;
COMMENT ON VIEW @extschema@.partition_status IS
	'Per source partition: recorded position, applied/duplicate/rejected counts and last apply time.';

CREATE VIEW @extschema@.outbox_status AS
SELECT kind, count(*) AS pending,
	   min(created_at) AS oldest,
	   COALESCE(EXTRACT(epoch FROM now() - min(created_at)), 0)::double precision AS oldest_age_seconds
  FROM @extschema@.outbox
 GROUP BY kind;
COMMENT ON VIEW @extschema@.outbox_status IS
	'Outbox backlog by kind: pending events and the age of the oldest.';
