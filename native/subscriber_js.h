// The JavaScript face of the destroy-event subscriber: `new Subscriber(p)`,
// `ready()` (resolves when the socket is bound), `next()` (a promise for the
// next batch, null after close()), `stats()`, `close()`.
#ifndef SOCKDIAG_NATIVE_SUBSCRIBER_JS_H_
#define SOCKDIAG_NATIVE_SUBSCRIBER_JS_H_

#include <napi.h>

namespace sockdiag {

Napi::Function DefineSubscriber(Napi::Env env);

}  // namespace sockdiag

#endif  // SOCKDIAG_NATIVE_SUBSCRIBER_JS_H_
