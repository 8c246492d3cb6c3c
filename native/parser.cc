#include "parser.h"

#include <cassert>
#include <cerrno>
#include <cstring>

#include "uapi/sock_diag_abi.h"

namespace sockdiag {
namespace {

using abi::Align4;

// Fixed-width reads through memcpy: netlink only guarantees 4-byte alignment,
// and 64-bit payloads (tcp_info u64s, CGROUP_ID) arrive 4-byte aligned on x86.
template <typename T>
T Load(const uint8_t* at) {
  T value;
  std::memcpy(&value, at, sizeof(T));
  return value;
}

uint16_t FromBigEndian16(uint16_t value) {
  return static_cast<uint16_t>((value >> 8) | (value << 8));
}

// One tcp_info field, or 0 when the payload does not reach it: shorter
// payloads come from older kernels (104 bytes on <= 3.14), longer ones from
// kernels newer than this file. tcpInfoLength tells JS which fields are real.
template <typename T>
T InfoField(const uint8_t* payload, size_t length, size_t offset) {
  return offset + sizeof(T) <= length ? Load<T>(payload + offset) : T{0};
}

#define SOCKDIAG_TCPI(field)                                \
  InfoField<decltype(abi::TcpInfo::field)>(payload, length, \
                                           offsetof(abi::TcpInfo, field))

// Stores `value` in a column the batch has; a column mask may leave any
// column but family out, and the branch is the same for every row.
#define SOCKDIAG_PUT(column, value) \
  if (batch->column != nullptr) batch->column[row] = (value)

// Reads only the exported fields straight from the payload: no zero-filled
// copy of the whole struct per socket (measured: 5% of a dump's CPU).
void StoreTcpInfo(const uint8_t* payload, size_t length, uint32_t row,
                  Batch* batch) {
  SOCKDIAG_PUT(tcpInfoLength,
               static_cast<uint16_t>(length > 0xffff ? 0xffff : length));
  SOCKDIAG_PUT(rtt, SOCKDIAG_TCPI(tcpi_rtt));
  SOCKDIAG_PUT(rttVar, SOCKDIAG_TCPI(tcpi_rttvar));
  SOCKDIAG_PUT(minRtt, SOCKDIAG_TCPI(tcpi_min_rtt));
  SOCKDIAG_PUT(rto, SOCKDIAG_TCPI(tcpi_rto));
  SOCKDIAG_PUT(sndCwnd, SOCKDIAG_TCPI(tcpi_snd_cwnd));
  SOCKDIAG_PUT(infoRetransmits, SOCKDIAG_TCPI(tcpi_retransmits));
  SOCKDIAG_PUT(probes, SOCKDIAG_TCPI(tcpi_probes));
  SOCKDIAG_PUT(backoff, SOCKDIAG_TCPI(tcpi_backoff));
  SOCKDIAG_PUT(infoOptions, SOCKDIAG_TCPI(tcpi_options));
  SOCKDIAG_PUT(totalRetrans, SOCKDIAG_TCPI(tcpi_total_retrans));
  SOCKDIAG_PUT(lost, SOCKDIAG_TCPI(tcpi_lost));
  SOCKDIAG_PUT(unacked, SOCKDIAG_TCPI(tcpi_unacked));
  SOCKDIAG_PUT(lastDataSent, SOCKDIAG_TCPI(tcpi_last_data_sent));
  SOCKDIAG_PUT(lastDataRecv, SOCKDIAG_TCPI(tcpi_last_data_recv));
  SOCKDIAG_PUT(lastAckRecv, SOCKDIAG_TCPI(tcpi_last_ack_recv));
  SOCKDIAG_PUT(notsentBytes, SOCKDIAG_TCPI(tcpi_notsent_bytes));
  SOCKDIAG_PUT(segsOut, SOCKDIAG_TCPI(tcpi_segs_out));
  SOCKDIAG_PUT(segsIn, SOCKDIAG_TCPI(tcpi_segs_in));
  SOCKDIAG_PUT(bytesAcked,
               static_cast<double>(SOCKDIAG_TCPI(tcpi_bytes_acked)));
  SOCKDIAG_PUT(bytesReceived,
               static_cast<double>(SOCKDIAG_TCPI(tcpi_bytes_received)));
  SOCKDIAG_PUT(bytesSent, static_cast<double>(SOCKDIAG_TCPI(tcpi_bytes_sent)));
  SOCKDIAG_PUT(bytesRetrans,
               static_cast<double>(SOCKDIAG_TCPI(tcpi_bytes_retrans)));
  SOCKDIAG_PUT(deliveryRate,
               static_cast<double>(SOCKDIAG_TCPI(tcpi_delivery_rate)));
  SOCKDIAG_PUT(pacingRate,
               static_cast<double>(SOCKDIAG_TCPI(tcpi_pacing_rate)));
}

#undef SOCKDIAG_TCPI

void StoreU32Array(const uint8_t* payload, size_t length, size_t width,
                   uint32_t row, uint32_t* column, uint8_t* count_column) {
  size_t count = length / sizeof(uint32_t);
  if (count > width) count = width;  // newer kernels may append values
  if (column != nullptr) {
    uint32_t* out = column + static_cast<size_t>(row) * width;
    std::memcpy(out, payload, count * sizeof(uint32_t));
    // Older kernels send fewer (8 skmem values before DROPS): clear the
    // rest, the batch storage may hold a previous batch's row.
    std::memset(out + count, 0, (width - count) * sizeof(uint32_t));
  }
  if (count_column != nullptr) count_column[row] = static_cast<uint8_t>(count);
}

// Whether a group's columns are bound at all (a mask may keep only some).
bool HasSkmem(const Batch& batch) {
  return batch.skmem != nullptr || batch.skmemLength != nullptr;
}
bool HasMeminfo(const Batch& batch) {
  return batch.meminfo != nullptr || batch.meminfoLength != nullptr;
}

struct RowOutcome {
  bool ok;
  const char* detail;
};

// INET_DIAG_CGROUP_ID is a u64 (5.8+). Any other length is not something a
// kernel sends: rather than guess at its meaning the row keeps cgroupId 0,
// which already means "unknown" (older kernels, cgroup v1 only, TIME_WAIT
// and SYN_RECV rows), and the rest of the row still parses.
void StoreCgroupId(const uint8_t* payload, size_t length, uint32_t row,
                   Batch* batch) {
  if (length == sizeof(uint64_t) && batch->cgroupId != nullptr)
    batch->cgroupId[row] = Load<uint64_t>(payload);
}

// Sets `filled` bits (ColumnGroup) for the optional groups a row carried.
// `protocol` is the row's: the request's, or its INET_DIAG_PROTOCOL.
RowOutcome ParseAttributes(const uint8_t* at, size_t remaining, uint32_t row,
                           const ParseOptions& options, Batch* batch,
                           uint16_t* protocol, uint8_t* filled) {
  // INFO is stored after the loop: whether it is tcp_info depends on the
  // row's protocol, which an INET_DIAG_PROTOCOL anywhere in the row may set.
  const uint8_t* info = nullptr;
  size_t info_length = 0;
  while (remaining > 0) {
    if (remaining < sizeof(abi::RtAttr)) {
      return {false, "attribute header truncated"};
    }
    auto attribute = Load<abi::RtAttr>(at);
    if (attribute.rta_len < sizeof(abi::RtAttr)) {
      return {false, "attribute length shorter than its header"};
    }
    if (attribute.rta_len > remaining) {
      return {false, "attribute length runs past the message"};
    }
    const uint8_t* payload = at + sizeof(abi::RtAttr);
    size_t payload_length = attribute.rta_len - sizeof(abi::RtAttr);
    switch (attribute.rta_type & abi::kNlaTypeMask) {
      case abi::kInetDiagInfo:
        info = payload;
        info_length = payload_length;
        break;
      case abi::kInetDiagSkmeminfo:
        if (HasSkmem(*batch)) {
          StoreU32Array(payload, payload_length, abi::kSkMeminfoVars, row,
                        batch->skmem, batch->skmemLength);
          *filled |= kGroupSkmem;
        }
        break;
      case abi::kInetDiagMeminfo:
        if (HasMeminfo(*batch)) {
          StoreU32Array(payload, payload_length, 4, row, batch->meminfo,
                        batch->meminfoLength);
          *filled |= kGroupMeminfo;
        }
        break;
      case abi::kInetDiagShutdown:
        if (payload_length >= 1) SOCKDIAG_PUT(shutdown, payload[0]);
        break;
      case abi::kInetDiagCgroupId:
        StoreCgroupId(payload, payload_length, row, batch);
        break;
      case abi::kInetDiagProtocol:
        if (options.protocol_from_attribute && payload_length >= 1) {
          *protocol = payload[0];
        }
        break;
      default:
        break;  // unknown or unused attributes: new ones appear over time
    }
    size_t advance = Align4(attribute.rta_len);
    // The last attribute's padding may be missing from the message; never
    // form a pointer past the end.
    if (advance >= remaining) break;
    remaining -= advance;
    at += advance;
  }
  // MPTCP and SCTP send their own info structs as INFO; only TCP's is
  // tcp_info. The protocol column tells JS which one it was.
  if (info != nullptr && (batch->groups & kGroupInfo) != 0 && *protocol == 6) {
    StoreTcpInfo(info, info_length, row, batch);
    *filled |= kGroupInfo;
  }
  return {true, ""};
}

#define SOCKDIAG_MSG(field)                         \
  Load<decltype(abi::InetDiagMsg::field)>(payload + \
                                          offsetof(abi::InetDiagMsg, field))
#define SOCKDIAG_ID(field)                    \
  Load<decltype(abi::InetDiagSockId::field)>( \
      id + offsetof(abi::InetDiagSockId, field))

RowOutcome ParseRow(const uint8_t* payload, size_t length,
                    const ParseOptions& options, Batch* batch) {
  if (length < sizeof(abi::InetDiagMsg)) {
    return {false, "inet_diag_msg shorter than 72 bytes"};
  }
  // Each field is read from the datagram where it lies. A copy of the whole
  // struct on the stack, read back in 16-byte pieces that straddle the
  // copy's own stores, cannot be forwarded from the store buffer: every row
  // then waited for all its earlier column stores to reach the cache
  // (measured: two thirds of the parser's time on that one load).
  const uint8_t* id = payload + offsetof(abi::InetDiagMsg, id);
  uint32_t row = batch->count;
  assert(row < batch->capacity);
  batch->family[row] =
      payload[offsetof(abi::InetDiagMsg, idiag_family)];  // always bound
  // NEW_SYN_RECV request sockets are already reported as SYN_RECV (3).
  SOCKDIAG_PUT(state, payload[offsetof(abi::InetDiagMsg, idiag_state)]);
  SOCKDIAG_PUT(timer, payload[offsetof(abi::InetDiagMsg, idiag_timer)]);
  SOCKDIAG_PUT(retransmits, payload[offsetof(abi::InetDiagMsg, idiag_retrans)]);
  SOCKDIAG_PUT(shutdown, 0);
  SOCKDIAG_PUT(expires, SOCKDIAG_MSG(idiag_expires));
  SOCKDIAG_PUT(receiveQueue, SOCKDIAG_MSG(idiag_rqueue));
  SOCKDIAG_PUT(sendQueue, SOCKDIAG_MSG(idiag_wqueue));
  SOCKDIAG_PUT(uid, SOCKDIAG_MSG(idiag_uid));
  SOCKDIAG_PUT(inode, SOCKDIAG_MSG(idiag_inode));
  SOCKDIAG_PUT(interfaceIndex, SOCKDIAG_ID(idiag_if));
  // idiag_cookie is two u32 words, low word first: one u64 on little-endian
  // hosts, put together word by word on big-endian ones.
  SOCKDIAG_PUT(cookie,
               static_cast<uint64_t>(Load<uint32_t>(
                   id + offsetof(abi::InetDiagSockId, idiag_cookie))) |
                   (static_cast<uint64_t>(Load<uint32_t>(
                        id + offsetof(abi::InetDiagSockId, idiag_cookie) + 4))
                    << 32));
  SOCKDIAG_PUT(cgroupId, 0);
  if (batch->localAddress != nullptr) {
    std::memcpy(batch->localAddress + static_cast<size_t>(row) * 16,
                id + offsetof(abi::InetDiagSockId, idiag_src), 16);
  }
  if (batch->remoteAddress != nullptr) {
    std::memcpy(batch->remoteAddress + static_cast<size_t>(row) * 16,
                id + offsetof(abi::InetDiagSockId, idiag_dst), 16);
  }
  SOCKDIAG_PUT(localPort, FromBigEndian16(SOCKDIAG_ID(idiag_sport)));
  SOCKDIAG_PUT(remotePort, FromBigEndian16(SOCKDIAG_ID(idiag_dport)));
  size_t header = Align4(sizeof(abi::InetDiagMsg));
  uint8_t filled = 0;
  uint16_t protocol = options.protocol;
  RowOutcome outcome = ParseAttributes(payload + header, length - header, row,
                                       options, batch, &protocol, &filled);
  SOCKDIAG_PUT(protocol, protocol);
  // Groups the row did not carry (TIME_WAIT rows carry none) are cleared:
  // batch storage is reused, so a previous batch's row may be underneath.
  uint8_t missing = static_cast<uint8_t>(batch->groups & ~filled);
  if (missing & kGroupInfo) StoreTcpInfo(payload, 0, row, batch);
  if (missing & kGroupSkmem) {
    StoreU32Array(payload, 0, abi::kSkMeminfoVars, row, batch->skmem,
                  batch->skmemLength);
  }
  if (missing & kGroupMeminfo) {
    StoreU32Array(payload, 0, 4, row, batch->meminfo, batch->meminfoLength);
  }
  if (outcome.ok) batch->count++;
  return outcome;
}

#undef SOCKDIAG_MSG
#undef SOCKDIAG_ID

// Kernel error codes are -1..-MAX_ERRNO (include/linux/err.h). Anything
// else is not an errno, and negating INT32_MIN would overflow (found by the
// fuzzer).
constexpr int32_t kMaxErrno = 4095;

bool IsErrnoRange(int32_t code) {
  return code >= -kMaxErrno && code <= kMaxErrno;
}

ParseResult Fail(ParseStatus status, size_t offset, const char* detail,
                 int errnum, uint32_t skipped) {
  ParseResult result;
  result.status = status;
  result.offset = offset;
  result.detail = detail;
  result.errnum = errnum;
  result.skipped = skipped;
  return result;
}

// NLMSG_DONE carries an int (nlk->dump_done_errno): 0 on success, -errno when
// the dump failed, e.g. -ENOENT for a protocol the kernel was built without.
// A DONE without payload (very old kernels) means success.
ParseResult ParseDone(const uint8_t* payload, size_t length, size_t offset,
                      uint32_t skipped) {
  if (length >= sizeof(int32_t)) {
    int32_t code = Load<int32_t>(payload);
    if (!IsErrnoRange(code)) {
      return Fail(ParseStatus::kMalformed, offset,
                  "NLMSG_DONE carries a code that is not an errno", EBADMSG,
                  skipped);
    }
    if (code < 0) {
      return Fail(ParseStatus::kKernelError, offset,
                  "the kernel ended the dump with an error", -code, skipped);
    }
  }
  ParseResult result;
  result.status = ParseStatus::kDone;
  result.offset = offset;
  result.skipped = skipped;
  return result;
}

// NLMSG_ERROR: struct nlmsgerr { int error; struct nlmsghdr msg; ... }.
ParseResult ParseError(const uint8_t* payload, size_t length, size_t offset,
                       uint32_t skipped) {
  if (length < sizeof(int32_t)) {
    return Fail(ParseStatus::kMalformed, offset,
                "NLMSG_ERROR shorter than its error code", EBADMSG, skipped);
  }
  int32_t code = Load<int32_t>(payload);
  if (!IsErrnoRange(code)) {
    return Fail(ParseStatus::kMalformed, offset,
                "NLMSG_ERROR carries a code that is not an errno", EBADMSG,
                skipped);
  }
  if (code == 0) {
    // An ACK, which a dump request does not ask for: treat as the end.
    return ParseDone(payload, 0, offset, skipped);
  }
  return Fail(ParseStatus::kKernelError, offset,
              "the kernel rejected the dump request", code < 0 ? -code : code,
              skipped);
}

}  // namespace

#undef SOCKDIAG_PUT

ParseResult ParseMessages(const uint8_t* data, size_t length,
                          const ParseOptions& options, Batch* batch) {
  size_t offset = 0;
  uint32_t skipped = 0;
  while (offset < length) {
    size_t remaining = length - offset;
    if (remaining < sizeof(abi::NlMsgHdr)) {
      return Fail(ParseStatus::kMalformed, offset, "netlink header truncated",
                  EBADMSG, skipped);
    }
    auto header = Load<abi::NlMsgHdr>(data + offset);
    if (header.nlmsg_len < sizeof(abi::NlMsgHdr)) {
      return Fail(ParseStatus::kMalformed, offset,
                  "nlmsg_len shorter than the netlink header", EBADMSG,
                  skipped);
    }
    if (header.nlmsg_len > remaining) {
      return Fail(ParseStatus::kMalformed, offset,
                  "nlmsg_len runs past the end of the datagram", EBADMSG,
                  skipped);
    }
    const uint8_t* payload = data + offset + sizeof(abi::NlMsgHdr);
    size_t payload_length = header.nlmsg_len - sizeof(abi::NlMsgHdr);
    size_t next = offset + Align4(header.nlmsg_len);
    if (next > length) next = length;

    if (header.nlmsg_seq != options.expected_seq) {
      // A reply to another request on this socket (an abandoned dump).
      skipped++;
    } else if (header.nlmsg_type == abi::kNlmsgDone) {
      return ParseDone(payload, payload_length, next, skipped);
    } else if (header.nlmsg_type == abi::kNlmsgError) {
      return ParseError(payload, payload_length, offset, skipped);
    } else if (header.nlmsg_type == options.row_type) {
      if (batch->Full()) {
        ParseResult result;
        result.status = ParseStatus::kBatchFull;
        result.offset = offset;
        result.skipped = skipped;
        return result;
      }
      RowOutcome row = ParseRow(payload, payload_length, options, batch);
      if (!row.ok) {
        return Fail(ParseStatus::kMalformed, offset, row.detail, EBADMSG,
                    skipped);
      }
    } else if (header.nlmsg_type < 0x10) {
      // Other control messages (NLMSG_NOOP, NLMSG_OVERRUN...) carry no rows.
      skipped++;
    } else {
      return Fail(ParseStatus::kMalformed, offset,
                  "unexpected netlink message type in a sock_diag dump",
                  EBADMSG, skipped);
    }
    offset = next;
  }
  ParseResult result;
  result.status = ParseStatus::kContinue;
  result.offset = offset;
  result.skipped = skipped;
  return result;
}

#define SOCKDIAG_FIELD_END(column, field)                         \
  {                                                               \
    column, static_cast<uint16_t>(offsetof(abi::TcpInfo, field) + \
                                  sizeof(abi::TcpInfo::field))    \
  }

const TcpInfoFieldEnd kTcpInfoFieldEnds[] = {
    SOCKDIAG_FIELD_END("rtt", tcpi_rtt),
    SOCKDIAG_FIELD_END("rttVar", tcpi_rttvar),
    SOCKDIAG_FIELD_END("minRtt", tcpi_min_rtt),
    SOCKDIAG_FIELD_END("rto", tcpi_rto),
    SOCKDIAG_FIELD_END("sndCwnd", tcpi_snd_cwnd),
    SOCKDIAG_FIELD_END("infoRetransmits", tcpi_retransmits),
    SOCKDIAG_FIELD_END("probes", tcpi_probes),
    SOCKDIAG_FIELD_END("backoff", tcpi_backoff),
    SOCKDIAG_FIELD_END("infoOptions", tcpi_options),
    SOCKDIAG_FIELD_END("totalRetrans", tcpi_total_retrans),
    SOCKDIAG_FIELD_END("lost", tcpi_lost),
    SOCKDIAG_FIELD_END("unacked", tcpi_unacked),
    SOCKDIAG_FIELD_END("lastDataSent", tcpi_last_data_sent),
    SOCKDIAG_FIELD_END("lastDataRecv", tcpi_last_data_recv),
    SOCKDIAG_FIELD_END("lastAckRecv", tcpi_last_ack_recv),
    SOCKDIAG_FIELD_END("notsentBytes", tcpi_notsent_bytes),
    SOCKDIAG_FIELD_END("segsOut", tcpi_segs_out),
    SOCKDIAG_FIELD_END("segsIn", tcpi_segs_in),
    SOCKDIAG_FIELD_END("bytesAcked", tcpi_bytes_acked),
    SOCKDIAG_FIELD_END("bytesReceived", tcpi_bytes_received),
    SOCKDIAG_FIELD_END("bytesSent", tcpi_bytes_sent),
    SOCKDIAG_FIELD_END("bytesRetrans", tcpi_bytes_retrans),
    SOCKDIAG_FIELD_END("deliveryRate", tcpi_delivery_rate),
    SOCKDIAG_FIELD_END("pacingRate", tcpi_pacing_rate),
};
const size_t kTcpInfoFieldEndCount =
    sizeof(kTcpInfoFieldEnds) / sizeof(kTcpInfoFieldEnds[0]);

}  // namespace sockdiag
