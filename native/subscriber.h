// Socket-destroy events: a NETLINK_SOCK_DIAG socket bound to the
// SKNLGRP_*_DESTROY multicast groups, read on a thread of its own (never the
// event loop, never the libuv pool) and parsed by the pure parser into
// batches of the same columns as dumps. No Node-API: `notify` is how the
// thread tells the JavaScript side that something changed.
//
// Memory is bounded whatever JavaScript does: at most `queue_batches` full
// or flushed batches wait to be taken; when they are all waiting, further
// events are parsed only to be counted (queue drops). Events the kernel
// could not queue (receive buffer full: ENOBUFS) are counted from the
// socket's own drop counter.
#ifndef SOCKDIAG_NATIVE_SUBSCRIBER_H_
#define SOCKDIAG_NATIVE_SUBSCRIBER_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "columns.h"
#include "netlink.h"

namespace sockdiag {

struct SubscriberParams {
  std::string netns_path;  // empty: our own namespace
  uint32_t groups = 0;     // nl_groups bits (abi::GroupBit)
  // Asked for; the kernel doubles it and caps it at net.core.rmem_max unless
  // SO_RCVBUFFORCE (CAP_NET_ADMIN) works.
  uint32_t receive_buffer_bytes = 16u << 20;
  uint32_t batch_rows = 512;
  uint32_t queue_batches = 8;
  // A batch that is not full is handed out this long after its first row:
  // one wake-up of JavaScript per interval under load, not one per event.
  uint32_t flush_ms = 100;
};

// Read from the main thread while the receiver counts: atomics, relaxed.
struct SubscriberStats {
  std::atomic<uint64_t> events{0};   // rows put in batches for JS
  std::atomic<uint64_t> batches{0};  // batches handed out
  std::atomic<uint64_t> datagrams{0};
  std::atomic<uint64_t> bytes{0};
  std::atomic<uint64_t> queue_drops{0};   // rows dropped: JS too slow
  std::atomic<uint64_t> kernel_drops{0};  // sk_drops: receive buffer full
  std::atomic<uint64_t> overruns{0};      // ENOBUFS reports
  std::atomic<uint64_t> malformed{0};     // datagrams (partly) unparsable
  std::atomic<uint32_t> receive_buffer_bytes{0};  // what the kernel granted
  std::atomic<bool> receive_buffer_forced{false};
};

struct EventBatch {
  std::vector<uint8_t> storage;
  Batch batch;
};

class Subscriber {
 public:
  enum class State { kOpening, kOpen, kFailed, kStopped };

  Subscriber(SubscriberParams params, std::function<void()> notify);
  ~Subscriber() { Stop(); }
  Subscriber(const Subscriber&) = delete;
  Subscriber& operator=(const Subscriber&) = delete;

  // Main thread. The receiver thread opens the socket itself (inside the
  // namespace when asked: it is ours, so it may stay there) and notifies.
  void Start();
  State state(SysError* error);
  // A batch to hand out, or null, in which case the next batch (or a state
  // change) is notified: checking and asking happen under one lock.
  std::unique_ptr<EventBatch> TakeReadyOrWait();
  void Recycle(std::unique_ptr<EventBatch> batch);
  // Wakes the thread, joins it, closes the socket. Idempotent.
  void Stop();
  // Reads the kernel's drop counter now (SO_MEMINFO).
  void RefreshKernelDrops();
  size_t queued();
  const SubscriberStats& stats() const { return stats_; }

 private:
  using Clock = std::chrono::steady_clock;

  void Run();
  SysError Open();
  void SetReceiveBuffer();
  bool ReceiveAll();  // false: the thread must end
  void Parse(const uint8_t* data, size_t length);
  Batch* Target();
  bool HandOver();
  void Fail(SysError error);
  void Report(State state, SysError error);

  SubscriberParams params_;
  std::function<void()> notify_;
  SubscriberStats stats_;
  std::thread thread_;
  std::atomic<int> fd_{-1};
  int wake_fd_ = -1;
  std::vector<uint8_t> buffer_;

  // Receiver thread only.
  std::unique_ptr<EventBatch> current_;
  EventBatch scratch_;  // rows parsed only to be counted as dropped
  Clock::time_point deadline_{};
  bool has_deadline_ = false;

  std::mutex mutex_;
  std::deque<std::unique_ptr<EventBatch>> ready_;  // guarded by mutex_
  std::vector<std::unique_ptr<EventBatch>> free_;  // guarded by mutex_
  size_t allocated_ = 0;                           // guarded by mutex_
  bool waiting_ = false;                           // guarded by mutex_
  bool stopping_ = false;                          // guarded by mutex_
  State state_ = State::kOpening;                  // guarded by mutex_
  SysError error_;                                 // guarded by mutex_
};

}  // namespace sockdiag

#endif  // SOCKDIAG_NATIVE_SUBSCRIBER_H_
