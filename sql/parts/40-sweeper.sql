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
