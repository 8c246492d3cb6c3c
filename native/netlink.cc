#include "netlink.h"

#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>

#include "netns.h"
#include "uapi/sock_diag_abi.h"

namespace sockdiag {
namespace {

SysError Errno(const char* syscall) { return SysError{errno, syscall, ""}; }

int OpenDiagSocket() {
  return socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, abi::kNetlinkSockDiag);
}

}  // namespace

SysError DiagSocket::Open(const std::string& netns_path, uint32_t timeout_ms) {
  Close();
  if (netns_path.empty()) {
    fd_ = OpenDiagSocket();
    if (fd_ < 0) return Errno("socket");
  } else {
    // The socket dumps the namespace it is created in, for its whole life.
    SysError error = RunInNetns(netns_path, [this] {
      fd_ = OpenDiagSocket();
      return fd_ < 0 ? Errno("socket") : SysError{};
    });
    if (error) {
      Close();
      return error;
    }
  }
  if (SysError error = SetTimeout(timeout_ms)) {
    Close();
    return error;
  }
  return {};
}

SysError DiagSocket::SetTimeout(uint32_t timeout_ms) {
  // A dump that stops answering (it never should) must not hold a worker
  // thread forever: recvmsg then fails with EAGAIN.
  timeval timeout{};
  timeout.tv_sec = timeout_ms / 1000;
  timeout.tv_usec = static_cast<suseconds_t>((timeout_ms % 1000) * 1000);
  if (setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout))) {
    return Errno("setsockopt");
  }
  return {};
}

SysError DiagSocket::Send(const std::vector<uint8_t>& request) {
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;  // nl_pid 0: the kernel
  for (;;) {
    ssize_t sent = sendto(fd_, request.data(), request.size(), 0,
                          reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel));
    if (sent >= 0) return {};
    if (errno != EINTR) return Errno("sendto");
  }
}

SysError DiagSocket::Receive(uint8_t* buffer, size_t capacity,
                             size_t* received) {
  sockaddr_nl from{};
  iovec io{buffer, capacity};
  msghdr message{};
  message.msg_name = &from;
  message.msg_namelen = sizeof(from);
  message.msg_iov = &io;
  message.msg_iovlen = 1;
  for (;;) {
    ssize_t length = recvmsg(fd_, &message, 0);
    if (length < 0) {
      if (errno == EINTR) continue;
      // SO_RCVTIMEO expired: name it as what it is.
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        return SysError{ETIMEDOUT, "recvmsg", ""};
      }
      return Errno("recvmsg");
    }
    if (message.msg_flags & MSG_TRUNC) {
      return SysError{EMSGSIZE, "recvmsg", ""};
    }
    if (from.nl_pid != 0) continue;  // not from the kernel: ignore
    *received = static_cast<size_t>(length);
    return {};
  }
}

void DiagSocket::Close() {
  if (fd_ >= 0) {
    close(fd_);
    fd_ = -1;
  }
}

}  // namespace sockdiag
