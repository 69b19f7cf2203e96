/*-------------------------------------------------------------------------
 *
 * spi_util.c
 *	  SPI helpers shared by the apply and the sweeper.
 *
 * Both keep their statements as plans prepared on first use and kept for
 * the life of the process (SPI_keepplan), one static SPIPlanPtr per
 * statement in the caller's file.  Errors here are internal ones that
 * cannot happen with the extension's own statements, hence elog.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/spi.h"
#include "utils/memutils.h"

#include "spi_util.h"

/*
 * vp_spi_plan
 *	  Returns *cache, preparing sql with its nargs argument types and
 *	  keeping the plan in *cache on first use.
 *
 * SPI must be connected.  The plan outlives the SPI connection and the
 * transaction; an ERROR leaves *cache NULL, so the next call prepares
 * again.
 */
SPIPlanPtr
vp_spi_plan(SPIPlanPtr *cache, const char *sql, int nargs, Oid *argtypes)
{
	SPIPlanPtr	plan;

	if (*cache != NULL)
		return *cache;

	plan = SPI_prepare(sql, nargs, argtypes);
	if (plan == NULL)
		elog(ERROR, "voltpay: SPI_prepare failed for \"%s\": %s",
			 sql, SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "voltpay: SPI_keepplan failed");
	*cache = plan;
	return plan;
}

/*
 * vp_spi_exec
 *	  Executes plan with args and nulls (SPI_execute_plan conventions, no
 *	  row limit) and raises an ERROR naming what when the result code is
 *	  not expected.
 *
 * SPI must be connected.  Unlike SPI_execute_plan, which returns in SPI's
 * procedure context, it leaves the caller's memory context current, so
 * what the caller allocates afterwards lives as long as it expects.  The
 * result is in SPI_tuptable and SPI_processed as usual.
 */
void
vp_spi_exec(SPIPlanPtr plan, Datum *args, const char *nulls, bool read_only,
			int expected, const char *what)
{
	MemoryContext cxt = CurrentMemoryContext;
	int			ret = SPI_execute_plan(plan, args, nulls, read_only, 0);

	MemoryContextSwitchTo(cxt);
	if (ret != expected)
		elog(ERROR, "voltpay: %s failed: %s", what, SPI_result_code_string(ret));
}
