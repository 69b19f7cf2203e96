/*-------------------------------------------------------------------------
 *
 * sweeper.c
 *	  Idempotency retention: voltpay.sweep_idempotency() and the
 *	  "voltpay sweeper" background worker.
 *
 * An idempotency row is expired when its processed_on is before the date of
 * now() - voltpay.idempotency_retention.  Retention may not go below one
 * day, the retention of the payment topic: a redelivery of a message whose
 * row is gone would be applied twice.
 *
 * Both entry points compute the cutoff date with sweep_cutoff(), delete
 * with sweep_delete() and report with sweep_log_run():
 *
 *	- the worker, registered when voltpay is in shared_preload_libraries,
 *	  connects to voltpay.database, wakes every voltpay.sweep_interval and
 *	  deletes expired rows in steps of at most voltpay.sweep_batch_size
 *	  rows, each step its own short transaction (one index range scan on
 *	  processed_on, then a TID scan), with voltpay.sweep_step_delay between
 *	  steps.  No transaction holds more than one step's row locks, so a
 *	  concurrent apply of a redelivered expired message waits for one step
 *	  at most.  The worker records each run in voltpay.sweep_state (shown by
 *	  the voltpay.sweep_status view) and logs one LOG line per run;
 *
 *	- voltpay.sweep_idempotency(), for DBAs, runs in the caller's
 *	  transaction, so steps would bound nothing there: it deletes all
 *	  expired rows with one statement.  Bounded steps inside one transaction
 *	  would even be slower, since each step would scan again the index
 *	  entries of the rows the earlier steps deleted.
 *
 * On an ERROR the worker records the error, logs it and exits with status
 * 1; the postmaster starts it again after SWEEP_RESTART_SECONDS and the new
 * worker sweeps at once.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "voltpay.h"
#include "spi_util.h"

PG_FUNCTION_INFO_V1(sweep_idempotency);

PGDLLEXPORT void vp_sweeper_main(Datum main_arg) pg_attribute_noreturn();

/* Shortest retention accepted: the payment topic's retention, one day. */
#define SWEEP_MIN_RETENTION_MIN		(24 * 60)

/* Seconds before the postmaster starts a worker that exited on an error. */
#define SWEEP_RESTART_SECONDS		10

/* While the extension is missing, look for it at least this often. */
#define SWEEP_MISSING_RECHECK_MS	(10 * 1000)

/* Deletes at most $2 expired rows, oldest first. */
#define SWEEP_STEP_SQL \
	"DELETE FROM voltpay.idempotency" \
	" WHERE ctid = ANY (ARRAY(" \
	"SELECT ctid FROM voltpay.idempotency" \
	" WHERE processed_on < $1 ORDER BY processed_on LIMIT $2))"

/* Deletes every expired row (sweep_idempotency()). */
#define SWEEP_ALL_SQL \
	"DELETE FROM voltpay.idempotency WHERE processed_on < $1"

/* Records the worker's current or last run. */
#define SWEEP_STATUS_SQL \
	"UPDATE voltpay.sweep_state" \
	"   SET started_at = $1, finished_at = $2, cutoff = $3," \
	"       rows_deleted = $4, steps = $5, error = $6, next_run_at = $7," \
	"       worker_pid = $8," \
	"       last_success_at = CASE WHEN $2 IS NOT NULL AND $6 IS NULL" \
	"                              THEN $2 ELSE last_success_at END"

/* GUC variables */
static char *sweep_database = NULL;
static int	sweep_retention = 7 * 24 * 60;	/* minutes */
static int	sweep_interval = 60 * 60;	/* seconds, 0 = disabled */
static int	sweep_batch_size = 10000;
static int	sweep_step_delay = 500; /* milliseconds */
static int	sweep_lock_timeout = 5000;	/* milliseconds, 0 = wait */

/* One run of the sweep, as recorded in voltpay.sweep_state. */
typedef struct SweepRun
{
	TimestampTz started_at;		/* 0 before the first run */
	TimestampTz finished_at;	/* 0 while running */
	DateADT		cutoff;			/* rows processed before it are expired */
	int64		deleted;
	int32		steps;
	char	   *error;			/* NULL, or in sweep_worker_context */
} SweepRun;

/* Plans, prepared on first use and kept for the life of the process. */
static SPIPlanPtr sweep_step_plan = NULL;
static SPIPlanPtr sweep_all_plan = NULL;
static SPIPlanPtr sweep_status_plan = NULL;

/* Worker state; static so that the error path sees the run in progress. */
static MemoryContext sweep_worker_context = NULL;
static MemoryContext sweep_loop_context = NULL;
static SweepRun sweep_run;
static TimestampTz sweep_next_run = 0;	/* 0 while disabled */
static bool sweep_missing_logged = false;

static bool sweep_check_retention(int *newval, void **extra,
								  GucSource source);
static DateADT sweep_cutoff(void);
static uint64 sweep_delete(DateADT cutoff, int limit);
static void sweep_log_run(const char *who, const SweepRun *run);
static void sweep_session_settings(void);
static void sweep_begin(const char *activity);
static void sweep_commit(void);
static int64 sweep_missing_recheck_ms(void);
static bool sweep_extension_ready(void);
static void sweep_status_write(void);
static bool sweep_worker_run(void);
static void sweep_worker_fail(void) pg_attribute_noreturn();
static void sweep_reload(void);
static void sweep_schedule(TimestampTz from);

/*
 * vp_sweeper_init
 *	  Defines the sweeper's settings and, when the library is being
 *	  preloaded, its POSTMASTER setting and the background worker.
 *
 * Called from _PG_init.  The settings read by sweep_idempotency() are
 * defined whenever the library is loaded; voltpay.database and the worker
 * only exist when it is in shared_preload_libraries.
 */
void
vp_sweeper_init(void)
{
	BackgroundWorker worker;

	DefineCustomIntVariable("voltpay.idempotency_retention",
							gettext_noop("How long idempotency records are kept."),
							gettext_noop("A row is deleted once its processed_on is "
										 "before the date of now() minus this. At "
										 "least one day, the payment topic's "
										 "retention."),
							&sweep_retention,
							7 * 24 * 60,
							1,
							INT_MAX,
							PGC_SIGHUP,
							GUC_UNIT_MIN,
							sweep_check_retention,
							NULL,
							NULL);

	DefineCustomIntVariable("voltpay.sweep_interval",
							gettext_noop("Time between two runs of the idempotency sweeper."),
							gettext_noop("0 disables the sweeper."),
							&sweep_interval,
							60 * 60,
							0,
							INT_MAX,
							PGC_SIGHUP,
							GUC_UNIT_S,
							NULL,
							NULL,
							NULL);

	DefineCustomIntVariable("voltpay.sweep_batch_size",
							gettext_noop("Idempotency rows the sweeper deletes per transaction."),
							NULL,
							&sweep_batch_size,
							10000,
							1,
							1000000,
							PGC_SIGHUP,
							0,
							NULL,
							NULL,
							NULL);

	DefineCustomIntVariable("voltpay.sweep_step_delay",
							gettext_noop("Pause of the sweeper between two of its transactions."),
							NULL,
							&sweep_step_delay,
							500,
							0,
							60 * 1000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL,
							NULL,
							NULL);

	DefineCustomIntVariable("voltpay.sweep_lock_timeout",
							gettext_noop("Longest wait of the sweeper for a lock."),
							gettext_noop("A step that waits longer fails; the worker "
										 "restarts and tries again. 0 waits forever."),
							&sweep_lock_timeout,
							5000,
							0,
							INT_MAX,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL,
							NULL,
							NULL);

	if (!process_shared_preload_libraries_in_progress)
		return;

	DefineCustomStringVariable("voltpay.database",
							   gettext_noop("Database in which the idempotency sweeper runs."),
							   NULL,
							   &sweep_database,
							   "postgres",
							   PGC_POSTMASTER,
							   0,
							   NULL,
							   NULL,
							   NULL);

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS |
		BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = SWEEP_RESTART_SECONDS;
	strlcpy(worker.bgw_library_name, "voltpay", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "vp_sweeper_main", BGW_MAXLEN);
	strlcpy(worker.bgw_name, "voltpay sweeper", BGW_MAXLEN);
	strlcpy(worker.bgw_type, "voltpay sweeper", BGW_MAXLEN);
	worker.bgw_main_arg = (Datum) 0;
	worker.bgw_notify_pid = 0;
	RegisterBackgroundWorker(&worker);
}

/*
 * sweep_check_retention
 *	  GUC check hook of voltpay.idempotency_retention: refuses less than a
 *	  day.
 */
static bool
sweep_check_retention(int *newval, void **extra, GucSource source)
{
	if (*newval >= SWEEP_MIN_RETENTION_MIN)
		return true;

	GUC_check_errdetail("The idempotency retention must be at least one day "
						"(1d), the retention of the payment topic: a message "
						"redelivered after its idempotency row is deleted "
						"would be applied twice.");
	return false;
}

/*
 * sweep_cutoff
 *	  The date before which idempotency rows are expired: the date of now()
 *	  minus the retention, in the session's time zone.  Needs a transaction.
 */
static DateADT
sweep_cutoff(void)
{
	TimestampTz oldest;

	oldest = GetCurrentTransactionStartTimestamp() -
		(int64) sweep_retention * USECS_PER_MINUTE;
	return DatumGetDateADT(DirectFunctionCall1(timestamptz_date,
											   TimestampTzGetDatum(oldest)));
}

/*
 * sweep_delete
 *	  Deletes idempotency rows processed before cutoff, oldest first: at
 *	  most limit of them, or all when limit is 0.  Returns how many.  SPI
 *	  must be connected, with an active snapshot.
 */
static uint64
sweep_delete(DateADT cutoff, int limit)
{
	Oid			argtypes[2] = {DATEOID, INT8OID};
	Datum		values[2];
	SPIPlanPtr	plan;
	int			ret;

	values[0] = DateADTGetDatum(cutoff);
	values[1] = Int64GetDatum((int64) limit);
	if (limit > 0)
		plan = vp_spi_plan(&sweep_step_plan, SWEEP_STEP_SQL, 2, argtypes);
	else
		plan = vp_spi_plan(&sweep_all_plan, SWEEP_ALL_SQL, 1, argtypes);

	ret = SPI_execute_plan(plan, values, NULL, false, 0);
	if (ret != SPI_OK_DELETE)
		elog(ERROR, "deleting expired idempotency rows failed: %s",
			 SPI_result_code_string(ret));
	return SPI_processed;
}

/*
 * sweep_log_run
 *	  Logs the one LOG line of a finished or failed run.
 */
static void
sweep_log_run(const char *who, const SweepRun *run)
{
	char	   *cutoff;
	double		seconds;

	cutoff = DatumGetCString(DirectFunctionCall1(date_out,
												 DateADTGetDatum(run->cutoff)));
	seconds = (double) (GetCurrentTimestamp() - run->started_at) /
		USECS_PER_SEC;

	if (run->error == NULL)
		ereport(LOG,
				(errmsg("%s: deleted %lld idempotency rows processed before %s in %.3f s, steps: %d",
						who, (long long) run->deleted, cutoff, seconds,
						run->steps),
				 errhidestmt(true)));
	else
		ereport(LOG,
				(errmsg("%s: failed after deleting %lld idempotency rows processed before %s in %.3f s, steps: %d",
						who, (long long) run->deleted, cutoff, seconds,
						run->steps),
				 errdetail("%s", run->error),
				 errhidestmt(true)));
}

/*
 * sweep_idempotency
 *	  SQL function voltpay.sweep_idempotency(): deletes the expired
 *	  idempotency rows in the caller's transaction and returns how many.
 */
Datum
sweep_idempotency(PG_FUNCTION_ARGS)
{
	SweepRun	run;

	memset(&run, 0, sizeof(run));
	run.started_at = GetCurrentTimestamp();
	run.cutoff = sweep_cutoff();

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	run.deleted = (int64) sweep_delete(run.cutoff, 0);
	run.steps = 1;
	SPI_finish();

	sweep_log_run("voltpay.sweep_idempotency()", &run);
	PG_RETURN_INT64(run.deleted);
}

/*
 * sweep_session_settings
 *	  Session settings of the worker: a safe search_path, the lock timeout,
 *	  and asynchronous commits (a lost step is redone by the next run).
 */
static void
sweep_session_settings(void)
{
	char		buf[32];

	SetConfigOption("search_path", "pg_catalog, pg_temp",
					PGC_SUSET, PGC_S_SESSION);
	SetConfigOption("synchronous_commit", "off", PGC_SUSET, PGC_S_SESSION);
	SetConfigOption("application_name", "voltpay sweeper",
					PGC_SUSET, PGC_S_SESSION);
	snprintf(buf, sizeof(buf), "%d", sweep_lock_timeout);
	SetConfigOption("lock_timeout", buf, PGC_SUSET, PGC_S_SESSION);
}

/*
 * sweep_begin
 *	  Starts one short worker transaction with SPI connected and a
 *	  snapshot, and shows activity in pg_stat_activity.
 */
static void
sweep_begin(const char *activity)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, activity);
}

/*
 * sweep_commit
 *	  Commits the transaction sweep_begin() started and goes back to the
 *	  loop's memory context.
 */
static void
sweep_commit(void)
{
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
	MemoryContextSwitchTo(sweep_loop_context);
}

/*
 * sweep_missing_recheck_ms
 *	  How long the worker waits before looking again for a missing
 *	  extension: the interval, or less.  Only used while the interval is
 *	  not 0.
 */
static int64
sweep_missing_recheck_ms(void)
{
	return Min((int64) sweep_interval * 1000, SWEEP_MISSING_RECHECK_MS);
}

/*
 * sweep_extension_ready
 *	  True when the voltpay extension exists in this database.  Logs once
 *	  (per worker start) that it is missing, and once that it appeared.
 *	  Needs a transaction.
 */
static bool
sweep_extension_ready(void)
{
	if (!OidIsValid(get_extension_oid("voltpay", true)))
	{
		if (!sweep_missing_logged)
			ereport(LOG,
					(errmsg("voltpay sweeper: extension \"voltpay\" is not installed in database \"%s\"",
							sweep_database),
					 errdetail("The sweeper looks for it again every voltpay.sweep_interval, at most %d s apart.",
							   SWEEP_MISSING_RECHECK_MS / 1000),
					 errhint("Run CREATE EXTENSION voltpay in database \"%s\", or set voltpay.database.",
							 sweep_database)));
		sweep_missing_logged = true;
		return false;
	}

	if (sweep_missing_logged)
	{
		ereport(LOG,
				(errmsg("voltpay sweeper: extension \"voltpay\" found in database \"%s\"",
						sweep_database)));
		sweep_missing_logged = false;
	}
	return true;
}

/*
 * sweep_status_write
 *	  Writes sweep_run and sweep_next_run into voltpay.sweep_state, in the
 *	  current worker transaction.
 */
static void
sweep_status_write(void)
{
	Oid			argtypes[8] = {TIMESTAMPTZOID, TIMESTAMPTZOID, DATEOID,
	INT8OID, INT4OID, TEXTOID, TIMESTAMPTZOID, INT4OID};
	Datum		values[8];
	char		nulls[8];
	int			ret;

	memset(nulls, ' ', sizeof(nulls));
	values[0] = TimestampTzGetDatum(sweep_run.started_at);
	values[1] = TimestampTzGetDatum(sweep_run.finished_at);
	values[2] = DateADTGetDatum(sweep_run.cutoff);
	values[3] = Int64GetDatum(sweep_run.deleted);
	values[4] = Int32GetDatum(sweep_run.steps);
	values[5] = (Datum) 0;
	values[6] = TimestampTzGetDatum(sweep_next_run);
	values[7] = Int32GetDatum(MyProcPid);
	if (sweep_run.started_at == 0)
		nulls[0] = nulls[2] = nulls[3] = nulls[4] = 'n';
	if (sweep_run.finished_at == 0)
		nulls[1] = 'n';
	if (sweep_run.error != NULL)
		values[5] = CStringGetTextDatum(sweep_run.error);
	else
		nulls[5] = 'n';
	if (sweep_next_run == 0)
		nulls[6] = 'n';

	ret = SPI_execute_plan(vp_spi_plan(&sweep_status_plan, SWEEP_STATUS_SQL,
									   8, argtypes),
						   values, nulls, false, 0);
	if (ret != SPI_OK_UPDATE)
		elog(ERROR, "updating voltpay.sweep_state failed: %s",
			 SPI_result_code_string(ret));
}

/*
 * sweep_schedule
 *	  Sets the next run to one interval after from, or to none while the
 *	  sweeper is disabled.
 */
static void
sweep_schedule(TimestampTz from)
{
	if (sweep_interval > 0)
		sweep_next_run = from + (int64) sweep_interval * USECS_PER_SEC;
	else
		sweep_next_run = 0;
}

/*
 * sweep_reload
 *	  Reloads the configuration after a SIGHUP.
 */
static void
sweep_reload(void)
{
	ConfigReloadPending = false;
	ProcessConfigFile(PGC_SIGHUP);
	sweep_session_settings();
}

/*
 * sweep_worker_run
 *	  One run of the worker: checks that the extension is installed, then
 *	  deletes the expired rows step by step, each step in its own
 *	  transaction, recording progress in voltpay.sweep_state.  Returns false
 *	  when the extension is missing (nothing was done).
 */
static bool
sweep_worker_run(void)
{
	TimestampTz started_at = GetCurrentTimestamp();
	char		activity[128];
	int			limit;
	uint64		n;

	sweep_begin("voltpay sweeper: starting a run");
	if (!sweep_extension_ready())
	{
		sweep_commit();
		return false;
	}
	memset(&sweep_run, 0, sizeof(sweep_run));
	sweep_run.started_at = started_at;
	sweep_run.cutoff = sweep_cutoff();
	sweep_schedule(sweep_run.started_at);
	sweep_status_write();
	sweep_commit();

	snprintf(activity, sizeof(activity),
			 "voltpay sweeper: deleting idempotency rows processed before %s",
			 DatumGetCString(DirectFunctionCall1(date_out,
												 DateADTGetDatum(sweep_run.cutoff))));
	do
	{
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
			sweep_reload();

		limit = sweep_batch_size;
		sweep_begin(activity);
		n = sweep_delete(sweep_run.cutoff, limit);
		sweep_run.deleted += (int64) n;
		sweep_run.steps++;
		sweep_status_write();
		sweep_commit();

		if (n >= (uint64) limit && sweep_step_delay > 0)
		{
			(void) WaitLatch(MyLatch,
							 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 sweep_step_delay,
							 PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
		}
	} while (n >= (uint64) limit);

	sweep_begin("voltpay sweeper: finishing a run");
	sweep_run.finished_at = GetCurrentTimestamp();
	sweep_schedule(sweep_run.started_at);
	sweep_status_write();
	sweep_commit();

	sweep_log_run("voltpay sweeper", &sweep_run);
	return true;
}

/*
 * sweep_worker_fail
 *	  Error path of the worker: logs the error, aborts the transaction,
 *	  records the error in voltpay.sweep_state and exits with status 1, so
 *	  that the postmaster starts the worker again after
 *	  SWEEP_RESTART_SECONDS.  Called in the PG_CATCH block.
 */
static void
sweep_worker_fail(void)
{
	ErrorData  *edata;

	HOLD_INTERRUPTS();
	EmitErrorReport();
	MemoryContextSwitchTo(sweep_worker_context);
	edata = CopyErrorData();
	FlushErrorState();
	AbortCurrentTransaction();
	RESUME_INTERRUPTS();

	/* Record the failure of a run in progress (not of a status update). */
	if (sweep_run.started_at != 0 && sweep_run.finished_at == 0)
	{
		sweep_run.finished_at = GetCurrentTimestamp();
		sweep_run.error = edata->message;
		sweep_begin("voltpay sweeper: recording an error");
		if (sweep_extension_ready())
			sweep_status_write();
		sweep_commit();
		sweep_log_run("voltpay sweeper", &sweep_run);
	}

	ereport(LOG,
			(errmsg("voltpay sweeper: exiting after an error; it restarts in %d s",
					SWEEP_RESTART_SECONDS)));
	proc_exit(1);
}

/*
 * vp_sweeper_main
 *	  Entry point of the "voltpay sweeper" background worker.
 *
 * Sweeps at start, then every voltpay.sweep_interval.  Stops on SIGTERM
 * (die) and with the postmaster; reloads its settings on SIGHUP.  Does
 * nothing while the server is in recovery or the extension is missing.
 */
void
vp_sweeper_main(Datum main_arg)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	BackgroundWorkerInitializeConnection(sweep_database, NULL, 0);
	sweep_session_settings();

	sweep_worker_context = AllocSetContextCreate(TopMemoryContext,
												 "voltpay sweeper",
												 ALLOCSET_DEFAULT_SIZES);
	sweep_loop_context = AllocSetContextCreate(sweep_worker_context,
											   "voltpay sweeper loop",
											   ALLOCSET_DEFAULT_SIZES);

	ereport(LOG,
			(errmsg("voltpay sweeper started in database \"%s\"",
					sweep_database)));

	/* Sweep at once, unless disabled. */
	sweep_next_run = sweep_interval > 0 ? GetCurrentTimestamp() : 0;

	for (;;)
	{
		TimestampTz now;
		long		timeout = -1;
		int			events = WL_LATCH_SET | WL_EXIT_ON_PM_DEATH;

		MemoryContextReset(sweep_loop_context);
		MemoryContextSwitchTo(sweep_loop_context);
		CHECK_FOR_INTERRUPTS();

		if (ConfigReloadPending)
		{
			int			old_interval = sweep_interval;

			sweep_reload();
			if (sweep_interval != old_interval && sweep_run.started_at != 0)
			{
				sweep_schedule(sweep_run.started_at);
				sweep_begin("voltpay sweeper: rescheduling");
				if (sweep_extension_ready())
					sweep_status_write();
				sweep_commit();
			}
			else if (sweep_interval != old_interval)
				sweep_next_run = sweep_interval > 0 ? GetCurrentTimestamp() : 0;
		}

		now = GetCurrentTimestamp();
		if (sweep_next_run != 0 && now >= sweep_next_run &&
			RecoveryInProgress())
		{
			/* Cannot happen (BgWorkerStart_RecoveryFinished); never spin. */
			sweep_schedule(now);
		}
		else if (sweep_next_run != 0 && now >= sweep_next_run)
		{
			volatile bool done = false;

			PG_TRY();
			{
				done = sweep_worker_run();
			}
			PG_CATCH();
			{
				sweep_worker_fail();
			}
			PG_END_TRY();

			if (!done && sweep_interval > 0)
				sweep_next_run = TimestampTzPlusMilliseconds(now,
															 sweep_missing_recheck_ms());
			else if (!done)
				sweep_next_run = 0;
			continue;
		}

		if (sweep_next_run != 0)
		{
			timeout = (long) TimestampDifferenceMilliseconds(now,
															 sweep_next_run);
			events |= WL_TIMEOUT;
		}
		(void) WaitLatch(MyLatch, events, timeout, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
