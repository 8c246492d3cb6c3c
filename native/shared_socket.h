// One long-lived sock_diag socket in a network namespace, for many dumps in
// turn (a namespace handle). The kernel runs one dump at a time per socket
// (a second request gets EBUSY), so a dump acquires the socket and releases
// it when it ends. No Node-API.
//
// A socket holds a reference on its namespace: while this one is open the
// namespace (and its devices) stays alive even after `ip netns del`, and so
// does the namespace descriptor kept beside it. Close() is what lets it go:
// the namespace descriptor closes at once, the socket as soon as no dump
// uses it.
#ifndef SOCKDIAG_NATIVE_SHARED_SOCKET_H_
#define SOCKDIAG_NATIVE_SHARED_SOCKET_H_

#include <cstdint>
#include <mutex>
#include <string>

#include "netlink.h"

namespace sockdiag {

class SharedDiagSocket {
 public:
  SharedDiagSocket() = default;
  SharedDiagSocket(const SharedDiagSocket&) = delete;
  SharedDiagSocket& operator=(const SharedDiagSocket&) = delete;
  ~SharedDiagSocket();

  // Creates the socket inside the namespace at `path` (a private setns
  // thread). Blocking but short: call it from a worker.
  SysError Open(const std::string& path);

  // For one dump. EBUSY while another dump holds it; EBADF after Close().
  // When the previous dump was abandoned before its end, first reads and
  // drops the rest of it (the kernel would answer EBUSY otherwise): this
  // may take as long as that dump would have, so it runs on the worker.
  SysError Acquire(uint32_t timeout_ms, DiagSocket** socket);
  // `unfinished_seq`: the dump's sequence number if it stopped before the
  // kernel's end of dump was received, else 0.
  void Release(uint32_t unfinished_seq);

  // No new dumps; the descriptor closes now, or when the running dump ends.
  void Close();

  uint64_t inode() const { return inode_; }
  const std::string& path() const { return path_; }
  // A new descriptor of the socket's namespace (a duplicate of the one kept
  // since Open), for work that follows the socket there even when its path
  // is gone. EBADF once closed.
  SysError NetnsFd(int* netns_fd);

 private:
  SysError Drain(uint32_t seq);

  std::string path_;
  uint64_t inode_ = 0;
  std::mutex mutex_;
  DiagSocket socket_;            // guarded by mutex_ (Open, Close)
  bool busy_ = false;            // guarded by mutex_
  bool closed_ = false;          // guarded by mutex_
  uint32_t unfinished_seq_ = 0;  // guarded by mutex_
  int netns_fd_ = -1;            // guarded by mutex_
};

}  // namespace sockdiag

#endif  // SOCKDIAG_NATIVE_SHARED_SOCKET_H_
