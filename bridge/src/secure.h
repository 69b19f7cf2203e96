/*-------------------------------------------------------------------------
 *
 * secure.h
 *	  Layer 0 of voltpay-bridge: secrets and the refusals of TLS and
 *	  authentication (see secure.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef VOLTPAY_SECURE_H
#define VOLTPAY_SECURE_H

#include <stdbool.h>
#include <stddef.h>

extern bool vb_secure_prop_is_secret(const char *name, size_t len);
extern bool vb_secure_conninfo_has_password(const char *conninfo);
extern bool vb_secure_file_private(const char *path, char *err, size_t errsize);
extern char *vb_secure_read_secret(const char *path, char *err, size_t errsize);
extern int	vb_secure_pg_exit(const char *libpq_message);
extern int	vb_secure_kafka_exit(int err, const char *reason);

#endif							/* VOLTPAY_SECURE_H */
