#include "shared_socket.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "netns.h"
#include "receiver.h"

namespace sockdiag {

SysError SharedDiagSocket::Open(const std::string& path) {
  path_ = path;
  int netns_fd;
  if (SysError error = OpenNetnsFile(path, &netns_fd, &inode_)) return error;
  SysError error = RunInNetnsFd(netns_fd, [this] {
    std::lock_guard<std::mutex> lock(mutex_);
    return socket_.Open("", 0);
  });
  if (error) {
    close(netns_fd);
    return error;
  }
  // Kept for work inside the namespace (reading its files): asking the
  // socket for its namespace (SIOCGSKNS) would need CAP_NET_ADMIN. It pins
  // the namespace no longer than the socket does: Close() closes both.
  std::lock_guard<std::mutex> lock(mutex_);
  netns_fd_ = netns_fd;
  return {};
}

SysError SharedDiagSocket::Acquire(uint32_t timeout_ms, DiagSocket** socket) {
  uint32_t stale;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_ || !socket_.IsOpen()) {
      return SysError{EBADF, "sendto", "the namespace handle is closed"};
    }
    if (busy_) {
      return SysError{EBUSY, "sendto",
                      "another dump is running on this namespace handle (one "
                      "at a time per socket)"};
    }
    busy_ = true;
    stale = unfinished_seq_;
  }
  SysError error = socket_.SetTimeout(timeout_ms);
  if (!error && stale != 0) error = Drain(stale);
  if (error) {
    Release(stale);
    return error;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    unfinished_seq_ = 0;
  }
  *socket = &socket_;
  return {};
}

// Reads what is left of an abandoned dump, up to its NLMSG_DONE. The kernel
// produces the next chunk inside recvmsg(), so while that dump runs a
// datagram is always queued; a timeout means it had in fact ended.
SysError SharedDiagSocket::Drain(uint32_t seq) {
  std::vector<uint8_t> buffer(64 * 1024);
  for (;;) {
    size_t length = 0;
    SysError error = socket_.Receive(buffer.data(), buffer.size(), &length);
    if (error.errnum == ETIMEDOUT) return {};
    if (error) return error;
    if (EndsDump(buffer.data(), length, seq)) return {};
  }
}

void SharedDiagSocket::Release(uint32_t unfinished_seq) {
  std::lock_guard<std::mutex> lock(mutex_);
  busy_ = false;
  unfinished_seq_ = unfinished_seq;
  if (closed_) socket_.Close();
}

void SharedDiagSocket::Close() {
  std::lock_guard<std::mutex> lock(mutex_);
  closed_ = true;
  if (!busy_) socket_.Close();
  if (netns_fd_ >= 0) close(netns_fd_);
  netns_fd_ = -1;
}

SharedDiagSocket::~SharedDiagSocket() {
  if (netns_fd_ >= 0) close(netns_fd_);
}

SysError SharedDiagSocket::NetnsFd(int* netns_fd) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_ || !socket_.IsOpen()) {
    return SysError{EBADF, "ioctl", "the namespace handle is closed"};
  }
  *netns_fd = fcntl(netns_fd_, F_DUPFD_CLOEXEC, 0);
  if (*netns_fd < 0) return SysError{errno, "fcntl", ""};
  return {};
}

}  // namespace sockdiag
