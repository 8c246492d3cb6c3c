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

// The receiver thread spends its life in the kernel's walk (recvmsg) and the
// parse; a pool thread receives and parses a dump's first datagrams. A few
// steps of niceness let the event loop's thread preempt them when both want a
// CPU, so /healthz and small scrapes stay quick while a big dump runs; on an
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

DumpOutcome SystemFailure(const SysError& error) {
  DumpOutcome outcome;
  outcome.kind = DumpOutcome::Kind::kSystem;
  outcome.errnum = error.errnum;
  outcome.syscall = error.syscall;
  outcome.detail = error.detail;
  outcome.finished = true;
  return outcome;
}

DumpOutcome ParseFailure(const ParseResult& result) {
  DumpOutcome outcome;
  outcome.kind = result.status == ParseStatus::kKernelError
                     ? DumpOutcome::Kind::kKernel
                     : DumpOutcome::Kind::kMalformed;
  outcome.errnum = result.errnum;
  outcome.detail = result.detail;
  outcome.finished = true;
  return outcome;
}

Receiver::Receiver(DiagSocket* socket, const ParseOptions& options,
                   size_t buffer_bytes, DumpStats* stats)
    : socket_(socket),
      options_(options),
      buffer_(TakeReceiveBuffer(buffer_bytes)),
      stats_(stats) {
  thread_ = std::thread([this] { Run(); });
}

Receiver::~Receiver() {
  Stop();
  GiveBackReceiveBuffer(std::move(buffer_));
}

Receiver::Job* Receiver::FirstPending() {
  for (Job& job : jobs_) {
    if (!job.done) return &job;
  }
  return nullptr;
}

void Receiver::Run() {
  LowerOwnPriority();
  size_t offset = 0;
  size_t length = 0;
  for (;;) {
    if (offset >= length) {
      // The next datagram, received before a batch is needed for it: the
      // kernel fills it while the fill workers hand batches over.
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (stopping_) break;
      }
      length = 0;
      offset = 0;
      if (SysError error =
              socket_->Receive(buffer_.data(), buffer_.size(), &length)) {
        FinishAll(SystemFailure(error), false);
        return;
      }
      stats_->datagrams.fetch_add(1, std::memory_order_relaxed);
      stats_->bytes.fetch_add(length, std::memory_order_relaxed);
      if (length == 0) continue;
    }
    Batch* batch;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      submitted_.wait(lock,
                      [&] { return stopping_ || FirstPending() != nullptr; });
      if (stopping_) break;
      batch = FirstPending()->batch;
    }
    // Only this thread writes the batch until it is marked done; the
    // workers only queue and erase jobs, so look the job up again after.
    uint32_t before = batch->count;
    ParseResult result = ParseMessages(buffer_.data() + offset, length - offset,
                                       options_, batch);
    stats_->rows.fetch_add(batch->count - before, std::memory_order_relaxed);
    stats_->skipped_messages.fetch_add(result.skipped,
                                       std::memory_order_relaxed);
    offset += result.offset;
    DumpOutcome outcome;
    switch (result.status) {
      case ParseStatus::kContinue:
        offset = length;
        if (!batch->Full()) continue;
        break;
      case ParseStatus::kBatchFull:
        break;
      case ParseStatus::kDone:
        outcome.finished = true;
        FinishAll(outcome, true);
        return;
      case ParseStatus::kKernelError:
      case ParseStatus::kMalformed:
        FinishAll(ParseFailure(result), true);
        return;
    }
    Done done;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done = CompleteFirst(outcome);
    }
    if (done) {
      done(outcome);
    } else {
      completed_.notify_all();
    }
  }
  // Stopped: the queued batches end here, as a receiver that ended
  // without the dump's end (only after Stop()). The datagram read ahead
  // may hold that end: then the socket holds nothing more of this dump.
  bool end_read =
      offset < length &&
      EndsDump(buffer_.data() + offset, length - offset, options_.expected_seq);
  FinishAll(SystemFailure(SysError{EPIPE, "recvmsg", ""}), end_read);
}

Receiver::Done Receiver::CompleteFirst(const DumpOutcome& outcome) {
  for (auto it = jobs_.begin(); it != jobs_.end(); ++it) {
    if (it->done) continue;
    if (it->done_callback) {
      Done done = std::move(it->done_callback);
      jobs_.erase(it);
      return done;
    }
    it->done = true;
    it->outcome = outcome;
    return nullptr;
  }
  return nullptr;
}

void Receiver::FinishAll(DumpOutcome outcome, bool saw_end) {
  // Callbacks run after the lock is let go, in queue order.
  std::vector<std::pair<Done, DumpOutcome>> callbacks;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    DumpOutcome rest;
    rest.finished = true;
    bool first = true;
    while (FirstPending() != nullptr) {
      const DumpOutcome& mine = first ? outcome : rest;
      first = false;
      if (Done done = CompleteFirst(mine)) {
        callbacks.emplace_back(std::move(done), mine);
      }
    }
    if (saw_end) saw_end_ = true;
    done_ = true;
  }
  completed_.notify_all();
  for (auto& [done, result] : callbacks) done(result);
}

void Receiver::Submit(Batch* batch, Done done) {
  bool ended;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ended = done_;
    if (!ended) {
      jobs_.push_back(Job{batch, std::move(done)});
    } else if (!done) {
      // The dump ended before this batch: nothing goes in it.
      jobs_.push_back(Job{batch});
      jobs_.back().done = true;
      jobs_.back().outcome.finished = true;
    }
  }
  if (!ended) {
    submitted_.notify_one();
  } else if (done) {
    DumpOutcome finished;
    finished.finished = true;
    done(finished);
  }
}

DumpOutcome Receiver::Await(Batch* batch) {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    for (auto it = jobs_.begin(); it != jobs_.end(); ++it) {
      if (it->batch != batch || !it->done) continue;
      DumpOutcome outcome = it->outcome;
      jobs_.erase(it);
      return outcome;
    }
    completed_.wait(lock);
  }
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
  submitted_.notify_all();
  std::lock_guard<std::mutex> join_lock(join_mutex_);
  if (thread_.joinable()) thread_.join();
}

}  // namespace sockdiag
