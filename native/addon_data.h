// Per-environment state of the addon (one per Node.js environment, so that
// worker threads each get their own): no globals. Freed by Node-API when the
// environment is torn down.
#ifndef SOCKDIAG_NATIVE_ADDON_DATA_H_
#define SOCKDIAG_NATIVE_ADDON_DATA_H_

#include <napi.h>

#include <cstddef>
#include <vector>

namespace sockdiag {

// A buffer in the pool with its size and address, known without a handle
// (looking each up through its reference cost microseconds per batch).
struct PooledBatch {
  size_t bytes;
  const void* data;
  Napi::Reference<Napi::ArrayBuffer> storage;
};

struct AddonData {
  // new NamespaceHandle(...) from C++, and instanceof checks on options.
  Napi::FunctionReference namespace_handle;
  // Batch buffers handed back by JavaScript (Dump#recycle), shared by every
  // dump of the environment: a scrape's dumps reuse the previous scrape's
  // buffers instead of allocating (and zero-filling, and later collecting)
  // a few MB of ArrayBuffers each time. `pooled_bytes` is their total.
  std::vector<PooledBatch> batch_pool;
  size_t pooled_bytes = 0;
};

inline AddonData& GetAddonData(Napi::Env env) {
  auto* data = env.GetInstanceData<AddonData>();
  if (data == nullptr) {
    data = new AddonData();
    env.SetInstanceData(data);
  }
  return *data;
}

}  // namespace sockdiag

#endif  // SOCKDIAG_NATIVE_ADDON_DATA_H_
