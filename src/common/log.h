/* log.h - one timestamped line at a time on stderr, safe from any thread. */
#ifndef KL_COMMON_LOG_H
#define KL_COMMON_LOG_H

/**
 * Print "<UTC time> kernless: <message>" as one line on stderr, in one
 * write, so lines from different threads never interleave.
 */
void kl_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
