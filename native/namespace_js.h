// The JavaScript face of network namespaces: openNamespace(path) resolves to
// a NamespaceHandle holding one long-lived sock_diag socket created inside
// it (dumps accept it as `namespace`); readNamespaceFiles(path, files) reads
// files from a private thread that joined the namespace, readNamespacesFiles
// those of many namespaces on one thread.
#ifndef SOCKDIAG_NATIVE_NAMESPACE_JS_H_
#define SOCKDIAG_NATIVE_NAMESPACE_JS_H_

#include <napi.h>

#include <memory>

#include "shared_socket.h"

namespace sockdiag {

Napi::Function DefineNamespaceHandle(Napi::Env env);

// openNamespace(path): Promise<NamespaceHandle>.
Napi::Value OpenNamespace(const Napi::CallbackInfo& info);

// readNamespaceFiles(pathOrHandle, files, maxBytes): Promise of, per file,
// its content (a string), { content, truncated: true } or { errno, syscall }.
Napi::Value ReadNamespaceFiles(const Napi::CallbackInfo& info);

// readNamespacesFiles([[pathOrHandle, files], ...], maxBytes): the same for
// many namespaces in one trip: Promise of, per namespace, its files as above
// or the Error that kept the thread out of it.
Napi::Value ReadNamespacesFiles(const Napi::CallbackInfo& info);

// The socket of a NamespaceHandle passed as a dump option; TypeError for
// anything else.
std::shared_ptr<SharedDiagSocket> UnwrapNamespace(const Napi::Value& value);

}  // namespace sockdiag

#endif  // SOCKDIAG_NATIVE_NAMESPACE_JS_H_
