// Registrations only: the work lives in dump_js.cc (Node-API glue),
// session.cc (one dump), netlink.cc (socket I/O) and parser.cc (pure).
#include <napi.h>

#include "dump_js.h"
#include "parser.h"

namespace {

Napi::Object TcpInfoFieldEnds(Napi::Env env) {
  Napi::Object ends = Napi::Object::New(env);
  for (size_t i = 0; i < sockdiag::kTcpInfoFieldEndCount; ++i) {
    const auto& field = sockdiag::kTcpInfoFieldEnds[i];
    ends.Set(field.column, Napi::Number::New(env, field.end));
  }
  return ends;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Dump", sockdiag::DefineDump(env));
  exports.Set("parse", Napi::Function::New(env, sockdiag::ParseBytes, "parse"));
  exports.Set("tcpInfoFieldEnds", TcpInfoFieldEnds(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(sockdiag, Init)
