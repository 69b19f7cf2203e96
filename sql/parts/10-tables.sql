-- Main writer tables.  Normalised, and on purpose WITHOUT indexes, primary
-- keys or foreign keys: every index costs each insert, and integrity comes
-- from validation and from the idempotency table (docs/schema.md).
-- apply_payment_batch() fills them with multi-row heap inserts.

CREATE TABLE @extschema@.payment (
	payment_id		uuid		NOT NULL,
	message_id		uuid		NOT NULL,
	account_id		text		NOT NULL,
	amount			numeric		NOT NULL,
	currency		text		NOT NULL,
	created_at		timestamptz	NOT NULL,
	applied_at		timestamptz	NOT NULL,
	src_topic		text,
	src_partition	integer,
	src_offset		bigint
);
COMMENT ON TABLE @extschema@.payment IS
	'Applied payments, one row each (main writer table: no indexes).';

CREATE TABLE @extschema@.payment_party (
	payment_id		uuid		NOT NULL,
	role			text		NOT NULL,	-- 'debtor' or 'creditor'
	name			text		NOT NULL,
	iban			text		NOT NULL,
	bic				text
);
COMMENT ON TABLE @extschema@.payment_party IS
	'Debtor and creditor of each applied payment (main writer table: no indexes).';

CREATE TABLE @extschema@.payment_remittance (
	payment_id		uuid		NOT NULL,
	remittance_info	text		NOT NULL
);
COMMENT ON TABLE @extschema@.payment_remittance IS
	'Remittance information of the payments that carry one (main writer table: no indexes).';

CREATE TABLE @extschema@.payment_notification (
	payment_id		uuid		NOT NULL,
	customer_email	text		NOT NULL
);
COMMENT ON TABLE @extschema@.payment_notification IS
	'Customer e-mail address of the payments that asked for an e-mail (main writer table: no indexes).';

-- Idempotency: one row per applied message_id, kept for
-- voltpay.idempotency_retention (7 days).  The primary key is what makes
-- two concurrent applies of one message apply it once.
CREATE TABLE @extschema@.idempotency (
	message_id		uuid		NOT NULL PRIMARY KEY,
	processed_on	date		NOT NULL DEFAULT current_date,
	payload_hash	bytea		NOT NULL	-- SHA-256 of the raw record value
);
CREATE INDEX idempotency_processed_on_idx ON @extschema@.idempotency (processed_on);
COMMENT ON TABLE @extschema@.idempotency IS
	'Message ids applied in the last voltpay.idempotency_retention, with the SHA-256 of their payload.';

-- Quarantine: every rejected message, raw.  A redelivery of the same
-- (topic, partition, offset) is stored once.
CREATE TABLE @extschema@.rejected_message (
	rejection_id	bigint		GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	message_id		uuid,
	reason			text		NOT NULL,
	detail			text		NOT NULL,
	sqlstate		text,		-- set when the bridge quarantined a message whose apply raised
	record_key		text,
	payload			bytea,
	src_topic		text,
	src_partition	integer,
	src_offset		bigint,
	kafka_timestamp	timestamptz,
	rejected_at		timestamptz	NOT NULL DEFAULT now(),
	reprocessed_at	timestamptz,
	reprocess_status text
);
CREATE UNIQUE INDEX rejected_message_coordinates_idx
	ON @extschema@.rejected_message (src_topic, src_partition, src_offset);
COMMENT ON TABLE @extschema@.rejected_message IS
	'Quarantined messages with their raw bytes, rejection reason and Kafka coordinates.';

-- Transactional outbox.  kind is the logical destination ('read', 'email',
-- 'dead_letter'); the bridge maps it to a topic name.  Events of one source
-- partition are published in event_id order by the partition's owner.
CREATE TABLE @extschema@.outbox (
	event_id		bigint		GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	kind			text		NOT NULL,
	event_key		text,		-- Kafka key: the account id
	event_value		bytea		NOT NULL,
	headers			jsonb		NOT NULL DEFAULT '{}',
	message_id		uuid,
	src_partition	integer,
	created_at		timestamptz	NOT NULL DEFAULT now()
);
COMMENT ON TABLE @extschema@.outbox IS
	'Events waiting to be published after commit; deleted when acknowledged.';

-- Recorded position of each source partition: the next offset to apply,
-- and counters for monitoring.  Written in the same transaction as the
-- batch, so the database, not Kafka, is the source of truth for positions.
CREATE TABLE @extschema@.partition_position (
	topic			text		NOT NULL,
	partition		integer		NOT NULL,
	next_offset		bigint		NOT NULL,
	applied			bigint		NOT NULL DEFAULT 0,
	duplicate		bigint		NOT NULL DEFAULT 0,
	rejected		bigint		NOT NULL DEFAULT 0,
	last_apply_at	timestamptz	NOT NULL DEFAULT now(),
	PRIMARY KEY (topic, partition)
);
COMMENT ON TABLE @extschema@.partition_position IS
	'Per source partition: next offset to apply and message counters.';
