// Receives and parses a dump's datagrams on a thread of its own, into the
// batches the fill workers hand it. The kernel builds the next chunk of a
// dump inside recvmsg(), so this thread is the kernel's walk; it parses each
// datagram right after receiving it, while the bytes are still in its
// cache, into the batch at the head of its queue.
//
// Why the parse is here and not on the fill workers: with a ring of receive
// buffers between a receiving thread and a parsing one, every datagram was
// written by the kernel on one CPU and read on another, and the two threads
// slept and woke for each group of datagrams. One thread with one hot
// buffer (as the C floor, bench/nldump.c, does) spends less of the kernel's
// time in copies and task switches; only the batches' columns, about a
// quarter of the datagrams' bytes, cross to the event loop's CPU.
#ifndef SOCKDIAG_NATIVE_RECEIVER_H_
#define SOCKDIAG_NATIVE_RECEIVER_H_

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "columns.h"
#include "netlink.h"
#include "parser.h"

namespace sockdiag {

struct DumpOutcome {
  enum class Kind { kOk, kSystem, kKernel, kMalformed };
  Kind kind = Kind::kOk;
  int errnum = 0;
  const char* syscall = "";
  const char* detail = "";
  bool finished = false;  // NLMSG_DONE seen (or an error ended the dump)
};

DumpOutcome SystemFailure(const SysError& error);
// The outcome of a parse that ended the dump with a kernel error or
// malformed bytes (result.status kKernelError or kMalformed).
DumpOutcome ParseFailure(const ParseResult& result);

// Read from the main thread while a worker counts: atomics, relaxed.
struct DumpStats {
  std::atomic<uint64_t> datagrams{0};
  std::atomic<uint64_t> bytes{0};
  std::atomic<uint64_t> rows{0};
  std::atomic<uint64_t> skipped_messages{0};
  // Whether the dump needed a receiver thread (more than one datagram).
  std::atomic<bool> receiver_thread{false};
};

// Receive buffers outlive the dumps that use them: a process-wide pool of a
// few, handed out uninitialised (a dump of one datagram, every namespace's
// LISTEN dump each scrape, used to zero 16 x 64 KiB for it).
std::vector<uint8_t> TakeReceiveBuffer(size_t bytes);
void GiveBackReceiveBuffer(std::vector<uint8_t> buffer);

// True when `data` holds our NLMSG_DONE or NLMSG_ERROR, or does not frame
// (the parser reports why): nothing more will come, or nothing useful.
bool EndsDump(const uint8_t* data, size_t length, uint32_t seq);

// Lowers the calling thread's priority by SOCKDIAG_RECEIVER_NICE steps
// (default 5): threads that spend their time in the kernel's walk let the
// event loop's thread have a contended CPU first.
void LowerOwnPriority();

// LowerOwnPriority() once per thread: for the libuv pool threads that run
// the addon's jobs (receiving and parsing a dump's first datagrams, entering
// namespaces for their files), so that waking one for a job does not take
// the event loop's CPU from it.
void LowerPoolThreadPriority();

class Receiver {
 public:
  // `socket` and `stats` must outlive the receiver; the dump request is
  // already sent and its first datagrams were read by the caller.
  Receiver(DiagSocket* socket, const ParseOptions& options, size_t buffer_bytes,
           DumpStats* stats);
  ~Receiver();
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;

  // Runs on the receiving thread once a batch submitted with it is done.
  using Done = std::function<void(const DumpOutcome&)>;

  // Queues `batch` behind the batches queued before it. It is filled from
  // its current count until full or until the dump ends. Without `done`,
  // Await() collects it; with `done`, the receiving thread calls it (or
  // the caller does, at once, when the dump had ended already) and no
  // Await() may follow.
  void Submit(Batch* batch, Done done = nullptr);
  // Waits until the submitted `batch` is done: its outcome (finished when
  // the dump ended in it, or had ended before it).
  DumpOutcome Await(Batch* batch);
  // Ends the thread (after at most the recvmsg() in progress) and joins it;
  // batches still queued are done, finished, with EPIPE. Any thread, more
  // than once.
  void Stop();
  // True once the dump's end was parsed: the socket holds nothing more of
  // it. Malformed bytes count as an end too (nothing useful would follow).
  bool SawEnd();

 private:
  struct Job {
    Batch* batch;
    Done done_callback;
    bool done = false;
    DumpOutcome outcome;
  };
  void Run();
  // Marks the first pending job done with `outcome`: a waiting Await()
  // wakes; a job with a callback leaves the queue and is returned to run.
  Done CompleteFirst(const DumpOutcome& outcome);  // under mutex_
  // The thread's last act: every job not yet done gets `outcome` (the
  // first) or a plain finished outcome (the rest).
  void FinishAll(DumpOutcome outcome, bool saw_end);
  Job* FirstPending();  // under mutex_

  DiagSocket* socket_;
  ParseOptions options_;
  std::vector<uint8_t> buffer_;  // the receiving thread's only buffer
  DumpStats* stats_;
  std::mutex mutex_;
  std::condition_variable submitted_;  // the receiving thread waits on it
  std::condition_variable completed_;  // Await() waits on it
  std::deque<Job> jobs_;               // guarded by mutex_, in fill order
  bool stopping_ = false;              // guarded by mutex_
  bool done_ = false;                  // guarded by mutex_: Run() returned
  bool saw_end_ = false;               // guarded by mutex_
  std::mutex join_mutex_;              // one joiner at a time
  std::thread thread_;
};

}  // namespace sockdiag

#endif  // SOCKDIAG_NATIVE_RECEIVER_H_
