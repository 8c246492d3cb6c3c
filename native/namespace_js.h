// The JavaScript face of network namespaces: openNamespace(path) resolves to
// a NamespaceHandle holding one long-lived sock_diag socket created inside
// it (dumps accept it as `namespace`); readNamespaceFiles(path, files) reads
// files from a private thread that joined the namespace.
#ifndef SOCKDIAG_NATIVE_NAMESPACE_JS_H_
#define SOCKDIAG_NATIVE_NAMESPACE_JS_H_

#include <napi.h>

#include <memory>

#include "shared_socket.h"

namespace sockdiag {

Napi::Function DefineNamespaceHandle(Napi::Env env);

// openNamespace(path): Promise<NamespaceHandle>.
Napi::Value OpenNamespace(const Napi::CallbackInfo& info);

// readNamespaceFiles(pathOrHandle, files, maxBytes): Promise of one
// { path, content, truncated } or { path, errno, syscall } per file.
Napi::Value ReadNamespaceFiles(const Napi::CallbackInfo& info);

// The socket of a NamespaceHandle passed as a dump option; TypeError for
// anything else.
std::shared_ptr<SharedDiagSocket> UnwrapNamespace(const Napi::Value& value);

}  // namespace sockdiag

#endif  // SOCKDIAG_NATIVE_NAMESPACE_JS_H_
