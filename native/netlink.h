// Netlink socket I/O for sock_diag dumps: open (optionally inside another
// network namespace), send, receive. It reports {errno, syscall} and knows
// nothing about parsing or JavaScript.
#ifndef SOCKDIAG_NATIVE_NETLINK_H_
#define SOCKDIAG_NATIVE_NETLINK_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace sockdiag {

struct SysError {
  int errnum = 0;            // positive errno; 0 = success
  const char* syscall = "";  // the call that failed
  const char* detail = "";   // static text when errno alone would mislead
  explicit operator bool() const { return errnum != 0; }
};

class DiagSocket {
 public:
  DiagSocket() = default;
  ~DiagSocket() { Close(); }
  DiagSocket(const DiagSocket&) = delete;
  DiagSocket& operator=(const DiagSocket&) = delete;

  // Opens a NETLINK_SOCK_DIAG socket. The socket dumps the network namespace
  // it was created in, so with a non-empty `netns_path` it is created on a
  // short-lived thread that joined that namespace (setns is per thread; the
  // libuv pool thread we run on is never moved).
  SysError Open(const std::string& netns_path, uint32_t timeout_ms);
  // recvmsg() gives up after `timeout_ms` (0: never) with ETIMEDOUT.
  SysError SetTimeout(uint32_t timeout_ms);
  SysError Send(const std::vector<uint8_t>& request);
  // Receives one datagram. A datagram larger than `capacity` is an error
  // (EMSGSIZE): its tail is lost and the dump would be silently incomplete.
  SysError Receive(uint8_t* buffer, size_t capacity, size_t* received);
  void Close();
  bool IsOpen() const { return fd_ >= 0; }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

}  // namespace sockdiag

#endif  // SOCKDIAG_NATIVE_NETLINK_H_
