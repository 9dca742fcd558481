#include "s3/checksum.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace moat::s3 {
namespace {

const std::string kCheck = "123456789";  // the CRC catalogue's check input

TEST(Crc, CatalogueCheckValues) {
    EXPECT_EQ(crc32(0, kCheck.data(), kCheck.size()), 0xCBF43926u);
    EXPECT_EQ(crc32c(0, kCheck.data(), kCheck.size()), 0xE3069283u);
    EXPECT_EQ(crc64nvme(0, kCheck.data(), kCheck.size()), 0xAE8B14860A799888ull);
    EXPECT_EQ(crc32c(0, "", 0), 0u);
}

// RFC 3720 §B.4: CRC32C of 32 bytes of zeros and of 32 bytes of 0xFF.
TEST(Crc, Rfc3720Vectors) {
    std::string zeros(32, '\0'), ones(32, '\xff'), inc(32, '\0');
    for (int i = 0; i < 32; ++i) inc[i] = static_cast<char>(i);
    EXPECT_EQ(crc32c(0, zeros.data(), zeros.size()), 0x8A9136AAu);
    EXPECT_EQ(crc32c(0, ones.data(), ones.size()), 0x62A8AB43u);
    EXPECT_EQ(crc32c(0, inc.data(), inc.size()), 0x46DD794Eu);
}

// A bit-at-a-time reference, to check the slicing-by-8 tables at every length and alignment.
std::uint32_t crc32c_reference(const std::string& s) {
    std::uint32_t c = 0xFFFFFFFFu;
    for (unsigned char b : s) {
        c ^= b;
        for (int i = 0; i < 8; ++i) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    }
    return ~c;
}

TEST(Crc, IncrementalEqualsWholeAtEverySplit) {
    std::mt19937 rng(7);
    std::string data(301, '\0');
    for (char& c : data) c = static_cast<char>(rng());
    const std::uint32_t whole32 = crc32(0, data.data(), data.size());
    const std::uint32_t whole32c = crc32c(0, data.data(), data.size());
    const std::uint64_t whole64 = crc64nvme(0, data.data(), data.size());
    EXPECT_EQ(whole32c, crc32c_reference(data));
    for (std::size_t cut = 0; cut <= data.size(); ++cut) {
        EXPECT_EQ(crc32(crc32(0, data.data(), cut), data.data() + cut, data.size() - cut), whole32);
        EXPECT_EQ(crc32c(crc32c(0, data.data(), cut), data.data() + cut, data.size() - cut),
                  whole32c);
        EXPECT_EQ(crc64nvme(crc64nvme(0, data.data(), cut), data.data() + cut, data.size() - cut),
                  whole64);
        std::string prefix = data.substr(0, cut);
        EXPECT_EQ(crc32c(0, prefix.data(), prefix.size()), crc32c_reference(prefix));
    }
}

TEST(Base64, Rfc4648Vectors) {
    EXPECT_EQ(base64_encode(""), "");
    EXPECT_EQ(base64_encode("f"), "Zg==");
    EXPECT_EQ(base64_encode("fo"), "Zm8=");
    EXPECT_EQ(base64_encode("foo"), "Zm9v");
    EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
    EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
    EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
    for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"})
        EXPECT_EQ(base64_decode(base64_encode(s)), s);
}

TEST(Base64, RejectsMalformedAndNonCanonical) {
    EXPECT_FALSE(base64_decode("Zg="));       // length
    EXPECT_FALSE(base64_decode("Zh=="));      // dropped bits not zero
    EXPECT_FALSE(base64_decode("Zm9=v"));     // padding inside
    EXPECT_FALSE(base64_decode("Zm9v!A=="));  // alphabet
    EXPECT_FALSE(base64_decode("===="));
}

TEST(Checksum, DigestsMatchKnownValues) {
    auto hex_of = [](ChecksumAlgorithm a, const std::string& s) {
        Checksum c(a);
        c.update(s.data(), s.size());
        return to_hex(c.finish());
    };
    EXPECT_EQ(hex_of(ChecksumAlgorithm::kSha1, "abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
    EXPECT_EQ(hex_of(ChecksumAlgorithm::kSha256, "abc"),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(hex_of(ChecksumAlgorithm::kMd5, ""), "d41d8cd98f00b204e9800998ecf8427e");
    EXPECT_EQ(hex_of(ChecksumAlgorithm::kCrc32, kCheck), "cbf43926");
    EXPECT_EQ(hex_of(ChecksumAlgorithm::kCrc32c, kCheck), "e3069283");
    EXPECT_EQ(hex_of(ChecksumAlgorithm::kCrc64Nvme, kCheck), "ae8b14860a799888");
    EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

// The AWS "trailing headers" streaming example: 66560 bytes of 'a', x-amz-checksum-crc32c
// sOO8/Q== (AWS S3 API Reference, sigv4-streaming-trailers).
TEST(Checksum, AwsTrailerExampleCrc32c) {
    std::string body(66560, 'a');
    Checksum c(ChecksumAlgorithm::kCrc32c);
    c.update(body.data(), 65536);
    c.update(body.data() + 65536, 1024);
    EXPECT_EQ(base64_encode(c.finish()), "sOO8/Q==");
}

TEST(Checksum, NamesRoundTrip) {
    for (auto a :
         {ChecksumAlgorithm::kCrc32, ChecksumAlgorithm::kCrc32c, ChecksumAlgorithm::kCrc64Nvme,
          ChecksumAlgorithm::kSha1, ChecksumAlgorithm::kSha256})
        EXPECT_EQ(checksum_algorithm(checksum_name(a)), a);
    EXPECT_FALSE(checksum_algorithm("md5"));
    EXPECT_FALSE(checksum_algorithm("CRC32"));
}

}  // namespace
}  // namespace moat::s3
