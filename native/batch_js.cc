#include "batch_js.h"

#include <cstdint>

namespace sockdiag {
namespace {

template <typename T>
Napi::Value View(Napi::Env env, Napi::ArrayBuffer storage, const T* column,
                 size_t length) {
  size_t offset = reinterpret_cast<const uint8_t*>(column) -
                  static_cast<const uint8_t*>(storage.Data());
  return Napi::TypedArrayOf<T>::New(env, length, storage, offset);
}

}  // namespace

Napi::ArrayBuffer AllocateBatch(Napi::Env env, uint32_t capacity,
                                uint8_t groups, Batch* batch) {
  size_t bytes = BatchBytes(capacity, groups);
  // ArrayBuffer::New zero-fills its memory.
  Napi::ArrayBuffer storage = Napi::ArrayBuffer::New(env, bytes);
  BindBatch(static_cast<uint8_t*>(storage.Data()), capacity, groups, batch);
  return storage;
}

Napi::Object BatchToJs(Napi::Env env, Napi::ArrayBuffer storage,
                       const Batch& batch) {
  Napi::Object columns = Napi::Object::New(env);
#define SOCKDIAG_VIEW_COLUMN(name, type, width, group)                   \
  if (batch.name != nullptr) {                                           \
    columns.Set(#name,                                                   \
                View<type>(env, storage, batch.name,                     \
                           static_cast<size_t>(batch.count) * (width))); \
  }
  SOCKDIAG_COLUMNS(SOCKDIAG_VIEW_COLUMN)
#undef SOCKDIAG_VIEW_COLUMN
  Napi::Object result = Napi::Object::New(env);
  result.Set("count", Napi::Number::New(env, batch.count));
  result.Set("columns", columns);
  return result;
}

}  // namespace sockdiag
