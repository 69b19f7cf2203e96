/*
 * shim.h
 *	  The backend shim of the extension's fuzzing harnesses (shim.c).
 */
#ifndef VP_FUZZ_SHIM_H
#define VP_FUZZ_SHIM_H

/* Frees every block palloc'd since the last call (end of one input). */
extern void vp_shim_reset(void);

#endif
