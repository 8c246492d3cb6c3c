#include "netns.h"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <thread>

namespace sockdiag {
namespace {

SysError Errno(const char* syscall) { return SysError{errno, syscall, ""}; }

}  // namespace

SysError OpenNetnsFile(const std::string& path, int* fd, uint64_t* inode) {
  *fd = -1;
  if (path.find('\0') != std::string::npos) {
    return SysError{EINVAL, "open", "the path contains a NUL byte"};
  }
  int opened = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (opened < 0) return Errno("open");
  // NS_GET_NSTYPE (4.11+) answers only on nsfs files: a plain file or a
  // directory gets ENOTTY, which setns() would report as a bare EINVAL.
  int type = ioctl(opened, NS_GET_NSTYPE);
  if (type < 0 || type != CLONE_NEWNET) {
    close(opened);
    return SysError{EINVAL, "ioctl",
                    type < 0 ? "not a namespace file (expected nsfs, e.g. "
                               "/var/run/netns/NAME or /proc/PID/ns/net)"
                             : "a namespace file, but not a network namespace"};
  }
  if (inode != nullptr) {
    struct stat status {};
    if (fstat(opened, &status) != 0) {
      SysError error = Errno("fstat");
      close(opened);
      return error;
    }
    *inode = status.st_ino;
  }
  *fd = opened;
  return {};
}

SysError EnterNetns(int netns_fd) {
  if (setns(netns_fd, CLONE_NEWNET) != 0) return Errno("setns");
  return {};
}

SysError RunOnPrivateThread(const std::function<void()>& work) {
  try {
    std::thread worker(work);
    worker.join();
  } catch (const std::system_error& failure) {
    return SysError{failure.code().value(), "pthread_create",
                    "no thread could be created for the namespace"};
  }
  return {};
}

SysError RunInNetnsFd(int netns_fd, const std::function<SysError()>& work) {
  SysError error;
  // The thread ends right after the work: nothing else ever runs in the
  // namespace it joined, and no thread of ours is left moved.
  if (SysError failed = RunOnPrivateThread([&] {
        error = EnterNetns(netns_fd);
        if (!error) error = work();
      })) {
    return failed;
  }
  return error;
}

SysError RunInNetns(const std::string& path,
                    const std::function<SysError()>& work) {
  int netns_fd;
  if (SysError error = OpenNetnsFile(path, &netns_fd, nullptr)) return error;
  SysError error = RunInNetnsFd(netns_fd, work);
  close(netns_fd);
  return error;
}

void ReadFiles(std::vector<FileRead>* files, size_t max_bytes) {
  for (FileRead& file : *files) {
    if (file.path.find('\0') != std::string::npos) {
      file.error = SysError{EINVAL, "open", "the path contains a NUL byte"};
      continue;
    }
    int fd = open(file.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      file.error = Errno("open");
      continue;
    }
    char buffer[4096];
    for (;;) {
      ssize_t got = read(fd, buffer, sizeof(buffer));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) {
        file.error = Errno("read");
        break;
      }
      if (got == 0) break;
      size_t room = max_bytes - file.content.size();
      if (static_cast<size_t>(got) > room) {
        file.content.append(buffer, room);
        file.truncated = true;
        break;
      }
      file.content.append(buffer, static_cast<size_t>(got));
    }
    close(fd);
  }
}

}  // namespace sockdiag
