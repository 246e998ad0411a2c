/* The shim's own log. Off unless P11KMS_LOG asks for it; it only ever goes to a file,
 * never to the host program's stdout or stderr, and never holds PINs or key bytes. */
#ifndef P11KMS_LOG_H
#define P11KMS_LOG_H

enum p11_log_level { P11_LOG_OFF = 0, P11_LOG_ERROR = 1, P11_LOG_INFO = 2, P11_LOG_DEBUG = 3 };

void p11_log_configure(void);
void p11_log(enum p11_log_level level, const char *format, ...) __attribute__((format(printf, 2, 3)));

#endif
