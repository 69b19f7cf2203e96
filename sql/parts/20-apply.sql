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

-- The same apply on the record's raw bytes (0.3.0): keys and traceparent
-- headers as bytea[], as Kafka carries them.  A key that is not text (not
-- UTF-8, or with a NUL byte) is that message's invalid_key rejection
-- instead of an error of the whole call; a traceparent that is not text
-- is treated as absent.  The bridge calls this one from 0.3.0 on.
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
