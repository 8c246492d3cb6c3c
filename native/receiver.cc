#include "receiver.h"

#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "uapi/sock_diag_abi.h"

namespace sockdiag {

bool EndsDump(const uint8_t* data, size_t length, uint32_t seq) {
  size_t offset = 0;
  while (offset + sizeof(abi::NlMsgHdr) <= length) {
    abi::NlMsgHdr header;
    std::memcpy(&header, data + offset, sizeof(header));
    if (header.nlmsg_len < sizeof(header) ||
        header.nlmsg_len > length - offset) {
      return true;
    }
    if (header.nlmsg_seq == seq && (header.nlmsg_type == abi::kNlmsgDone ||
                                    header.nlmsg_type == abi::kNlmsgError)) {
      return true;
    }
    offset += abi::Align4(header.nlmsg_len);
  }
  return offset < length;  // a torn header
}

namespace {

// Enough for a split scan's receivers and a few namespaces' dumps at once;
// past it, buffers go back to the allocator.
constexpr size_t kPooledReceiveBuffers = 48;

std::mutex& BufferPoolMutex() {
  static std::mutex mutex;
  return mutex;
}

std::vector<std::vector<uint8_t>>& BufferPool() {
  static auto* pool = new std::vector<std::vector<uint8_t>>();
  return *pool;
}

}  // namespace

// The receiver thread spends its life in the kernel's walk (recvmsg), and a
// pool thread parses (and receives a dump's first datagrams). A few steps of
// niceness let the event loop's thread preempt them when both want a CPU,
// so /healthz and small scrapes stay quick while a big dump runs; on an
// idle CPU it changes nothing. Raising one's own nice needs no privilege.
void LowerOwnPriority() {
  int step = 5;
  if (const char* env = std::getenv("SOCKDIAG_RECEIVER_NICE"))
    step = std::atoi(env);
  if (step <= 0) return;
  // Below the main thread's nice, not our own: a thread started by a pool
  // thread already lowered inherits its nice and would go down twice.
  const auto tid = static_cast<id_t>(syscall(SYS_gettid));
  errno = 0;
  const int main_nice = getpriority(PRIO_PROCESS, static_cast<id_t>(getpid()));
  if (main_nice == -1 && errno != 0) return;
  setpriority(PRIO_PROCESS, tid, std::min(main_nice + step, 19));
  // SCHED_BATCH: a thread woken for a job does not preempt the one that
  // woke it (the event loop, in the middle of a scrape); it waits for the
  // next tick. Needs no privilege; a kernel that refuses keeps SCHED_OTHER.
  sched_param param{};
  param.sched_priority = 0;
  sched_setscheduler(0, SCHED_BATCH, &param);
}

void LowerPoolThreadPriority() {
  thread_local bool lowered = false;
  if (lowered) return;
  lowered = true;
  LowerOwnPriority();
}

std::vector<uint8_t> TakeReceiveBuffer(size_t bytes) {
  {
    std::lock_guard<std::mutex> lock(BufferPoolMutex());
    auto& pool = BufferPool();
    for (size_t i = pool.size(); i-- > 0;) {
      if (pool[i].size() != bytes) continue;
      std::vector<uint8_t> buffer = std::move(pool[i]);
      pool.erase(pool.begin() + static_cast<std::ptrdiff_t>(i));
      return buffer;
    }
  }
  return std::vector<uint8_t>(bytes);
}

void GiveBackReceiveBuffer(std::vector<uint8_t> buffer) {
  if (buffer.empty()) return;
  std::lock_guard<std::mutex> lock(BufferPoolMutex());
  auto& pool = BufferPool();
  if (pool.size() < kPooledReceiveBuffers) pool.push_back(std::move(buffer));
}

Receiver::Receiver(DiagSocket* socket, uint32_t seq, size_t buffer_bytes,
                   size_t slots, size_t wake)
    : socket_(socket),
      seq_(seq),
      buffer_bytes_(buffer_bytes),
      wake_(std::max<size_t>(wake, 1)) {
  max_slots_ = std::max(slots, 2 * wake_ - 1);
  thread_ = std::thread([this] { Run(); });
}

Receiver::~Receiver() {
  Stop();
  for (auto& slot : slots_) GiveBackReceiveBuffer(std::move(slot->data));
}

void Receiver::Run() {
  LowerOwnPriority();
  for (;;) {
    Datagram* datagram;
    {
      // Once out of slots, wait until the parser gave back a group of them
      // (it holds none while it waits itself, so both cannot wait at once).
      std::unique_lock<std::mutex> lock(mutex_);
      if (free_.empty() && slots_.size() < max_slots_ && !stopping_) {
        // A slot more while the dump goes on (its buffer outside the lock).
        lock.unlock();
        auto slot = std::make_unique<Datagram>();
        slot->data = TakeReceiveBuffer(buffer_bytes_);
        lock.lock();
        slots_.push_back(std::move(slot));
        free_.push_back(slots_.back().get());
      }
      if (free_.empty()) {
        free_changed_.wait(lock,
                           [&] { return stopping_ || free_.size() >= wake_; });
      }
      if (stopping_) break;
      datagram = free_.front();
      free_.pop_front();
    }
    datagram->length = 0;
    datagram->error = socket_->Receive(
        datagram->data.data(), datagram->data.size(), &datagram->length);
    datagram->last = static_cast<bool>(datagram->error) ||
                     EndsDump(datagram->data.data(), datagram->length, seq_);
    bool wake_parser;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      filled_.push_back(datagram);
      if (datagram->last && !datagram->error) saw_end_ = true;
      wake_parser = datagram->last || filled_.size() >= wake_;
    }
    if (wake_parser) filled_changed_.notify_one();
    if (datagram->last) break;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  done_ = true;
  filled_changed_.notify_all();
}

Datagram* Receiver::Next() {
  std::unique_lock<std::mutex> lock(mutex_);
  if (filled_.empty()) {
    // Sleep until a group is ready, or the last datagram, or the end.
    filled_changed_.wait(lock, [&] {
      return filled_.size() >= wake_ ||
             (!filled_.empty() && filled_.back()->last) || done_ || stopping_;
    });
  }
  if (filled_.empty()) return nullptr;
  Datagram* datagram = filled_.front();
  filled_.pop_front();
  return datagram;
}

void Receiver::Release(Datagram* datagram) {
  bool wake_receiver;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    free_.push_back(datagram);
    wake_receiver = free_.size() >= wake_;
  }
  if (wake_receiver) free_changed_.notify_one();
}

bool Receiver::SawEnd() {
  std::lock_guard<std::mutex> lock(mutex_);
  return saw_end_;
}

void Receiver::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  filled_changed_.notify_all();
  free_changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace sockdiag
