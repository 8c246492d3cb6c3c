#include "error_js.h"

#include <string>

namespace sockdiag {

Napi::Error SystemError(Napi::Env env, const char* what,
                        const SysError& error) {
  Napi::Error out = Napi::Error::New(
      env, std::string(what) +
               " failed: " + (error.detail[0] ? error.detail : error.syscall));
  out.Set("errno", Napi::Number::New(env, error.errnum));
  out.Set("syscall", Napi::String::New(env, error.syscall));
  out.Set("kind", Napi::String::New(env, "system"));
  out.Set("detail", Napi::String::New(env, error.detail));
  return out;
}

}  // namespace sockdiag
