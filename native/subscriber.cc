#include "subscriber.h"

#include <fcntl.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <utility>

#include "netns.h"
#include "parser.h"
#include "uapi/sock_diag_abi.h"

#ifndef SO_MEMINFO
#define SO_MEMINFO 55  // asm-generic/socket.h, 4.12+
#endif

namespace sockdiag {
namespace {

// Destroy events are one inet_diag_msg + PROTOCOL + INFO each (about 380
// bytes), one per datagram; 32 KiB leaves room for whatever comes.
constexpr size_t kReceiveBytes = 32 * 1024;
// Datagrams read per wake-up before deadlines are looked at again.
constexpr int kReadsPerWake = 256;
constexpr uint8_t kGroups = kGroupBase | kGroupInfo;

SysError Errno(const char* syscall) { return SysError{errno, syscall, ""}; }

ParseOptions EventParseOptions() {
  ParseOptions options;
  options.expected_seq = 0;  // multicast messages carry seq 0
  options.row_type = abi::kSockDiagByFamily;
  options.protocol = 0;  // every event names its own in INET_DIAG_PROTOCOL
  options.protocol_from_attribute = true;
  return options;
}

std::unique_ptr<EventBatch> NewBatch(uint32_t rows) {
  auto batch = std::make_unique<EventBatch>();
  batch->storage.assign(BatchBytes(rows, kGroups), 0);
  BindBatch(batch->storage.data(), rows, kGroups, &batch->batch);
  return batch;
}

}  // namespace

Subscriber::Subscriber(SubscriberParams params, std::function<void()> notify)
    : params_(std::move(params)), notify_(std::move(notify)) {}

void Subscriber::Start() {
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) {
    Report(State::kFailed, Errno("eventfd"));
    return;
  }
  buffer_.resize(kReceiveBytes);
  scratch_.storage.assign(BatchBytes(params_.batch_rows, kGroups), 0);
  BindBatch(scratch_.storage.data(), params_.batch_rows, kGroups,
            &scratch_.batch);
  thread_ = std::thread([this] { Run(); });
}

void Subscriber::Report(State state, SysError error) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    state_ = state;
    error_ = error;
  }
  notify_();
}

Subscriber::State Subscriber::state(SysError* error) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (error != nullptr) *error = error_;
  return state_;
}

// On the receiver thread, which is ours: it may join another namespace and
// stay there. The socket then sees that namespace's events only.
SysError Subscriber::Open() {
  if (!params_.netns_path.empty()) {
    int netns_fd;
    if (SysError error = OpenNetnsFile(params_.netns_path, &netns_fd, nullptr))
      return error;
    SysError error = EnterNetns(netns_fd);
    close(netns_fd);
    if (error) return error;
  }
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK,
                  abi::kNetlinkSockDiag);
  if (fd < 0) return Errno("socket");
  fd_ = fd;
  SetReceiveBuffer();
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  local.nl_groups = params_.groups;  // binding these needs no privilege
  if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0) {
    return Errno("bind");
  }
  return {};
}

// As large as allowed: SO_RCVBUFFORCE passes net.core.rmem_max but needs
// CAP_NET_ADMIN; without it SO_RCVBUF is capped at rmem_max silently. What
// the kernel granted (twice the request, for its bookkeeping) is reported.
void Subscriber::SetReceiveBuffer() {
  int fd = fd_;
  int wanted = static_cast<int>(
      std::min<uint32_t>(params_.receive_buffer_bytes, INT_MAX / 2));
  bool forced =
      setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &wanted, sizeof(wanted)) == 0;
  if (!forced) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &wanted, sizeof(wanted));
  int granted = 0;
  socklen_t length = sizeof(granted);
  getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &granted, &length);
  stats_.receive_buffer_bytes = static_cast<uint32_t>(granted);
  stats_.receive_buffer_forced = forced;
}

void Subscriber::RefreshKernelDrops() {
  int fd = fd_;
  if (fd < 0) return;
  uint32_t meminfo[abi::kSkMeminfoVars] = {};
  socklen_t length = sizeof(meminfo);
  if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, meminfo, &length) != 0) return;
  if (length < sizeof(uint32_t) * (abi::kSkMeminfoDrops + 1)) return;
  uint64_t drops = meminfo[abi::kSkMeminfoDrops];
  uint64_t known = stats_.kernel_drops.load(std::memory_order_relaxed);
  while (drops > known &&
         !stats_.kernel_drops.compare_exchange_weak(known, drops)) {
  }
}

void Subscriber::Run() {
  if (SysError error = Open()) {
    Report(State::kFailed, error);
    return;
  }
  Report(State::kOpen, {});
  pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  for (;;) {
    int timeout = -1;
    if (has_deadline_) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline_ - Clock::now());
      timeout = static_cast<int>(std::max<int64_t>(0, left.count() + 1));
    }
    int ready = poll(fds, 2, timeout);
    if (ready < 0 && errno != EINTR) {
      Fail(Errno("poll"));
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return;
    }
    // ENOBUFS sets the socket's error, which poll() reports as POLLERR
    // until a recvmsg() returns it: read then too, or poll spins.
    if (ready > 0 && (fds[0].revents & (POLLIN | POLLERR)) && !ReceiveAll()) {
      return;
    }
    if (ready > 0 && (fds[0].revents & POLLNVAL)) {
      Fail(SysError{EBADF, "poll", ""});
      return;
    }
    if (has_deadline_ && Clock::now() >= deadline_ && !HandOver()) {
      // Every slot is waiting for JavaScript: look again an interval later.
      deadline_ = Clock::now() + std::chrono::milliseconds(params_.flush_ms);
    }
  }
}

bool Subscriber::ReceiveAll() {
  int fd = fd_;
  for (int reads = 0; reads < kReadsPerWake; ++reads) {
    sockaddr_nl from{};
    iovec io{buffer_.data(), buffer_.size()};
    msghdr message{};
    message.msg_name = &from;
    message.msg_namelen = sizeof(from);
    message.msg_iov = &io;
    message.msg_iovlen = 1;
    ssize_t length = recvmsg(fd, &message, MSG_DONTWAIT);
    if (length < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
      if (errno == ENOBUFS) {
        // The kernel dropped events (receive buffer full); it counts each
        // in sk_drops. Not fatal: the queue is intact, go on reading.
        stats_.overruns.fetch_add(1, std::memory_order_relaxed);
        RefreshKernelDrops();
        continue;
      }
      Fail(Errno("recvmsg"));
      return false;
    }
    stats_.datagrams.fetch_add(1, std::memory_order_relaxed);
    stats_.bytes.fetch_add(static_cast<uint64_t>(length),
                           std::memory_order_relaxed);
    if ((message.msg_flags & MSG_TRUNC) || from.nl_pid != 0) {
      stats_.malformed.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    Parse(buffer_.data(), static_cast<size_t>(length));
  }
  return true;
}

// Where the next row goes: the current batch, a new one, or (all slots
// waiting for JavaScript) the scratch batch whose rows are only counted.
Batch* Subscriber::Target() {
  if (current_ != nullptr && !current_->batch.Full()) return &current_->batch;
  if (current_ != nullptr && !HandOver()) {
    scratch_.batch.count = 0;
    return &scratch_.batch;
  }
  if (current_ == nullptr) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!free_.empty()) {
      current_ = std::move(free_.back());
      free_.pop_back();
    } else if (allocated_ < params_.queue_batches + 2) {
      // queue_batches waiting, one filling, one being copied out.
      current_ = NewBatch(params_.batch_rows);
      allocated_++;
    }
  }
  if (current_ == nullptr) {
    scratch_.batch.count = 0;
    return &scratch_.batch;
  }
  current_->batch.count = 0;
  return &current_->batch;
}

void Subscriber::Parse(const uint8_t* data, size_t length) {
  static const ParseOptions options = EventParseOptions();
  size_t offset = 0;
  while (offset < length) {
    Batch* target = Target();
    uint32_t before = target->count;
    ParseResult result =
        ParseMessages(data + offset, length - offset, options, target);
    uint32_t rows = target->count - before;
    if (target == &scratch_.batch) {
      stats_.queue_drops.fetch_add(rows, std::memory_order_relaxed);
    } else {
      stats_.events.fetch_add(rows, std::memory_order_relaxed);
      if (rows > 0 && !has_deadline_) {
        has_deadline_ = true;
        deadline_ = Clock::now() + std::chrono::milliseconds(params_.flush_ms);
      }
    }
    offset += result.offset;
    // Target() never hands out a full batch, so a full stop always moved.
    if (result.status == ParseStatus::kBatchFull && result.offset > 0) {
      continue;
    }
    if (result.status != ParseStatus::kContinue) {
      // Bytes that do not frame, or a control message a multicast stream
      // never carries: count it, skip the rest of this datagram.
      stats_.malformed.fetch_add(1, std::memory_order_relaxed);
    }
    return;
  }
}

// Moves the current batch (if it has rows) to the ready queue. False when
// the queue is full, and the batch stays current.
bool Subscriber::HandOver() {
  if (current_ == nullptr || current_->batch.count == 0) {
    has_deadline_ = false;
    return true;
  }
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (ready_.size() >= params_.queue_batches) return false;
    ready_.push_back(std::move(current_));
    wake = waiting_;
    waiting_ = false;
  }
  has_deadline_ = false;
  stats_.batches.fetch_add(1, std::memory_order_relaxed);
  if (wake) notify_();
  return true;
}

void Subscriber::Fail(SysError error) { Report(State::kFailed, error); }

std::unique_ptr<EventBatch> Subscriber::TakeReadyOrWait() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (ready_.empty()) {
    waiting_ = true;
    return nullptr;
  }
  std::unique_ptr<EventBatch> batch = std::move(ready_.front());
  ready_.pop_front();
  return batch;
}

void Subscriber::Recycle(std::unique_ptr<EventBatch> batch) {
  std::lock_guard<std::mutex> lock(mutex_);
  free_.push_back(std::move(batch));
}

size_t Subscriber::queued() {
  std::lock_guard<std::mutex> lock(mutex_);
  return ready_.size();
}

void Subscriber::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (state_ == State::kStopped) return;
    stopping_ = true;
  }
  if (wake_fd_ >= 0) {
    uint64_t one = 1;
    ssize_t ignored = write(wake_fd_, &one, sizeof(one));
    (void)ignored;
  }
  if (thread_.joinable()) thread_.join();
  int fd = fd_.exchange(-1);
  if (fd >= 0) close(fd);
  if (wake_fd_ >= 0) close(wake_fd_);
  wake_fd_ = -1;
  std::lock_guard<std::mutex> lock(mutex_);
  state_ = State::kStopped;
  ready_.clear();
  free_.clear();
}

}  // namespace sockdiag
