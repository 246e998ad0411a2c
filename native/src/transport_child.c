/* Out-of-process hosting: the runtime runs in a `node` child on the other end of a
 * socketpair. Host threads multiplex their calls over the one socket by request id; a
 * reader thread hands each response to the thread waiting for it. A dead child fails
 * the calls in flight with an error and is started again on the next call. */
#include "transport.h"
#include "frame.h"
#include "calls.gen.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

struct pending_call {
  uint32_t id;
  int done;
  uint8_t *response;
  size_t response_length;
  pthread_cond_t wake;
  struct pending_call *next;
};

struct child_transport {
  struct p11_transport base;
  char entry_script[PATH_MAX];
  pthread_mutex_t lock;       /* pending list, process state */
  pthread_mutex_t write_lock; /* whole frames on the socket */
  struct pending_call *pending;
  uint32_t next_id;
  int fd;
  pid_t pid;
  int running;
  pthread_t reader;
  int reader_started;
  /* The last Initialize frame, replayed to a restarted child so that it comes back
   * with the same configuration as the one that died. */
  uint8_t *initialize_frame;
  size_t initialize_length;
  /* Set while a restarted child is being re-initialised: other calls wait for it, or
   * they would reach a runtime with no configuration (and, say, see no slots). */
  int replaying;
  pthread_cond_t replayed;
};

static void deadline_after(struct timespec *deadline, unsigned ms) {
  clock_gettime(CLOCK_MONOTONIC, deadline);
  deadline->tv_sec += ms / 1000;
  deadline->tv_nsec += (long)(ms % 1000) * 1000000L;
  if (deadline->tv_nsec >= 1000000000L) {
    deadline->tv_sec++;
    deadline->tv_nsec -= 1000000000L;
  }
}

static int read_fully(int fd, uint8_t *buffer, size_t length) {
  size_t done = 0;
  while (done < length) {
    ssize_t n = read(fd, buffer + done, length - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    done += (size_t)n;
  }
  return 0;
}

static int write_fully(int fd, const uint8_t *buffer, size_t length) {
  size_t done = 0;
  while (done < length) {
    /* MSG_NOSIGNAL: a dead child must not deliver SIGPIPE to the host program. */
    ssize_t n = send(fd, buffer + done, length - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    done += (size_t)n;
  }
  return 0;
}

/* Called with lock held: the child is gone, so every waiting call fails now. */
static void fail_all_pending(struct child_transport *t) {
  for (struct pending_call *p = t->pending; p; p = p->next) {
    p->done = 1;
    pthread_cond_signal(&p->wake);
  }
  t->running = 0;
}

static void *reader_main(void *argument) {
  struct child_transport *t = argument;
  int fd = t->fd;
  pid_t pid = t->pid;
  for (;;) {
    uint8_t header_bytes[P11F_HEADER_SIZE];
    struct p11f_header header;
    if (read_fully(fd, header_bytes, sizeof(header_bytes)) != 0) break;
    if (p11f_header_decode(header_bytes, &header) != 0) {
      p11_log(P11_LOG_ERROR, "child runtime sent a malformed frame header; dropping the connection");
      break;
    }
    uint8_t *frame = malloc(P11F_HEADER_SIZE + (size_t)header.body_length);
    if (!frame) break;
    memcpy(frame, header_bytes, P11F_HEADER_SIZE);
    if (read_fully(fd, frame + P11F_HEADER_SIZE, header.body_length) != 0) {
      free(frame);
      break;
    }
    pthread_mutex_lock(&t->lock);
    struct pending_call *p = t->pending;
    while (p && p->id != header.request_id) p = p->next;
    if (p && !p->done) {
      p->response = frame;
      p->response_length = P11F_HEADER_SIZE + (size_t)header.body_length;
      p->done = 1;
      pthread_cond_signal(&p->wake);
      frame = NULL;
    }
    pthread_mutex_unlock(&t->lock);
    if (frame) {
      /* A response nobody waits for any more (its caller timed out). */
      p11f_wipe(frame, P11F_HEADER_SIZE + (size_t)header.body_length);
      free(frame);
    }
  }
  pthread_mutex_lock(&t->lock);
  if (t->fd == fd) fail_all_pending(t);
  pthread_mutex_unlock(&t->lock);
  p11_log(P11_LOG_INFO, "child runtime (pid %ld) closed its connection", (long)pid);
  int status;
  waitpid(pid, &status, 0);
  return NULL;
}

/* Called with lock held. */
static int spawn_child(struct child_transport *t) {
  if (t->fd >= 0) {
    /* The previous child's socket: no writer may be half-way through a frame on it. */
    pthread_mutex_lock(&t->write_lock);
    close(t->fd);
    t->fd = -1;
    pthread_mutex_unlock(&t->write_lock);
  }
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return -1;

  /* The child inherits the host's environment, without NODE_OPTIONS: a host's Node
   * flags (a test runner's loaders, say) are not meant for the runtime. */
  size_t count = 0;
  while (environ && environ[count]) count++;
  char **child_env = calloc(count + 1, sizeof(char *));
  if (!child_env) {
    close(sv[0]);
    close(sv[1]);
    return -1;
  }
  size_t kept = 0;
  for (size_t i = 0; i < count; i++)
    if (strncmp(environ[i], "NODE_OPTIONS=", 13) != 0) child_env[kept++] = environ[i];

  const char *node = getenv("P11KMS_NODE");
  if (!node || !*node) node = "node";
  char *argv[] = { (char *)node, "--no-warnings", t->entry_script, NULL };

  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attributes;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attributes);
  /* fd 3 is the runtime's end of the socketpair; stdio goes nowhere, so nothing the
   * runtime might print can reach the host program's terminal. */
  posix_spawn_file_actions_adddup2(&actions, sv[1], 3);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  sigset_t empty, defaults;
  sigemptyset(&empty);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGCHLD);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  posix_spawnattr_setsigmask(&attributes, &empty);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  pid_t pid;
  int spawned = posix_spawnp(&pid, node, &actions, &attributes, argv, child_env);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  free(child_env);
  close(sv[1]);
  if (spawned != 0) {
    p11_log(P11_LOG_ERROR, "cannot start %s: %s", node, strerror(spawned));
    close(sv[0]);
    return -1;
  }
  t->fd = sv[0];
  t->pid = pid;
  t->running = 1;
  if (pthread_create(&t->reader, NULL, reader_main, t) != 0) {
    close(t->fd);
    t->fd = -1;
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    t->running = 0;
    return -1;
  }
  pthread_detach(t->reader);
  p11_log(P11_LOG_INFO, "started child runtime pid %ld (%s %s)", (long)pid, node, t->entry_script);
  return 0;
}

static int exchange(struct child_transport *t, uint8_t *request, size_t request_length, uint8_t **response,
                    size_t *response_length) {
  struct pending_call call;
  memset(&call, 0, sizeof(call));
  pthread_condattr_t attributes;
  pthread_condattr_init(&attributes);
  pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
  pthread_cond_init(&call.wake, &attributes);
  pthread_condattr_destroy(&attributes);

  pthread_mutex_lock(&t->lock);
  if (!t->running) {
    pthread_mutex_unlock(&t->lock);
    pthread_cond_destroy(&call.wake);
    return -1;
  }
  call.id = ++t->next_id;
  for (int i = 0; i < 4; i++) request[12 + i] = (uint8_t)(call.id >> (8 * i));
  call.next = t->pending;
  t->pending = &call;
  int fd = t->fd;
  pthread_mutex_unlock(&t->lock);

  pthread_mutex_lock(&t->write_lock);
  int written = write_fully(fd, request, request_length);
  pthread_mutex_unlock(&t->write_lock);

  struct timespec deadline;
  deadline_after(&deadline, p11_transport_deadline_ms());
  pthread_mutex_lock(&t->lock);
  while (written == 0 && !call.done) {
    if (pthread_cond_timedwait(&call.wake, &t->lock, &deadline) == ETIMEDOUT) break;
  }
  struct pending_call **link = &t->pending;
  while (*link && *link != &call) link = &(*link)->next;
  if (*link) *link = call.next;
  pthread_mutex_unlock(&t->lock);
  pthread_cond_destroy(&call.wake);

  if (!call.response) return -1;
  *response = call.response;
  *response_length = call.response_length;
  return 0;
}

static int child_call(struct p11_transport *base, uint8_t *request, size_t request_length, uint8_t **response,
                      size_t *response_length) {
  struct child_transport *t = (struct child_transport *)base;
  struct p11f_header header;
  if (p11f_header_decode(request, &header) != 0) return -1;

  pthread_mutex_lock(&t->lock);
  while (t->replaying) pthread_cond_wait(&t->replayed, &t->lock);
  int restarted = 0;
  if (!t->running) {
    if (spawn_child(t) != 0) {
      pthread_mutex_unlock(&t->lock);
      return -1;
    }
    restarted = t->initialize_frame != NULL && header.function != P11F_CALL_Initialize;
    t->replaying = restarted;
  }
  if (header.function == P11F_CALL_Initialize) {
    uint8_t *copy = malloc(request_length);
    if (copy) {
      memcpy(copy, request, request_length);
      free(t->initialize_frame);
      t->initialize_frame = copy;
      t->initialize_length = request_length;
    }
  }
  pthread_mutex_unlock(&t->lock);

  if (restarted) {
    uint8_t *replay_response = NULL;
    size_t replay_length = 0;
    uint8_t *replay = malloc(t->initialize_length);
    int ok = -1;
    if (replay) {
      memcpy(replay, t->initialize_frame, t->initialize_length);
      ok = exchange(t, replay, t->initialize_length, &replay_response, &replay_length);
      free(replay);
      free(replay_response);
    }
    pthread_mutex_lock(&t->lock);
    t->replaying = 0;
    pthread_cond_broadcast(&t->replayed);
    pthread_mutex_unlock(&t->lock);
    if (ok != 0) return -1;
    p11_log(P11_LOG_INFO, "child runtime restarted and re-initialised");
  }
  return exchange(t, request, request_length, response, response_length);
}

static void child_abandon(struct p11_transport *base) {
  struct child_transport *t = (struct child_transport *)base;
  /* In a forked child: the socket belongs to the parent's conversation. Closing our copy
   * does not disturb the parent; the structure itself is leaked on purpose, as its
   * mutexes may have been held by threads that no longer exist. */
  if (t->fd >= 0) close(t->fd);
}

unsigned p11_transport_deadline_ms(void) {
  const char *text = getenv("P11KMS_CALL_DEADLINE_MS");
  if (text && *text) {
    char *end;
    unsigned long value = strtoul(text, &end, 10);
    if (*end == '\0' && value > 0 && value < 3600000UL) return (unsigned)value;
  }
  return 120000;
}

struct p11_transport *p11_transport_child_open(const char *package_root, char *reason, size_t reason_size) {
  struct child_transport *t = calloc(1, sizeof(*t));
  if (!t) {
    snprintf(reason, reason_size, "out of memory");
    return NULL;
  }
  int n = snprintf(t->entry_script, sizeof(t->entry_script), "%s/dist/src/runtime/host-child.js", package_root);
  if (n < 0 || (size_t)n >= sizeof(t->entry_script) || access(t->entry_script, R_OK) != 0) {
    snprintf(reason, reason_size, "runtime script %s/dist/src/runtime/host-child.js not found", package_root);
    free(t);
    return NULL;
  }
  t->base.mode = "child process";
  t->base.call = child_call;
  t->base.abandon = child_abandon;
  t->fd = -1;
  pthread_mutex_init(&t->lock, NULL);
  pthread_mutex_init(&t->write_lock, NULL);
  pthread_cond_init(&t->replayed, NULL);
  pthread_mutex_lock(&t->lock);
  int started = spawn_child(t);
  pthread_mutex_unlock(&t->lock);
  if (started != 0) {
    snprintf(reason, reason_size, "cannot start node (set P11KMS_NODE to its path)");
    free(t);
    return NULL;
  }
  return &t->base;
}
