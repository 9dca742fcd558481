#include "s3/chunked.h"

#include <algorithm>
#include <cstring>
#include <optional>

#include "core/text.h"
#include "s3/checksum.h"
#include "s3/errors.h"
#include "s3/sigv4.h"

namespace moat::s3 {
namespace {

Error malformed(const char* what) {
    return s3_error(Code::kInvalidRequest, std::string("malformed aws-chunked body: ") + what);
}

Error truncated() {
    return s3_error(Code::kIncompleteBody,
                    "The request body ended before the end of its aws-chunked encoding");
}

Error bad_signature(const char* what) {
    return s3_error(Code::kSignatureDoesNotMatch,
                    std::string("The ") + what +
                        " signature we calculated does not match the signature you provided");
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

struct AwsChunkedDecoder::Hash {
    Checksum sum{ChecksumAlgorithm::kSha256};
};

AwsChunkedDecoder::AwsChunkedDecoder(Source source, Mode mode, Signing signing)
    : source_(std::move(source)),
      mode_(mode),
      signing_(std::move(signing)),
      previous_signature_(signing_.seed_signature),
      buf_(64 * 1024) {}

AwsChunkedDecoder::~AwsChunkedDecoder() = default;

Result<std::size_t> AwsChunkedDecoder::fail(Error e) {
    state_ = State::kFailed;
    error_ = e;
    return e;
}

Result<void> AwsChunkedDecoder::fill() {
    if (pos_ > 0) {
        std::memmove(buf_.data(), buf_.data() + pos_, end_ - pos_);
        end_ -= pos_;
        pos_ = 0;
    }
    if (end_ == buf_.size()) return malformed("line too long");
    auto got = source_(buf_.data() + end_, buf_.size() - end_);
    if (!got) return got.error();
    if (*got == 0) eof_ = true;
    end_ += *got;
    return {};
}

Result<std::optional<std::string>> AwsChunkedDecoder::next_line(std::size_t max, bool eof_ok) {
    std::size_t scanned = 0;
    for (;;) {
        const char* d = buf_.data() + pos_;
        const std::size_t have = end_ - pos_;
        const void* lf = std::memchr(d + scanned, '\n', have - scanned);
        if (lf) {
            std::size_t at = static_cast<const char*>(lf) - d;
            if (at == 0 || d[at - 1] != '\r') return malformed("bare LF");
            if (at - 1 > max) return malformed("line too long");
            std::string line(d, at - 1);
            pos_ += at + 1;
            return std::optional<std::string>(std::move(line));
        }
        scanned = have;
        if (have > max + 1) return malformed("line too long");
        if (eof_) {
            if (have == 0 && eof_ok) return std::optional<std::string>();
            // A last line cut short by the end of the body: only tolerated where its content
            // is verified anyway (trailers carry checksums and a signature).
            if (eof_ok) {
                std::string line(d, have);
                pos_ = end_;
                return std::optional<std::string>(std::move(line));
            }
            return truncated();
        }
        MOAT_TRY(fill());
        scanned = std::min(scanned, end_ - pos_);
    }
}

Result<void> AwsChunkedDecoder::parse_header(const std::string& line) {
    std::string_view l = line;
    std::size_t i = 0;
    std::uint64_t size = 0;
    for (; i < l.size() && hex_value(l[i]) >= 0; ++i) {
        if (i >= 16) return malformed("chunk size too large");
        size = size * 16 + static_cast<unsigned>(hex_value(l[i]));
    }
    if (i == 0) return malformed("bad chunk size");
    if (size > kMaxChunk) return malformed("chunk larger than 16 MiB");
    std::string_view ext = l.substr(i);
    chunk_signature_.clear();
    if (mode_ == Mode::kUnsignedTrailer) {
        if (!ext.empty() && ext.front() != ';') return malformed("bad chunk size");
    } else {
        constexpr std::string_view kSig = ";chunk-signature=";
        if (ext.substr(0, kSig.size()) != kSig) return malformed("chunk-signature missing");
        chunk_signature_ = std::string(ext.substr(kSig.size()));
        if (chunk_signature_.size() != 64) return malformed("bad chunk-signature");
        hash_ = std::make_unique<Hash>();
    }
    left_ = size;
    return {};
}

Result<void> AwsChunkedDecoder::check_chunk_signature() {
    if (mode_ == Mode::kUnsignedTrailer) return {};
    const std::string expected =
        sigv4::chunk_signature(signing_.signing_key, signing_.amz_date, signing_.scope,
                               previous_signature_, to_hex(hash_->sum.finish()));
    hash_.reset();
    std::string sent = chunk_signature_;
    for (char& c : sent)
        if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    if (!sigv4::constant_time_equal(expected, sent)) return bad_signature("chunk");
    previous_signature_ = expected;
    return {};
}

Result<void> AwsChunkedDecoder::trailer_line(const std::string& line) {
    trailer_bytes_ += line.size() + 2;
    if (trailer_bytes_ > kMaxTrailers) return malformed("trailers too large");
    std::size_t colon = line.find(':');
    if (colon == std::string::npos || colon == 0) return malformed("bad trailer line");
    std::string name = line.substr(0, colon);
    for (char& c : name) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c == ' ' || c == '\t') return malformed("bad trailer name");
    }
    std::string value(core::trim_ows(std::string_view(line).substr(colon + 1)));
    if (name == "x-amz-trailer-signature") {
        if (!trailer_signature_.empty()) return malformed("two trailer signatures");
        trailer_signature_ = value;
        return {};
    }
    if (!trailer_signature_.empty()) return malformed("trailer after the trailer signature");
    trailer_canonical_.append(name).append(":").append(value).append("\n");
    trailers_.emplace_back(std::move(name), std::move(value));
    return {};
}

Result<void> AwsChunkedDecoder::finish_trailers() {
    if (mode_ != Mode::kSignedTrailer) return {};  // an unsigned body has nothing to check it by
    if (trailer_signature_.empty()) return bad_signature("trailer (missing)");
    const std::string expected =
        sigv4::trailer_signature(signing_.signing_key, signing_.amz_date, signing_.scope,
                                 previous_signature_, trailer_canonical_);
    std::string sent = trailer_signature_;
    for (char& c : sent)
        if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    if (!sigv4::constant_time_equal(expected, sent)) return bad_signature("trailer");
    return {};
}

// Nothing may follow the end of the encoding: extra bytes mean the framing was misread.
Result<void> AwsChunkedDecoder::check_no_more() {
    while (pos_ == end_ && !eof_) MOAT_TRY(fill());
    if (pos_ != end_) return malformed("data after the final chunk");
    return {};
}

Result<std::size_t> AwsChunkedDecoder::read(char* out, std::size_t n) {
    if (state_ == State::kFailed) return error_;
    if (n == 0) return std::size_t{0};
    auto r = step(out, n);
    if (!r) return fail(r.error());
    return r;
}

Result<std::size_t> AwsChunkedDecoder::step(char* out, std::size_t n) {
    for (;;) {
        switch (state_) {
            case State::kHeader: {
                auto line = next_line(kMaxLine, false);
                if (!line) return line.error();
                MOAT_TRY(parse_header(**line));
                if (left_ > 0) {
                    state_ = State::kData;
                    break;
                }
                MOAT_TRY(check_chunk_signature());  // the final, empty chunk is signed too
                state_ = mode_ == Mode::kSigned ? State::kFinalCrlf : State::kTrailers;
                break;
            }
            case State::kData: {
                const std::size_t want =
                    static_cast<std::size_t>(std::min<std::uint64_t>(n, left_));
                std::size_t got = 0;
                if (pos_ < end_) {
                    got = std::min(want, end_ - pos_);
                    std::memcpy(out, buf_.data() + pos_, got);
                    pos_ += got;
                } else if (want < buf_.size() / 4) {
                    // A small rest of a chunk: buffer it with the framing that follows.
                    if (eof_) return truncated();
                    MOAT_TRY(fill());
                    if (pos_ == end_) return truncated();
                    got = std::min(want, end_ - pos_);
                    std::memcpy(out, buf_.data() + pos_, got);
                    pos_ += got;
                } else {
                    if (eof_) return truncated();
                    auto r = source_(out, want);  // large chunks skip the buffer
                    if (!r) return r.error();
                    if (*r == 0) return truncated();
                    got = *r;
                }
                if (hash_) hash_->sum.update(out, got);
                left_ -= got;
                if (left_ == 0) state_ = State::kDataEnd;
                return got;
            }
            case State::kDataEnd: {
                auto line = next_line(2, false);
                if (!line) return line.error();
                if (!(*line)->empty()) return malformed("chunk data longer than its size");
                MOAT_TRY(check_chunk_signature());
                state_ = State::kHeader;
                break;
            }
            case State::kFinalCrlf: {
                // "0;chunk-signature=...\r\n\r\n": the last CRLF may be missing at the very end.
                auto line = next_line(kMaxLine, true);
                if (!line) return line.error();
                if (*line && !(*line)->empty()) return malformed("data after the final chunk");
                MOAT_TRY(check_no_more());
                state_ = State::kDone;
                break;
            }
            case State::kTrailers: {
                auto line = next_line(kMaxLine, true);
                if (!line) return line.error();
                if (!*line || (*line)->empty()) {
                    // Some encoders put an empty line between the last chunk and the
                    // trailers; an empty line before any trailer is skipped unless the
                    // body ends there.
                    if (*line && trailers_.empty() && trailer_signature_.empty()) {
                        while (pos_ == end_ && !eof_) MOAT_TRY(fill());
                        if (pos_ != end_) break;
                    }
                    MOAT_TRY(finish_trailers());
                    MOAT_TRY(check_no_more());
                    state_ = State::kDone;
                    break;
                }
                MOAT_TRY(trailer_line(**line));
                break;
            }
            case State::kDone:
                return std::size_t{0};
            case State::kFailed:
                return error_;
        }
    }
}

}  // namespace moat::s3
