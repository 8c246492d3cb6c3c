#include "dump_js.h"

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "batch_js.h"
#include "namespace_js.h"
#include "parser.h"
#include "session.h"

namespace sockdiag {
namespace {

constexpr uint32_t kMaxBatchRows = 1u << 20;

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

// Copies the (already validated) JavaScript options into a plain struct that
// the worker thread alone touches afterwards.
DumpParams ReadParams(const Napi::Value& value) {
  if (!value.IsObject()) {
    throw Napi::TypeError::New(value.Env(), "Expected an options object");
  }
  Napi::Object params = value.As<Napi::Object>();
  DumpParams out;
  out.request.family = static_cast<uint8_t>(ReadUint(params, "family", 2));
  out.request.protocol = static_cast<uint16_t>(ReadUint(params, "protocol", 6));
  out.request.states = ReadUint(params, "states", 0xfff);
  out.request.extensions =
      static_cast<uint8_t>(ReadUint(params, "extensions", 0));
  out.request.legacy = params.Get("legacy").ToBoolean().Value();
  Napi::Value bytecode = params.Get("bytecode");
  if (bytecode.IsTypedArray()) {
    auto bytes = bytecode.As<Napi::Uint8Array>();
    out.request.bytecode.assign(bytes.Data(),
                                bytes.Data() + bytes.ByteLength());
  }
  Napi::Value netns = params.Get("netns");
  if (netns.IsString()) out.netns_path = netns.As<Napi::String>().Utf8Value();
  Napi::Value handle = params.Get("namespace");
  if (!handle.IsUndefined()) out.shared_socket = UnwrapNamespace(handle);
  out.timeout_ms = ReadUint(params, "timeoutMs", 30000);
  out.batch_rows = ReadUint(params, "batchRows", 16384);
  if (out.batch_rows == 0 || out.batch_rows > kMaxBatchRows) {
    throw Napi::RangeError::New(value.Env(), "batchRows out of range");
  }
  out.groups = static_cast<uint8_t>(ReadUint(params, "groups", 0) & 7);
  // A column mask is wider than 32 bits: a JavaScript number, exact to 2^53.
  Napi::Value columns = params.Get("columns");
  if (columns.IsNumber()) {
    double mask = columns.As<Napi::Number>().DoubleValue();
    if (!(mask >= 0 && mask <= static_cast<double>(kAllColumns)) ||
        mask != static_cast<double>(static_cast<uint64_t>(mask))) {
      throw Napi::RangeError::New(value.Env(), "columns is not a column mask");
    }
    out.columns = static_cast<uint64_t>(mask);
  }
  return out;
}

const char* KindName(DumpOutcome::Kind kind) {
  switch (kind) {
    case DumpOutcome::Kind::kSystem:
      return "system";
    case DumpOutcome::Kind::kKernel:
      return "kernel";
    case DumpOutcome::Kind::kMalformed:
      return "malformed";
    case DumpOutcome::Kind::kOk:
      break;
  }
  return "ok";
}

// The raw facts; TypeScript names the errno and writes the advice.
Napi::Error MakeDumpError(Napi::Env env, const DumpOutcome& outcome) {
  Napi::Error error = Napi::Error::New(
      env, std::string("sock_diag dump failed: ") +
               (outcome.detail[0] ? outcome.detail : outcome.syscall));
  error.Set("errno", Napi::Number::New(env, outcome.errnum));
  error.Set("syscall", Napi::String::New(env, outcome.syscall));
  error.Set("kind", Napi::String::New(env, KindName(outcome.kind)));
  error.Set("detail", Napi::String::New(env, outcome.detail));
  return error;
}

// Settles a fill's promise on the main thread: its rows, the end (null), or
// the error. A buffer that never reaches JavaScript goes back to the pool.
void SettleFill(Napi::Env env, Napi::ArrayBuffer storage, const Batch& batch,
                const DumpOutcome& outcome, Napi::Promise::Deferred deferred) {
  if (outcome.kind != DumpOutcome::Kind::kOk) {
    PoolBatch(env, storage);
    deferred.Reject(MakeDumpError(env, outcome).Value());
  } else if (batch.count == 0 && outcome.finished) {
    // The fill that found the end: its buffer never reached JavaScript.
    PoolBatch(env, storage);
    deferred.Resolve(env.Null());
  } else {
    // The views are made in JavaScript (src/diag/columns.ts): cheaper than
    // a Node-API typed array and property per column.
    Napi::Object result = Napi::Object::New(env);
    result.Set("count", Napi::Number::New(env, batch.count));
    result.Set("buffer", storage);
    // The dump ended in this fill: JavaScript asks for no more.
    result.Set("last", Napi::Boolean::New(env, outcome.finished));
    deferred.Resolve(result);
  }
}

class DumpHandle;

// A fill handed straight to the receiver thread (DumpSession::SubmitDirect):
// no pool thread, and one wake of the event loop per batch, through the
// handle's thread-safe function.
struct DirectFill {
  DirectFill(DumpHandle* owner, Napi::Object owner_object)
      : owner(owner), owner_ref(Napi::Persistent(owner_object)) {}
  DumpHandle* owner;
  Napi::ObjectReference owner_ref;  // keeps the handle alive meanwhile
  Napi::Reference<Napi::ArrayBuffer> storage;
  // Made once the receiver thread took the batch (a deferred that is never
  // settled is never freed).
  std::optional<Napi::Promise::Deferred> deferred;
  Batch batch;
  DumpOutcome outcome;  // written on the receiver thread before the call
};

void DirectFillDone(Napi::Env env, Napi::Function, void*, DirectFill* fill);
using DirectTsfn =
    Napi::TypedThreadSafeFunction<void, DirectFill, DirectFillDone>;

class FillWorker : public Napi::AsyncWorker {
 public:
  // `storage` already bound to `batch`, or empty: the worker takes one.
  FillWorker(Napi::Env env, DumpHandle* owner, Napi::Object owner_object,
             Napi::ArrayBuffer storage = Napi::ArrayBuffer(),
             const Batch* batch = nullptr);
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override;
  void OnOK() override;

 private:
  DumpHandle* owner_;
  Napi::ObjectReference owner_ref_;  // keeps the handle alive meanwhile
  uint64_t ticket_;
  Napi::Reference<Napi::ArrayBuffer> storage_;
  Napi::Promise::Deferred deferred_;
  Batch batch_;
  DumpOutcome outcome_;
};

class DumpHandle : public Napi::ObjectWrap<DumpHandle> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Dump",
                       {InstanceMethod<&DumpHandle::Next>("next"),
                        InstanceMethod<&DumpHandle::Recycle>("recycle"),
                        InstanceMethod<&DumpHandle::Close>("close"),
                        InstanceMethod<&DumpHandle::Stats>("stats")});
  }

  explicit DumpHandle(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<DumpHandle>(info),
        session_(std::make_unique<DumpSession>(ReadParams(info[0]))) {}

  ~DumpHandle() override {
    if (tsfn_created_ && !tsfn_released_) {
      session_->StopReceiver();  // no more calls into the function
      ReleaseTsfn();
    }
  }

  DumpSession* session() { return session_.get(); }

  // A batch buffer for the next fill: one JavaScript handed back (by this
  // dump or an earlier one), else a new one.
  Napi::ArrayBuffer TakeStorage(Napi::Env env, Batch* batch) {
    const DumpParams& params = session_->params();
    return TakeBatch(env, params.batch_rows, params.groups, params.columns,
                     batch);
  }
  // Called by a worker's OnOK: one fewer fill in flight; the last one out
  // closes the socket when close() came meanwhile.
  void FillDone() {
    if (--pending_ == 0 && close_requested_) CloseNow();
  }

  // Main thread: a direct fill's batch is done.
  void DirectFinished(Napi::Env env, std::unique_ptr<DirectFill> fill) {
    Napi::HandleScope scope(env);
    session_->DirectDone(fill->outcome);
    if (--direct_pending_ == 0) tsfn_.Unref(env);
    FillDone();
    // No deferred: Next() failed to make one (the environment is going).
    if (fill->deferred) {
      SettleFill(env, fill->storage.Value(), fill->batch, fill->outcome,
                 *fill->deferred);
    }
  }

 private:
  Napi::Value Next(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (pending_ >= kMaxPending) {
      // Tickets order the fills; more queued workers would only hold threads.
      throw Napi::Error::New(env, "next() called with two batches pending");
    }
    if (close_requested_ || session_->finished()) {
      auto deferred = Napi::Promise::Deferred::New(env);
      deferred.Resolve(env.Null());
      return deferred.Promise();
    }
    pending_++;
    Napi::Object self = info.This().As<Napi::Object>();
    // Past its first datagrams a dump's batches go straight to its receiver
    // thread; a worker fills the first ones (and any batch queued while a
    // worker still waits for its turn).
    Napi::ArrayBuffer storage;
    Batch batch;
    if (session_->stats().receiver_thread.load(std::memory_order_relaxed)) {
      EnsureTsfn(env);
      auto fill = std::make_unique<DirectFill>(this, self);
      storage = TakeStorage(env, &fill->batch);
      fill->storage = Napi::Persistent(storage);
      DirectFill* raw = fill.get();
      if (direct_pending_++ == 0) tsfn_.Ref(env);
      DirectTsfn tsfn = tsfn_;
      if (session_->SubmitDirect(
              &raw->batch, [raw, tsfn](const DumpOutcome& outcome) mutable {
                raw->outcome = outcome;
                // Fails only at environment teardown; the fill is then left.
                tsfn.NonBlockingCall(raw);
              })) {
        // The receiver thread's now: DirectFillDone frees it, on this
        // thread, after this call. Released before anything that may throw
        // (a worker's environment going away), so it is freed only there.
        DirectFill* queued = fill.release();
        queued->deferred.emplace(Napi::Promise::Deferred::New(env));
        return queued->deferred->Promise();
      }
      if (--direct_pending_ == 0) tsfn_.Unref(env);
      batch = raw->batch;
      fill->storage.Reset();
    }
    auto* worker = new FillWorker(env, this, self, storage,
                                  storage.IsEmpty() ? nullptr : &batch);
    Napi::Promise promise = worker->Promise();
    worker->Queue();
    return promise;
  }

  void EnsureTsfn(Napi::Env env) {
    if (tsfn_created_) return;
    tsfn_ = DirectTsfn::New(env, "sockdiag.dump", 0, 1);
    tsfn_.Unref(env);
    tsfn_created_ = true;
    // Registered after the thread-safe function, so that at environment
    // teardown it runs first (hooks run in reverse): the receiver thread is
    // stopped before Node frees the function it calls.
    cleanup_ = env.AddCleanupHook(&DumpHandle::Teardown, this);
  }

  void ReleaseTsfn() {
    if (!tsfn_created_ || tsfn_released_) return;
    tsfn_released_ = true;
    if (torn_down_) return;  // Node frees it with the environment
    cleanup_.Remove(Env());
    tsfn_.Release();
  }

  static void Teardown(DumpHandle* handle) {
    // The environment is going: only stop the thread, touch no JavaScript.
    handle->torn_down_ = true;
    handle->session_->StopReceiver();
  }

  // recycle(arrayBuffer): the caller is done with a batch's views; a later
  // fill (of any dump) may overwrite them.
  Napi::Value Recycle(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsArrayBuffer()) {
      throw Napi::TypeError::New(env, "Expected the batch's ArrayBuffer");
    }
    PoolBatch(env, info[0].As<Napi::ArrayBuffer>());
    return env.Undefined();
  }

  // Resolves once the session has let go of its socket: at once, or when
  // the last fill in flight ends (a namespace handle's next dump waits).
  Napi::Value Close(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto deferred = Napi::Promise::Deferred::New(env);
    Napi::Promise promise = deferred.Promise();
    closed_.push_back(std::move(deferred));
    close_requested_ = true;
    // While workers run they own the socket; the last closes it.
    if (pending_ == 0) CloseNow();
    return promise;
  }

  void CloseNow() {
    session_->Close();
    // No fill is in flight and the receiver thread is joined: nothing
    // calls the function any more, and its loop handle goes now, not at GC.
    ReleaseTsfn();
    Napi::Env env = Env();
    for (auto& deferred : closed_) deferred.Resolve(env.Undefined());
    closed_.clear();
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const DumpStats& stats = session_->stats();
    Napi::Object out = Napi::Object::New(env);
    out.Set("datagrams", static_cast<double>(stats.datagrams.load()));
    out.Set("bytes", static_cast<double>(stats.bytes.load()));
    out.Set("rows", static_cast<double>(stats.rows.load()));
    out.Set("skippedMessages",
            static_cast<double>(stats.skipped_messages.load()));
    out.Set("receiverThread", stats.receiver_thread.load());
    return out;
  }

  std::unique_ptr<DumpSession> session_;
  std::vector<Napi::Promise::Deferred> closed_;  // close() promises waiting
  static constexpr int kMaxPending = 2;
  int pending_ = 0;         // fills in flight, by workers or direct
  int direct_pending_ = 0;  // of them direct: the function keeps the loop up
  bool close_requested_ = false;
  DirectTsfn tsfn_;  // made for the first direct fill
  bool tsfn_created_ = false;
  bool tsfn_released_ = false;
  bool torn_down_ = false;
  Napi::Env::CleanupHook<void (*)(DumpHandle*), DumpHandle> cleanup_;
};

void DirectFillDone(Napi::Env env, Napi::Function, void*, DirectFill* fill) {
  std::unique_ptr<DirectFill> owned(fill);
  // The environment is being torn down (a worker thread stopped mid-dump):
  // its references go, but its promise cannot be settled any more (so
  // Node-API never frees the deferred: test/helpers/valgrind-node.supp).
  if (env == nullptr) return;
  try {
    fill->owner->DirectFinished(env, std::move(owned));
  } catch (const Napi::Error&) {
    // Only while a worker thread's environment is being torn down, when
    // its loop still runs but JavaScript may not: nobody waits any more.
  }
}

FillWorker::FillWorker(Napi::Env env, DumpHandle* owner,
                       Napi::Object owner_object, Napi::ArrayBuffer storage,
                       const Batch* batch)
    : Napi::AsyncWorker(env, "sockdiag.dump"),
      owner_(owner),
      owner_ref_(Napi::Persistent(owner_object)),
      ticket_(owner->session()->TakeTicket()),
      deferred_(Napi::Promise::Deferred::New(env)) {
  if (batch != nullptr) {
    batch_ = *batch;
    storage_ = Napi::Persistent(storage);
  } else {
    storage_ = Napi::Persistent(owner->TakeStorage(env, &batch_));
  }
}

void FillWorker::Execute() {
  // A pool thread receives and parses a dump's first datagrams, or waits
  // for the receiver thread to fill its batch.
  LowerPoolThreadPriority();
  outcome_ = owner_->session()->Fill(&batch_, ticket_);
}

void FillWorker::OnOK() {
  Napi::Env env = Env();
  try {
    Napi::HandleScope scope(env);
    owner_->FillDone();
    SettleFill(env, storage_.Value(), batch_, outcome_, deferred_);
  } catch (const Napi::Error&) {
    // As in DirectFillDone: a worker thread's environment going away while
    // this fill ended, its JavaScript already stopped. Rethrown, Node-API
    // would fail to throw it into JavaScript and abort the process.
  }
}

}  // namespace

Napi::Function DefineDump(Napi::Env env) { return DumpHandle::Define(env); }

Napi::Value ParseBytes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray()) {
    throw Napi::TypeError::New(env, "Expected a Uint8Array of dump bytes");
  }
  auto bytes = info[0].As<Napi::Uint8Array>();
  DumpParams params = ReadParams(info[1]);
  Napi::Object options = info[1].As<Napi::Object>();
  ParseOptions parse_options;
  parse_options.expected_seq = ReadUint(options, "seq", 0);
  parse_options.row_type = ReplyType(params.request);
  parse_options.protocol = params.request.protocol;
  parse_options.protocol_from_attribute =
      options.Get("protocolFromAttribute").ToBoolean().Value();

  Batch batch;
  Napi::ArrayBuffer storage = AllocateBatch(
      env, params.batch_rows, params.groups, params.columns, &batch);
  ParseResult result =
      ParseMessages(bytes.Data(), bytes.ByteLength(), parse_options, &batch);

  static const char* const kStatusNames[] = {"continue", "batch-full", "done",
                                             "kernel-error", "malformed"};
  Napi::Object out = BatchToJs(env, storage, batch);
  out.Set("status", kStatusNames[static_cast<int>(result.status)]);
  out.Set("offset", static_cast<double>(result.offset));
  out.Set("errno", result.errnum);
  out.Set("detail", result.detail);
  out.Set("skippedMessages", static_cast<double>(result.skipped));
  return out;
}

}  // namespace sockdiag
