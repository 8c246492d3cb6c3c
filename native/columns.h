// The per-socket columns handed to JavaScript: one typed array per field,
// all views of one buffer per batch (struct of arrays, never an object per
// socket). The list below is the single definition of the layout; the parser
// writes through Batch pointers, addon code turns the same list into views.
#ifndef SOCKDIAG_NATIVE_COLUMNS_H_
#define SOCKDIAG_NATIVE_COLUMNS_H_

#include <cstddef>
#include <cstdint>

namespace sockdiag {

// Optional column groups, filled only when the matching extension was asked
// for; absent groups take no space in the batch buffer.
enum ColumnGroup : uint8_t {
  kGroupBase = 0,     // always present
  kGroupInfo = 1,     // tcp_info fields (INET_DIAG_INFO)
  kGroupSkmem = 2,    // INET_DIAG_SKMEMINFO
  kGroupMeminfo = 4,  // INET_DIAG_MEMINFO
};

// X(name, C type, values per row, group). 64-bit byte and rate counters are
// doubles: JavaScript sums them without BigInt, exact up to 2^53.
#define SOCKDIAG_COLUMNS(X)                   \
  X(family, uint8_t, 1, kGroupBase)           \
  X(protocol, uint16_t, 1, kGroupBase)        \
  X(state, uint8_t, 1, kGroupBase)            \
  X(timer, uint8_t, 1, kGroupBase)            \
  X(retransmits, uint8_t, 1, kGroupBase)      \
  X(shutdown, uint8_t, 1, kGroupBase)         \
  X(expires, uint32_t, 1, kGroupBase)         \
  X(receiveQueue, uint32_t, 1, kGroupBase)    \
  X(sendQueue, uint32_t, 1, kGroupBase)       \
  X(uid, uint32_t, 1, kGroupBase)             \
  X(inode, uint32_t, 1, kGroupBase)           \
  X(interfaceIndex, uint32_t, 1, kGroupBase)  \
  X(cookie, uint64_t, 1, kGroupBase)          \
  X(cgroupId, uint64_t, 1, kGroupBase)        \
  X(localAddress, uint8_t, 16, kGroupBase)    \
  X(remoteAddress, uint8_t, 16, kGroupBase)   \
  X(localPort, uint16_t, 1, kGroupBase)       \
  X(remotePort, uint16_t, 1, kGroupBase)      \
  X(tcpInfoLength, uint16_t, 1, kGroupInfo)   \
  X(rtt, uint32_t, 1, kGroupInfo)             \
  X(rttVar, uint32_t, 1, kGroupInfo)          \
  X(minRtt, uint32_t, 1, kGroupInfo)          \
  X(rto, uint32_t, 1, kGroupInfo)             \
  X(sndCwnd, uint32_t, 1, kGroupInfo)         \
  X(infoRetransmits, uint8_t, 1, kGroupInfo)  \
  X(probes, uint8_t, 1, kGroupInfo)           \
  X(backoff, uint8_t, 1, kGroupInfo)          \
  X(infoOptions, uint8_t, 1, kGroupInfo)      \
  X(totalRetrans, uint32_t, 1, kGroupInfo)    \
  X(lost, uint32_t, 1, kGroupInfo)            \
  X(unacked, uint32_t, 1, kGroupInfo)         \
  X(lastDataSent, uint32_t, 1, kGroupInfo)    \
  X(lastDataRecv, uint32_t, 1, kGroupInfo)    \
  X(lastAckRecv, uint32_t, 1, kGroupInfo)     \
  X(notsentBytes, uint32_t, 1, kGroupInfo)    \
  X(segsOut, uint32_t, 1, kGroupInfo)         \
  X(segsIn, uint32_t, 1, kGroupInfo)          \
  X(bytesAcked, double, 1, kGroupInfo)        \
  X(bytesReceived, double, 1, kGroupInfo)     \
  X(bytesSent, double, 1, kGroupInfo)         \
  X(bytesRetrans, double, 1, kGroupInfo)      \
  X(deliveryRate, double, 1, kGroupInfo)      \
  X(pacingRate, double, 1, kGroupInfo)        \
  X(skmemLength, uint8_t, 1, kGroupSkmem)     \
  X(skmem, uint32_t, 9, kGroupSkmem)          \
  X(meminfoLength, uint8_t, 1, kGroupMeminfo) \
  X(meminfo, uint32_t, 4, kGroupMeminfo)

// Each column's position in the list above: bit (1 << index) of a column
// mask. JavaScript numbers the same list the same way (src/diag/columns.ts).
enum ColumnIndex : uint8_t {
#define SOCKDIAG_COLUMN_INDEX(name, type, width, group) kColumn_##name,
  SOCKDIAG_COLUMNS(SOCKDIAG_COLUMN_INDEX)
#undef SOCKDIAG_COLUMN_INDEX
      kColumnCount
};
static_assert(kColumnCount <= 53, "a column mask must fit a JavaScript number");

constexpr uint64_t ColumnBit(ColumnIndex index) { return uint64_t{1} << index; }
constexpr uint64_t kAllColumns = (uint64_t{1} << kColumnCount) - 1;
// Always bound, whatever the mask says: the parser writes it unguarded and
// JavaScript finds a batch's buffer through it.
constexpr uint64_t kRequiredColumns = ColumnBit(kColumn_family);

// Raw pointers into storage owned by the caller (a JavaScript ArrayBuffer in
// the addon, a std::vector in tests and the fuzzer). Pointers of groups that
// were not asked for are null, and so are those a column mask leaves out:
// the parser skips them (a scan that reads half the columns writes half the
// bytes per row).
struct Batch {
#define SOCKDIAG_DECLARE_COLUMN(name, type, width, group) type* name = nullptr;
  SOCKDIAG_COLUMNS(SOCKDIAG_DECLARE_COLUMN)
#undef SOCKDIAG_DECLARE_COLUMN
  uint32_t capacity = 0;
  uint32_t count = 0;
  uint8_t groups = kGroupBase;
  uint64_t columns = kAllColumns;

  bool Full() const { return count >= capacity; }
};

// Bytes needed for `capacity` rows of the given groups and columns (mask
// bits, kRequiredColumns always in), each column starting on an 8-byte
// boundary so that every typed-array view is aligned.
size_t BatchBytes(uint32_t capacity, uint8_t groups,
                  uint64_t columns = kAllColumns);

// Points `batch` into `storage` (BatchBytes() long, zero-filled by the
// caller) with the same layout BatchBytes() measured.
void BindBatch(uint8_t* storage, uint32_t capacity, uint8_t groups,
               Batch* batch, uint64_t columns = kAllColumns);

// Copies rows [0, to->capacity) of every column `to` has from `from` (same
// groups, at least as many rows): a batch made compact for handing out.
void CopyRows(const Batch& from, Batch* to);

}  // namespace sockdiag

#endif  // SOCKDIAG_NATIVE_COLUMNS_H_
