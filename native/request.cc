#include "request.h"

#include <cstring>

#include "uapi/sock_diag_abi.h"

namespace sockdiag {
namespace {

void AppendBytes(std::vector<uint8_t>* out, const void* data, size_t length) {
  const auto* bytes = static_cast<const uint8_t*>(data);
  out->insert(out->end(), bytes, bytes + length);
}

void AppendAttribute(std::vector<uint8_t>* out, uint16_t type, const void* data,
                     size_t length) {
  abi::RtAttr attribute{static_cast<uint16_t>(sizeof(abi::RtAttr) + length),
                        type};
  AppendBytes(out, &attribute, sizeof(attribute));
  AppendBytes(out, data, length);
  out->resize(abi::Align4(out->size()), 0);
}

}  // namespace

uint16_t ReplyType(const DumpRequest& request) {
  return request.legacy ? abi::kTcpDiagGetSock : abi::kSockDiagByFamily;
}

std::vector<uint8_t> EncodeDumpRequest(const DumpRequest& request,
                                       uint32_t seq) {
  std::vector<uint8_t> out(sizeof(abi::NlMsgHdr), 0);
  if (request.legacy) {
    // struct inet_diag_req: the kernel maps it to a v2 request with
    // sdiag_family = AF_UNSPEC (inet_diag_rcv_msg_compat), TCP only.
    abi::InetDiagReqLegacy body{};
    body.idiag_family = request.family;
    body.idiag_ext = request.extensions;
    body.idiag_states = request.states;
    AppendBytes(&out, &body, sizeof(body));
  } else {
    abi::InetDiagReqV2 body{};
    body.sdiag_family = request.family;
    // Protocols above 255 (IPPROTO_MPTCP = 262) only fit the 5.9+ attribute.
    body.sdiag_protocol =
        request.protocol > 0xff ? 0 : static_cast<uint8_t>(request.protocol);
    body.idiag_ext = request.extensions;
    body.idiag_states = request.states;
    AppendBytes(&out, &body, sizeof(body));
    if (request.protocol > 0xff) {
      uint32_t protocol = request.protocol;
      AppendAttribute(&out, abi::kInetDiagReqProtocol, &protocol,
                      sizeof(protocol));
    }
  }
  if (!request.bytecode.empty()) {
    AppendAttribute(&out, abi::kInetDiagReqBytecode, request.bytecode.data(),
                    request.bytecode.size());
  }
  abi::NlMsgHdr header{};
  header.nlmsg_len = static_cast<uint32_t>(out.size());
  header.nlmsg_type = ReplyType(request);
  header.nlmsg_flags = abi::kNlmFRequest | abi::kNlmFDump;
  header.nlmsg_seq = seq;
  std::memcpy(out.data(), &header, sizeof(header));
  return out;
}

}  // namespace sockdiag
