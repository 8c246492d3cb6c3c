// Builds the bytes of one sock_diag dump request. Pure, like the parser.
#ifndef SOCKDIAG_NATIVE_REQUEST_H_
#define SOCKDIAG_NATIVE_REQUEST_H_

#include <cstdint>
#include <vector>

namespace sockdiag {

struct DumpRequest {
  uint8_t family = 2;       // AF_INET, AF_INET6; AF_UNSPEC only with legacy
  uint16_t protocol = 6;    // IPPROTO_*; > 255 (MPTCP) goes in an attribute
  uint32_t states = 0xfff;  // 1 << TCP_* state
  uint8_t extensions = 0;   // idiag_ext bits
  bool legacy = false;      // TCPDIAG_GETSOCK: one hash walk, both families
  std::vector<uint8_t> bytecode;  // INET_DIAG_REQ_BYTECODE program, if any
};

// The nlmsg_type replies will carry (the kernel echoes the request's type).
uint16_t ReplyType(const DumpRequest& request);

std::vector<uint8_t> EncodeDumpRequest(const DumpRequest& request,
                                       uint32_t seq);

}  // namespace sockdiag

#endif  // SOCKDIAG_NATIVE_REQUEST_H_
