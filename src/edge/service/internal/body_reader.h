#pragma once
// ServiceBody over one connection: removes Content-Length or chunked framing (RFC 9112 §6.2,
// §7.1), answers "Expect: 100-continue" on the first read (RFC 9110 §10.1.1) and enforces the
// per-read progress deadline. One per request, used by the connection thread only.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "edge/service.h"
#include "edge/service/internal/input_buffer.h"

namespace moat::edge::service_internal {

class BodyReader : public ServiceBody {
public:
    enum class Framing { kNone, kLength, kChunked };
    // `in` must outlive this object.
    BodyReader(InputBuffer& in, Framing framing, std::uint64_t length, bool expect_continue,
               std::chrono::milliseconds io_timeout);

    Result<std::size_t> read(char* buf, std::size_t n) override;
    std::optional<std::uint64_t> length() const override;

    bool finished() const { return state_ == State::kDone; }
    bool failed() const { return state_ == State::kFailed; }
    // The client waits for "100 Continue" that was never sent: it may or may not send the body.
    bool continue_pending() const { return expect_continue_ && !continue_sent_; }
    // Body bytes still to come when the framing says (Content-Length), else nullopt.
    std::optional<std::uint64_t> remaining() const;
    // Reads and discards the rest of the body, at most `limit` bytes; true if it ended.
    bool drain(std::uint64_t limit);

    // Longest chunk-size line (with extensions) and whole trailer section accepted.
    static constexpr std::size_t kMaxChunkLine = 4096;
    static constexpr std::size_t kMaxTrailers = 16 * 1024;

private:
    enum class State { kLength, kChunkSize, kChunkData, kChunkDataEnd, kTrailers, kDone, kFailed };
    Result<std::size_t> read_chunked(char* buf, std::size_t n);
    // The next CRLF-terminated line (without CRLF), at most `max` bytes; bare LF is refused.
    Result<std::string> read_line(std::size_t max);
    Deadline deadline() const { return SteadyClock::now() + io_timeout_; }
    Result<std::size_t> fail(Error e);

    InputBuffer& in_;
    Framing framing_;
    std::uint64_t length_ = 0;  // Content-Length
    std::uint64_t left_ = 0;    // of the body (kLength) or of the current chunk
    std::size_t trailer_bytes_ = 0;
    bool expect_continue_;
    bool continue_sent_ = false;
    std::chrono::milliseconds io_timeout_;
    State state_;
    Error error_;
};

}  // namespace moat::edge::service_internal
