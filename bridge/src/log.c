/*-------------------------------------------------------------------------
 *
 * log.c
 *	  JSON-lines logging on stderr: one object per line with time, level,
 *	  msg and, where one is involved, topic, partition, offset,
 *	  message_id, trace_id, span_id, sqlstate and error.
 *
 * Lines are written whole under a mutex because librdkafka's threads log
 * through vb_log_rdkafka() too.
 *
 *-------------------------------------------------------------------------
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "log.h"
#include "util.h"

#define LOG_LINE_MAX	8192

static int	log_level = VB_LOG_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const log_level_names[] = {"debug", "info", "warn", "error"};

/* A bounded string builder: never overflows, truncates silently. */
typedef struct LogBuf
{
	char		buf[LOG_LINE_MAX];
	size_t		len;
} LogBuf;

/*
 * log_putc / log_puts
 *	  Append raw bytes, keeping room for the closing "}\n".
 */
static void
log_putc(LogBuf *b, char c)
{
	if (b->len < sizeof(b->buf) - 4)
		b->buf[b->len++] = c;
}

static void
log_puts(LogBuf *b, const char *s)
{
	while (*s)
		log_putc(b, *s++);
}

/*
 * log_put_json_string
 *	  Append s as a JSON string literal; invalid UTF-8 becomes U+FFFD.
 */
static void
log_put_json_string(LogBuf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *) s;

	log_putc(b, '"');
	while (*p)
	{
		unsigned char c = *p;

		if (c == '"' || c == '\\')
		{
			log_putc(b, '\\');
			log_putc(b, (char) c);
			p++;
		}
		else if (c == '\n')
			log_puts(b, "\\n"), p++;
		else if (c == '\t')
			log_puts(b, "\\t"), p++;
		else if (c == '\r')
			log_puts(b, "\\r"), p++;
		else if (c < 0x20 || c == 0x7f)
		{
			char		esc[8];

			snprintf(esc, sizeof(esc), "\\u%04x", c);
			log_puts(b, esc);
			p++;
		}
		else if (c < 0x80)
			log_putc(b, (char) c), p++;
		else
		{
			size_t		n = (c >= 0xf0) ? 4 : (c >= 0xe0) ? 3 : 2;
			size_t		avail = strnlen((const char *) p, n);

			if (avail == n && vb_utf8_valid((const char *) p, n))
			{
				for (size_t k = 0; k < n; k++)
					log_putc(b, (char) p[k]);
				p += n;
			}
			else
			{
				log_puts(b, "\\ufffd");
				p++;
			}
		}
	}
	log_putc(b, '"');
}

/*
 * log_field_str / log_field_int
 *	  Append ,"name":value.
 */
static void
log_field_str(LogBuf *b, const char *name, const char *value)
{
	log_puts(b, ",\"");
	log_puts(b, name);
	log_puts(b, "\":");
	log_put_json_string(b, value);
}

static void
log_field_int(LogBuf *b, const char *name, int64_t value)
{
	char		num[32];

	snprintf(num, sizeof(num), "%" PRId64, value);
	log_puts(b, ",\"");
	log_puts(b, name);
	log_puts(b, "\":");
	log_puts(b, num);
}

/*
 * vb_log_set_level
 *	  Lines below level are dropped.
 */
void
vb_log_set_level(int level)
{
	log_level = level;
}

/*
 * vb_log_enabled
 *	  Whether a line at level would be written.
 */
bool
vb_log_enabled(int level)
{
	return level >= log_level;
}

/*
 * log_emit
 *	  Format and write one line.
 */
static void
log_emit(int level, const VbLogCtx *ctx, const char *facility,
		 const char *fmt, va_list ap)
{
	LogBuf		b;
	char		msg[4096];
	char		ts[64];
	struct timespec now;
	struct tm	tm;

	b.len = 0;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			 tm.tm_hour, tm.tm_min, tm.tm_sec, (long) (now.tv_nsec / 1000000) % 1000);
	vsnprintf(msg, sizeof(msg), fmt, ap);

	log_puts(&b, "{\"time\":\"");
	log_puts(&b, ts);
	log_puts(&b, "\",\"level\":\"");
	log_puts(&b, log_level_names[level]);
	log_puts(&b, "\"");
	log_field_str(&b, "msg", msg);
	if (facility)
		log_field_str(&b, "facility", facility);
	if (ctx)
	{
		if (ctx->message_id)
			log_field_str(&b, "message_id", ctx->message_id);
		if (ctx->topic)
			log_field_str(&b, "topic", ctx->topic);
		if (ctx->partition >= 0)
			log_field_int(&b, "partition", ctx->partition);
		if (ctx->offset >= 0)
			log_field_int(&b, "offset", ctx->offset);
		if (ctx->sqlstate && ctx->sqlstate[0])
			log_field_str(&b, "sqlstate", ctx->sqlstate);
		if (ctx->error)
			log_field_str(&b, "error", ctx->error);
		if (ctx->trace_id)
			log_field_str(&b, "trace_id", ctx->trace_id);
		if (ctx->span_id)
			log_field_str(&b, "span_id", ctx->span_id);
	}
	b.buf[b.len++] = '}';
	b.buf[b.len++] = '\n';

	pthread_mutex_lock(&log_lock);
	fwrite(b.buf, 1, b.len, stderr);
	fflush(stderr);
	pthread_mutex_unlock(&log_lock);
}

/*
 * vb_log
 *	  Logs one line at level; ctx (may be NULL) adds the Kafka and
 *	  database coordinates.
 */
void
vb_log(int level, const VbLogCtx *ctx, const char *fmt,...)
{
	va_list		ap;

	if (!vb_log_enabled(level))
		return;
	va_start(ap, fmt);
	log_emit(level, ctx, NULL, fmt, ap);
	va_end(ap);
}

/*
 * log_facility_line
 *	  Helper for vb_log_rdkafka: a varargs front for log_emit.
 */
static void
log_facility_line(int level, const char *facility, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	log_emit(level, NULL, facility, fmt, ap);
	va_end(ap);
}

/*
 * vb_log_rdkafka
 *	  librdkafka log_cb: syslog levels mapped onto ours; the handle name
 *	  and facility are kept.
 */
void
vb_log_rdkafka(const rd_kafka_t *rk, int level, const char *fac,
			   const char *buf)
{
	int			ours;

	if (level <= LOG_ERR)
		ours = VB_LOG_ERROR;
	else if (level <= LOG_WARNING)
		ours = VB_LOG_WARN;
	else if (level <= LOG_INFO)
		ours = VB_LOG_INFO;
	else
		ours = VB_LOG_DEBUG;
	if (!vb_log_enabled(ours))
		return;
	log_facility_line(ours, fac, "%s: %s", rk ? rd_kafka_name(rk) : "rdkafka",
					  buf);
}
