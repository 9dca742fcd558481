#include "site/path.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace moat::site {
namespace {

struct PathCase {
    const char* raw;
    std::optional<std::string> want;  // nullopt: an error with `code`
    Errc code = Errc::kInvalidArgument;
};

class NormalizePathTest : public ::testing::TestWithParam<PathCase> {};

TEST_P(NormalizePathTest, DecodesOnceAndRefusesUnsafePaths) {
    const PathCase& c = GetParam();
    auto got = normalize_path(c.raw);
    if (c.want) {
        ASSERT_TRUE(got) << c.raw << ": " << got.error().detail;
        EXPECT_EQ(*got, *c.want) << c.raw;
    } else {
        ASSERT_FALSE(got) << c.raw << " gave " << *got;
        EXPECT_EQ(got.error().code, c.code) << c.raw << ": " << got.error().detail;
    }
}

const Errc k400 = Errc::kInvalidArgument;
const Errc k404 = Errc::kNotFound;

INSTANTIATE_TEST_SUITE_P(
    Table, NormalizePathTest,
    ::testing::Values(
        // Good paths.
        PathCase{"/", ""}, PathCase{"/index.html", "index.html"}, PathCase{"/a/", "a/"},
        PathCase{"/a", "a"}, PathCase{"/a/b/c.css", "a/b/c.css"},
        PathCase{"/a%20b.html", "a b.html"}, PathCase{"/caf%C3%A9", "caf\xC3\xA9"},
        PathCase{"/a+b", "a+b"},  // '+' is a space only in forms, not in paths
        PathCase{"/%7euser/", "~user/"}, PathCase{"/a.b.c", "a.b.c"},
        PathCase{"/a..b/c", "a..b/c"},  // dots inside a name are not dot-segments
        // Decoded exactly once: the result names a file literally called "%2e%2e".
        PathCase{"/%252e%252e/x", "%2e%2e/x"}, PathCase{"/%252F", "%2F"},
        // .well-known is the one published dot-folder (RFC 8615), only at the top.
        PathCase{"/.well-known/security.txt", ".well-known/security.txt"},
        PathCase{"/.well-known/", ".well-known/"}, PathCase{"/.well-known", ".well-known"},
        PathCase{"/%2ewell-known/mta-sts.txt", ".well-known/mta-sts.txt"},
        PathCase{"/.well-known/.git/config", std::nullopt, k404},
        PathCase{"/a/.well-known/x", std::nullopt, k404},
        // Traversal and dot-segments, raw or encoded: 400.
        PathCase{"/..", std::nullopt, k400}, PathCase{"/../etc/passwd", std::nullopt, k400},
        PathCase{"/a/../b", std::nullopt, k400}, PathCase{"/a/./b", std::nullopt, k400},
        PathCase{"/.", std::nullopt, k400}, PathCase{"/a/..", std::nullopt, k400},
        PathCase{"/%2e%2e/etc/passwd", std::nullopt, k400},
        PathCase{"/%2E%2E/", std::nullopt, k400}, PathCase{"/.%2e/x", std::nullopt, k400},
        PathCase{"/a/%2e/b", std::nullopt, k400},
        // Encoded slash: no file name holds '/': 404.
        PathCase{"/a%2fb", std::nullopt, k404}, PathCase{"/..%2f..%2fetc", std::nullopt, k404},
        PathCase{"/%2F", std::nullopt, k404},
        // NUL, backslash, control characters: 400.
        PathCase{"/a%00.html", std::nullopt, k400}, PathCase{"/a%5cb", std::nullopt, k400},
        PathCase{"/a\\b", std::nullopt, k400}, PathCase{"/..%5c..%5cwin.ini", std::nullopt, k400},
        PathCase{"/a%0d%0aSet-Cookie:x", std::nullopt, k400}, PathCase{"/a%7f", std::nullopt, k400},
        // Malformed escapes: 400.
        PathCase{"/a%", std::nullopt, k400}, PathCase{"/a%2", std::nullopt, k400},
        PathCase{"/a%zz", std::nullopt, k400}, PathCase{"/%%41", std::nullopt, k400},
        // Not origin-form: 400.
        PathCase{"", std::nullopt, k400}, PathCase{"*", std::nullopt, k400},
        PathCase{"a/b", std::nullopt, k400},
        // Empty segments are not collapsed: "//evil.example" must never become a path.
        PathCase{"//", std::nullopt, k404}, PathCase{"//evil.example/", std::nullopt, k404},
        PathCase{"/a//b", std::nullopt, k404},
        // Dotfiles: 404.
        PathCase{"/.git/config", std::nullopt, k404}, PathCase{"/.env", std::nullopt, k404},
        PathCase{"/a/.htpasswd", std::nullopt, k404},
        PathCase{"/%2egit/HEAD", std::nullopt, k404}));

TEST(NormalizePath, RefusesOverlongPaths) {
    const std::string raw = "/" + std::string(kMaxPathBytes + 1, 'a');
    auto got = normalize_path(raw);
    ASSERT_FALSE(got);
    EXPECT_EQ(got.error().code, Errc::kTooLarge);
    EXPECT_TRUE(normalize_path("/" + std::string(kMaxPathBytes - 1, 'a')));
}

TEST(EncodePath, KeepsPcharsAndEncodesTheRest) {
    EXPECT_EQ(encode_path("a/b c/%?#"), "a/b%20c/%25%3F%23");
    EXPECT_EQ(encode_path("caf\xC3\xA9/x-y_z~.html"), "caf%C3%A9/x-y_z~.html");
    EXPECT_EQ(encode_path("a+b=c;d@e:f"), "a+b=c;d@e:f");
}

}  // namespace
}  // namespace moat::site
