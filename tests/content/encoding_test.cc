#include "content/encoding.h"

#include <gtest/gtest.h>

namespace moat::content {
namespace {

constexpr EncodingSet kAll =
    encoding_bit(Encoding::kBrotli) | encoding_bit(Encoding::kZstd) | encoding_bit(Encoding::kGzip);
constexpr EncodingSet kGz = encoding_bit(Encoding::kGzip);
constexpr EncodingSet kBrGz = encoding_bit(Encoding::kBrotli) | encoding_bit(Encoding::kGzip);

constexpr auto kId = Encoding::kIdentity;
constexpr auto kBr = Encoding::kBrotli;
constexpr auto kZs = Encoding::kZstd;
constexpr auto kGzip = Encoding::kGzip;

TEST(EncodingNames, NamesAndSuffixes) {
    EXPECT_EQ(encoding_name(kId), "");
    EXPECT_EQ(encoding_name(kBr), "br");
    EXPECT_EQ(encoding_name(kZs), "zstd");
    EXPECT_EQ(encoding_name(kGzip), "gzip");
    EXPECT_EQ(encoding_suffix(kId), "");
    EXPECT_EQ(encoding_suffix(kBr), ".br");
    EXPECT_EQ(encoding_suffix(kZs), ".zst");
    EXPECT_EQ(encoding_suffix(kGzip), ".gz");
    EXPECT_EQ(encoding_bit(kId), 1);
    EXPECT_EQ(encoding_bit(kGzip), 8);
}

TEST(ChooseEncoding, Table) {
    struct Case {
        std::string_view header;
        EncodingSet available;
        Encoding want;
    };
    const Case cases[] = {
        {"", kAll, kId},
        {"gzip, deflate, br, zstd", kAll, kBr},  // equal q: server order
        {"gzip, deflate, br", kAll, kBr},
        {"gzip, zstd", kAll, kZs},
        {"gzip", kAll, kGzip},
        {"deflate", kAll, kId},
        {"gzip, br", kGz, kGzip},  // only what is available
        {"br", kGz, kId},
        {"br", 0, kId},
        {"br;q=0.5, gzip;q=0.8", kAll, kGzip},  // q wins over server order
        {"br;q=1.0, gzip;q=0.999", kAll, kBr},
        {"br;q=0, gzip", kAll, kGzip},  // q=0 excludes
        {"br;q=0, gzip;q=0", kAll, kId},
        {"*", kAll, kBr},  // "*" covers every coding not listed
        {"*;q=0.5, gzip", kAll, kGzip},
        {"gzip;q=0.5, *;q=0.9", kBrGz, kBr},
        {"*;q=0", kAll, kId},  // nothing acceptable: identity anyway (caller may ignore)
        {"identity;q=0, gzip;q=0.1", kAll, kGzip},
        {"identity;q=0", 0, kId},
        {"gzip;q=0.5", kGz, kGzip},  // implied identity ranks below listed codings
        {"identity, gzip;q=0.5", kGz, kId},
        {"identity, gzip", kGz, kGzip},  // tie: gzip before identity
        {"BR, GZIP", kAll, kBr},         // case-insensitive names
        {"x-gzip", kAll, kGzip},
        {"Br ; Q=0.7 , gzip ; q=0.6", kAll, kBr},
        {" , ,br", kAll, kBr},            // empty list elements
        {"br;q=abc, gzip", kAll, kGzip},  // a malformed q drops that element
        {"br;q=1.5, gzip", kAll, kGzip},
        {"br;q=0.1234, gzip;q=0.1", kAll, kGzip},
        {"br;q=, gzip", kAll, kGzip},
        {"br;level=5;q=0.9, gzip;q=0.5", kAll, kBr},    // other params ignored
        {"br;q=0.2, br;q=0.9, gzip;q=0.5", kAll, kBr},  // duplicates: highest q
        {"compress, deflate", kAll, kId},
    };
    for (const auto& c : cases)
        EXPECT_EQ(choose_encoding(c.header, c.available), c.want)
            << "'" << c.header << "' available " << int(c.available);
}

}  // namespace
}  // namespace moat::content
