// The JavaScript face of one dump: `new Dump(params)`, `dump.next()` (a
// promise for the next batch, or null at the end), `dump.close()`.
#ifndef SOCKDIAG_NATIVE_DUMP_JS_H_
#define SOCKDIAG_NATIVE_DUMP_JS_H_

#include <napi.h>

namespace sockdiag {

Napi::Function DefineDump(Napi::Env env);

// parse(bytes, params): the pure parser run synchronously over captured
// bytes, for fixtures and malformed-input tests.
Napi::Value ParseBytes(const Napi::CallbackInfo& info);

}  // namespace sockdiag

#endif  // SOCKDIAG_NATIVE_DUMP_JS_H_
