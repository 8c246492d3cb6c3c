// Receives a dump's datagrams on a thread of its own, a few ahead of the
// parser. The kernel builds the next chunk of a dump inside recvmsg(), so
// with receiving and parsing on separate threads the kernel walk no longer
// pauses while a datagram is parsed.
//
// The two threads hand datagrams over in groups, not one by one: the parser
// is much faster than the kernel, so waking it for every datagram made it
// sleep and wake once per datagram (two context switches each, ~5,900 per
// scan of a 200,000-socket table). Each side now sleeps until a group of
// `wake` datagrams (or the dump's end) is ready.
#ifndef SOCKDIAG_NATIVE_RECEIVER_H_
#define SOCKDIAG_NATIVE_RECEIVER_H_

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "netlink.h"

namespace sockdiag {

// Receive buffers outlive the dumps that use them: a process-wide pool of a
// few, handed out uninitialised (a dump of one datagram, every namespace's
// LISTEN dump each scrape, used to zero 16 x 64 KiB for it).
std::vector<uint8_t> TakeReceiveBuffer(size_t bytes);
void GiveBackReceiveBuffer(std::vector<uint8_t> buffer);

struct Datagram {
  std::vector<uint8_t> data;
  size_t length = 0;
  SysError error;     // recvmsg failed: the dump ends here
  bool last = false;  // carries the dump's end (NLMSG_DONE or NLMSG_ERROR)
};

// True when `data` holds our NLMSG_DONE or NLMSG_ERROR, or does not frame
// (the parser reports why): nothing more will come, or nothing useful.
bool EndsDump(const uint8_t* data, size_t length, uint32_t seq);

// Lowers the calling thread's priority by SOCKDIAG_RECEIVER_NICE steps
// (default 5): threads that spend their time in the kernel's walk let the
// event loop's thread have a contended CPU first.
void LowerOwnPriority();

// LowerOwnPriority() once per thread: for the libuv pool threads that run
// the addon's jobs (parsing, receiving a dump's first datagrams, entering
// namespaces for their files), so that waking one for a job does not take
// the event loop's CPU from it.
void LowerPoolThreadPriority();

class Receiver {
 public:
  // `socket` must outlive the receiver; the dump request is already sent.
  // Each side sleeps until `wake` datagrams wait for it; `slots` >= 2 * wake -
  // 1 keeps both from waiting at once. Slots get their buffers as the dump
  // needs them, not up front.
  Receiver(DiagSocket* socket, uint32_t seq, size_t buffer_bytes, size_t slots,
           size_t wake);
  ~Receiver();
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;

  // The next datagram in order, waiting for it. Give it back with Release().
  Datagram* Next();
  void Release(Datagram* datagram);
  // Ends the thread (after at most the recvmsg() in progress) and joins it.
  void Stop();
  // True once the datagram carrying the dump's end was received (whether
  // or not the parser has got to it): the socket holds nothing more of it.
  bool SawEnd();

 private:
  void Run();

  DiagSocket* socket_;
  uint32_t seq_;
  std::vector<std::unique_ptr<Datagram>> slots_;  // guarded by mutex_
  size_t buffer_bytes_;
  size_t max_slots_;
  size_t wake_;
  std::mutex mutex_;
  std::condition_variable filled_changed_;  // the parser waits on it
  std::condition_variable free_changed_;    // the receiver waits on it
  std::deque<Datagram*> free_;              // guarded by mutex_
  std::deque<Datagram*> filled_;            // guarded by mutex_
  bool stopping_ = false;                   // guarded by mutex_
  bool done_ = false;                       // guarded by mutex_: Run() returned
  bool saw_end_ = false;                    // guarded by mutex_
  std::thread thread_;
};

}  // namespace sockdiag

#endif  // SOCKDIAG_NATIVE_RECEIVER_H_
