/*-------------------------------------------------------------------------
 *
 * voltpay.c
 *	  Module initialisation of the voltpay extension.
 *
 * The extension works loaded on demand (the apply functions) and loaded
 * through shared_preload_libraries (which also starts the idempotency
 * sweeper, see sweeper.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include "voltpay.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * _PG_init
 *	  Defines the GUCs and, when preloaded, registers the sweeper worker.
 *	  Everything lives in sweeper.c, the only part with settings so far:
 *	  vp_sweeper_init() defines the SIGHUP settings, then, only when the
 *	  library is being preloaded, voltpay.database and the worker.
 *
 * The prefix is reserved only when preloading, as worker_spi and
 * pg_prewarm do: a backend that loads the library on demand does not
 * define the POSTMASTER setting voltpay.database, and reserving the prefix
 * there would drop it with a warning.
 */
void
_PG_init(void)
{
	if (IsBinaryUpgrade)
		return;

	vp_sweeper_init();

	if (process_shared_preload_libraries_in_progress)
		MarkGUCPrefixReserved("voltpay");
}
