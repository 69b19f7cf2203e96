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
