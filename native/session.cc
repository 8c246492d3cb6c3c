#include "session.h"

#include <atomic>
#include <cassert>
#include <utility>

#include "parser.h"

namespace sockdiag {
namespace {

constexpr size_t kReceiveBufferBytes = 64 * 1024;

uint32_t NextSequence() {
  static std::atomic<uint32_t> sequence{1};
  return sequence.fetch_add(1, std::memory_order_relaxed);
}

DumpOutcome SystemFailure(const SysError& error) {
  DumpOutcome outcome;
  outcome.kind = DumpOutcome::Kind::kSystem;
  outcome.errnum = error.errnum;
  outcome.syscall = error.syscall;
  outcome.finished = true;
  return outcome;
}

}  // namespace

DumpSession::DumpSession(DumpParams params)
    : params_(std::move(params)),
      buffer_(kReceiveBufferBytes),
      seq_(NextSequence()) {}

DumpOutcome DumpSession::Start() {
  started_ = true;
  if (SysError error = socket_.Open(params_.netns_path, params_.timeout_ms)) {
    return SystemFailure(error);
  }
  if (SysError error = socket_.Send(EncodeDumpRequest(params_.request, seq_))) {
    return SystemFailure(error);
  }
  return {};
}

DumpOutcome DumpSession::Fill(Batch* batch, uint64_t ticket) {
  std::unique_lock<std::mutex> lock(mutex_);
  turn_.wait(lock, [&] { return serving_ == ticket; });
  DumpOutcome outcome = FillLocked(batch);
  serving_++;
  lock.unlock();
  turn_.notify_all();
  return outcome;
}

DumpOutcome DumpSession::FillLocked(Batch* batch) {
  DumpOutcome outcome;
  if (finished_) {
    outcome.finished = true;
    return outcome;
  }
  if (!started_) {
    outcome = Start();
    if (outcome.kind != DumpOutcome::Kind::kOk) {
      finished_ = true;
      socket_.Close();
      return outcome;
    }
  }
  ParseOptions options;
  options.expected_seq = seq_;
  options.row_type = ReplyType(params_.request);
  options.protocol = params_.request.protocol;
  for (;;) {
    if (pending_offset_ >= pending_length_) {
      size_t received = 0;
      SysError error =
          socket_.Receive(buffer_.data(), buffer_.size(), &received);
      if (error) {
        finished_ = true;
        socket_.Close();
        return SystemFailure(error);
      }
      stats_.datagrams.fetch_add(1, std::memory_order_relaxed);
      stats_.bytes.fetch_add(received, std::memory_order_relaxed);
      pending_offset_ = 0;
      pending_length_ = received;
    }
    assert(pending_offset_ <= pending_length_);
    uint32_t before = batch->count;
    ParseResult result =
        ParseMessages(buffer_.data() + pending_offset_,
                      pending_length_ - pending_offset_, options, batch);
    assert(batch->count <= batch->capacity);
    assert(result.offset <= pending_length_ - pending_offset_);
    stats_.rows.fetch_add(batch->count - before, std::memory_order_relaxed);
    stats_.skipped_messages.fetch_add(result.skipped,
                                      std::memory_order_relaxed);
    pending_offset_ += result.offset;
    switch (result.status) {
      case ParseStatus::kContinue:
        if (batch->Full()) return outcome;
        continue;
      case ParseStatus::kBatchFull:
        return outcome;
      case ParseStatus::kDone:
        finished_ = true;
        outcome.finished = true;
        socket_.Close();
        return outcome;
      case ParseStatus::kKernelError:
      case ParseStatus::kMalformed:
        finished_ = true;
        socket_.Close();
        outcome.kind = result.status == ParseStatus::kKernelError
                           ? DumpOutcome::Kind::kKernel
                           : DumpOutcome::Kind::kMalformed;
        outcome.errnum = result.errnum;
        outcome.detail = result.detail;
        outcome.finished = true;
        return outcome;
    }
  }
}

void DumpSession::Close() {
  finished_ = true;
  socket_.Close();
}

}  // namespace sockdiag
