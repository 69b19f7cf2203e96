/*-------------------------------------------------------------------------
 *
 * spi_util.h
 *	  SPI helpers shared by the apply (apply.c, positions.c) and the
 *	  sweeper (sweeper.c): session-kept plans and checked execution.
 *
 * This is the bottom layer of the extension's SQL access: it includes no
 * other voltpay header and calls no other voltpay file.
 *
 *-------------------------------------------------------------------------
 */
#ifndef VOLTPAY_SPI_UTIL_H
#define VOLTPAY_SPI_UTIL_H

#include "executor/spi.h"

extern SPIPlanPtr vp_spi_plan(SPIPlanPtr *cache, const char *sql, int nargs,
							  Oid *argtypes);
extern void vp_spi_exec(SPIPlanPtr plan, Datum *args, const char *nulls,
						bool read_only, int expected, const char *what);

#endif							/* VOLTPAY_SPI_UTIL_H */
