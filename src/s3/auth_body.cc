// RequestBody: the verified request body of an S3 upload (store.md §2.3).
#include <charconv>
#include <optional>

#include "core/text.h"
#include "s3/auth.h"
#include "s3/checksum.h"
#include "s3/chunked.h"

namespace moat::s3 {
namespace {

// The raw body's errors in S3 terms.
Error body_error(const Error& e) {
    if (e.reason != 0) return e;
    if (e.code == Errc::kUnavailable)
        return s3_error(Code::kRequestTimeout,
                        "Your socket connection to the server was not read from or written to "
                        "within the timeout period.");
    if (e.code == Errc::kInvalidArgument)
        return s3_error(Code::kIncompleteBody,
                        "You did not provide the number of bytes specified by the Content-Length "
                        "HTTP header");
    return e;
}

std::size_t digest_size(ChecksumAlgorithm a) {
    switch (a) {
        case ChecksumAlgorithm::kCrc32:
        case ChecksumAlgorithm::kCrc32c:
            return 4;
        case ChecksumAlgorithm::kCrc64Nvme:
            return 8;
        case ChecksumAlgorithm::kSha1:
            return 20;
        case ChecksumAlgorithm::kSha256:
            return 32;
        case ChecksumAlgorithm::kMd5:
            return 16;
    }
    return 0;
}

class RequestBodyImpl final : public RequestBody {
public:
    RequestBodyImpl(edge::ServiceBody& body, const edge::ServiceRequest& req,
                    const AuthResult& auth)
        : body_(body) {
        if (auto e = setup(req, auth); !e) failed_ = e.error();
    }

    Result<std::size_t> read(char* buf, std::size_t n) override {
        if (failed_) return *failed_;
        if (done_ || n == 0) return std::size_t{0};
        Result<std::size_t> got = chunked_ ? chunked_->read(buf, n) : body_.read(buf, n);
        if (!got) return fail(body_error(got.error()));
        if (*got == 0) {
            if (auto f = finish(); !f) return fail(f.error());
            done_ = true;
            return std::size_t{0};
        }
        total_ += *got;
        if (decoded_length_ && total_ > *decoded_length_)
            return fail(s3_error(Code::kIncompleteBody,
                                 "The body is longer than x-amz-decoded-content-length"));
        for (auto& c : checks_) c.sum->update(buf, *got);
        if (sha256_) sha256_->update(buf, *got);
        if (md5_) md5_->update(buf, *got);
        return *got;
    }

    store::Headers checksums() const override { return verified_; }
    store::Headers verified_checksums() const override { return verified_; }
    std::uint64_t bytes_read() const override { return total_; }

private:
    struct Check {
        ChecksumAlgorithm algo;
        std::string expected;  // base64; empty while a trailer is awaited
        bool trailer = false;
        std::unique_ptr<Checksum> sum;
    };

    Result<std::size_t> fail(Error e) {
        failed_ = e;
        return e;
    }

    Result<void> add_check(ChecksumAlgorithm a, std::string value, bool trailer) {
        for (const auto& c : checks_)
            if (c.algo == a)
                return s3_error(Code::kInvalidRequest, std::string("x-amz-checksum-") +
                                                           checksum_name(a) + " was sent twice");
        checks_.push_back({a, std::move(value), trailer, std::make_unique<Checksum>(a)});
        return {};
    }

    Result<void> setup(const edge::ServiceRequest& req, const AuthResult& auth) {
        // Content-MD5 (RFC 1864): base64 of the 16-byte MD5 of the (decoded) body.
        if (auto md5 = req.header("content-md5"); !md5.empty()) {
            auto raw = base64_decode(core::trim_ows(md5));
            if (!raw || raw->size() != 16)
                return s3_error(Code::kInvalidDigest, "The Content-MD5 you specified was invalid.");
            md5_expected_ = std::move(*raw);
            md5_ = std::make_unique<Checksum>(ChecksumAlgorithm::kMd5);
        }
        for (const auto& [name, value] : req.headers) {
            constexpr std::string_view kPrefix = "x-amz-checksum-";
            if (name.rfind(kPrefix, 0) != 0) continue;
            auto algo = checksum_algorithm(std::string_view(name).substr(kPrefix.size()));
            if (!algo) continue;  // x-amz-checksum-type, -mode ...: not a value
            auto raw = base64_decode(core::trim_ows(value));
            if (!raw || raw->size() != digest_size(*algo))
                return s3_error(Code::kInvalidRequest, "Value for " + name + " header is invalid.");
            MOAT_TRY(add_check(*algo, std::string(core::trim_ows(value)), false));
        }
        const bool trailer_mode = auth.payload == PayloadMode::kStreamingSignedTrailer ||
                                  auth.payload == PayloadMode::kStreamingUnsignedTrailer;
        if (auto t = req.header("x-amz-trailer"); !t.empty()) {
            if (!trailer_mode)
                return s3_error(Code::kInvalidRequest,
                                "x-amz-trailer needs a STREAMING-*-TRAILER x-amz-content-sha256");
            while (!t.empty()) {
                std::size_t comma = t.find(',');
                std::string name(core::trim_ows(t.substr(0, comma)));
                t = comma == t.npos ? std::string_view() : t.substr(comma + 1);
                for (char& c : name)
                    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
                constexpr std::string_view kPrefix = "x-amz-checksum-";
                auto algo = name.rfind(kPrefix, 0) == 0
                                ? checksum_algorithm(std::string_view(name).substr(kPrefix.size()))
                                : std::nullopt;
                if (!algo)
                    return s3_error(Code::kInvalidRequest,
                                    "The value specified in the x-amz-trailer header is not "
                                    "supported");
                MOAT_TRY(add_check(*algo, {}, true));
            }
        }
        if (auto d = req.header("x-amz-decoded-content-length"); !d.empty()) {
            std::uint64_t v = 0;
            auto [p, ec] = std::from_chars(d.data(), d.data() + d.size(), v);
            if (ec != std::errc() || p != d.data() + d.size())
                return s3_error(Code::kInvalidArgument,
                                "x-amz-decoded-content-length is not a number");
            decoded_length_ = v;
        }
        if (auth.payload == PayloadMode::kSignedHash) {
            sha256_expected_ = auth.payload_sha256;
            sha256_ = std::make_unique<Checksum>(ChecksumAlgorithm::kSha256);
        }
        AwsChunkedDecoder::Mode mode;
        switch (auth.payload) {
            case PayloadMode::kStreamingSigned:
                mode = AwsChunkedDecoder::Mode::kSigned;
                break;
            case PayloadMode::kStreamingSignedTrailer:
                mode = AwsChunkedDecoder::Mode::kSignedTrailer;
                break;
            case PayloadMode::kStreamingUnsignedTrailer:
                mode = AwsChunkedDecoder::Mode::kUnsignedTrailer;
                break;
            default:
                return {};
        }
        if (!decoded_length_ && mode != AwsChunkedDecoder::Mode::kUnsignedTrailer)
            return s3_error(Code::kMissingContentLength,
                            "x-amz-decoded-content-length is required with aws-chunked");
        edge::ServiceBody* raw = &body_;
        chunked_.emplace(
            [raw](char* b, std::size_t n) -> Result<std::size_t> {
                auto r = raw->read(b, n);
                if (!r) return body_error(r.error());
                return r;
            },
            mode,
            AwsChunkedDecoder::Signing{auth.seed_signature, auth.signing_key, auth.scope,
                                       auth.amz_date});
        return {};
    }

    Result<void> finish() {
        if (decoded_length_ && total_ != *decoded_length_)
            return s3_error(Code::kIncompleteBody,
                            "You did not provide the number of bytes specified by "
                            "x-amz-decoded-content-length");
        if (sha256_ && to_hex(sha256_->finish()) != sha256_expected_)
            return s3_error(Code::kXAmzContentSHA256Mismatch,
                            "The provided 'x-amz-content-sha256' header does not match what was "
                            "computed.");
        if (md5_ && md5_->finish() != md5_expected_)
            return s3_error(Code::kBadDigest,
                            "The Content-MD5 you specified did not match what we received.");
        if (chunked_) {
            for (const auto& [name, value] : chunked_->trailers()) {
                constexpr std::string_view kPrefix = "x-amz-checksum-";
                if (name.rfind(kPrefix, 0) != 0) continue;
                auto algo = checksum_algorithm(std::string_view(name).substr(kPrefix.size()));
                Check* c = nullptr;
                for (auto& k : checks_)
                    if (algo && k.algo == *algo && k.trailer) c = &k;
                if (!c)
                    return s3_error(Code::kInvalidRequest,
                                    "The trailer " + name + " was not declared in x-amz-trailer");
                if (!c->expected.empty())
                    return s3_error(Code::kInvalidRequest,
                                    "The trailer " + name + " was sent twice");
                c->expected = value;
            }
        }
        for (auto& c : checks_) {
            if (c.expected.empty())
                return s3_error(Code::kIncompleteBody, std::string("The trailer x-amz-checksum-") +
                                                           checksum_name(c.algo) +
                                                           " declared in x-amz-trailer is missing");
            const std::string got = base64_encode(c.sum->finish());
            if (got != c.expected)
                return s3_error(Code::kBadDigest,
                                std::string("The x-amz-checksum-") + checksum_name(c.algo) +
                                    " you specified did not match the calculated checksum.");
            verified_.emplace_back(checksum_name(c.algo), got);
        }
        return {};
    }

    edge::ServiceBody& body_;
    std::optional<AwsChunkedDecoder> chunked_;
    std::optional<Error> failed_;
    std::optional<std::uint64_t> decoded_length_;
    std::unique_ptr<Checksum> sha256_, md5_;
    std::string sha256_expected_, md5_expected_;
    std::vector<Check> checks_;
    store::Headers verified_;
    std::uint64_t total_ = 0;
    bool done_ = false;
};

}  // namespace

std::unique_ptr<RequestBody> make_request_body(edge::ServiceBody& body,
                                               const edge::ServiceRequest& req,
                                               const AuthResult& auth) {
    return std::make_unique<RequestBodyImpl>(body, req, auth);
}

}  // namespace moat::s3
