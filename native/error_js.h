// The raw error objects the addon rejects with: errno, syscall, kind and
// detail. src/diag names the errno and writes the advice (Node's shape).
#ifndef SOCKDIAG_NATIVE_ERROR_JS_H_
#define SOCKDIAG_NATIVE_ERROR_JS_H_

#include <napi.h>

#include "netlink.h"

namespace sockdiag {

// kind "system": a failed system call, `what` says what we were doing.
Napi::Error SystemError(Napi::Env env, const char* what, const SysError& error);

}  // namespace sockdiag

#endif  // SOCKDIAG_NATIVE_ERROR_JS_H_
