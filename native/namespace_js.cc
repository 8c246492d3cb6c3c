#include "namespace_js.h"

#include <unistd.h>

#include <string>
#include <utility>
#include <vector>

#include "addon_data.h"
#include "error_js.h"
#include "netns.h"
#include "receiver.h"

namespace sockdiag {
namespace {

using SharedSocket = std::shared_ptr<SharedDiagSocket>;

class NamespaceHandle : public Napi::ObjectWrap<NamespaceHandle> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NamespaceHandle",
                       {InstanceMethod<&NamespaceHandle::Close>("close"),
                        InstanceAccessor<&NamespaceHandle::Inode>("inode"),
                        InstanceAccessor<&NamespaceHandle::Path>("path")});
  }

  // Built by OpenWorker only, with the opened socket as an External.
  explicit NamespaceHandle(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<NamespaceHandle>(info) {
    if (!info[0].IsExternal()) {
      throw Napi::TypeError::New(info.Env(),
                                 "NamespaceHandle comes from openNamespace()");
    }
    socket_ = *info[0].As<Napi::External<SharedSocket>>().Data();
  }

  const SharedSocket& socket() const { return socket_; }

 private:
  // Dropping the handle without close() closes the socket when it is
  // collected; close() does it now, or as soon as a running dump ends.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    socket_->Close();
    return info.Env().Undefined();
  }
  Napi::Value Inode(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(socket_->inode()));
  }
  Napi::Value Path(const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), socket_->path());
  }

  SharedSocket socket_;
};

class OpenWorker : public Napi::AsyncWorker {
 public:
  OpenWorker(Napi::Env env, std::string path)
      : Napi::AsyncWorker(env, "sockdiag.openNamespace"),
        deferred_(Napi::Promise::Deferred::New(env)),
        socket_(std::make_shared<SharedDiagSocket>()),
        path_(std::move(path)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override { error_ = socket_->Open(path_); }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (error_) {
      socket_->Close();
      deferred_.Reject(SystemError(env, "openNamespace", error_).Value());
      return;
    }
    auto external = Napi::External<SharedSocket>::New(env, &socket_);
    deferred_.Resolve(GetAddonData(env).namespace_handle.New({external}));
  }

 private:
  Napi::Promise::Deferred deferred_;
  SharedSocket socket_;
  std::string path_;
  SysError error_;
};

// One namespace's part of a read: where (a path, or the socket of a handle,
// followed into its namespace even when the path is gone) and what.
struct NamespaceRead {
  std::string path;
  SharedSocket socket;
  std::vector<FileRead> files;
  SysError error;  // the namespace could not be entered: no file was read
};

// Reads the files of one or many namespaces on one private thread that
// enters each in turn: a scrape of a hundred namespaces is one pool job and
// one thread, not one of each per namespace (each woke a thread that took
// the CPU from the event loop, and the results cost a property per field).
class ReadFilesWorker : public Napi::AsyncWorker {
 public:
  ReadFilesWorker(Napi::Env env, std::vector<NamespaceRead> reads, bool single,
                  size_t max_bytes)
      : Napi::AsyncWorker(env, "sockdiag.readNamespaceFiles"),
        deferred_(Napi::Promise::Deferred::New(env)),
        reads_(std::move(reads)),
        single_(single),
        max_bytes_(max_bytes) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

  // On a pool thread, which spawns the private thread that changes
  // namespace and waits for it: the pool thread itself never moves. The
  // private thread enters each namespace before reading its files, so a
  // namespace it could not enter has none read (rather than another's).
  void Execute() override {
    LowerPoolThreadPriority();
    SysError failed = RunOnPrivateThread([this] {
      for (NamespaceRead& read : reads_) {
        int netns_fd = -1;
        read.error = read.socket ? read.socket->NetnsFd(&netns_fd)
                                 : OpenNetnsFile(read.path, &netns_fd, nullptr);
        if (read.error) continue;
        read.error = EnterNetns(netns_fd);
        close(netns_fd);
        if (!read.error) ReadFiles(&read.files, max_bytes_);
      }
    });
    if (failed) {
      for (NamespaceRead& read : reads_) read.error = failed;
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (single_) {
      const NamespaceRead& read = reads_.front();
      if (read.error) {
        deferred_.Reject(
            SystemError(env, "readNamespaceFiles", read.error).Value());
      } else {
        deferred_.Resolve(Files(env, read.files));
      }
      return;
    }
    Napi::Array out = Napi::Array::New(env, reads_.size());
    for (size_t i = 0; i < reads_.size(); ++i) {
      const NamespaceRead& read = reads_[i];
      out.Set(static_cast<uint32_t>(i),
              read.error
                  ? SystemError(env, "readNamespaceFiles", read.error).Value()
                  : Files(env, read.files));
    }
    deferred_.Resolve(out);
  }

 private:
  // A file read whole is its content alone; a truncated or failed one an
  // object saying so.
  static Napi::Array Files(Napi::Env env, const std::vector<FileRead>& files) {
    Napi::Array out = Napi::Array::New(env, files.size());
    for (size_t i = 0; i < files.size(); ++i) {
      const FileRead& file = files[i];
      if (!file.error && !file.truncated) {
        out.Set(static_cast<uint32_t>(i), file.content);
        continue;
      }
      Napi::Object entry = Napi::Object::New(env);
      if (file.error) {
        entry.Set("errno", file.error.errnum);
        entry.Set("syscall", file.error.syscall);
      } else {
        entry.Set("content", file.content);
        entry.Set("truncated", true);
      }
      out.Set(static_cast<uint32_t>(i), entry);
    }
    return out;
  }

  Napi::Promise::Deferred deferred_;
  std::vector<NamespaceRead> reads_;
  bool single_;
  size_t max_bytes_;
};

bool IsNamespaceHandle(const Napi::Value& value) {
  return value.IsObject() &&
         value.As<Napi::Object>().InstanceOf(
             GetAddonData(value.Env()).namespace_handle.Value());
}

std::string ReadPath(const Napi::Value& value, const char* name) {
  if (!value.IsString()) {
    throw Napi::TypeError::New(value.Env(),
                               std::string("Expected a path for ") + name);
  }
  // Utf8Value keeps embedded NUL bytes: OpenNetnsFile rejects them.
  return value.As<Napi::String>().Utf8Value();
}

}  // namespace

Napi::Function DefineNamespaceHandle(Napi::Env env) {
  Napi::Function constructor = NamespaceHandle::Define(env);
  GetAddonData(env).namespace_handle = Napi::Persistent(constructor);
  return constructor;
}

Napi::Value OpenNamespace(const Napi::CallbackInfo& info) {
  auto* worker = new OpenWorker(info.Env(), ReadPath(info[0], "netns"));
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

namespace {

NamespaceRead ReadRequest(const Napi::Value& where, const Napi::Value& paths) {
  NamespaceRead read;
  if (IsNamespaceHandle(where)) {
    read.socket = UnwrapNamespace(where);
  } else {
    read.path = ReadPath(where, "netns");
  }
  if (!paths.IsArray()) {
    throw Napi::TypeError::New(where.Env(), "Expected an array of file paths");
  }
  Napi::Array list = paths.As<Napi::Array>();
  read.files.resize(list.Length());
  for (uint32_t i = 0; i < list.Length(); ++i) {
    read.files[i].path = ReadPath(list.Get(i), "files");
  }
  return read;
}

size_t MaxBytes(const Napi::Value& value) {
  return value.IsNumber() ? value.As<Napi::Number>().Uint32Value() : 64 * 1024;
}

Napi::Value Start(Napi::Env env, std::vector<NamespaceRead> reads, bool single,
                  size_t max_bytes) {
  auto* worker = new ReadFilesWorker(env, std::move(reads), single, max_bytes);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace

Napi::Value ReadNamespaceFiles(const Napi::CallbackInfo& info) {
  std::vector<NamespaceRead> reads;
  reads.push_back(ReadRequest(info[0], info[1]));
  return Start(info.Env(), std::move(reads), true, MaxBytes(info[2]));
}

Napi::Value ReadNamespacesFiles(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArray()) {
    throw Napi::TypeError::New(env, "Expected an array of [netns, files]");
  }
  Napi::Array list = info[0].As<Napi::Array>();
  std::vector<NamespaceRead> reads;
  reads.reserve(list.Length());
  for (uint32_t i = 0; i < list.Length(); ++i) {
    Napi::Value pair = list.Get(i);
    if (!pair.IsArray() || pair.As<Napi::Array>().Length() != 2) {
      throw Napi::TypeError::New(env, "Expected an array of [netns, files]");
    }
    Napi::Array items = pair.As<Napi::Array>();
    reads.push_back(ReadRequest(items.Get(0u), items.Get(1u)));
  }
  return Start(env, std::move(reads), false, MaxBytes(info[1]));
}

std::shared_ptr<SharedDiagSocket> UnwrapNamespace(const Napi::Value& value) {
  if (!IsNamespaceHandle(value)) {
    throw Napi::TypeError::New(
        value.Env(), "Expected a NamespaceHandle from openNamespace()");
  }
  return NamespaceHandle::Unwrap(value.As<Napi::Object>())->socket();
}

}  // namespace sockdiag
