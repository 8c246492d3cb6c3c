// The kernel ABI this project speaks, written out here rather than taken from
// the build host's <linux/*.h>: hosts often carry headers older than their
// kernel (Debian bookworm: 6.1 headers, 232-byte tcp_info; the 6.18 kernel
// sends 280 bytes). Layouts follow the newest uapi (linux/inet_diag.h,
// linux/sock_diag.h, linux/tcp.h, linux/netlink.h as of 2026); they are ABI,
// so only ever appended to by the kernel.
#ifndef SOCKDIAG_NATIVE_UAPI_SOCK_DIAG_ABI_H_
#define SOCKDIAG_NATIVE_UAPI_SOCK_DIAG_ABI_H_

#include <cstddef>
#include <cstdint>

namespace sockdiag::abi {

// linux/netlink.h
constexpr int kNetlinkSockDiag = 4;  // NETLINK_SOCK_DIAG
constexpr uint16_t kNlmsgError = 2;  // NLMSG_ERROR
constexpr uint16_t kNlmsgDone = 3;   // NLMSG_DONE
constexpr uint16_t kNlmFRequest = 0x001;
constexpr uint16_t kNlmFMulti = 0x002;
constexpr uint16_t kNlmFDump = 0x300;  // NLM_F_ROOT | NLM_F_MATCH

struct NlMsgHdr {
  uint32_t nlmsg_len;
  uint16_t nlmsg_type;
  uint16_t nlmsg_flags;
  uint32_t nlmsg_seq;
  uint32_t nlmsg_pid;
};
static_assert(sizeof(NlMsgHdr) == 16);

// NLMSG_ALIGN / RTA_ALIGN: netlink pads every message and attribute to 4.
constexpr size_t Align4(size_t length) { return (length + 3) & ~size_t{3}; }

struct RtAttr {  // struct rtattr == struct nlattr in layout
  uint16_t rta_len;
  uint16_t rta_type;
};
static_assert(sizeof(RtAttr) == 4);
constexpr uint16_t kNlaTypeMask = 0x3fff;  // strips NLA_F_NESTED / BYTEORDER

// linux/sock_diag.h
constexpr uint16_t kSockDiagByFamily = 20;  // SOCK_DIAG_BY_FAMILY
constexpr uint16_t kTcpDiagGetSock = 18;    // legacy TCPDIAG_GETSOCK

// linux/inet_diag.h
struct InetDiagSockId {
  uint16_t idiag_sport;  // network byte order
  uint16_t idiag_dport;
  uint32_t idiag_src[4];
  uint32_t idiag_dst[4];
  uint32_t idiag_if;
  uint32_t idiag_cookie[2];  // low word first
};
static_assert(sizeof(InetDiagSockId) == 48);

struct InetDiagReqV2 {
  uint8_t sdiag_family;
  uint8_t sdiag_protocol;
  uint8_t idiag_ext;
  uint8_t pad;
  uint32_t idiag_states;
  InetDiagSockId id;
};
static_assert(sizeof(InetDiagReqV2) == 56);

// Legacy request (TCPDIAG_GETSOCK), 60 bytes; the kernel turns it into a v2
// request with AF_UNSPEC, i.e. one hash walk returns both families.
struct InetDiagReqLegacy {
  uint8_t idiag_family;
  uint8_t idiag_src_len;
  uint8_t idiag_dst_len;
  uint8_t idiag_ext;
  InetDiagSockId id;
  uint32_t idiag_states;
  uint32_t idiag_dbs;
};
static_assert(sizeof(InetDiagReqLegacy) == 60);

struct InetDiagMsg {
  uint8_t idiag_family;
  uint8_t idiag_state;
  uint8_t idiag_timer;
  uint8_t idiag_retrans;
  InetDiagSockId id;
  uint32_t idiag_expires;
  uint32_t idiag_rqueue;
  uint32_t idiag_wqueue;
  uint32_t idiag_uid;
  uint32_t idiag_inode;
};
static_assert(sizeof(InetDiagMsg) == 72);

// Request attributes.
constexpr uint16_t kInetDiagReqBytecode = 1;
constexpr uint16_t kInetDiagReqProtocol = 3;  // u32, exactly 4 bytes (5.9+)

// Reply attributes (enum INET_DIAG_*).
constexpr uint16_t kInetDiagMeminfo = 1;
constexpr uint16_t kInetDiagInfo = 2;
constexpr uint16_t kInetDiagCong = 4;
constexpr uint16_t kInetDiagSkmeminfo = 7;
constexpr uint16_t kInetDiagShutdown = 8;
constexpr uint16_t kInetDiagProtocol = 10;  // u8; RAW dumps, destroy events
constexpr uint16_t kInetDiagMark = 15;
constexpr uint16_t kInetDiagCgroupId = 21;  // u64 cgroup v2 id (5.8+)

// linux/sock_diag.h enum sknetlink_groups: multicast groups of a
// NETLINK_SOCK_DIAG socket. Bound with nl_groups bit 1 << (group - 1).
constexpr uint32_t kSknlgrpInetTcpDestroy = 1;
constexpr uint32_t kSknlgrpInetUdpDestroy = 2;
constexpr uint32_t kSknlgrpInet6TcpDestroy = 3;
constexpr uint32_t kSknlgrpInet6UdpDestroy = 4;
constexpr uint32_t GroupBit(uint32_t group) { return 1u << (group - 1); }

// idiag_ext request bits: 1 << (attribute - 1); only types 1..8 fit a u8.
constexpr uint8_t ExtBit(uint16_t attribute) {
  return static_cast<uint8_t>(1u << (attribute - 1));
}

struct InetDiagMeminfo {
  uint32_t idiag_rmem;
  uint32_t idiag_wmem;
  uint32_t idiag_fmem;
  uint32_t idiag_tmem;
};

// linux/sock_diag.h: SK_MEMINFO_* indexes; the kernel sends
// u32[SK_MEMINFO_VARS] and may append more in future, older kernels (< 4.x)
// sent 8 (no DROPS).
constexpr size_t kSkMeminfoVars = 9;
constexpr size_t kSkMeminfoDrops = 8;  // SK_MEMINFO_DROPS: sk_drops

// Bytecode ops (struct inet_diag_bc_op).
struct InetDiagBcOp {
  uint8_t code;
  uint8_t yes;
  uint16_t no;
};
static_assert(sizeof(InetDiagBcOp) == 4);

// linux/tcp.h struct tcp_info, newest layout (6.18 / 7.0: 280 bytes). The
// kernel sends its own sizeof(); a field is valid only when the payload
// covers it (see TcpInfoCovers in parser.h).
struct TcpInfo {
  uint8_t tcpi_state;
  uint8_t tcpi_ca_state;
  uint8_t tcpi_retransmits;
  uint8_t tcpi_probes;
  uint8_t tcpi_backoff;
  uint8_t tcpi_options;
  uint8_t tcpi_wscale;  // snd_wscale:4, rcv_wscale:4
  uint8_t tcpi_flags;   // delivery_rate_app_limited:1, fastopen_client_fail:2

  uint32_t tcpi_rto;
  uint32_t tcpi_ato;
  uint32_t tcpi_snd_mss;
  uint32_t tcpi_rcv_mss;

  uint32_t tcpi_unacked;
  uint32_t tcpi_sacked;
  uint32_t tcpi_lost;
  uint32_t tcpi_retrans;
  uint32_t tcpi_fackets;

  uint32_t tcpi_last_data_sent;
  uint32_t tcpi_last_ack_sent;
  uint32_t tcpi_last_data_recv;
  uint32_t tcpi_last_ack_recv;

  uint32_t tcpi_pmtu;
  uint32_t tcpi_rcv_ssthresh;
  uint32_t tcpi_rtt;
  uint32_t tcpi_rttvar;
  uint32_t tcpi_snd_ssthresh;
  uint32_t tcpi_snd_cwnd;
  uint32_t tcpi_advmss;
  uint32_t tcpi_reordering;

  uint32_t tcpi_rcv_rtt;
  uint32_t tcpi_rcv_space;

  uint32_t tcpi_total_retrans;  // 104 bytes up to here (<= 3.14)

  uint64_t tcpi_pacing_rate;  // 3.15
  uint64_t tcpi_max_pacing_rate;
  uint64_t tcpi_bytes_acked;  // 4.1
  uint64_t tcpi_bytes_received;
  uint32_t tcpi_segs_out;  // 4.2
  uint32_t tcpi_segs_in;

  uint32_t tcpi_notsent_bytes;  // 4.6
  uint32_t tcpi_min_rtt;
  uint32_t tcpi_data_segs_in;
  uint32_t tcpi_data_segs_out;

  uint64_t tcpi_delivery_rate;  // 4.9

  uint64_t tcpi_busy_time;  // 4.10
  uint64_t tcpi_rwnd_limited;
  uint64_t tcpi_sndbuf_limited;

  uint32_t tcpi_delivered;  // 4.18
  uint32_t tcpi_delivered_ce;

  uint64_t tcpi_bytes_sent;  // 4.19
  uint64_t tcpi_bytes_retrans;
  uint32_t tcpi_dsack_dups;
  uint32_t tcpi_reord_seen;

  uint32_t tcpi_rcv_ooopack;  // 5.4
  uint32_t tcpi_snd_wnd;

  uint32_t tcpi_rcv_wnd;  // 6.2
  uint32_t tcpi_rehash;

  uint16_t tcpi_total_rto;  // 6.7
  uint16_t tcpi_total_rto_recoveries;
  uint32_t tcpi_total_rto_time;

  uint32_t tcpi_received_ce;  // 6.18 AccECN
  uint32_t tcpi_delivered_e1_bytes;
  uint32_t tcpi_delivered_e0_bytes;
  uint32_t tcpi_delivered_ce_bytes;
  uint32_t tcpi_received_e1_bytes;
  uint32_t tcpi_received_e0_bytes;
  uint32_t tcpi_received_ce_bytes;
  uint16_t tcpi_accecn_fail_mode;
  uint16_t tcpi_accecn_opt_seen;
};
static_assert(offsetof(TcpInfo, tcpi_pacing_rate) == 104);
static_assert(offsetof(TcpInfo, tcpi_delivery_rate) == 160);
static_assert(offsetof(TcpInfo, tcpi_rcv_ooopack) == 224);
static_assert(sizeof(TcpInfo) == 280);

}  // namespace sockdiag::abi

#endif  // SOCKDIAG_NATIVE_UAPI_SOCK_DIAG_ABI_H_
