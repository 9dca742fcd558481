#include "edge/service/internal/body_reader.h"

#include <algorithm>
#include <cstring>

namespace moat::edge::service_internal {
namespace {

Error framing_error(std::string what) { return make_error(Errc::kInvalidArgument, what); }

Error closed_early() {
    return make_error(Errc::kInvalidArgument, "the peer closed before the end of the body");
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

BodyReader::BodyReader(InputBuffer& in, Framing framing, std::uint64_t length, bool expect_continue,
                       std::chrono::milliseconds io_timeout)
    : in_(in),
      framing_(framing),
      length_(length),
      left_(length),
      expect_continue_(expect_continue),
      io_timeout_(io_timeout) {
    switch (framing) {
        case Framing::kNone:
            state_ = State::kDone;
            break;
        case Framing::kLength:
            state_ = length == 0 ? State::kDone : State::kLength;
            break;
        case Framing::kChunked:
            state_ = State::kChunkSize;
            break;
    }
    if (state_ == State::kDone) expect_continue_ = false;  // nothing to ask for
}

std::optional<std::uint64_t> BodyReader::length() const {
    if (framing_ == Framing::kChunked) return std::nullopt;
    return length_;
}

std::optional<std::uint64_t> BodyReader::remaining() const {
    if (state_ == State::kDone) return 0;
    if (state_ == State::kLength) return left_;
    return std::nullopt;
}

Result<std::size_t> BodyReader::fail(Error e) {
    // A TLS error or a reset while the body streams in is the client breaking off (ServiceBody
    // contract: kInvalidArgument), not a refusal or a fault of ours: callers answer and log it
    // as the client's.
    if (e.code == Errc::kDenied || e.code == Errc::kIo)
        e = make_error(Errc::kInvalidArgument, "the client broke off the body: " + e.detail);
    state_ = State::kFailed;
    error_ = e;
    return e;
}

Result<std::size_t> BodyReader::read(char* buf, std::size_t n) {
    if (state_ == State::kFailed) return error_;
    if (state_ == State::kDone || n == 0) return std::size_t{0};
    if (expect_continue_ && !continue_sent_) {
        // RFC 9110 §10.1.1: the client holds the body back until it sees 100 (or a timeout).
        continue_sent_ = true;
        auto w = in_.io().write_all("HTTP/1.1 100 Continue\r\n\r\n", io_timeout_);
        if (!w) return fail(w.error());
    }
    if (state_ != State::kLength) return read_chunked(buf, n);
    auto got =
        in_.read(buf, static_cast<std::size_t>(std::min<std::uint64_t>(n, left_)), deadline());
    if (!got) return fail(got.error());
    if (*got == 0) return fail(closed_early());
    left_ -= *got;
    if (left_ == 0) state_ = State::kDone;
    return *got;
}

Result<std::string> BodyReader::read_line(std::size_t max) {
    for (;;) {
        std::string_view d = in_.data();
        std::size_t lf = d.find('\n');
        if (lf != d.npos) {
            if (lf == 0 || d[lf - 1] != '\r') return framing_error("bare LF in chunked framing");
            std::string line(d.substr(0, lf - 1));
            in_.consume(lf + 1);
            return line;
        }
        if (d.size() > max) return framing_error("chunk line too long");
        auto got = in_.fill(deadline());
        if (!got) return got.error();
        if (*got == 0) return closed_early();
    }
}

// RFC 9112 §7.1: chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF; last-chunk = 1*"0"
// [ chunk-ext ] CRLF, then the trailer section and a final CRLF.
Result<std::size_t> BodyReader::read_chunked(char* buf, std::size_t n) {
    for (;;) {
        switch (state_) {
            case State::kChunkSize: {
                auto line = read_line(kMaxChunkLine);
                if (!line) return fail(line.error());
                std::string_view l = *line;
                std::size_t i = 0;
                std::uint64_t size = 0;
                for (; i < l.size() && hex_value(l[i]) >= 0; ++i) {
                    if (size >> 59) return fail(framing_error("chunk size too large"));
                    size = size * 16 + static_cast<unsigned>(hex_value(l[i]));
                }
                if (i == 0) return fail(framing_error("bad chunk size"));
                // Only whitespace before ';' (BWS of chunk-ext) or nothing may follow.
                while (i < l.size() && (l[i] == ' ' || l[i] == '\t')) ++i;
                if (i < l.size() && l[i] != ';') return fail(framing_error("bad chunk size"));
                left_ = size;
                state_ = size == 0 ? State::kTrailers : State::kChunkData;
                break;
            }
            case State::kChunkData: {
                auto got = in_.read(
                    buf, static_cast<std::size_t>(std::min<std::uint64_t>(n, left_)), deadline());
                if (!got) return fail(got.error());
                if (*got == 0) return fail(closed_early());
                left_ -= *got;
                if (left_ == 0) state_ = State::kChunkDataEnd;
                return *got;
            }
            case State::kChunkDataEnd: {
                auto line = read_line(2);
                if (!line) return fail(line.error());
                if (!line->empty()) return fail(framing_error("chunk data longer than its size"));
                state_ = State::kChunkSize;
                break;
            }
            case State::kTrailers: {
                // Trailer fields are read and dropped: nothing here needs HTTP trailers (the
                // aws-chunked trailers of S3 travel inside the body).
                auto line = read_line(kMaxChunkLine);
                if (!line) return fail(line.error());
                trailer_bytes_ += line->size() + 2;
                if (trailer_bytes_ > kMaxTrailers) return fail(framing_error("trailers too large"));
                if (line->empty()) {
                    state_ = State::kDone;
                    return std::size_t{0};
                }
                break;
            }
            case State::kDone:
                return std::size_t{0};
            case State::kFailed:
                return error_;
            case State::kLength:
                return fail(make_error(Errc::kInternal, "bad body state"));
        }
    }
}

bool BodyReader::drain(std::uint64_t limit) {
    if (state_ == State::kDone) return true;
    if (state_ == State::kFailed) return false;
    if (continue_pending()) return false;  // the client may not send it at all
    if (auto r = remaining(); r && *r > limit) return false;
    char scratch[16 * 1024];
    std::uint64_t total = 0;
    while (total <= limit) {
        auto got = read(scratch, sizeof scratch);
        if (!got) return false;
        if (*got == 0) return state_ == State::kDone;
        total += *got;
    }
    return false;
}

}  // namespace moat::edge::service_internal
