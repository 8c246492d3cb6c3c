// Batch storage as a JavaScript ArrayBuffer, and the typed-array views over
// it. Main thread only.
#ifndef SOCKDIAG_NATIVE_BATCH_JS_H_
#define SOCKDIAG_NATIVE_BATCH_JS_H_

#include <napi.h>

#include "columns.h"

namespace sockdiag {

// Allocates a zero-filled ArrayBuffer for `capacity` rows and binds `batch`
// to it. The worker thread writes through `batch` while JavaScript cannot
// see the buffer yet; the caller keeps a reference until then.
Napi::ArrayBuffer AllocateBatch(Napi::Env env, uint32_t capacity,
                                uint8_t groups, uint64_t columns, Batch* batch);

// A buffer of exactly BatchBytes(capacity, groups, columns) from the
// environment's pool when one is there (not zero-filled: the parser writes
// every column of every row it reports), else AllocateBatch(); `batch` is bound
// to it.
Napi::ArrayBuffer TakeBatch(Napi::Env env, uint32_t capacity, uint8_t groups,
                            uint64_t columns, Batch* batch);

// Hands a batch buffer back to the pool (JavaScript is done with its views),
// unless the pool already holds kMaxPooledBytes.
void PoolBatch(Napi::Env env, Napi::ArrayBuffer storage);

// About a scrape's worth: the listeners, two parts of the TCP table with
// three batches each in flight, UDP.
constexpr size_t kMaxPooledBytes = 8u << 20;

// { count, columns: { family: Uint8Array, ... } } over `storage`, each view
// `batch.count` rows long.
Napi::Object BatchToJs(Napi::Env env, Napi::ArrayBuffer storage,
                       const Batch& batch);

// The column list of native/columns.h as JavaScript sees it, in layout
// order: [{ name, array: 'Uint32Array', width, group: 'base' }, ...]. Tests
// hold the TypeScript column list against it.
Napi::Array ColumnList(Napi::Env env);

// { rtt: 72, ... }: where each exported tcp_info field ends (parser.h).
Napi::Object TcpInfoFieldEnds(Napi::Env env);

}  // namespace sockdiag

#endif  // SOCKDIAG_NATIVE_BATCH_JS_H_
