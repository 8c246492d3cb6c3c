#include "subscriber_js.h"

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "batch_js.h"
#include "error_js.h"
#include "subscriber.h"

namespace sockdiag {
namespace {

uint32_t ReadUint(const Napi::Object& params, const char* key,
                  uint32_t fallback) {
  Napi::Value value = params.Get(key);
  if (value.IsUndefined()) return fallback;
  if (!value.IsNumber()) {
    throw Napi::TypeError::New(params.Env(),
                               std::string("Expected a number for ") + key);
  }
  return value.As<Napi::Number>().Uint32Value();
}

// Copies the (already validated) options into the plain struct that the
// receiver thread alone reads afterwards.
SubscriberParams ReadParams(const Napi::Value& value) {
  if (!value.IsObject()) {
    throw Napi::TypeError::New(value.Env(), "Expected an options object");
  }
  Napi::Object params = value.As<Napi::Object>();
  SubscriberParams out;
  Napi::Value netns = params.Get("netns");
  if (netns.IsString()) out.netns_path = netns.As<Napi::String>().Utf8Value();
  out.groups = ReadUint(params, "groups", 0);
  out.receive_buffer_bytes =
      ReadUint(params, "receiveBufferBytes", out.receive_buffer_bytes);
  out.batch_rows = ReadUint(params, "batchRows", out.batch_rows);
  out.queue_batches = ReadUint(params, "queueBatches", out.queue_batches);
  out.flush_ms = ReadUint(params, "flushMs", out.flush_ms);
  if (out.groups == 0 || out.batch_rows == 0 || out.queue_batches == 0 ||
      out.flush_ms == 0) {
    throw Napi::RangeError::New(value.Env(), "subscriber option out of range");
  }
  return out;
}

class SubscriberHandle;
void CallJs(Napi::Env env, Napi::Function, SubscriberHandle* handle, void*);
using Tsfn = Napi::TypedThreadSafeFunction<SubscriberHandle, void, CallJs>;

class SubscriberHandle : public Napi::ObjectWrap<SubscriberHandle> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Subscriber",
                       {InstanceMethod<&SubscriberHandle::Ready>("ready"),
                        InstanceMethod<&SubscriberHandle::Next>("next"),
                        InstanceMethod<&SubscriberHandle::Stats>("stats"),
                        InstanceMethod<&SubscriberHandle::Close>("close")});
  }

  explicit SubscriberHandle(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<SubscriberHandle>(info) {
    Napi::Env env = info.Env();
    SubscriberParams params = ReadParams(info[0]);
    // The thread notifies through this; it keeps the loop alive only while
    // a promise waits (Ref in Wait, Unref in Settle).
    tsfn_ = Tsfn::New(env, "sockdiag.destroySubscriber", 0, 1, this,
                      [](Napi::Env, void*, SubscriberHandle* handle) {
                        handle->TsfnFinalized();
                      });
    tsfn_.Unref(env);
    // Registered after the thread-safe function, so that at environment
    // teardown it runs first (hooks run in reverse): the thread is joined
    // before Node frees the function it calls.
    cleanup_ = env.AddCleanupHook(&SubscriberHandle::Teardown, this);
    subscriber_ = std::make_unique<Subscriber>(
        std::move(params), [this] { tsfn_.NonBlockingCall(); });
    // Kept alive while open: the thread points at us. Let go when the
    // thread-safe function is finalized, after close().
    Ref();
    subscriber_->Start();
  }

  ~SubscriberHandle() override {
    if (subscriber_) subscriber_->Stop();
  }

  // Main thread, from the thread-safe function.
  void Notified() {
    if (closed_) return;
    SysError error;
    Subscriber::State state = subscriber_->state(&error);
    if (ready_ && state != Subscriber::State::kOpening) {
      if (state == Subscriber::State::kOpen) {
        ready_->Resolve(Env().Undefined());
      } else {
        ready_->Reject(SystemError(Env(), "destroy subscriber", error).Value());
      }
      ready_.reset();
      Settle();
    }
    if (next_) Deliver();
  }

 private:
  static void Teardown(SubscriberHandle* handle) {
    // The environment is going: only stop the thread, touch no JavaScript.
    handle->torn_down_ = true;
    handle->subscriber_->Stop();
  }

  void TsfnFinalized() {
    if (!torn_down_) Unref();
  }

  void Wait() {
    if (waits_++ == 0) tsfn_.Ref(Env());
  }
  void Settle() {
    if (--waits_ == 0) tsfn_.Unref(Env());
  }

  Napi::Value Ready(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (ready_) throw Napi::Error::New(env, "ready() is already pending");
    auto deferred = Napi::Promise::Deferred::New(env);
    Napi::Promise promise = deferred.Promise();
    if (closed_) {
      SysError closed{EBADF, "close", "the subscriber is closed"};
      deferred.Reject(SystemError(env, "destroy subscriber", closed).Value());
      return promise;
    }
    ready_ = std::move(deferred);
    Wait();
    Notified();  // already open (or failed): settles at once
    return promise;
  }

  Napi::Value Next(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (next_) throw Napi::Error::New(env, "next() is already pending");
    auto deferred = Napi::Promise::Deferred::New(env);
    Napi::Promise promise = deferred.Promise();
    if (closed_) {
      deferred.Resolve(env.Null());
      return promise;
    }
    next_ = std::move(deferred);
    Wait();
    Deliver();
    return promise;
  }

  // Settles a waiting next(): a batch, the thread's failure, or (nothing
  // yet) asks the thread to notify when a batch is ready.
  void Deliver() {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    std::unique_ptr<EventBatch> ready = subscriber_->TakeReadyOrWait();
    if (ready) {
      const Batch& full = ready->batch;
      Batch compact;
      Napi::ArrayBuffer storage =
          AllocateBatch(env, full.count, full.groups, full.columns, &compact);
      CopyRows(full, &compact);
      subscriber_->Recycle(std::move(ready));
      next_->Resolve(BatchToJs(env, storage, compact));
    } else {
      SysError error;
      if (subscriber_->state(&error) != Subscriber::State::kFailed) return;
      next_->Reject(SystemError(env, "destroy subscriber", error).Value());
    }
    next_.reset();
    Settle();
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!closed_) subscriber_->RefreshKernelDrops();
    const SubscriberStats& stats = subscriber_->stats();
    auto number = [](const std::atomic<uint64_t>& value) {
      return static_cast<double>(value.load(std::memory_order_relaxed));
    };
    Napi::Object out = Napi::Object::New(env);
    out.Set("events", number(stats.events));
    out.Set("batches", number(stats.batches));
    out.Set("datagrams", number(stats.datagrams));
    out.Set("bytes", number(stats.bytes));
    out.Set("queueDrops", number(stats.queue_drops));
    out.Set("kernelDrops", number(stats.kernel_drops));
    out.Set("overruns", number(stats.overruns));
    out.Set("malformed", number(stats.malformed));
    out.Set("queued", static_cast<double>(subscriber_->queued()));
    out.Set("receiveBufferBytes", stats.receive_buffer_bytes.load());
    out.Set("receiveBufferForced", stats.receive_buffer_forced.load());
    return out;
  }

  // Joins the thread (it wakes at once), closes the socket, settles what
  // waits: next() with null, ready() with an error.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (closed_) return env.Undefined();
    subscriber_->RefreshKernelDrops();  // last look before the socket goes
    subscriber_->Stop();
    closed_ = true;
    cleanup_.Remove(env);
    if (next_) {
      next_->Resolve(env.Null());
      next_.reset();
      Settle();
    }
    if (ready_) {
      SysError closed{EBADF, "close", "closed before it was ready"};
      ready_->Reject(SystemError(env, "destroy subscriber", closed).Value());
      ready_.reset();
      Settle();
    }
    tsfn_.Release();  // the thread's share; finalizes after queued calls
    return env.Undefined();
  }

  std::unique_ptr<Subscriber> subscriber_;
  Tsfn tsfn_;
  Napi::Env::CleanupHook<void (*)(SubscriberHandle*), SubscriberHandle>
      cleanup_;
  std::optional<Napi::Promise::Deferred> ready_;
  std::optional<Napi::Promise::Deferred> next_;
  int waits_ = 0;
  bool closed_ = false;
  bool torn_down_ = false;
};

void CallJs(Napi::Env env, Napi::Function, SubscriberHandle* handle, void*) {
  if (env != nullptr && handle != nullptr) handle->Notified();
}

}  // namespace

Napi::Function DefineSubscriber(Napi::Env env) {
  return SubscriberHandle::Define(env);
}

}  // namespace sockdiag
