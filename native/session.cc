#include "session.h"

#include <atomic>
#include <cassert>
#include <cerrno>
#include <utility>

#include "parser.h"

namespace sockdiag {
namespace {

// The kernel caps dump datagrams at SKB_WITH_OVERHEAD(32 KiB) = 32448 bytes
// (af_netlink.c); 64 KiB leaves room, and MSG_TRUNC is still checked.
constexpr size_t kReceiveBufferBytes = 64 * 1024;
uint32_t NextSequence() {
  static std::atomic<uint32_t> sequence{1};
  return sequence.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace

DumpSession::DumpSession(DumpParams params)
    : params_(std::move(params)), seq_(NextSequence()) {}

DumpOutcome DumpSession::Start() {
  started_ = true;
  if (params_.shared_socket) {
    if (SysError error =
            params_.shared_socket->Acquire(params_.timeout_ms, &socket_)) {
      return SystemFailure(error);
    }
  } else {
    SysError error = own_socket_.Open(params_.netns_path, params_.timeout_ms);
    if (error) return SystemFailure(error);
    socket_ = &own_socket_;
  }
  if (SysError error =
          socket_->Send(EncodeDumpRequest(params_.request, seq_))) {
    return SystemFailure(error);
  }
  sent_ = true;
  // A dump that fits in a datagram or two (every LISTEN dump, most UDP
  // dumps, a small namespace's table) is done here, without a thread.
  bool last = false;
  while (!last && head_received_ < kHeadDatagrams) {
    HeadDatagram& datagram = head_[head_received_++];
    datagram.data = TakeReceiveBuffer(kReceiveBufferBytes);
    datagram.length = 0;
    datagram.error = socket_->Receive(datagram.data.data(),
                                      datagram.data.size(), &datagram.length);
    datagram.last = static_cast<bool>(datagram.error) ||
                    EndsDump(datagram.data.data(), datagram.length, seq_);
    last = datagram.last;
    head_ended_ = last && !datagram.error;
  }
  if (!last) {
    stats_.receiver_thread.store(true, std::memory_order_relaxed);
    receiver_ = std::make_unique<Receiver>(socket_, ParseOptionsOf(),
                                           kReceiveBufferBytes, &stats_);
  }
  return {};
}

ParseOptions DumpSession::ParseOptionsOf() const {
  ParseOptions options;
  options.expected_seq = seq_;
  options.row_type = ReplyType(params_.request);
  options.protocol = params_.request.protocol;
  return options;
}

DumpOutcome DumpSession::Fill(Batch* batch, uint64_t ticket) {
  std::unique_lock<std::mutex> lock(mutex_);
  turn_.wait(lock, [&] { return serving_ == ticket; });
  bool handed = false;
  DumpOutcome outcome = FillLocked(batch, &handed);
  if (handed) awaiting_++;
  // The next worker may queue its batch behind this one at once.
  serving_++;
  lock.unlock();
  turn_.notify_all();
  if (!handed) return outcome;
  outcome = receiver_->Await(batch);
  lock.lock();
  awaiting_--;
  if (outcome.finished) Close();
  return outcome;
}

bool DumpSession::SubmitDirect(Batch* batch, Receiver::Done done) {
  std::unique_lock<std::mutex> lock(mutex_, std::try_to_lock);
  if (!lock.owns_lock() || finished_ || receiver_ == nullptr ||
      serving_ != next_ticket_ || head_parsed_ < head_received_ ||
      pending_offset_ < pending_length_) {
    return false;
  }
  // Its turn, taken and had at once: a worker queued later fills after it.
  next_ticket_++;
  serving_++;
  awaiting_++;
  receiver_->Submit(batch, std::move(done));
  return true;
}

void DumpSession::DirectDone(const DumpOutcome& outcome) {
  std::lock_guard<std::mutex> lock(mutex_);
  awaiting_--;
  if (outcome.finished) Close();
}

void DumpSession::StopReceiver() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (receiver_ != nullptr) receiver_->Stop();
}

// Ends the dump: joins the receiver, closes the socket (the kernel frees a
// half-done dump's state with it).
DumpOutcome DumpSession::Fail(DumpOutcome outcome) {
  Close();
  outcome.finished = true;
  return outcome;
}

DumpOutcome DumpSession::FillLocked(Batch* batch, bool* handed) {
  DumpOutcome outcome;
  if (finished_) {
    outcome.finished = true;
    return outcome;
  }
  if (!started_) {
    outcome = Start();
    if (outcome.kind != DumpOutcome::Kind::kOk) return Fail(outcome);
  }
  const ParseOptions options = ParseOptionsOf();
  for (;;) {
    if (pending_offset_ >= pending_length_) {
      if (current_ != nullptr) {
        GiveBackReceiveBuffer(std::move(current_->data));
        current_->data = {};
        current_ = nullptr;
      }
      if (head_parsed_ == head_received_) {
        // Past the first datagrams: the receiver thread goes on.
        if (receiver_ == nullptr) {
          return Fail(SystemFailure(SysError{EPIPE, "recvmsg", ""}));
        }
        receiver_->Submit(batch);
        *handed = true;
        return outcome;
      }
      current_ = &head_[head_parsed_++];
      if (current_->error) return Fail(SystemFailure(current_->error));
      stats_.datagrams.fetch_add(1, std::memory_order_relaxed);
      stats_.bytes.fetch_add(current_->length, std::memory_order_relaxed);
      pending_offset_ = 0;
      pending_length_ = current_->length;
    }
    assert(pending_offset_ <= pending_length_);
    uint32_t before = batch->count;
    ParseResult result =
        ParseMessages(current_->data.data() + pending_offset_,
                      pending_length_ - pending_offset_, options, batch);
    assert(batch->count <= batch->capacity);
    assert(result.offset <= pending_length_ - pending_offset_);
    stats_.rows.fetch_add(batch->count - before, std::memory_order_relaxed);
    stats_.skipped_messages.fetch_add(result.skipped,
                                      std::memory_order_relaxed);
    pending_offset_ += result.offset;
    switch (result.status) {
      case ParseStatus::kContinue:
        pending_offset_ = pending_length_;
        if (batch->Full()) return outcome;
        continue;
      case ParseStatus::kBatchFull:
        return outcome;
      case ParseStatus::kDone:
        return Fail(outcome);
      case ParseStatus::kKernelError:
      case ParseStatus::kMalformed:
        return Fail(ParseFailure(result));
    }
  }
}

void DumpSession::Close() {
  finished_ = true;
  // A shared socket goes on to serve other dumps: say whether the kernel's
  // end of this one was read, or whether the next dump must drain it first.
  // Asked after the join, so that a datagram received meanwhile counts.
  bool ended = head_ended_;
  if (receiver_ != nullptr) {
    receiver_->Stop();  // joins the thread before the socket goes
    ended = receiver_->SawEnd();
  }
  bool unfinished = sent_ && !ended;
  for (HeadDatagram& datagram : head_) {
    GiveBackReceiveBuffer(std::move(datagram.data));
    datagram.data = {};
  }
  head_parsed_ = head_received_;
  current_ = nullptr;
  pending_offset_ = pending_length_ = 0;
  // A worker still in Await() holds on to it; the last Close() frees it.
  if (awaiting_ == 0) receiver_.reset();
  if (socket_ != nullptr && socket_ != &own_socket_) {
    params_.shared_socket->Release(unfinished ? seq_ : 0);
  }
  socket_ = nullptr;
  own_socket_.Close();
}

}  // namespace sockdiag
