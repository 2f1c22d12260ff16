/* src/base/log.h: one-line diagnostics on standard error.
 *
 * Layer: base. Each call writes one complete line with a single write(2),
 * so lines from different threads never interleave. Holds no state.
 */
#ifndef KITH_BASE_LOG_H
#define KITH_BASE_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void kith_log(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_info(...)  kith_log(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  kith_log(LOG_WARN, __VA_ARGS__)
#define log_error(...) kith_log(LOG_ERROR, __VA_ARGS__)

/* Formats the current UTC time as "2026-11-26T17:50:20.123Z" into out (>= 25 bytes). */
void log_timestamp(char *out, unsigned long size);

#endif
