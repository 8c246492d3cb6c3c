// Pure parser: netlink sock_diag reply bytes -> Batch columns. No Node-API,
// no syscalls, no allocation on the success path; every length is checked
// against what remains, so malformed input yields an error, never a crash.
#ifndef SOCKDIAG_NATIVE_PARSER_H_
#define SOCKDIAG_NATIVE_PARSER_H_

#include <cstddef>
#include <cstdint>

#include "columns.h"

namespace sockdiag {

struct ParseOptions {
  uint32_t expected_seq = 0;
  // nlmsg_type of the rows: SOCK_DIAG_BY_FAMILY, or TCPDIAG_GETSOCK for the
  // legacy request (the kernel echoes the request's type).
  uint16_t row_type = 20;
  // Rows do not carry their protocol (except RAW); the request does.
  uint16_t protocol = 6;
  // Socket-destroy events mix protocols on one socket and name each row's
  // in INET_DIAG_PROTOCOL: take it from there (`protocol` stays the value
  // for rows without it). Off for dumps, whose RAW rows would otherwise
  // report their socket's protocol (ICMP...) instead of the request's.
  bool protocol_from_attribute = false;
};

enum class ParseStatus {
  kContinue,     // all bytes consumed; the dump goes on in the next datagram
  kBatchFull,    // stopped early at `offset`; resume there with a fresh batch
  kDone,         // NLMSG_DONE carrying 0
  kKernelError,  // NLMSG_DONE < 0 or NLMSG_ERROR: `errnum` is the errno
  kMalformed,    // bytes do not parse: `detail` says why, at `offset`
};

struct ParseResult {
  ParseStatus status = ParseStatus::kContinue;
  size_t offset = 0;        // bytes consumed (start of the offending message)
  int errnum = 0;           // positive errno for kKernelError
  const char* detail = "";  // static string, for kKernelError and kMalformed
  uint32_t skipped = 0;     // messages of another sequence or NLMSG_NOOP
};

// Parses the messages in data[0, length) into `batch`, starting at
// batch->count.
ParseResult ParseMessages(const uint8_t* data, size_t length,
                          const ParseOptions& options, Batch* batch);

// Where each tcp_info field exported as a column ends: a field is valid only
// when the kernel's payload was at least this long (older kernels send less).
struct TcpInfoFieldEnd {
  const char* column;
  uint16_t end;
};
extern const TcpInfoFieldEnd kTcpInfoFieldEnds[];
extern const size_t kTcpInfoFieldEndCount;

}  // namespace sockdiag

#endif  // SOCKDIAG_NATIVE_PARSER_H_
