#include "netlink.h"

#include <fcntl.h>
#include <linux/netlink.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "uapi/sock_diag_abi.h"

namespace sockdiag {
namespace {

SysError Errno(const char* syscall) { return SysError{errno, syscall}; }

int OpenDiagSocket() {
  return socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, abi::kNetlinkSockDiag);
}

// Creates the socket inside the namespace at `path` from a thread of its
// own: that thread's namespace changes, then the thread ends, so no other
// thread of the process is ever moved.
SysError OpenInNamespace(const std::string& path, int* fd) {
  SysError error;
  std::thread worker([&] {
    int ns = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (ns < 0) {
      error = Errno("open");
      return;
    }
    if (setns(ns, CLONE_NEWNET) != 0) {
      error = Errno("setns");
      close(ns);
      return;
    }
    close(ns);
    *fd = OpenDiagSocket();
    if (*fd < 0) error = Errno("socket");
  });
  worker.join();
  return error;
}

}  // namespace

SysError DiagSocket::Open(const std::string& netns_path, uint32_t timeout_ms) {
  Close();
  if (netns_path.empty()) {
    fd_ = OpenDiagSocket();
    if (fd_ < 0) return Errno("socket");
  } else {
    SysError error = OpenInNamespace(netns_path, &fd_);
    if (error) return error;
  }
  if (timeout_ms > 0) {
    // A dump that stops answering (it never should) must not hold a worker
    // thread forever: recvmsg then fails with EAGAIN.
    timeval timeout{};
    timeout.tv_sec = timeout_ms / 1000;
    timeout.tv_usec = static_cast<suseconds_t>((timeout_ms % 1000) * 1000);
    if (setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout))) {
      SysError error = Errno("setsockopt");
      Close();
      return error;
    }
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
        return SysError{ETIMEDOUT, "recvmsg"};
      }
      return Errno("recvmsg");
    }
    if (message.msg_flags & MSG_TRUNC) return SysError{EMSGSIZE, "recvmsg"};
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
