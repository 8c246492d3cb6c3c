// One dump from request to NLMSG_DONE: socket I/O plus the pure parser,
// filling caller-provided batches. Runs on a worker thread; no Node-API.
#ifndef SOCKDIAG_NATIVE_SESSION_H_
#define SOCKDIAG_NATIVE_SESSION_H_

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "columns.h"
#include "netlink.h"
#include "parser.h"
#include "receiver.h"
#include "request.h"
#include "shared_socket.h"

namespace sockdiag {

struct DumpParams {
  DumpRequest request;
  std::string netns_path;  // empty: the process's own namespace
  // A namespace handle's socket, used instead of a socket of our own.
  std::shared_ptr<SharedDiagSocket> shared_socket;
  uint32_t timeout_ms = 30000;
  uint32_t batch_rows = 16384;
  uint8_t groups = kGroupBase;     // column groups the batches carry
  uint64_t columns = kAllColumns;  // and which of their columns (mask bits)
};

class DumpSession {
 public:
  explicit DumpSession(DumpParams params);
  ~DumpSession() { Close(); }

  // Fills `batch` until it is full or the dump ends. A row that does not
  // fit stays in the buffer for the next call. The worker that starts the
  // dump receives and parses its first datagrams itself; past them it
  // hands its batch to the receiver thread and waits for it. Two workers
  // may be queued at once (so the kernel never waits for JavaScript
  // between batches); tickets, taken in queue order, make them fill in
  // that order.
  DumpOutcome Fill(Batch* batch, uint64_t ticket);
  uint64_t TakeTicket() { return next_ticket_++; }
  // The main thread's way past the workers, once the receiver thread does
  // all the work: when no worker is filling or waiting for its turn (every
  // ticket taken has had it), `batch` goes straight to the receiver thread
  // and `done` runs there when the batch is done (or at once, if the dump
  // had ended). Never waits for a lock; false when a worker must fill it.
  // The caller then owes one DirectDone().
  bool SubmitDirect(Batch* batch, Receiver::Done done);
  // On the main thread, after a direct fill's `done` ran.
  void DirectDone(const DumpOutcome& outcome);
  // At environment teardown: stops the receiver thread (no more `done`
  // calls) without touching JavaScript.
  void StopReceiver();
  // From JavaScript only when no worker is running or queued; a worker
  // calls it (under mutex_) when the dump ended in its fill.
  void Close();

  const DumpParams& params() const { return params_; }
  const DumpStats& stats() const { return stats_; }
  bool finished() const { return finished_.load(std::memory_order_acquire); }

 private:
  DumpOutcome Start();
  // Fills from the first datagrams; sets *handed when the batch went to
  // the receiver thread instead (its outcome then comes from Await()).
  DumpOutcome FillLocked(Batch* batch, bool* handed);
  DumpOutcome Fail(DumpOutcome outcome);
  ParseOptions ParseOptionsOf() const;

  DumpParams params_;
  DiagSocket own_socket_;
  DiagSocket* socket_ = nullptr;  // own_socket_, or the shared one acquired
  // Declared after the sockets: destroyed (thread joined) before they close.
  // Kept after the dump ends while a worker may still be in its Await().
  std::unique_ptr<Receiver> receiver_;
  int awaiting_ = 0;  // guarded by mutex_: workers inside receiver_->Await
  // The first datagrams, received by the worker that started the dump: when
  // they hold the whole dump, no receiver thread is started at all. Two,
  // because the kernel sends a dump's end in a datagram of its own.
  static constexpr size_t kHeadDatagrams = 2;
  struct HeadDatagram {
    std::vector<uint8_t> data;
    size_t length = 0;
    SysError error;     // recvmsg failed: the dump ends here
    bool last = false;  // carries the dump's end (NLMSG_DONE or NLMSG_ERROR)
  };
  std::array<HeadDatagram, kHeadDatagrams> head_;
  size_t head_received_ = 0;  // head_[0, head_received_) hold datagrams
  size_t head_parsed_ = 0;    // head_[0, head_parsed_) were taken to parse
  bool head_ended_ = false;   // the last of them carried the dump's end
  HeadDatagram* current_ = nullptr;  // in head_, being parsed
  size_t pending_offset_ = 0;
  size_t pending_length_ = 0;
  uint32_t seq_;
  bool started_ = false;
  bool sent_ = false;  // the request went out: the kernel runs a dump
  std::atomic<bool> finished_{false};
  DumpStats stats_;
  uint64_t next_ticket_ = 0;  // main thread only
  std::mutex mutex_;
  std::condition_variable turn_;
  uint64_t serving_ = 0;  // guarded by mutex_
};

}  // namespace sockdiag

#endif  // SOCKDIAG_NATIVE_SESSION_H_
