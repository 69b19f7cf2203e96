\echo Use "CREATE EXTENSION voltpay" to load this file. \quit

-- voltpay: exactly-once payment writer.  The install script is assembled
-- from sql/parts/ by the Makefile; once a version is released its script is
-- frozen and changes ship as voltpay--A--B.sql upgrade scripts.

-- Roles are cluster-wide and outlive the extension: create them only when
-- missing (Liquibase normally creates them first).  NOLOGIN: logins are
-- granted membership.
DO $roles$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'voltpay_writer') THEN
		CREATE ROLE voltpay_writer NOLOGIN;
	END IF;
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'voltpay_dba') THEN
		CREATE ROLE voltpay_dba NOLOGIN;
	END IF;
END
$roles$;

REVOKE ALL ON SCHEMA @extschema@ FROM PUBLIC;
GRANT USAGE ON SCHEMA @extschema@ TO voltpay_writer, voltpay_dba;
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
-- Applying messages.

CREATE FUNCTION @extschema@.apply_payment_batch(
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
	OUT trace_id	text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'apply_payment_batch'
LANGUAGE C VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.apply_payment_batch(text[], bytea[], text, integer[], bigint[], timestamptz[], text[], boolean) IS
	'Validates and applies a batch of raw Kafka payment messages exactly once in the caller''s transaction; one row per message, in input order.';

-- The same apply, joined with the outbox events each message queued: one
-- row per event (a message with two events gives two rows with the same
-- ordinal), one row with NULL event columns for a message that queued none.
-- The bridge publishes from this result after its COMMIT instead of reading
-- back what it has just written.
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

CREATE FUNCTION @extschema@.apply_payment(
	payload		bytea,
	key			text	DEFAULT NULL,
	OUT ordinal		integer,
	OUT message_id	uuid,
	OUT status		text,
	OUT reason		text,
	OUT detail		text,
	OUT payment_id	uuid)
RETURNS record
LANGUAGE sql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT r.ordinal, r.message_id, r.status, r.reason, r.detail, r.payment_id
	  FROM @extschema@.apply_payment_batch(ARRAY[key], ARRAY[payload]) AS r;
END;
COMMENT ON FUNCTION @extschema@.apply_payment(bytea, text) IS
	'Applies one raw payment message (DBA use); same result row as apply_payment_batch().';

CREATE FUNCTION @extschema@.apply_payment(
	payload		text,
	key			text	DEFAULT NULL,
	OUT ordinal		integer,
	OUT message_id	uuid,
	OUT status		text,
	OUT reason		text,
	OUT detail		text,
	OUT payment_id	uuid)
RETURNS record
LANGUAGE sql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT r.ordinal, r.message_id, r.status, r.reason, r.detail, r.payment_id
	  FROM @extschema@.apply_payment_batch(ARRAY[key],
			ARRAY[pg_catalog.convert_to(payload, 'UTF8')]) AS r;
END;
COMMENT ON FUNCTION @extschema@.apply_payment(text, text) IS
	'Applies one payment message given as JSON text (DBA use); same result row as apply_payment_batch().';

CREATE FUNCTION @extschema@.validate_message(
	payload		bytea,
	key			text	DEFAULT NULL,
	OUT valid		boolean,
	OUT message_id	uuid,
	OUT reason		text,
	OUT detail		text)
RETURNS record
AS 'MODULE_PATHNAME', 'validate_message'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.validate_message(bytea, text) IS
	'Checks one raw message against contract v1 without applying it.';

-- Outbox, for the bridge.

CREATE FUNCTION @extschema@.outbox_fetch(
	max_events	integer		DEFAULT 1000,
	partitions	integer[]	DEFAULT NULL,
	OUT event_id	bigint,
	OUT kind		text,
	OUT event_key	text,
	OUT event_value	bytea,
	OUT headers		jsonb,
	OUT message_id	uuid,
	OUT src_partition integer)
RETURNS SETOF record
LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT o.event_id, o.kind, o.event_key, o.event_value, o.headers,
		   o.message_id, o.src_partition
	  FROM @extschema@.outbox AS o
	 WHERE partitions IS NULL
		OR o.src_partition = ANY (partitions)
		OR o.src_partition IS NULL
	 ORDER BY o.event_id
	 LIMIT max_events;
END;
COMMENT ON FUNCTION @extschema@.outbox_fetch(integer, integer[]) IS
	'Oldest unpublished outbox events, in order; with partitions, only the events of those source partitions and of none.';

CREATE FUNCTION @extschema@.outbox_ack(event_ids bigint[])
RETURNS bigint
LANGUAGE sql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	WITH d AS (
		DELETE FROM @extschema@.outbox WHERE event_id = ANY (event_ids) RETURNING 1
	)
	SELECT count(*) FROM d;
END;
COMMENT ON FUNCTION @extschema@.outbox_ack(bigint[]) IS
	'Acknowledges published outbox events (deletes them); returns how many were still pending.';

CREATE FUNCTION @extschema@.partition_positions(
	topic		text,
	OUT partition	integer,
	OUT next_offset	bigint)
RETURNS SETOF record
LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT p.partition, p.next_offset
	  FROM @extschema@.partition_position AS p
	 WHERE p.topic = partition_positions.topic
	 ORDER BY p.partition;
END;
COMMENT ON FUNCTION @extschema@.partition_positions(text) IS
	'Recorded next offset of each partition of a topic; the bridge seeks its assignments there.';
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
-- Idempotency retention (extension/sweeper.c, docs/sweeper.md).

CREATE FUNCTION @extschema@.sweep_idempotency()
RETURNS bigint
AS 'MODULE_PATHNAME', 'sweep_idempotency'
LANGUAGE C VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.sweep_idempotency() IS
	'Deletes the idempotency rows older than voltpay.idempotency_retention, in the caller''s transaction, and returns how many; the voltpay sweeper worker does the same in short transactions.';

-- Each day the sweeper deletes about one day's rows out of the eight the
-- table holds (12%), below the default autovacuum threshold (20%): at 10%,
-- autovacuum cleans up once after each daily sweep, so that the next day's
-- ingest reuses the space instead of growing the table.
ALTER TABLE @extschema@.idempotency SET (autovacuum_vacuum_scale_factor = 0.1);

-- State of the sweeper worker: one row, written by the worker only, in its
-- own short transactions.
CREATE TABLE @extschema@.sweep_state (
	singleton		boolean		PRIMARY KEY DEFAULT true CHECK (singleton),
	started_at		timestamptz,	-- start of the current or last run
	finished_at		timestamptz,	-- its end; NULL while it runs
	cutoff			date,			-- rows processed before this date were expired
	rows_deleted	bigint,			-- rows the run deleted (so far)
	steps			integer,		-- transactions the run used (so far)
	error			text,			-- error that ended the run, or NULL
	last_success_at	timestamptz,	-- end of the last run without error
	next_run_at		timestamptz,	-- NULL while voltpay.sweep_interval is 0
	worker_pid		integer			-- process of the worker that wrote the row
);
INSERT INTO @extschema@.sweep_state DEFAULT VALUES;
COMMENT ON TABLE @extschema@.sweep_state IS
	'State of the voltpay sweeper worker (one row); read it through voltpay.sweep_status.';

CREATE VIEW @extschema@.sweep_status AS
SELECT CASE
		   WHEN w.pid IS NULL THEN 'not running'
		   WHEN s.started_at IS NOT NULL AND s.finished_at IS NULL THEN 'sweeping'
		   ELSE 'waiting'
	   END AS state,
	   w.pid AS worker_pid,
	   s.started_at AS last_start,
	   s.finished_at AS last_end,
	   s.cutoff,
	   s.rows_deleted,
	   s.steps,
	   s.error AS last_error,
	   s.last_success_at AS last_success,
	   CASE WHEN w.pid IS NOT NULL THEN s.next_run_at END AS next_run
  FROM @extschema@.sweep_state AS s
  LEFT JOIN pg_catalog.pg_stat_activity AS w ON w.pid = s.worker_pid;
COMMENT ON VIEW @extschema@.sweep_status IS
	'The voltpay sweeper: whether it runs in this database, its last run (start, end, cutoff date, rows deleted, error), its last successful run and its next run.';
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
-- Monitoring views (docs/monitoring.md): one number per column, in base
-- units (seconds, counts), shaped for a Prometheus exporter
-- (monitoring/postgres-exporter/queries.yaml reads them) and for a DBA at
-- psql.  They read the writer tables with the extension owner's rights, so
-- a monitoring login needs no right on the tables, only on these views:
--
--   CREATE ROLE voltpay_exporter LOGIN IN ROLE voltpay_monitor, pg_monitor;
--
-- (pg_monitor for pg_stat_statements and pg_stat_activity.)

DO $roles$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'voltpay_monitor') THEN
		CREATE ROLE voltpay_monitor NOLOGIN;
	END IF;
END
$roles$;

GRANT USAGE ON SCHEMA @extschema@ TO voltpay_monitor;

-- Per source partition: position and counters.  The counters only grow
-- (they are kept in voltpay.partition_position, written in each batch's
-- transaction), so Prometheus can take rates of them.
CREATE VIEW @extschema@.metrics_partitions AS
SELECT p.topic,
	   p.partition,
	   p.next_offset,
	   p.applied,
	   p.duplicate,
	   p.rejected,
	   EXTRACT(epoch FROM p.last_apply_at)::double precision AS last_apply_time_seconds,
	   GREATEST(EXTRACT(epoch FROM now() - p.last_apply_at), 0)::double precision AS last_apply_age_seconds
  FROM @extschema@.partition_position AS p;
COMMENT ON VIEW @extschema@.metrics_partitions IS
	'Per source partition: recorded next offset, applied/duplicate/rejected counters (monotonic), last apply time and its age in seconds.';

-- Outbox backlog by kind; the three kinds the bridge publishes always have
-- a row (0 when empty), so that a backlog series never disappears.
CREATE VIEW @extschema@.metrics_outbox AS
SELECT k.kind,
	   count(o.event_id) AS pending,
	   COALESCE(GREATEST(EXTRACT(epoch FROM now() - min(o.created_at)), 0), 0)::double precision
		   AS oldest_age_seconds
  FROM (SELECT unnest(ARRAY['read', 'email', 'dead_letter']) AS kind
		UNION
		SELECT DISTINCT kind FROM @extschema@.outbox) AS k
  LEFT JOIN @extschema@.outbox AS o ON o.kind = k.kind
 GROUP BY k.kind;
COMMENT ON VIEW @extschema@.metrics_outbox IS
	'Outbox backlog by kind (read, email, dead_letter always present): events waiting to be published and the age in seconds of the oldest (0 when none).';

-- The sweeper (voltpay.sweep_status) as numbers.  Times are seconds since
-- the Unix epoch, NULL when unknown; the settings come from pg_settings
-- and are NULL when the library is not loaded.
CREATE VIEW @extschema@.metrics_sweeper AS
SELECT (s.state <> 'not running')::integer AS running,
	   (s.state = 'sweeping')::integer AS sweeping,
	   EXTRACT(epoch FROM s.last_start)::double precision AS last_start_time_seconds,
	   EXTRACT(epoch FROM s.last_end)::double precision AS last_end_time_seconds,
	   EXTRACT(epoch FROM s.last_success)::double precision AS last_success_time_seconds,
	   EXTRACT(epoch FROM now() - s.last_success)::double precision AS last_success_age_seconds,
	   COALESCE(s.rows_deleted, 0) AS last_run_rows_deleted,
	   COALESCE(s.steps, 0) AS last_run_steps,
	   (s.last_error IS NOT NULL)::integer AS last_run_failed,
	   EXTRACT(epoch FROM s.next_run)::double precision AS next_run_time_seconds,
	   (SELECT g.setting::double precision FROM pg_catalog.pg_settings AS g
		 WHERE g.name = 'voltpay.sweep_interval') AS interval_seconds,
	   (SELECT g.setting::double precision * 60 FROM pg_catalog.pg_settings AS g
		 WHERE g.name = 'voltpay.idempotency_retention') AS retention_seconds
  FROM @extschema@.sweep_status AS s;
COMMENT ON VIEW @extschema@.metrics_sweeper IS
	'The idempotency sweeper as numbers: running and sweeping (0/1), last start, end and success (Unix seconds), age of the last success, rows deleted and steps of the last run, whether it failed (0/1), next run, sweep interval and retention in seconds.';

-- The idempotency table: its size (planner estimate: counting it would
-- read the whole table) and the age of its oldest day (index on
-- processed_on).  An oldest age well past the retention means the sweeper
-- is not keeping up.
CREATE VIEW @extschema@.metrics_idempotency AS
SELECT GREATEST(c.reltuples, 0)::bigint AS rows_estimate,
	   pg_catalog.pg_total_relation_size(c.oid) AS size_bytes,
	   (SELECT EXTRACT(epoch FROM now() - min(i.processed_on)::timestamptz)::double precision
		  FROM @extschema@.idempotency AS i) AS oldest_age_seconds
  FROM pg_catalog.pg_class AS c
 WHERE c.oid = '@extschema@.idempotency'::regclass;
COMMENT ON VIEW @extschema@.metrics_idempotency IS
	'The idempotency table: estimated rows, size in bytes, and age in seconds of its oldest processed_on day (NULL when empty).';

-- Quarantined messages by reason: all of them, and those not reprocessed
-- yet (the ones waiting for a DBA).
CREATE VIEW @extschema@.metrics_rejections AS
SELECT r.reason,
	   count(*) AS total,
	   count(*) FILTER (WHERE r.reprocessed_at IS NULL) AS unreprocessed
  FROM @extschema@.rejected_message AS r
 GROUP BY r.reason;
COMMENT ON VIEW @extschema@.metrics_rejections IS
	'Quarantined messages by reason code: how many in all and how many not reprocessed yet.';

GRANT SELECT ON
	@extschema@.metrics_partitions,
	@extschema@.metrics_outbox,
	@extschema@.metrics_sweeper,
	@extschema@.metrics_idempotency,
	@extschema@.metrics_rejections,
	@extschema@.partition_status,
	@extschema@.outbox_status,
	@extschema@.sweep_status
TO voltpay_monitor, voltpay_dba;
-- Privileges: roles get EXECUTE on functions, never rights on tables.

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA @extschema@ FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA @extschema@ FROM PUBLIC;

GRANT EXECUTE ON FUNCTION
	@extschema@.apply_payment_batch(text[], bytea[], text, integer[], bigint[], timestamptz[], text[], boolean),
	@extschema@.apply_payment_batch_events(text[], bytea[], text, integer[], bigint[], timestamptz[], text[], boolean),
	@extschema@.outbox_fetch(integer, integer[]),
	@extschema@.outbox_ack(bigint[]),
	@extschema@.partition_positions(text),
	@extschema@.quarantine_message(text, bytea, text, integer, bigint, timestamptz, text, text, text)
TO voltpay_writer, voltpay_dba;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA @extschema@ TO voltpay_dba;
GRANT SELECT ON ALL TABLES IN SCHEMA @extschema@ TO voltpay_dba;
