// libnode on its own thread. Host threads give frames to the runtime through a
// thread-safe function and sleep on a condition variable until the runtime answers
// through the bridge's respond(). V8 cannot be started twice in a process, so the
// runtime, once started, lives until the process exits.
#include "node_host.h"

#include <node.h>
#include <node_api.h>

#include <signal.h>
#include <string.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

struct PendingCall {
  std::condition_variable wake;
  bool done = false;
  uint8_t *response = nullptr;
  size_t response_length = 0;
};

struct QueuedRequest {
  uint32_t id;
  std::vector<uint8_t> frame;
};

std::mutex state_lock;
std::condition_variable state_changed;
enum class RuntimeState { kStopped, kStarting, kReady, kFailed };
RuntimeState runtime_state = RuntimeState::kStopped;
std::string failure_reason;
napi_threadsafe_function dispatcher = nullptr;
std::map<uint32_t, PendingCall *> pending;
uint32_t next_request_id = 0;

void Wipe(std::vector<uint8_t> &bytes) {
  volatile uint8_t *p = bytes.data();
  for (size_t i = 0; i < bytes.size(); i++) p[i] = 0;
}

// Runs on the runtime thread for each queued request.
void DeliverRequest(napi_env env, napi_value callback, void *, void *data) {
  std::unique_ptr<QueuedRequest> request(static_cast<QueuedRequest *>(data));
  if (env != nullptr && callback != nullptr) {
    napi_value id, buffer, ignored;
    void *copy_data = nullptr;
    if (napi_create_uint32(env, request->id, &id) == napi_ok &&
        napi_create_buffer_copy(env, request->frame.size(), request->frame.data(), &copy_data, &buffer) == napi_ok) {
      napi_value argv[2] = { id, buffer };
      napi_value global;
      napi_get_global(env, &global);
      napi_call_function(env, global, callback, 2, argv, &ignored);
    }
  }
  Wipe(request->frame);
}

napi_value BridgeStart(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  napi_valuetype type;
  if (argc < 1 || napi_typeof(env, argv[0], &type) != napi_ok || type != napi_function) {
    napi_throw_type_error(env, nullptr, "start(dispatch) needs a function");
    return nullptr;
  }
  napi_value name;
  napi_create_string_utf8(env, "p11kms-dispatch", NAPI_AUTO_LENGTH, &name);
  napi_threadsafe_function created;
  if (napi_create_threadsafe_function(env, argv[0], nullptr, name, 0, 1, nullptr, nullptr, nullptr, DeliverRequest,
                                      &created) != napi_ok) {
    napi_throw_error(env, nullptr, "cannot create the dispatch function");
    return nullptr;
  }
  std::lock_guard<std::mutex> guard(state_lock);
  dispatcher = created;
  runtime_state = RuntimeState::kReady;
  state_changed.notify_all();
  return nullptr;
}

napi_value BridgeRespond(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  uint32_t id = 0;
  void *data = nullptr;
  size_t length = 0;
  bool is_buffer = false;
  if (argc < 2 || napi_get_value_uint32(env, argv[0], &id) != napi_ok ||
      napi_is_buffer(env, argv[1], &is_buffer) != napi_ok || !is_buffer ||
      napi_get_buffer_info(env, argv[1], &data, &length) != napi_ok) {
    napi_throw_type_error(env, nullptr, "respond(id, buffer)");
    return nullptr;
  }
  std::lock_guard<std::mutex> guard(state_lock);
  auto found = pending.find(id);
  if (found == pending.end()) return nullptr;  // its caller gave up waiting
  uint8_t *copy = static_cast<uint8_t *>(malloc(length ? length : 1));
  if (copy != nullptr) memcpy(copy, data, length);
  found->second->response = copy;
  found->second->response_length = length;
  found->second->done = true;
  found->second->wake.notify_one();
  return nullptr;
}

napi_value BridgeInit(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
    { "start", nullptr, BridgeStart, nullptr, nullptr, nullptr, napi_default, nullptr },
    { "respond", nullptr, BridgeRespond, nullptr, nullptr, nullptr, napi_default, nullptr },
  };
  napi_define_properties(env, exports, 2, properties);
  return exports;
}

void Fail(const std::string &reason) {
  std::lock_guard<std::mutex> guard(state_lock);
  failure_reason = reason;
  runtime_state = RuntimeState::kFailed;
  state_changed.notify_all();
}

void RuntimeMain(std::string entry_script) {
  std::vector<std::string> args = { "p11kms" };
  // The host owns stdio, signals and OpenSSL; the runtime must not touch them, nor
  // read NODE_OPTIONS meant for some other Node program.
  auto flags = static_cast<node::ProcessInitializationFlags::Flags>(
      node::ProcessInitializationFlags::kNoStdioInitialization |
      node::ProcessInitializationFlags::kNoDefaultSignalHandling |
      node::ProcessInitializationFlags::kNoInitializeV8 |
      node::ProcessInitializationFlags::kNoInitializeNodeV8Platform |
      node::ProcessInitializationFlags::kNoInitOpenSSL |
      node::ProcessInitializationFlags::kDisableNodeOptionsEnv |
      node::ProcessInitializationFlags::kNoParseGlobalDebugVariables |
      node::ProcessInitializationFlags::kNoAdjustResourceLimits |
      node::ProcessInitializationFlags::kNoUseLargePages |
      node::ProcessInitializationFlags::kNoPrintHelpOrVersionOutput);
  std::unique_ptr<node::InitializationResult> init = node::InitializeOncePerProcess(args, flags);
  if (init->early_return() || init->exit_code() != 0) {
    std::string reason = "libnode refused to initialise";
    for (const std::string &error : init->errors()) reason += ": " + error;
    Fail(reason);
    return;
  }
  std::unique_ptr<node::MultiIsolatePlatform> platform = node::MultiIsolatePlatform::Create(2);
  v8::V8::InitializePlatform(platform.get());
  v8::V8::Initialize();

  std::vector<std::string> errors;
  std::vector<std::string> exec_args;
  std::unique_ptr<node::CommonEnvironmentSetup> setup =
      node::CommonEnvironmentSetup::Create(platform.get(), &errors, init->args(), exec_args);
  if (!setup) {
    std::string reason = "cannot create a Node environment";
    for (const std::string &error : errors) reason += ": " + error;
    Fail(reason);
    return;
  }
  v8::Isolate *isolate = setup->isolate();
  node::Environment *env = setup->env();
  {
    v8::Locker locker(isolate);
    v8::Isolate::Scope isolate_scope(isolate);
    v8::HandleScope handle_scope(isolate);
    v8::Context::Scope context_scope(setup->context());
    node::AddLinkedBinding(env, "p11kms_bridge", BridgeInit);
    std::string quoted;
    for (char c : entry_script) {
      if (c == '\\' || c == '\'') quoted += '\\';
      quoted += c;
    }
    std::string main_script = "const entry = '" + quoted +
                              "';\n"
                              "require('module').createRequire(entry)(entry);\n";
    if (node::LoadEnvironment(env, main_script.c_str()).IsEmpty()) {
      Fail("the runtime's entry script failed: " + entry_script);
      return;
    }
    node::SpinEventLoop(env);
  }
  Fail("the embedded runtime's event loop ended");
  // Deliberately no teardown: host threads may still hold the dispatcher, and V8
  // cannot be started again in this process anyway.
  setup.release();
  platform.release();
}

}  // namespace

extern "C" __attribute__((visibility("default"))) int p11kms_node_start(const char *entry_script, char *reason, size_t reason_size) {
  std::unique_lock<std::mutex> guard(state_lock);
  if (runtime_state == RuntimeState::kStopped) {
    runtime_state = RuntimeState::kStarting;
    // The runtime thread and every thread it starts (libuv's pool, V8's workers) block
    // all signals, so the host's handlers keep running on the host's own threads and a
    // write to a closed socket never raises SIGPIPE in the host.
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &previous);
    try {
      std::thread(RuntimeMain, std::string(entry_script)).detach();
    } catch (...) {
      runtime_state = RuntimeState::kFailed;
      failure_reason = "cannot create the runtime thread";
    }
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  }
  state_changed.wait_for(guard, std::chrono::seconds(30),
                         [] { return runtime_state == RuntimeState::kReady || runtime_state == RuntimeState::kFailed; });
  if (runtime_state == RuntimeState::kReady) return 0;
  snprintf(reason, reason_size, "%s",
           runtime_state == RuntimeState::kFailed ? failure_reason.c_str() : "the runtime did not start within 30 s");
  return -1;
}

extern "C" __attribute__((visibility("default"))) int p11kms_node_call(uint8_t *request, size_t request_length, uint8_t **response, size_t *response_length,
                                unsigned deadline_ms) {
  PendingCall call;
  std::unique_ptr<QueuedRequest> queued;
  uint32_t id;
  {
    std::lock_guard<std::mutex> guard(state_lock);
    if (runtime_state != RuntimeState::kReady || dispatcher == nullptr) return -1;
    id = ++next_request_id;
    pending[id] = &call;
  }
  try {
    queued.reset(new QueuedRequest{ id, std::vector<uint8_t>(request, request + request_length) });
  } catch (...) {
    std::lock_guard<std::mutex> guard(state_lock);
    pending.erase(id);
    return -1;
  }
  for (int i = 0; i < 4; i++) queued->frame[12 + i] = static_cast<uint8_t>(id >> (8 * i));
  if (napi_call_threadsafe_function(dispatcher, queued.get(), napi_tsfn_nonblocking) != napi_ok) {
    Wipe(queued->frame);
    std::lock_guard<std::mutex> guard(state_lock);
    pending.erase(id);
    return -1;
  }
  queued.release();
  std::unique_lock<std::mutex> guard(state_lock);
  call.wake.wait_for(guard, std::chrono::milliseconds(deadline_ms), [&call] { return call.done; });
  pending.erase(id);
  if (!call.done || call.response == nullptr) return -1;
  *response = call.response;
  *response_length = call.response_length;
  return 0;
}
