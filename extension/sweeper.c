/* Temporary: replaced by the sweeper work (issue 3). */
#include "voltpay.h"
void
vp_sweeper_init(void)
{
}
