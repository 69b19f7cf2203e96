/*-------------------------------------------------------------------------
 *
 * secure.c
 *	  Layer 0 of voltpay-bridge: which settings are secrets, where a
 *	  secret may come from, and which refusals of the database or Kafka
 *	  are a TLS or an authentication failure (exit status 3 or 4, not a
 *	  retry).
 *
 * A secret (a librdkafka property naming a password, a key or a client
 * secret, or a libpq password) must never be on the command line: every
 * user of the machine reads /proc/PID/cmdline.  It may come from the
 * environment (readable only by the bridge's user), from a file given by
 * path (--sasl-password-file, PGPASSFILE), or from the config or
 * properties file; a file holding a secret is refused when other users
 * may read or write it, as ssh refuses such a private key.  Secrets are
 * never printed: errors about a secret property name it without its
 * value.
 *
 * Exit status 3 (VB_EXIT_TLS): TLS could not be set up: the peer's
 * certificate could not be verified (unknown CA, wrong host name,
 * expired), the peer refused ours, or the server would not speak TLS.  Exit status 4 (VB_EXIT_AUTH): the peer refused our
 * credentials (password, SCRAM, client certificate, pg_hba.conf).  Both
 * stay wrong however often the bridge retries, so it stops with one line
 * naming the cause; a supervisor restart after the fix picks up new
 * certificates and passwords.
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>

#include "secure.h"
#include "util.h"

/*
 * vb_secure_prop_is_secret
 *	  A librdkafka property (name of len bytes) whose value is a secret:
 *	  sasl.password, ssl.key.password, ssl.keystore.password,
 *	  ssl.truststore.password, sasl.oauthbearer.client.secret, ssl.key.pem
 *	  and any other with "password" or "secret" in its name.
 */
bool
vb_secure_prop_is_secret(const char *name, size_t len)
{
	char	   *s = vb_xstrndup(name, len);
	bool		secret = strstr(s, "password") || strstr(s, "secret") ||
		strcmp(s, "ssl.key.pem") == 0 || strcmp(s, "sasl.oauthbearer.config") == 0;

	free(s);
	return secret;
}

/*
 * vb_secure_conninfo_has_password
 *	  The libpq connection string or URL gives a password.
 */
bool
vb_secure_conninfo_has_password(const char *conninfo)
{
	PQconninfoOption *opts;
	bool		found = false;

	if (!conninfo || !*conninfo || !(opts = PQconninfoParse(conninfo, NULL)))
		return false;
	for (PQconninfoOption *o = opts; o->keyword; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val && *o->val)
			found = true;
	PQconninfoFree(opts);
	return found;
}

/*
 * vb_secure_file_private
 *	  A file holding a secret must not be readable or writable by other
 *	  users (group access is allowed: a secret volume is often shared
 *	  with the bridge through its group).  False with err on a file that
 *	  is, or cannot be checked.
 */
bool
vb_secure_file_private(const char *path, char *err, size_t errsize)
{
	struct stat st;

	if (stat(path, &st) != 0)
	{
		snprintf(err, errsize, "cannot stat \"%s\": %s", path, strerror(errno));
		return false;
	}
	if (st.st_mode & (S_IROTH | S_IWOTH))
	{
		snprintf(err, errsize, "\"%s\" holds a secret but other users may %s it (mode %04o): "
				 "chmod o-rw it", path, (st.st_mode & S_IROTH) ? "read" : "change",
				 (unsigned int) (st.st_mode & 07777));
		return false;
	}
	return true;
}

/*
 * vb_secure_read_secret
 *	  The first line of a secret file (without its line end), after
 *	  vb_secure_file_private(); NULL with err when it cannot be read or is
 *	  empty.
 */
char *
vb_secure_read_secret(const char *path, char *err, size_t errsize)
{
	FILE	   *f;
	char	   *line = NULL;
	size_t		cap = 0;
	ssize_t		n;

	if (!vb_secure_file_private(path, err, errsize))
		return NULL;
	if (!(f = fopen(path, "r")))
	{
		snprintf(err, errsize, "cannot open \"%s\": %s", path, strerror(errno));
		return NULL;
	}
	n = getline(&line, &cap, f);
	fclose(f);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	if (n <= 0)
	{
		free(line);
		snprintf(err, errsize, "\"%s\" is empty: expected the secret on its first line", path);
		return NULL;
	}
	return line;
}

/*
 * vb_secure_pg_exit
 *	  The exit status for libpq's message about a failed connection:
 *	  VB_EXIT_TLS for a server certificate that could not be verified (or
 *	  TLS the server would not speak, or a TLS alert about our
 *	  certificate), VB_EXIT_AUTH for credentials the server refused, 0 for
 *	  anything else (a missing or unreadable local file is a configuration
 *	  error, exit 2).  libpq sends no SQLSTATE for
 *	  a connection that failed, and its messages are English unless the
 *	  bridge sets a locale (it does not).
 */
int
vb_secure_pg_exit(const char *msg)
{
	static const char *const tls[] = {
		"certificate verify failed", "does not match host name",
		"server does not support SSL", "tlsv1 alert", "sslv3 alert",
	};
	static const char *const auth[] = {
		"password authentication failed", "no pg_hba.conf entry",
		"pg_hba.conf rejects connection",
		"certificate authentication failed", "authentication failed for user",
		"no password supplied", "password is required",
		"SCRAM", "connection requires a valid client certificate",
	};

	if (!msg)
		return 0;
	for (size_t i = 0; i < sizeof(auth) / sizeof(auth[0]); i++)
		if (strstr(msg, auth[i]))
			return VB_EXIT_AUTH;
	for (size_t i = 0; i < sizeof(tls) / sizeof(tls[0]); i++)
		if (strstr(msg, tls[i]))
			return VB_EXIT_TLS;
	return 0;
}

/*
 * vb_secure_kafka_exit
 *	  The exit status for a librdkafka error (error callback): VB_EXIT_AUTH
 *	  for a SASL authentication failure, VB_EXIT_TLS for a broker
 *	  certificate that could not be verified or a TLS alert by which the
 *	  broker refused ours; 0 for everything else (librdkafka retries: a
 *	  broker restarting mid-handshake is transient).
 */
int
vb_secure_kafka_exit(int err, const char *reason)
{
	/* TLS alerts the broker sends about our certificate (TLS 1.3: after
	 * the handshake, so librdkafka reports them as transport errors). */
	static const char *const refused[] = {
		"alert certificate unknown", "alert bad certificate", "alert unknown ca",
		"alert certificate required", "alert certificate expired",
		"alert certificate revoked", "alert unsupported certificate",
	};

	if (err == RD_KAFKA_RESP_ERR__AUTHENTICATION)
		return VB_EXIT_AUTH;
	if (!reason || (err != RD_KAFKA_RESP_ERR__SSL && err != RD_KAFKA_RESP_ERR__TRANSPORT))
		return 0;
	if (err == RD_KAFKA_RESP_ERR__SSL &&
		(strstr(reason, "certificate verify failed") || strstr(reason, "certificate could not be verified")))
		return VB_EXIT_TLS;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		if (strstr(reason, refused[i]))
			return VB_EXIT_TLS;
	return 0;
}
