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
 *	  Everything lives in sweeper.c, the only part with settings so far.
 */
void
_PG_init(void)
{
	if (IsBinaryUpgrade)
		return;

	vp_sweeper_init();

	MarkGUCPrefixReserved("voltpay");
}
