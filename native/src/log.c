#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static enum p11_log_level configured_level = P11_LOG_OFF;
static char log_path[PATH_MAX];

static enum p11_log_level parse_level(const char *text) {
  if (!text) return P11_LOG_OFF;
  if (strcmp(text, "debug") == 0) return P11_LOG_DEBUG;
  if (strcmp(text, "info") == 0) return P11_LOG_INFO;
  if (strcmp(text, "error") == 0) return P11_LOG_ERROR;
  return P11_LOG_OFF;
}

/* mkdir -p for the log directory; failures only mean no log. */
static void make_parent_directories(const char *path) {
  char buffer[PATH_MAX];
  if (strlen(path) >= sizeof(buffer)) return;
  strcpy(buffer, path);
  for (char *p = buffer + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(buffer, 0700) != 0 && errno != EEXIST) return;
    *p = '/';
  }
}

void p11_log_configure(void) {
  configured_level = parse_level(getenv("P11KMS_LOG"));
  if (configured_level == P11_LOG_OFF) return;
  const char *file = getenv("P11KMS_LOG_FILE");
  const char *state = getenv("XDG_STATE_HOME");
  const char *home = getenv("HOME");
  int written;
  if (file && *file)
    written = snprintf(log_path, sizeof(log_path), "%s", file);
  else if (state && *state)
    written = snprintf(log_path, sizeof(log_path), "%s/p11kms/module.log", state);
  else if (home && *home)
    written = snprintf(log_path, sizeof(log_path), "%s/.local/state/p11kms/module.log", home);
  else
    written = snprintf(log_path, sizeof(log_path), "/tmp/p11kms-%ld.log", (long)getuid());
  if (written < 0 || (size_t)written >= sizeof(log_path)) {
    configured_level = P11_LOG_OFF;
    return;
  }
  make_parent_directories(log_path);
}

void p11_log(enum p11_log_level level, const char *format, ...) {
  if (level > configured_level || configured_level == P11_LOG_OFF) return;
  static const char *names[] = { "off", "error", "info", "debug" };
  char line[1024];
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  struct tm utc;
  gmtime_r(&now.tv_sec, &utc);
  int prefix = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s native[%ld] ", utc.tm_year + 1900,
                        utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, now.tv_nsec / 1000000,
                        names[level], (long)getpid());
  if (prefix < 0) return;
  va_list args;
  va_start(args, format);
  int body = vsnprintf(line + prefix, sizeof(line) - (size_t)prefix - 1, format, args);
  va_end(args);
  if (body < 0) return;
  size_t length = strlen(line);
  line[length++] = '\n';
  /* One write per line with O_APPEND keeps lines whole across threads and processes. */
  int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return;
  ssize_t ignored = write(fd, line, length);
  (void)ignored;
  close(fd);
}
