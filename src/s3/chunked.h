#pragma once
// The aws-chunked body encoding of S3 uploads (store.md §2.3; AWS S3 API Reference "Signature
// Calculations for the Authorization Header: Transferring Payload in Multiple Chunks" and
// "...Including Trailing Headers"):
//
//   signed:   hex(size);chunk-signature=<sig>\r\n <data>\r\n ... 0;chunk-signature=<sig>\r\n
//   unsigned: hex(size)\r\n <data>\r\n ... 0\r\n
//   then \r\n (no trailers), or trailer lines "name:value\r\n" (signed trailers end with
//   "x-amz-trailer-signature:<sig>\r\n") and a final \r\n.
//
// Each chunk signature chains from the previous one, starting at the request's (seed)
// signature. Decoding streams: chunk data is returned as it arrives and a chunk's signature is
// checked when its last byte has been read, so a bad chunk fails the read() after its data (the
// store discards the whole object then). read() returns 0 only after the last chunk, the
// trailers and every signature were checked.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"

namespace moat::s3 {

class AwsChunkedDecoder {
public:
    enum class Mode {
        kSigned,           // STREAMING-AWS4-HMAC-SHA256-PAYLOAD
        kSignedTrailer,    // STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER
        kUnsignedTrailer,  // STREAMING-UNSIGNED-PAYLOAD-TRAILER
    };
    // What chunk signatures chain from (AuthResult's fields of the same names).
    struct Signing {
        std::string seed_signature;  // hex
        std::string signing_key;     // raw 32 bytes
        std::string scope;
        std::string amz_date;
    };
    // The encoded bytes: up to n into buf, 0 at their end; errors are passed through.
    using Source = std::function<Result<std::size_t>(char* buf, std::size_t n)>;

    // Longest chunk header line and trailer section; largest chunk (MinIO's limits).
    static constexpr std::size_t kMaxLine = 4096;
    static constexpr std::size_t kMaxTrailers = 16 * 1024;
    static constexpr std::uint64_t kMaxChunk = 16ull << 20;

    AwsChunkedDecoder(Source source, Mode mode, Signing signing);
    ~AwsChunkedDecoder();

    // Up to n decoded bytes; 0 at the verified end. Errors (s3_error): IncompleteBody
    // (truncated), InvalidRequest (malformed framing), SignatureDoesNotMatch (a chunk or the
    // trailer signature), or the source's own error. After an error every call repeats it.
    Result<std::size_t> read(char* out, std::size_t n);

    // Trailing headers received (names lower-case, values trimmed; the trailer signature is
    // not among them). Complete once read() returned 0.
    const std::vector<std::pair<std::string, std::string>>& trailers() const { return trailers_; }

private:
    enum class State { kHeader, kData, kDataEnd, kFinalCrlf, kTrailers, kDone, kFailed };
    Result<std::size_t> step(char* out, std::size_t n);
    // The next CRLF-terminated line without the CRLF. eof_ok: the source ending right at a
    // line boundary yields nullopt instead of an error.
    Result<std::optional<std::string>> next_line(std::size_t max, bool eof_ok);
    Result<void> fill();
    Result<void> parse_header(const std::string& line);
    Result<void> check_chunk_signature();
    Result<void> trailer_line(const std::string& line);
    Result<void> finish_trailers();
    Result<void> check_no_more();
    Result<std::size_t> fail(Error e);

    Source source_;
    Mode mode_;
    Signing signing_;
    std::string previous_signature_;
    std::string chunk_signature_;  // as sent for the current chunk
    std::vector<char> buf_;
    std::size_t pos_ = 0, end_ = 0;
    bool eof_ = false;
    State state_ = State::kHeader;
    std::uint64_t left_ = 0;
    struct Hash;
    std::unique_ptr<Hash> hash_;  // SHA-256 of the current chunk (signed modes)
    std::vector<std::pair<std::string, std::string>> trailers_;
    std::string trailer_canonical_;  // "name:value\n" per trailer
    std::string trailer_signature_;
    std::size_t trailer_bytes_ = 0;
    Error error_;
};

}  // namespace moat::s3
