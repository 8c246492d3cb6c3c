// Network namespace files (/var/run/netns/NAME, /proc/PID/ns/net) and work
// done inside one. setns() moves only the calling thread, so every entry
// happens on a private thread: the libuv pool and the event loop never
// change namespace. No Node-API here.
#ifndef SOCKDIAG_NATIVE_NETNS_H_
#define SOCKDIAG_NATIVE_NETNS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "netlink.h"

namespace sockdiag {

// Opens `path` and checks that it is a network namespace: EINVAL with a
// detail for a path holding a NUL byte, a file that is not a namespace, or
// a namespace of another type. `inode` (may be null) gets its identity.
SysError OpenNetnsFile(const std::string& path, int* fd, uint64_t* inode);

// Moves the calling thread into the namespace `netns_fd` (CAP_SYS_ADMIN).
// Only for threads this addon owns.
SysError EnterNetns(int netns_fd);

// Runs `work` on a short-lived thread of its own and waits for it: for work
// that changes the thread's namespace. A thread that cannot be created
// (EAGAIN at a process or cgroup limit) is an error, never an exception.
SysError RunOnPrivateThread(const std::function<void()>& work);

// Runs `work` on a short-lived thread that first joined the namespace at
// `path`; the calling thread stays where it is. Returns the first failure
// (opening, setns, or work's own).
SysError RunInNetns(const std::string& path,
                    const std::function<SysError()>& work);

// The same for a namespace already open as `netns_fd`.
SysError RunInNetnsFd(int netns_fd, const std::function<SysError()>& work);

struct FileRead {
  std::string path;
  std::string content;  // up to the byte limit
  bool truncated = false;
  SysError error;
};

// Reads each file from the calling thread (which must already be in the
// namespace wanted: /proc/sys/net shows the namespace of whoever opened the
// file). Per-file errors are recorded, never fatal.
void ReadFiles(std::vector<FileRead>* files, size_t max_bytes);

}  // namespace sockdiag

#endif  // SOCKDIAG_NATIVE_NETNS_H_
