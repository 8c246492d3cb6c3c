#include "columns.h"

#include <cstring>

namespace sockdiag {
namespace {

constexpr size_t AlignTo8(size_t offset) { return (offset + 7) & ~size_t{7}; }

bool HasGroup(uint8_t groups, ColumnGroup group) {
  return group == kGroupBase || (groups & group) != 0;
}

bool Bound(uint8_t groups, uint64_t columns, ColumnGroup group,
           ColumnIndex index) {
  return HasGroup(groups, group) &&
         ((columns | kRequiredColumns) & ColumnBit(index)) != 0;
}

}  // namespace

size_t BatchBytes(uint32_t capacity, uint8_t groups, uint64_t columns) {
  size_t total = 0;
#define SOCKDIAG_MEASURE_COLUMN(name, type, width, group)      \
  if (Bound(groups, columns, group, kColumn_##name)) {         \
    total = AlignTo8(total) + sizeof(type) * (width)*capacity; \
  }
  SOCKDIAG_COLUMNS(SOCKDIAG_MEASURE_COLUMN)
#undef SOCKDIAG_MEASURE_COLUMN
  return AlignTo8(total);
}

void BindBatch(uint8_t* storage, uint32_t capacity, uint8_t groups,
               Batch* batch, uint64_t columns) {
  *batch = Batch{};
  batch->capacity = capacity;
  batch->groups = groups;
  batch->columns = (columns | kRequiredColumns) & kAllColumns;
  size_t offset = 0;
#define SOCKDIAG_BIND_COLUMN(name, type, width, group)       \
  if (Bound(groups, columns, group, kColumn_##name)) {       \
    offset = AlignTo8(offset);                               \
    batch->name = reinterpret_cast<type*>(storage + offset); \
    offset += sizeof(type) * (width)*capacity;               \
  }
  SOCKDIAG_COLUMNS(SOCKDIAG_BIND_COLUMN)
#undef SOCKDIAG_BIND_COLUMN
}

void CopyRows(const Batch& from, Batch* to) {
#define SOCKDIAG_COPY_COLUMN(name, type, width, group)                       \
  if (to->name != nullptr && from.name != nullptr) {                         \
    std::memcpy(to->name, from.name,                                         \
                sizeof(type) * (width) * static_cast<size_t>(to->capacity)); \
  }
  SOCKDIAG_COLUMNS(SOCKDIAG_COPY_COLUMN)
#undef SOCKDIAG_COPY_COLUMN
  to->count = to->capacity;
}

}  // namespace sockdiag
