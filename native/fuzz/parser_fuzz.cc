// libFuzzer target for the pure parser (scripts/fuzz.sh builds and runs it).
//
// Input: a 6-byte preamble choosing the parse options, then the bytes handed
// to ParseMessages as if they were received datagrams:
//   byte 0   bit 0: legacy row type (TCPDIAG_GETSOCK, 18) instead of 20
//            bits 1-2: protocol 6, 17, 262 (MPTCP: INFO is not tcp_info), 6
//            bits 3-5: bound column groups (kGroupInfo|Skmem|Meminfo)
//            bit 6: protocol_from_attribute (socket-destroy events)
//            bit 7: the chunked pass binds only some columns (a mask mixed
//                   from the whole preamble), as a scan that reads half of
//                   them does
//   byte 1   batch capacity 1..64 rows, small so that kBatchFull is common
//   2..5     expected nlmsg_seq, little endian (the seeds carry their own)
//
// Each input is parsed twice: in chunks, as DumpSession does (a batch that
// fills up is handed back and parsing resumes at result.offset with a fresh
// batch over the same, reused storage), and in one pass into a batch large
// enough for every row. Both must agree on every row and on how the stream
// ended: chunking must never change what is parsed. Storage for the chunked
// pass starts out dirty, so a column the parser forgets to reset per row
// shows up as a difference. The one pass binds every column; rows are
// compared over the chunked pass's columns, so leaving columns out must not
// change the others either.
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "../columns.h"
#include "../parser.h"
#include "../uapi/sock_diag_abi.h"

namespace {

using sockdiag::Batch;
// The column list names its groups unqualified.
using sockdiag::kGroupBase;
using sockdiag::kGroupInfo;
using sockdiag::kGroupMeminfo;
using sockdiag::kGroupSkmem;
using sockdiag::ParseOptions;
using sockdiag::ParseResult;
using sockdiag::ParseStatus;

constexpr size_t kPreambleBytes = 6;
constexpr uint32_t kMaxChunkRows = 64;
// The smallest row message: nlmsghdr + inet_diag_msg. A one-pass batch of
// length / kMinRowBytes + 1 rows can never fill up.
constexpr size_t kMinRowBytes =
    sizeof(sockdiag::abi::NlMsgHdr) + sizeof(sockdiag::abi::InetDiagMsg);

#define FUZZ_CHECK(condition)                                         \
  do {                                                                \
    if (!(condition)) {                                               \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, \
                   __LINE__, #condition);                             \
      std::abort();                                                   \
    }                                                                 \
  } while (0)

struct Config {
  ParseOptions options;
  uint8_t groups = 0;
  uint64_t columns = sockdiag::kAllColumns;  // bound in the chunked pass
  uint32_t capacity = 1;
};

// splitmix64's finaliser: every preamble bit moves about half the mask.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15u;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
  return x ^ (x >> 31);
}

Config ReadPreamble(const uint8_t* data) {
  static const uint16_t kProtocols[] = {6, 17, 262, 6};
  Config config;
  config.options.row_type = (data[0] & 1) != 0
                                ? sockdiag::abi::kTcpDiagGetSock
                                : sockdiag::abi::kSockDiagByFamily;
  config.options.protocol = kProtocols[(data[0] >> 1) & 3];
  config.groups = static_cast<uint8_t>((data[0] >> 3) & 7);
  config.options.protocol_from_attribute = (data[0] & 0x40) != 0;
  config.capacity = 1 + data[1] % kMaxChunkRows;
  config.options.expected_seq = static_cast<uint32_t>(data[2]) |
                                static_cast<uint32_t>(data[3]) << 8 |
                                static_cast<uint32_t>(data[4]) << 16 |
                                static_cast<uint32_t>(data[5]) << 24;
  if ((data[0] & 0x80) != 0) {
    uint64_t seed = 0;
    for (size_t i = 0; i < kPreambleBytes; ++i) seed = seed << 8 | data[i];
    config.columns =
        (Mix(seed) & sockdiag::kAllColumns) | sockdiag::kRequiredColumns;
  }
  return config;
}

// Appends the bytes of every bound column of `row`, so that rows from two
// batches can be compared with one memcmp.
void AppendRow(const Batch& batch, uint32_t row, uint64_t columns,
               std::vector<uint8_t>* out) {
#define FUZZ_APPEND_COLUMN(name, type, width, group)                \
  if (batch.name != nullptr &&                                      \
      (columns & sockdiag::ColumnBit(sockdiag::kColumn_##name))) {  \
    const auto* first = reinterpret_cast<const uint8_t*>(           \
        batch.name + static_cast<size_t>(row) * (width));           \
    out->insert(out->end(), first, first + sizeof(type) * (width)); \
  }
  SOCKDIAG_COLUMNS(FUZZ_APPEND_COLUMN)
#undef FUZZ_APPEND_COLUMN
}

// Per-row facts that hold whatever the input was.
void CheckRows(const Batch& batch, const Config& config) {
  FUZZ_CHECK(batch.count <= batch.capacity);
  for (uint32_t row = 0; row < batch.count; ++row) {
    // From the request, or from the row's own u8 INET_DIAG_PROTOCOL.
    if (batch.protocol == nullptr) {
      FUZZ_CHECK((batch.columns &
                  sockdiag::ColumnBit(sockdiag::kColumn_protocol)) == 0);
    } else if (config.options.protocol_from_attribute) {
      FUZZ_CHECK(batch.protocol[row] == config.options.protocol ||
                 batch.protocol[row] <= 0xff);
    } else {
      FUZZ_CHECK(batch.protocol[row] == config.options.protocol);
    }
    // tcp_info only ever lands in TCP rows.
    if (batch.tcpInfoLength != nullptr && batch.protocol != nullptr &&
        batch.protocol[row] != 6) {
      FUZZ_CHECK(batch.tcpInfoLength[row] == 0);
    }
    if (batch.skmemLength != nullptr) {
      FUZZ_CHECK(batch.skmemLength[row] <= sockdiag::abi::kSkMeminfoVars);
    }
    if (batch.meminfoLength != nullptr) {
      FUZZ_CHECK(batch.meminfoLength[row] <= 4);
    }
  }
}

// What the result says about itself, given `remaining` input bytes.
void CheckResult(const ParseResult& result, size_t remaining,
                 const Batch& batch) {
  FUZZ_CHECK(result.offset <= remaining);
  FUZZ_CHECK(result.detail != nullptr);
  switch (result.status) {
    case ParseStatus::kContinue:
      FUZZ_CHECK(result.offset == remaining);
      FUZZ_CHECK(result.errnum == 0);
      break;
    case ParseStatus::kBatchFull:
      // Stopped in front of a row that did not fit, with at least one row
      // parsed into the fresh batch: the caller always makes progress.
      FUZZ_CHECK(batch.Full());
      FUZZ_CHECK(result.offset > 0);
      FUZZ_CHECK(result.offset + sizeof(sockdiag::abi::NlMsgHdr) <= remaining);
      break;
    case ParseStatus::kDone:
      FUZZ_CHECK(result.errnum == 0);
      break;
    case ParseStatus::kKernelError:
      FUZZ_CHECK(result.errnum > 0);
      FUZZ_CHECK(result.detail[0] != '\0');
      break;
    case ParseStatus::kMalformed:
      FUZZ_CHECK(result.errnum == EBADMSG);
      FUZZ_CHECK(result.detail[0] != '\0');
      break;
  }
}

struct Pass {
  ParseResult last;           // the result that ended the pass
  size_t consumed = 0;        // absolute offset where it ended
  uint64_t skipped = 0;       // summed over all calls
  std::vector<uint8_t> rows;  // AppendRow() of every row, in order
  uint32_t row_count = 0;
};

Pass ParseInChunks(const uint8_t* data, size_t length, const Config& config) {
  std::vector<uint8_t> storage(
      sockdiag::BatchBytes(config.capacity, config.groups, config.columns),
      0xa5);
  Pass pass;
  size_t position = 0;
  for (;;) {
    Batch batch;
    sockdiag::BindBatch(storage.data(), config.capacity, config.groups, &batch,
                        config.columns);
    // Exactly the mask's columns of the groups asked for, nothing else.
#define FUZZ_CHECK_BOUND(name, type, width, group)                            \
  FUZZ_CHECK(                                                                 \
      (batch.name != nullptr) ==                                              \
      (((group) == sockdiag::kGroupBase || (config.groups & (group)) != 0) && \
       (config.columns & sockdiag::ColumnBit(sockdiag::kColumn_##name)) !=    \
           0));
    SOCKDIAG_COLUMNS(FUZZ_CHECK_BOUND)
#undef FUZZ_CHECK_BOUND
    size_t remaining = length - position;
    ParseResult result = sockdiag::ParseMessages(data + position, remaining,
                                                 config.options, &batch);
    CheckResult(result, remaining, batch);
    CheckRows(batch, config);
    for (uint32_t row = 0; row < batch.count; ++row) {
      AppendRow(batch, row, config.columns, &pass.rows);
    }
    pass.row_count += batch.count;
    pass.skipped += result.skipped;
    position += result.offset;
    if (result.status != ParseStatus::kBatchFull) {
      pass.last = result;
      pass.consumed = position;
      return pass;
    }
  }
}

Pass ParseInOnePass(const uint8_t* data, size_t length, const Config& config) {
  auto capacity = static_cast<uint32_t>(length / kMinRowBytes + 1);
  std::vector<uint8_t> storage(sockdiag::BatchBytes(capacity, config.groups),
                               0);
  Batch batch;
  sockdiag::BindBatch(storage.data(), capacity, config.groups, &batch);
  Pass pass;
  pass.last = sockdiag::ParseMessages(data, length, config.options, &batch);
  CheckResult(pass.last, length, batch);
  FUZZ_CHECK(pass.last.status != ParseStatus::kBatchFull);
  CheckRows(batch, config);
  for (uint32_t row = 0; row < batch.count; ++row) {
    AppendRow(batch, row, config.columns, &pass.rows);
  }
  pass.row_count = batch.count;
  pass.skipped = pass.last.skipped;
  pass.consumed = pass.last.offset;
  return pass;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < kPreambleBytes) return 0;
  Config config = ReadPreamble(data);
  const uint8_t* stream = data + kPreambleBytes;
  size_t length = size - kPreambleBytes;

  Pass chunked = ParseInChunks(stream, length, config);
  Pass whole = ParseInOnePass(stream, length, config);

  FUZZ_CHECK(chunked.last.status == whole.last.status);
  FUZZ_CHECK(chunked.last.errnum == whole.last.errnum);
  FUZZ_CHECK(std::strcmp(chunked.last.detail, whole.last.detail) == 0);
  FUZZ_CHECK(chunked.consumed == whole.consumed);
  FUZZ_CHECK(chunked.skipped == whole.skipped);
  FUZZ_CHECK(chunked.row_count == whole.row_count);
  FUZZ_CHECK(chunked.rows == whole.rows);
  return 0;
}
