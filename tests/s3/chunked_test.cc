#include "s3/chunked.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "s3/auth.h"
#include "s3/checksum.h"
#include "s3/errors.h"
#include "s3/sigv4.h"

namespace moat::s3 {
namespace {

constexpr const char* kSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr const char* kDate = "20130524T000000Z";
constexpr const char* kScope = "20130524/us-east-1/s3/aws4_request";

Code code_of(const Error& e) { return static_cast<Code>(e.reason); }

// A request body held in memory, handed out in pieces: the first read returns at most
// `first` bytes, later ones at most `step` (to split the encoding at every boundary).
class MemBody : public edge::ServiceBody {
public:
    explicit MemBody(std::string data, std::size_t first = SIZE_MAX, std::size_t step = SIZE_MAX)
        : data_(std::move(data)), first_(first), step_(step) {}
    Result<std::size_t> read(char* buf, std::size_t n) override {
        std::size_t limit = reads_++ == 0 ? first_ : step_;
        std::size_t k = std::min({n, limit, data_.size() - pos_});
        std::memcpy(buf, data_.data() + pos_, k);
        pos_ += k;
        return k;
    }
    std::optional<std::uint64_t> length() const override { return data_.size(); }

private:
    std::string data_;
    std::size_t pos_ = 0, first_, step_;
    int reads_ = 0;
};

AuthResult signing_auth(PayloadMode mode, std::string seed) {
    AuthResult a;
    a.payload = mode;
    a.seed_signature = std::move(seed);
    a.signing_key = sigv4::signing_key(kSecret, "20130524", "us-east-1", "s3");
    a.scope = kScope;
    a.amz_date = kDate;
    return a;
}

// Reads the whole body in `chunk`-byte reads; the error if one happens.
Result<std::string> drain(store::BodySource& b, std::size_t chunk = 8192) {
    std::string out, buf(chunk, '\0');
    for (;;) {
        auto n = b.read(buf.data(), buf.size());
        if (!n) return n.error();
        if (*n == 0) return out;
        out.append(buf.data(), *n);
    }
}

edge::ServiceRequest put_request(edge::ServiceHeaders h) {
    edge::ServiceRequest r;
    r.method = "PUT";
    r.path = "/b/k";
    r.headers = std::move(h);
    return r;
}

// The AWS "Transferring Payload in Multiple Chunks" example body (66560 x 'a').
std::string aws_chunked_example() {
    return "10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"
           "\r\n" +
           std::string(65536, 'a') +
           "\r\n400;chunk-signature="
           "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"
           "\r\n" +
           std::string(1024, 'a') +
           "\r\n0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"
           "\r\n\r\n";
}
const char* kExampleSeed = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";

// The AWS "Including Trailing Headers" example (66560 x 'a', CRC32C trailer).
std::string aws_trailer_example() {
    return "10000;chunk-signature=b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2"
           "\r\n" +
           std::string(65536, 'a') +
           "\r\n400;chunk-signature="
           "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7"
           "\r\n" +
           std::string(1024, 'a') +
           "\r\n0;chunk-signature=2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992"
           "\r\nx-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:"
           "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n\r\n";
}
const char* kTrailerSeed = "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e";

edge::ServiceHeaders chunked_headers(const char* sha, std::size_t encoded) {
    return {{"x-amz-content-sha256", sha},
            {"content-encoding", "aws-chunked"},
            {"x-amz-decoded-content-length", "66560"},
            {"content-length", std::to_string(encoded)}};
}

TEST(AwsChunked, AwsMultipleChunksExample) {
    const std::string enc = aws_chunked_example();
    EXPECT_EQ(enc.size(), 66824u);  // the example's Content-Length
    MemBody body(enc);
    auto req = put_request(chunked_headers("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", enc.size()));
    auto rb =
        make_request_body(body, req, signing_auth(PayloadMode::kStreamingSigned, kExampleSeed));
    auto out = drain(*rb);
    ASSERT_TRUE(out) << out.error().detail;
    EXPECT_EQ(*out, std::string(66560, 'a'));
    EXPECT_EQ(rb->bytes_read(), 66560u);
}

TEST(AwsChunked, AwsTrailingHeadersExample) {
    const std::string enc = aws_trailer_example();
    MemBody body(enc);
    auto h = chunked_headers("STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", enc.size());
    h.emplace_back("x-amz-trailer", "x-amz-checksum-crc32c");
    auto req = put_request(h);
    auto rb = make_request_body(body, req,
                                signing_auth(PayloadMode::kStreamingSignedTrailer, kTrailerSeed));
    auto out = drain(*rb, 1 << 20);  // large reads: chunk data bypasses the decoder's buffer
    ASSERT_TRUE(out) << out.error().detail;
    EXPECT_EQ(out->size(), 66560u);
    ASSERT_EQ(rb->checksums().size(), 1u);
    EXPECT_EQ(rb->checksums()[0].first, "crc32c");
    EXPECT_EQ(rb->checksums()[0].second, "sOO8/Q==");
}

TEST(AwsChunked, TamperedChunkDataOrSignatureFails) {
    std::string enc = aws_chunked_example();
    enc[200] = 'b';  // inside the first chunk's data
    MemBody body(enc);
    auto req = put_request(chunked_headers("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", enc.size()));
    auto rb =
        make_request_body(body, req, signing_auth(PayloadMode::kStreamingSigned, kExampleSeed));
    auto out = drain(*rb);
    ASSERT_FALSE(out);
    EXPECT_EQ(code_of(out.error()), Code::kSignatureDoesNotMatch);

    // A wrong seed (another request's signature) fails the first chunk.
    MemBody body2(aws_chunked_example());
    auto rb2 =
        make_request_body(body2, req, signing_auth(PayloadMode::kStreamingSigned, kTrailerSeed));
    auto out2 = drain(*rb2);
    ASSERT_FALSE(out2);
    EXPECT_EQ(code_of(out2.error()), Code::kSignatureDoesNotMatch);

    // The trailer's value changed: its signature no longer matches.
    std::string t = aws_trailer_example();
    t.replace(t.find("sOO8/Q=="), 8, "sOO8/R==");
    MemBody body3(t);
    auto h = chunked_headers("STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", t.size());
    h.emplace_back("x-amz-trailer", "x-amz-checksum-crc32c");
    auto req3 = put_request(h);
    auto rb3 = make_request_body(body3, req3,
                                 signing_auth(PayloadMode::kStreamingSignedTrailer, kTrailerSeed));
    auto out3 = drain(*rb3);
    ASSERT_FALSE(out3);
    EXPECT_EQ(code_of(out3.error()), Code::kSignatureDoesNotMatch);
}

// Every way of cutting the encoding into two reads, and one byte at a time, decodes the same.
TEST(AwsChunked, SplitsAtEveryBoundary) {
    // A small signed body: chunks of 5, 1 and 0 bytes, built with the chain rule.
    AuthResult a = signing_auth(PayloadMode::kStreamingSigned, kExampleSeed);
    std::string prev = a.seed_signature, enc;
    for (std::string chunk : {"hello", "!", ""}) {
        std::string sig =
            sigv4::chunk_signature(a.signing_key, a.amz_date, a.scope, prev, sha256_hex(chunk));
        char size[16];
        std::snprintf(size, sizeof size, "%zx", chunk.size());
        enc += std::string(size) + ";chunk-signature=" + sig + "\r\n" + chunk + "\r\n";
        prev = sig;
    }
    auto req = put_request({{"x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"},
                            {"x-amz-decoded-content-length", "6"}});
    for (std::size_t cut = 0; cut <= enc.size(); ++cut) {
        for (std::size_t read_size : {std::size_t{1}, std::size_t{3}, std::size_t{8192}}) {
            MemBody body(enc, cut == 0 ? SIZE_MAX : cut, SIZE_MAX);
            auto rb = make_request_body(body, req, a);
            auto out = drain(*rb, read_size);
            ASSERT_TRUE(out) << "cut " << cut << ": " << out.error().detail;
            EXPECT_EQ(*out, "hello!");
        }
        MemBody bytewise(enc, 1, 1);
        auto rb = make_request_body(bytewise, req, a);
        auto out = drain(*rb, 2);
        ASSERT_TRUE(out) << out.error().detail;
        EXPECT_EQ(*out, "hello!");
    }
}

// Every prefix of a body that loses a byte of data or of a trailer value is refused (never
// accepted as a shorter object). Only the closing CRLFs after a complete, verified trailer may
// be missing: the content is whole then.
TEST(AwsChunked, EveryTruncationFails) {
    const std::string enc = "5\r\nhello\r\n1\r\n!\r\n0\r\nx-amz-checksum-crc32:" +
                            base64_encode(std::string("\x4d\x4d\x5d\x9b", 4)) + "\r\n\r\n";
    auto req = put_request({{"x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"},
                            {"x-amz-trailer", "x-amz-checksum-crc32"},
                            {"x-amz-decoded-content-length", "6"}});
    AuthResult a;
    a.payload = PayloadMode::kStreamingUnsignedTrailer;
    // The real CRC32 of "hello!" so the full body passes.
    const std::uint32_t crc = crc32(0, "hello!", 6);
    std::string good = "5\r\nhello\r\n1\r\n!\r\n0\r\nx-amz-checksum-crc32:";
    std::string be{static_cast<char>(crc >> 24), static_cast<char>(crc >> 16),
                   static_cast<char>(crc >> 8), static_cast<char>(crc)};
    good += base64_encode(be) + "\r\n\r\n";
    {
        MemBody body(good);
        auto rb = make_request_body(body, req, a);
        auto out = drain(*rb);
        ASSERT_TRUE(out) << out.error().detail;
        EXPECT_EQ(*out, "hello!");
    }
    const std::size_t trailer_at = good.find("x-amz-checksum");
    for (std::size_t len = 0; len < good.size(); ++len) {
        MemBody body(good.substr(0, len));
        auto rb = make_request_body(body, req, a);
        auto out = drain(*rb);
        if (len >= good.size() - 4) {            // "\r\n\r\n" after the complete trailer line
            if (out) EXPECT_EQ(*out, "hello!");  // whole and verified, or refused: never short
            continue;
        }
        EXPECT_FALSE(out) << "accepted a body cut at " << len << " of " << good.size()
                          << (len > trailer_at ? " (in the trailer)" : "");
    }
    (void)enc;
}

class TrailerChecksums : public ::testing::TestWithParam<const char*> {};

TEST_P(TrailerChecksums, RightValuePassesWrongValueFails) {
    const std::string name = GetParam();
    const std::string data = "The quick brown fox jumps over the lazy dog";
    Checksum c(*checksum_algorithm(name));
    c.update(data.data(), data.size());
    const std::string right = base64_encode(c.finish());
    std::string wrong = right;
    wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
    for (const std::string& value : {right, wrong}) {
        std::string enc = "10\r\n" + data.substr(0, 16) + "\r\n" + "1b\r\n" + data.substr(16) +
                          "\r\n0\r\nx-amz-checksum-" + name + ":" + value + "\r\n\r\n";
        MemBody body(enc, 7, 5);
        auto req = put_request({{"x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"},
                                {"content-encoding", "aws-chunked"},
                                {"x-amz-trailer", "x-amz-checksum-" + name},
                                {"x-amz-decoded-content-length", std::to_string(data.size())}});
        AuthResult a;
        a.payload = PayloadMode::kStreamingUnsignedTrailer;
        auto rb = make_request_body(body, req, a);
        auto out = drain(*rb, 9);
        if (value == right) {
            ASSERT_TRUE(out) << out.error().detail;
            EXPECT_EQ(*out, data);
            ASSERT_EQ(rb->checksums().size(), 1u);
            EXPECT_EQ(rb->checksums()[0], (std::pair<std::string, std::string>(name, right)));
        } else {
            ASSERT_FALSE(out);
            EXPECT_EQ(code_of(out.error()), Code::kBadDigest);
            EXPECT_TRUE(rb->checksums().empty());
        }
    }
}

INSTANTIATE_TEST_SUITE_P(All, TrailerChecksums,
                         ::testing::Values("crc32", "crc32c", "crc64nvme", "sha1", "sha256"));

TEST(RequestBody, HeaderChecksumAndContentMd5) {
    const std::string data = "Welcome to Amazon S3.";
    Checksum md5(ChecksumAlgorithm::kMd5), sha1(ChecksumAlgorithm::kSha1);
    md5.update(data.data(), data.size());
    sha1.update(data.data(), data.size());
    const std::string md5_b64 = base64_encode(md5.finish());
    const std::string sha1_b64 = base64_encode(sha1.finish());
    AuthResult a;  // UNSIGNED-PAYLOAD
    {
        MemBody body(data);
        auto req = put_request({{"content-md5", md5_b64}, {"x-amz-checksum-sha1", sha1_b64}});
        auto rb = make_request_body(body, req, a);
        auto out = drain(*rb);
        ASSERT_TRUE(out) << out.error().detail;
        ASSERT_EQ(rb->checksums().size(), 1u);
        EXPECT_EQ(rb->checksums()[0].second, sha1_b64);
    }
    {
        MemBody body(data + "x");
        auto req = put_request({{"content-md5", md5_b64}});
        auto out = drain(*make_request_body(body, req, a));
        ASSERT_FALSE(out);
        EXPECT_EQ(code_of(out.error()), Code::kBadDigest);
    }
    {
        MemBody body(data);
        auto req = put_request({{"content-md5", "not base64"}});
        auto out = drain(*make_request_body(body, req, a));
        ASSERT_FALSE(out);
        EXPECT_EQ(code_of(out.error()), Code::kInvalidDigest);
    }
    {
        MemBody body(data + "x");
        auto req = put_request({{"x-amz-checksum-sha1", sha1_b64}});
        auto out = drain(*make_request_body(body, req, a));
        ASSERT_FALSE(out);
        EXPECT_EQ(code_of(out.error()), Code::kBadDigest);
    }
    {
        MemBody body(data);
        auto req = put_request({{"x-amz-checksum-crc32", "AAAA"}});  // 3 bytes, not 4
        auto out = drain(*make_request_body(body, req, a));
        ASSERT_FALSE(out);
        EXPECT_EQ(code_of(out.error()), Code::kInvalidRequest);
    }
}

TEST(RequestBody, SignedPayloadHashIsVerified) {
    const std::string data = "Welcome to Amazon S3.";
    AuthResult a;
    a.payload = PayloadMode::kSignedHash;
    a.payload_sha256 = sha256_hex(data);
    {
        MemBody body(data, 3, 4);
        auto req = put_request({});
        auto rb = make_request_body(body, req, a);
        auto out = drain(*rb, 5);
        ASSERT_TRUE(out) << out.error().detail;
        EXPECT_EQ(*out, data);
    }
    {
        MemBody body("Welcome to Amazon S4.");
        auto req = put_request({});
        auto out = drain(*make_request_body(body, req, a));
        ASSERT_FALSE(out);
        EXPECT_EQ(code_of(out.error()), Code::kXAmzContentSHA256Mismatch);
    }
}

TEST(RequestBody, DecodedLengthMustMatch) {
    AuthResult a;
    a.payload = PayloadMode::kStreamingUnsignedTrailer;
    for (const char* declared : {"5", "7"}) {
        MemBody body("6\r\nhello!\r\n0\r\n\r\n");
        auto req = put_request({{"x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"},
                                {"x-amz-decoded-content-length", declared}});
        auto out = drain(*make_request_body(body, req, a));
        ASSERT_FALSE(out) << declared;
        EXPECT_EQ(code_of(out.error()), Code::kIncompleteBody);
    }
}

TEST(RequestBody, DeclaredTrailerMissingOrUndeclaredTrailerFails) {
    AuthResult a;
    a.payload = PayloadMode::kStreamingUnsignedTrailer;
    {
        MemBody body("6\r\nhello!\r\n0\r\n\r\n");
        auto req = put_request({{"x-amz-trailer", "x-amz-checksum-crc32"}});
        auto out = drain(*make_request_body(body, req, a));
        ASSERT_FALSE(out);
        EXPECT_EQ(code_of(out.error()), Code::kIncompleteBody);
    }
    {
        MemBody body("6\r\nhello!\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n");
        auto req = put_request({});
        auto out = drain(*make_request_body(body, req, a));
        ASSERT_FALSE(out);
        EXPECT_EQ(code_of(out.error()), Code::kInvalidRequest);
    }
    {
        MemBody body("6\r\nhello!\r\n0\r\n\r\n");
        auto req = put_request({{"x-amz-trailer", "x-amz-meta-foo"}});
        auto out = drain(*make_request_body(body, req, a));
        ASSERT_FALSE(out);
        EXPECT_EQ(code_of(out.error()), Code::kInvalidRequest);
    }
}

TEST(AwsChunked, MalformedFramingIsRefused) {
    AuthResult a;
    a.payload = PayloadMode::kStreamingUnsignedTrailer;
    for (std::string enc : {std::string("zz\r\nhello\r\n0\r\n\r\n"),
                            std::string("5\nhello\r\n0\r\n\r\n"),         // bare LF
                            std::string("3\r\nhello\r\n0\r\n\r\n"),       // data too long
                            std::string("5\r\nhello\r\n0\r\n\r\nextra"),  // after the end
                            std::string("2000000\r\n"),                   // 32 MiB chunk
                            std::string("5") + std::string(5000, ' ') + "\r\n"}) {
        MemBody body(enc);
        auto req = put_request({});
        auto out = drain(*make_request_body(body, req, a));
        ASSERT_FALSE(out) << enc.substr(0, 40);
        EXPECT_EQ(code_of(out.error()), Code::kInvalidRequest) << enc.substr(0, 40);
    }
    // Signed bodies need a chunk-signature on every chunk.
    MemBody body("5\r\nhello\r\n0\r\n\r\n");
    auto req = put_request({{"x-amz-decoded-content-length", "5"}});
    auto out = drain(
        *make_request_body(body, req, signing_auth(PayloadMode::kStreamingSigned, kExampleSeed)));
    ASSERT_FALSE(out);
    EXPECT_EQ(code_of(out.error()), Code::kInvalidRequest);
}

}  // namespace
}  // namespace moat::s3
