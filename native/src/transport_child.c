/* Out-of-process hosting: the runtime runs in a `node` child on the other end of a
 * socketpair. Host threads multiplex their calls over the one socket by request id. There
 * is no reader thread, so this hosting works for applications that forbid the library to
 * create threads (CKF_LIBRARY_CANT_CREATE_OS_THREADS): the waiting host threads take turns
 * reading the socket and hand each response to the thread it belongs to. A dead child
 * fails the calls in flight and is started again, and re-initialised, on the next call. */
#include "transport.h"
#include "frame.h"
#include "calls.gen.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
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

/* Once a frame has started, the rest of it must arrive within this; the stream would be
 * out of step otherwise, and the child is treated as dead. */
#define FRAME_COMPLETION_MS 10000

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
  pthread_mutex_t lock;       /* everything below */
  pthread_mutex_t write_lock; /* whole frames on the socket */
  struct pending_call *pending;
  uint32_t next_id;
  int fd;
  pid_t pid;
  int running;
  int reading; /* a host thread is reading the socket for everyone */
  /* Restarts so far: a restarted runtime numbers its handles from generation << 32, so a
   * handle from before the restart can never name something new. */
  uint64_t generation;
  /* The last Initialize frame, replayed to a restarted child so that it comes back with
   * the same configuration as the one that died. Calls wait while that runs. */
  uint8_t *initialize_frame;
  size_t initialize_length;
  int replaying;
  pthread_cond_t replayed;
};

static long remaining_ms(const struct timespec *deadline) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (deadline->tv_sec - now.tv_sec) * 1000L + (deadline->tv_nsec - now.tv_nsec) / 1000000L;
}

static void deadline_after(struct timespec *deadline, unsigned ms) {
  clock_gettime(CLOCK_MONOTONIC, deadline);
  deadline->tv_sec += ms / 1000;
  deadline->tv_nsec += (long)(ms % 1000) * 1000000L;
  if (deadline->tv_nsec >= 1000000000L) {
    deadline->tv_sec++;
    deadline->tv_nsec -= 1000000000L;
  }
}

/* Reads exactly length bytes, waiting at most wait_ms for each chunk. 0, or -1 on EOF,
 * error or silence. */
static int read_fully(int fd, uint8_t *buffer, size_t length, long wait_ms) {
  size_t done = 0;
  while (done < length) {
    struct pollfd p = { fd, POLLIN, 0 };
    int ready = poll(&p, 1, (int)(wait_ms > 0 ? wait_ms : 0));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return -1;
    ssize_t n = read(fd, buffer + done, length - done);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
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

/* Called with lock held: the child is gone. Every waiting call fails now. */
static void mark_dead(struct child_transport *t) {
  if (!t->running) return;
  t->running = 0;
  for (struct pending_call *p = t->pending; p; p = p->next) {
    p->done = 1;
    pthread_cond_signal(&p->wake);
  }
  int status;
  /* The child exits once its socket closes; reap it so no zombie is left behind. */
  if (t->pid > 0 && waitpid(t->pid, &status, WNOHANG) == 0) {
    kill(t->pid, SIGKILL);
    waitpid(t->pid, &status, 0);
  }
  p11_log(P11_LOG_INFO, "child runtime (pid %ld) is gone", (long)t->pid);
}

enum read_outcome { READ_FRAME, READ_SILENT, READ_DEAD };

/* Reads one frame and gives it to its caller. Called without lock, by the one thread that
 * holds the reading role. */
static enum read_outcome read_one(struct child_transport *t, int fd, long wait_ms) {
  uint8_t header_bytes[P11F_HEADER_SIZE];
  struct pollfd p = { fd, POLLIN, 0 };
  int ready;
  do ready = poll(&p, 1, (int)(wait_ms > 0 ? wait_ms : 0));
  while (ready < 0 && errno == EINTR);
  if (ready == 0) return READ_SILENT;
  struct p11f_header header;
  if (ready < 0 || read_fully(fd, header_bytes, sizeof(header_bytes), FRAME_COMPLETION_MS) != 0) return READ_DEAD;
  if (p11f_header_decode(header_bytes, &header) != 0) {
    p11_log(P11_LOG_ERROR, "child runtime sent a malformed frame header");
    return READ_DEAD;
  }
  uint8_t *frame = malloc(P11F_HEADER_SIZE + (size_t)header.body_length);
  if (!frame) return READ_DEAD;
  memcpy(frame, header_bytes, P11F_HEADER_SIZE);
  if (read_fully(fd, frame + P11F_HEADER_SIZE, header.body_length, FRAME_COMPLETION_MS) != 0) {
    free(frame);
    return READ_DEAD;
  }
  size_t length = P11F_HEADER_SIZE + (size_t)header.body_length;
  pthread_mutex_lock(&t->lock);
  struct pending_call *owner = t->pending;
  while (owner && owner->id != header.request_id) owner = owner->next;
  if (owner && !owner->done) {
    owner->response = frame;
    owner->response_length = length;
    owner->done = 1;
    pthread_cond_signal(&owner->wake);
    frame = NULL;
  }
  pthread_mutex_unlock(&t->lock);
  if (frame) {
    /* A response nobody waits for any more: its caller timed out. */
    p11f_wipe(frame, length);
    free(frame);
  }
  return READ_FRAME;
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
  if (t->pid > 0) t->generation++;
  t->fd = sv[0];
  t->pid = pid;
  t->running = 1;
  p11_log(P11_LOG_INFO, "started child runtime pid %ld (%s %s)", (long)pid, node, t->entry_script);
  return 0;
}

/* Initialize's last argument is the handle base (see calls.json): the runtime of each
 * generation numbers its sessions and objects above it. */
static void set_handle_base(struct child_transport *t, uint8_t *frame, size_t length) {
  uint64_t base = t->generation << 32;
  if (length < P11F_HEADER_SIZE + 9 || frame[length - 9] != P11F_TAG_U64) return;
  for (int i = 0; i < 8; i++) frame[length - 8 + i] = (uint8_t)(base >> (8 * i));
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
  /* The write lock is taken before the lock is released, so the socket written to is the
   * one this call was registered on, never a later child's. */
  pthread_mutex_lock(&t->write_lock);
  int fd = t->fd;
  uint64_t generation = t->generation;
  pthread_mutex_unlock(&t->lock);
  int written = write_fully(fd, request, request_length);
  pthread_mutex_unlock(&t->write_lock);

  struct timespec deadline;
  deadline_after(&deadline, p11_transport_deadline_ms());
  pthread_mutex_lock(&t->lock);
  if (written != 0 && t->generation == generation) mark_dead(t);
  while (!call.done && t->running && t->generation == generation) {
    long left = remaining_ms(&deadline);
    if (left <= 0) break;
    if (t->reading) {
      if (pthread_cond_timedwait(&call.wake, &t->lock, &deadline) == ETIMEDOUT) break;
      continue;
    }
    /* Nobody is reading: this thread reads for everyone until its own answer comes. */
    t->reading = 1;
    pthread_mutex_unlock(&t->lock);
    enum read_outcome outcome = read_one(t, fd, left);
    pthread_mutex_lock(&t->lock);
    t->reading = 0;
    if (outcome == READ_DEAD) mark_dead(t);
    /* A restart waits for the reader to be done with the old socket (see child_call). */
    pthread_cond_broadcast(&t->replayed);
    /* Let another waiter take over the reading if this thread is about to leave. */
    for (struct pending_call *p = t->pending; p; p = p->next)
      if (p != &call) pthread_cond_signal(&p->wake);
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

/* The rv of a response frame, or a failure value when it is not a well-formed answer. */
static uint64_t response_rv(const uint8_t *frame, size_t length) {
  struct p11f_header header;
  if (length < P11F_HEADER_SIZE || p11f_header_decode(frame, &header) != 0 || header.kind != P11F_KIND_RESPONSE)
    return UINT64_MAX;
  struct p11f_reader r;
  p11f_reader_init(&r, frame + P11F_HEADER_SIZE, length - P11F_HEADER_SIZE);
  uint64_t rv = p11f_get_u64(&r);
  return r.failed ? UINT64_MAX : rv;
}

static int child_call(struct p11_transport *base, uint8_t *request, size_t request_length, uint8_t **response,
                      size_t *response_length) {
  struct child_transport *t = (struct child_transport *)base;
  struct p11f_header header;
  if (p11f_header_decode(request, &header) != 0) return -1;

  pthread_mutex_lock(&t->lock);
  /* Wait for a replay in progress, and for a reader still on a dead child's socket: its
   * descriptor number must not be reused by the next child while it reads. */
  while (t->replaying || (!t->running && t->reading)) pthread_cond_wait(&t->replayed, &t->lock);
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
    set_handle_base(t, request, request_length);
    uint8_t *copy = malloc(request_length);
    if (copy) {
      memcpy(copy, request, request_length);
      free(t->initialize_frame);
      t->initialize_frame = copy;
      t->initialize_length = request_length;
    }
  }
  uint8_t *replay = NULL;
  size_t replay_length = t->initialize_length;
  if (restarted && (replay = malloc(replay_length)) != NULL) {
    memcpy(replay, t->initialize_frame, replay_length);
    set_handle_base(t, replay, replay_length);
  }
  pthread_mutex_unlock(&t->lock);

  if (restarted) {
    uint8_t *answer = NULL;
    size_t answer_length = 0;
    int ok = replay && exchange(t, replay, replay_length, &answer, &answer_length) == 0 &&
             response_rv(answer, answer_length) == 0;
    free(replay);
    free(answer);
    pthread_mutex_lock(&t->lock);
    t->replaying = 0;
    pthread_cond_broadcast(&t->replayed);
    pthread_mutex_unlock(&t->lock);
    if (!ok) return -1;
    p11_log(P11_LOG_INFO, "child runtime restarted and re-initialised (handle generation %llu)",
            (unsigned long long)t->generation);
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
