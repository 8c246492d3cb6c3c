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

class ReadFilesWorker : public Napi::AsyncWorker {
 public:
  ReadFilesWorker(Napi::Env env, std::string path, SharedSocket socket,
                  std::vector<FileRead> files, size_t max_bytes)
      : Napi::AsyncWorker(env, "sockdiag.readNamespaceFiles"),
        deferred_(Napi::Promise::Deferred::New(env)),
        path_(std::move(path)),
        socket_(std::move(socket)),
        files_(std::move(files)),
        max_bytes_(max_bytes) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

  // On a pool thread, which spawns the private thread that changes
  // namespace and waits for it: the pool thread itself never moves.
  void Execute() override {
    LowerPoolThreadPriority();
    auto work = [this] {
      ReadFiles(&files_, max_bytes_);
      return SysError{};
    };
    if (!socket_) {
      error_ = RunInNetns(path_, work);
      return;
    }
    int netns_fd;
    error_ = socket_->NetnsFd(&netns_fd);
    if (error_) return;
    error_ = RunInNetnsFd(netns_fd, work);
    close(netns_fd);
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (error_) {
      deferred_.Reject(SystemError(env, "readNamespaceFiles", error_).Value());
      return;
    }
    Napi::Array out = Napi::Array::New(env, files_.size());
    for (size_t i = 0; i < files_.size(); ++i) {
      const FileRead& file = files_[i];
      Napi::Object entry = Napi::Object::New(env);
      entry.Set("path", file.path);
      if (file.error) {
        entry.Set("errno", file.error.errnum);
        entry.Set("syscall", file.error.syscall);
      } else {
        entry.Set("content", file.content);
        entry.Set("truncated", file.truncated);
      }
      out.Set(static_cast<uint32_t>(i), entry);
    }
    deferred_.Resolve(out);
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::string path_;
  SharedSocket socket_;  // set: follow this socket into its namespace
  std::vector<FileRead> files_;
  size_t max_bytes_;
  SysError error_;
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

Napi::Value ReadNamespaceFiles(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  SharedSocket socket;
  if (IsNamespaceHandle(info[0])) {
    socket = UnwrapNamespace(info[0]);
  } else {
    path = ReadPath(info[0], "netns");
  }
  if (!info[1].IsArray()) {
    throw Napi::TypeError::New(env, "Expected an array of file paths");
  }
  Napi::Array list = info[1].As<Napi::Array>();
  std::vector<FileRead> files(list.Length());
  for (uint32_t i = 0; i < list.Length(); ++i) {
    files[i].path = ReadPath(list.Get(i), "files");
  }
  size_t max_bytes =
      info[2].IsNumber() ? info[2].As<Napi::Number>().Uint32Value() : 64 * 1024;
  auto* worker = new ReadFilesWorker(env, std::move(path), std::move(socket),
                                     std::move(files), max_bytes);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

std::shared_ptr<SharedDiagSocket> UnwrapNamespace(const Napi::Value& value) {
  if (!IsNamespaceHandle(value)) {
    throw Napi::TypeError::New(
        value.Env(), "Expected a NamespaceHandle from openNamespace()");
  }
  return NamespaceHandle::Unwrap(value.As<Napi::Object>())->socket();
}

}  // namespace sockdiag
