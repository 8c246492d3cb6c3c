// Registrations only: the work lives in dump_js.cc, subscriber_js.cc and
// namespace_js.cc (Node-API glue), session.cc (one dump), subscriber.cc
// (destroy events), shared_socket.cc (a namespace's long-lived socket),
// netns.cc (setns threads), netlink.cc (socket I/O) and parser.cc (pure).
#include <napi.h>

#include "batch_js.h"
#include "dump_js.h"
#include "namespace_js.h"
#include "subscriber_js.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Dump", sockdiag::DefineDump(env));
  exports.Set("parse", Napi::Function::New(env, sockdiag::ParseBytes, "parse"));
  exports.Set("tcpInfoFieldEnds", sockdiag::TcpInfoFieldEnds(env));
  exports.Set("columns", sockdiag::ColumnList(env));
  exports.Set("Subscriber", sockdiag::DefineSubscriber(env));
  exports.Set("NamespaceHandle", sockdiag::DefineNamespaceHandle(env));
  exports.Set("openNamespace", Napi::Function::New(env, sockdiag::OpenNamespace,
                                                   "openNamespace"));
  exports.Set("readNamespaceFiles",
              Napi::Function::New(env, sockdiag::ReadNamespaceFiles,
                                  "readNamespaceFiles"));
  exports.Set("readNamespacesFiles",
              Napi::Function::New(env, sockdiag::ReadNamespacesFiles,
                                  "readNamespacesFiles"));
  return exports;
}

}  // namespace

NODE_API_MODULE(sockdiag, Init)
