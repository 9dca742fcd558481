#include "release/manifest.h"

#include <gtest/gtest.h>

#include "release/internal/paths.h"

namespace moat::release {
namespace {

ManifestEntry entry(std::string path, char hash_digit, std::string type = "text/html") {
    ManifestEntry e;
    e.path = std::move(path);
    e.bucket = "content";
    e.key = "testing/example.com/" + e.path;
    e.version_id = "v1";
    e.sha256 = std::string(64, hash_digit);
    e.size = 1234;
    e.content_type = std::move(type);
    e.etag = "\"tok\"";
    e.mtime = 1700000000;
    return e;
}

Manifest sample() {
    Manifest m;
    m.site = "example.com";
    m.entries.push_back(entry("a.css", 'a', "text/css; charset=utf-8"));
    auto idx = entry("docs/index.html", 'b');
    idx.variants.push_back({"br", "variants/x.br", "null", 100, "\"tok-br\""});
    idx.variants.push_back({"gzip", "variants/x.gz", "null", 120, "\"tok-gz\""});
    m.entries.push_back(idx);
    m.entries.push_back(entry("ü/ñ.txt", 'c', "text/plain"));
    return m;
}

TEST(Manifest, JsonRoundTripKeepsEveryField) {
    Manifest m = sample();
    std::string json = to_json(m);
    EXPECT_EQ(json.find('\n'), std::string::npos);
    EXPECT_EQ(json.find(": "), std::string::npos);
    auto back = manifest_from_json(json);
    ASSERT_TRUE(back) << back.error().detail;
    EXPECT_EQ(back->site, "example.com");
    ASSERT_EQ(back->entries.size(), 3u);
    const auto& e = back->entries[1];
    EXPECT_EQ(e.path, "docs/index.html");
    EXPECT_EQ(e.key, "testing/example.com/docs/index.html");
    EXPECT_EQ(e.version_id, "v1");
    EXPECT_EQ(e.sha256, std::string(64, 'b'));
    EXPECT_EQ(e.size, 1234u);
    EXPECT_EQ(e.mtime, 1700000000);
    ASSERT_EQ(e.variants.size(), 2u);
    EXPECT_EQ(e.variants[1].encoding, "gzip");
    EXPECT_EQ(e.variants[1].size, 120u);
    EXPECT_EQ(e.variants[1].etag, "\"tok-gz\"");
    EXPECT_EQ(back->entries[2].path, "ü/ñ.txt");
    EXPECT_EQ(to_json(*back), json);  // canonical: the same text again
}

TEST(Manifest, HashIsStableAndFollowsContent) {
    Manifest a = sample(), b = sample();
    EXPECT_EQ(manifest_hash(a), manifest_hash(b));
    EXPECT_EQ(manifest_hash(a).size(), 64u);
    b.entries[0].sha256 = std::string(64, 'd');
    EXPECT_NE(manifest_hash(a), manifest_hash(b));
    // A fixed, known value: the canonical form must not drift between builds.
    Manifest empty;
    empty.site = "s";
    EXPECT_EQ(to_json(empty), R"({"format":1,"site":"s","entries":[]})");
}

TEST(Manifest, RejectsMalformed) {
    std::string good = to_json(sample());
    EXPECT_TRUE(manifest_from_json(good));
    EXPECT_FALSE(manifest_from_json("not json"));
    EXPECT_FALSE(manifest_from_json("[]"));
    Manifest unsorted = sample();
    std::swap(unsorted.entries[0], unsorted.entries[1]);
    EXPECT_FALSE(manifest_from_json(to_json(unsorted)));
    Manifest dup = sample();
    dup.entries[1].path = "a.css";
    EXPECT_FALSE(manifest_from_json(to_json(dup)));
    Manifest badpath = sample();
    badpath.entries[0].path = "../a.css";
    EXPECT_FALSE(manifest_from_json(to_json(badpath)));
    Manifest badhash = sample();
    badhash.entries[0].sha256 = std::string(64, 'G');
    auto r = manifest_from_json(to_json(badhash));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
    Manifest badenc = sample();
    badenc.entries[1].variants[0].encoding = "deflate";
    EXPECT_FALSE(manifest_from_json(to_json(badenc)));
}

TEST(Manifest, DiffByHashAndType) {
    Manifest a = sample(), b = sample();
    b.entries.erase(b.entries.begin());                          // a.css removed
    b.entries[0].sha256 = std::string(64, 'e');                  // docs/index.html changed
    b.entries[1].content_type = "text/markdown";                 // ü/ñ.txt: a changed type counts
    b.entries.push_back(entry("z.js", 'f', "text/javascript"));  // added
    Diff d = diff(a, b);
    EXPECT_EQ(d.added, std::vector<std::string>{"z.js"});
    EXPECT_EQ(d.removed, std::vector<std::string>{"a.css"});
    EXPECT_EQ(d.changed, (std::vector<std::string>{"docs/index.html", "ü/ñ.txt"}));
    Diff none = diff(a, a);
    EXPECT_TRUE(none.added.empty() && none.removed.empty() && none.changed.empty());
}

TEST(ReleasePaths, CleanRelativePathsOnly) {
    using internal::is_clean_path;
    EXPECT_TRUE(is_clean_path("index.html"));
    EXPECT_TRUE(is_clean_path("docs/a b/ü.html"));
    EXPECT_TRUE(is_clean_path(".well-known/x"));
    EXPECT_FALSE(is_clean_path(""));
    EXPECT_FALSE(is_clean_path("/index.html"));
    EXPECT_FALSE(is_clean_path("docs/"));
    EXPECT_FALSE(is_clean_path("docs//a"));
    EXPECT_FALSE(is_clean_path("docs/../a"));
    EXPECT_FALSE(is_clean_path(".."));
    EXPECT_FALSE(is_clean_path("./a"));
    EXPECT_FALSE(is_clean_path("a\nb"));
    EXPECT_FALSE(is_clean_path("a\x7f"));
    EXPECT_FALSE(is_clean_path("\xff\xfe"));
    EXPECT_FALSE(is_clean_path("\xc0\xaf"));  // overlong '/'
    EXPECT_FALSE(is_clean_path(std::string(1025, 'a')));
    EXPECT_TRUE(is_clean_path(std::string(1024, 'a')));
}

TEST(ReleasePaths, InvalidationPaths) {
    using internal::check_invalidation_paths;
    EXPECT_TRUE(check_invalidation_paths({"/"}));
    EXPECT_TRUE(check_invalidation_paths({"/*", "/docs/*", "/a.html"}));
    EXPECT_FALSE(check_invalidation_paths({}));
    EXPECT_FALSE(check_invalidation_paths({"docs/*"}));
    EXPECT_FALSE(check_invalidation_paths({"/a*b"}));
    EXPECT_FALSE(check_invalidation_paths({"/a\nb"}));
    EXPECT_FALSE(check_invalidation_paths(std::vector<std::string>(3001, "/x")));
    EXPECT_TRUE(check_invalidation_paths(std::vector<std::string>(3000, "/x")));
    auto r = check_invalidation_paths({"nope"});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
    EXPECT_EQ(r.error().detail.rfind("InvalidPaths", 0), 0u);
}

}  // namespace
}  // namespace moat::release
