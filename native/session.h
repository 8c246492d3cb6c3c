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

struct DumpOutcome {
  enum class Kind { kOk, kSystem, kKernel, kMalformed };
  Kind kind = Kind::kOk;
  int errnum = 0;
  const char* syscall = "";
  const char* detail = "";
  bool finished = false;  // NLMSG_DONE seen (or an error ended the dump)
};

// Read from the main thread while a worker counts: atomics, relaxed.
struct DumpStats {
  std::atomic<uint64_t> datagrams{0};
  std::atomic<uint64_t> bytes{0};
  std::atomic<uint64_t> rows{0};
  std::atomic<uint64_t> skipped_messages{0};
  // Whether the dump needed a receiver thread (more than one datagram).
  std::atomic<bool> receiver_thread{false};
};

class DumpSession {
 public:
  explicit DumpSession(DumpParams params);
  ~DumpSession() { Close(); }

  // Receives and parses until `batch` is full or the dump ends. A row that
  // does not fit stays in the buffer for the next call. Two workers may be
  // queued at once (so the kernel never waits for JavaScript between
  // batches); tickets, taken in queue order, make them fill in that order.
  DumpOutcome Fill(Batch* batch, uint64_t ticket);
  uint64_t TakeTicket() { return next_ticket_++; }
  // Only when no worker is running or queued.
  void Close();

  const DumpParams& params() const { return params_; }
  const DumpStats& stats() const { return stats_; }
  bool finished() const { return finished_.load(std::memory_order_acquire); }

 private:
  DumpOutcome Start();
  DumpOutcome FillLocked(Batch* batch);
  DumpOutcome Fail(DumpOutcome outcome);
  bool InHead(const Datagram* datagram) const;
  Datagram* NextDatagram();
  void ReleaseCurrent();

  DumpParams params_;
  DiagSocket own_socket_;
  DiagSocket* socket_ = nullptr;  // own_socket_, or the shared one acquired
  // Declared after the sockets: destroyed (thread joined) before they close.
  std::unique_ptr<Receiver> receiver_;
  // The first datagrams, received by the worker that started the dump: when
  // they hold the whole dump, no receiver thread is started at all. Two,
  // because the kernel sends a dump's end in a datagram of its own.
  static constexpr size_t kHeadDatagrams = 2;
  std::array<Datagram, kHeadDatagrams> head_;
  size_t head_received_ = 0;     // head_[0, head_received_) hold datagrams
  size_t head_handed_ = 0;       // head_[0, head_handed_) went to the parser
  bool head_ended_ = false;      // the last of them carried the dump's end
  Datagram* current_ = nullptr;  // being parsed: in head_ or the receiver's
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
