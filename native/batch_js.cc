#include "batch_js.h"

#include <cstdint>

#include "addon_data.h"
#include "parser.h"

namespace sockdiag {
namespace {

// The typed array JavaScript gets for a column of C type T.
template <typename T>
constexpr const char* ArrayName();
template <>
constexpr const char* ArrayName<uint8_t>() {
  return "Uint8Array";
}
template <>
constexpr const char* ArrayName<uint16_t>() {
  return "Uint16Array";
}
template <>
constexpr const char* ArrayName<uint32_t>() {
  return "Uint32Array";
}
template <>
constexpr const char* ArrayName<uint64_t>() {
  return "BigUint64Array";
}
template <>
constexpr const char* ArrayName<double>() {
  return "Float64Array";
}

const char* GroupName(ColumnGroup group) {
  switch (group) {
    case kGroupBase:
      return "base";
    case kGroupInfo:
      return "info";
    case kGroupSkmem:
      return "skmem";
    case kGroupMeminfo:
      return "meminfo";
  }
  return "unknown";
}

template <typename T>
Napi::Value View(Napi::Env env, Napi::ArrayBuffer storage, const T* column,
                 size_t length) {
  size_t offset = reinterpret_cast<const uint8_t*>(column) -
                  static_cast<const uint8_t*>(storage.Data());
  return Napi::TypedArrayOf<T>::New(env, length, storage, offset);
}

}  // namespace

Napi::ArrayBuffer AllocateBatch(Napi::Env env, uint32_t capacity,
                                uint8_t groups, uint64_t columns,
                                Batch* batch) {
  size_t bytes = BatchBytes(capacity, groups, columns);
  // ArrayBuffer::New zero-fills its memory.
  Napi::ArrayBuffer storage = Napi::ArrayBuffer::New(env, bytes);
  BindBatch(static_cast<uint8_t*>(storage.Data()), capacity, groups, batch,
            columns);
  return storage;
}

Napi::ArrayBuffer TakeBatch(Napi::Env env, uint32_t capacity, uint8_t groups,
                            uint64_t columns, Batch* batch) {
  const size_t bytes = BatchBytes(capacity, groups, columns);
  AddonData& data = GetAddonData(env);
  auto& pool = data.batch_pool;
  for (size_t i = pool.size(); i-- > 0;) {
    if (pool[i].bytes != bytes) continue;
    Napi::ArrayBuffer storage = pool[i].storage.Value();
    data.pooled_bytes -= bytes;
    pool.erase(pool.begin() + static_cast<std::ptrdiff_t>(i));
    BindBatch(static_cast<uint8_t*>(storage.Data()), capacity, groups, batch,
              columns);
    return storage;
  }
  return AllocateBatch(env, capacity, groups, columns, batch);
}

void PoolBatch(Napi::Env env, Napi::ArrayBuffer storage) {
  AddonData& data = GetAddonData(env);
  const size_t bytes = storage.ByteLength();
  // A detached buffer has no bytes; one past the cap goes to the collector.
  if (bytes == 0 || data.pooled_bytes + bytes > kMaxPooledBytes) return;
  const void* address = storage.Data();
  for (const auto& pooled : data.batch_pool) {
    if (pooled.data == address) return;  // recycled twice
  }
  data.batch_pool.push_back({bytes, address, Napi::Persistent(storage)});
  data.pooled_bytes += bytes;
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

Napi::Array ColumnList(Napi::Env env) {
  Napi::Array list = Napi::Array::New(env);
  uint32_t index = 0;
#define SOCKDIAG_LIST_COLUMN(name, type, width, group) \
  {                                                    \
    Napi::Object column = Napi::Object::New(env);      \
    column.Set("name", #name);                         \
    column.Set("array", ArrayName<type>());            \
    column.Set("width", width);                        \
    column.Set("group", GroupName(group));             \
    list.Set(index++, column);                         \
  }
  SOCKDIAG_COLUMNS(SOCKDIAG_LIST_COLUMN)
#undef SOCKDIAG_LIST_COLUMN
  return list;
}

Napi::Object TcpInfoFieldEnds(Napi::Env env) {
  Napi::Object ends = Napi::Object::New(env);
  for (size_t i = 0; i < kTcpInfoFieldEndCount; ++i) {
    const auto& field = kTcpInfoFieldEnds[i];
    ends.Set(field.column, Napi::Number::New(env, field.end));
  }
  return ends;
}

}  // namespace sockdiag
