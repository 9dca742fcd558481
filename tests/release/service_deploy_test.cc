// ReleaseService: deploys, uploads, variants, releases from an S3 prefix.
#include <atomic>
#include <set>
#include <thread>

#include "content/encoding.h"
#include "service_fixture.h"

namespace moat::release::testing {
namespace {

using DeployTest = ServiceTest;

const std::string kPage = "<html><body>" + std::string(2000, 'x') + "</body></html>";

TEST_F(DeployTest, DeployMakesAReleaseTheCatalogServes) {
    auto r = deploy({{"index.html", kPage}, {"img/a.png", "PNGDATA"}});
    ASSERT_TRUE(r) << r.error().detail;
    EXPECT_EQ(r->id, "r1");
    EXPECT_EQ(r->source, "deploy");
    EXPECT_EQ(r->created_by, "alice");
    EXPECT_EQ(r->files, 2u);
    EXPECT_EQ(r->bytes, kPage.size() + 7);
    EXPECT_EQ(r->environments, std::vector<std::string>{"testing"});
    EXPECT_EQ(served("testing", "index.html"), kPage);
    EXPECT_EQ(served("testing", "img/a.png"), "PNGDATA");
    EXPECT_EQ(catalog_->lookup(kSite, "testing", "img").kind, content::Lookup::kDirectory);
    EXPECT_EQ(served("production", "index.html"), "<none>");
    EXPECT_EQ(catalog_->serving(kSite, "testing"), "r1");

    auto m = svc_->manifest(kSite, "r1");
    ASSERT_TRUE(m);
    ASSERT_EQ(m->entries.size(), 2u);
    const auto& png = m->entries[0];
    EXPECT_EQ(png.path, "img/a.png");
    EXPECT_EQ(png.content_type, "image/png");
    EXPECT_TRUE(png.variants.empty());  // not compressible
    const auto& idx = m->entries[1];
    EXPECT_EQ(idx.key, "testing/example.com/index.html");
    EXPECT_EQ(idx.sha256, sha(kPage));
    // FileCache's validator form: 22 base64url characters, quoted.
    ASSERT_EQ(idx.etag.size(), 24u);
    EXPECT_EQ(idx.etag.front(), '"');
    ASSERT_EQ(idx.variants.size(), 3u);
    EXPECT_EQ(idx.variants[0].encoding, "br");
    EXPECT_EQ(idx.variants[1].encoding, "zstd");
    EXPECT_EQ(idx.variants[2].encoding, "gzip");
    EXPECT_EQ(idx.variants[0].etag, idx.etag.substr(0, 23) + "-br\"");
    EXPECT_EQ(idx.variants[2].etag, idx.etag.substr(0, 23) + "-gz\"");
    EXPECT_LT(idx.variants[0].size, kPage.size());
    EXPECT_EQ(idx.variants[0].key, "variants/" + sha(kPage) + ".br");
    // The variant object is in the variants bucket and held by the release.
    auto h = store_->head(rs_.variants_bucket, idx.variants[0].key);
    ASSERT_TRUE(h) << h.error().detail;
    EXPECT_EQ(h->size, idx.variants[0].size);
    auto held = store_->is_held({rs_.variants_bucket, idx.variants[0].key, h->version_id});
    ASSERT_TRUE(held);
    EXPECT_TRUE(*held);
    auto lk = catalog_->lookup(kSite, "testing", "index.html");
    ASSERT_TRUE(lk.entry);
    EXPECT_TRUE(lk.entry->available() & content::encoding_bit(content::Encoding::kBrotli));

    auto st = svc_->status(kSite);
    ASSERT_TRUE(st);
    ASSERT_EQ(st->environments.size(), 2u);
    EXPECT_EQ(st->environments[1].name, "testing");
    EXPECT_EQ(st->environments[1].release, "r1");
    EXPECT_EQ(st->environments[1].url, "https://test.example.com/");
    EXPECT_EQ(st->environments[0].url, "https://example.com/");
    EXPECT_TRUE(st->environments[0].protected_env);
    EXPECT_FALSE(st->environments[1].protected_env);
}

TEST_F(DeployTest, RedeployReusesUnchangedVersionsAndMarksRemovedPaths) {
    ASSERT_TRUE(deploy({{"index.html", kPage}, {"a.css", "body{}"}, {"old.txt", "old"}}));
    const std::string page2 = kPage + "<!-- v2 -->";
    auto miss =
        svc_->missing(kSite, "testing", {file_of("index.html", page2), file_of("a.css", "body{}")});
    ASSERT_TRUE(miss);
    EXPECT_EQ(*miss, std::vector<std::string>{sha(page2)});  // only the changed content

    auto r2 = deploy({{"index.html", page2}, {"a.css", "body{}"}});
    ASSERT_TRUE(r2) << r2.error().detail;
    EXPECT_EQ(r2->id, "r2");
    EXPECT_EQ(served("testing", "index.html"), page2);
    EXPECT_EQ(served("testing", "a.css"), "body{}");
    EXPECT_EQ(served("testing", "old.txt"), "<none>");
    // a.css: still the one version; index.html: two; old.txt: its version + a delete marker.
    EXPECT_EQ(versions_of("testing/example.com/a.css"), 1);
    EXPECT_EQ(versions_of("testing/example.com/index.html"), 2);
    EXPECT_EQ(versions_of("testing/example.com/old.txt"), 2);
    auto gone = store_->head("content", "testing/example.com/old.txt");
    EXPECT_FALSE(gone);
    auto m1 = svc_->manifest(kSite, "r1");
    auto m2 = svc_->manifest(kSite, "r2");
    ASSERT_TRUE(m1 && m2);
    EXPECT_EQ(m1->entries[0].version_id, m2->entries[0].version_id);  // a.css
    auto d = svc_->diff(kSite, "r1", "r2");
    ASSERT_TRUE(d);
    EXPECT_EQ(d->changed, std::vector<std::string>{"index.html"});
    EXPECT_EQ(d->removed, std::vector<std::string>{"old.txt"});
}

TEST_F(DeployTest, KnownContentAtANewPathIsCopiedNotUploaded) {
    ASSERT_TRUE(deploy({{"a.txt", "same bytes"}}));
    auto miss = svc_->missing(kSite, "testing", {file_of("b/c.txt", "same bytes")});
    ASSERT_TRUE(miss);
    EXPECT_TRUE(miss->empty());
    auto r = svc_->deploy(kSite, "testing", {file_of("b/c.txt", "same bytes")}, "alice");
    ASSERT_TRUE(r) << r.error().detail;
    EXPECT_EQ(served("testing", "b/c.txt"), "same bytes");
    EXPECT_EQ(served("testing", "a.txt"), "<none>");
    auto h = store_->head("content", "testing/example.com/b/c.txt");
    ASSERT_TRUE(h);
    EXPECT_EQ(h->sha256, sha("same bytes"));
}

TEST_F(DeployTest, SameFilesAgainMakeNoNewRelease) {
    Files f{{"index.html", kPage}, {"a.css", "body{}"}};
    auto r1 = deploy(f);
    ASSERT_TRUE(r1);
    auto again = deploy(f);
    ASSERT_TRUE(again) << again.error().detail;
    EXPECT_EQ(again->id, "r1");
    auto all = svc_->releases(kSite);
    ASSERT_TRUE(all);
    EXPECT_EQ(all->size(), 1u);
    auto h = svc_->history(kSite);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->size(), 1u);
}

TEST_F(DeployTest, ProtectedEnvironmentRefused) {
    auto r = deploy({{"index.html", kPage}}, "production");
    ASSERT_FALSE(r);
    EXPECT_EQ(reason_of(r.error()), Reason::kProtectedEnvironment);
    EXPECT_EQ(r.error().code, Errc::kDenied);
    store::MemoryBody body("x");
    auto up = svc_->upload(kSite, "production", file_of("x.txt", "x"), body, "alice");
    ASSERT_FALSE(up);
    EXPECT_EQ(reason_of(up.error()), Reason::kProtectedEnvironment);
    auto unknown = deploy({{"a", "b"}}, "staging");
    ASSERT_FALSE(unknown);
    EXPECT_EQ(reason_of(unknown.error()), Reason::kUnknownEnvironment);
    auto site = svc_->deploy("nope.example", "testing", {}, "alice");
    ASSERT_FALSE(site);
    EXPECT_EQ(reason_of(site.error()), Reason::kUnknownSite);
}

TEST_F(DeployTest, MissingContentRefusedAndNothingChanges) {
    ASSERT_TRUE(deploy({{"index.html", kPage}, {"keep.txt", "keep"}}));
    auto r =
        svc_->deploy(kSite, "testing",
                     {file_of("index.html", kPage), file_of("new.txt", "never uploaded")}, "alice");
    ASSERT_FALSE(r);
    EXPECT_EQ(reason_of(r.error()), Reason::kMissingContent);
    EXPECT_EQ(r.error().code, Errc::kConflict);
    EXPECT_EQ(catalog_->serving(kSite, "testing"), "r1");
    EXPECT_EQ(served("testing", "keep.txt"), "keep");
    EXPECT_EQ(versions_of("testing/example.com/keep.txt"), 1);  // no delete marker
    EXPECT_EQ(versions_of("testing/example.com/new.txt"), 0);
    auto all = svc_->releases(kSite);
    ASSERT_TRUE(all);
    EXPECT_EQ(all->size(), 1u);
}

TEST_F(DeployTest, BadPathsRefused) {
    for (std::string p : {"/abs.html", "a/../b", "a//b", "dir/", "", "a\tb"}) {
        auto r = svc_->deploy(kSite, "testing", {file_of(p, "x")}, "alice");
        ASSERT_FALSE(r) << p;
        EXPECT_EQ(reason_of(r.error()), Reason::kBadPath) << p;
    }
    EXPECT_FALSE(svc_->deploy(kSite, "testing", {file_of("a", "x"), file_of("a", "y")}, "alice"));
}

TEST_F(DeployTest, UploadWithWrongHashKeepsNothing) {
    auto f = file_of("a.txt", "the announced bytes");
    store::MemoryBody body("other bytes");
    auto up = svc_->upload(kSite, "testing", f, body, "alice");
    ASSERT_FALSE(up);
    EXPECT_EQ(reason_of(up.error()), Reason::kHashMismatch);
    EXPECT_EQ(versions_of("testing/example.com/a.txt"), 0);
    store::MemoryBody good("the announced bytes");
    auto ok = svc_->upload(kSite, "testing", f, good, "alice");
    ASSERT_TRUE(ok) << ok.error().detail;
    EXPECT_EQ(ok->sha256, f.sha256);
    EXPECT_EQ(ok->attrs.content_type, "text/plain; charset=utf-8");
}

TEST_F(DeployTest, PolicyCheckRefusesDeploy) {
    close_all();
    opts_.policy_check = [](const site::SiteSettings&) { return std::string("grade B < A"); };
    open_all();
    auto r = deploy({{"index.html", kPage}});
    ASSERT_FALSE(r);
    EXPECT_EQ(reason_of(r.error()), Reason::kPolicy);
    EXPECT_EQ(r.error().detail, "grade B < A");
    EXPECT_EQ(served("testing", "index.html"), "<none>");
}

TEST_F(DeployTest, ForceOverridesPolicyCheck) {
    close_all();
    int checks = 0;
    opts_.policy_check = [&checks](const site::SiteSettings&) {
        ++checks;
        return std::string("grade B < A");
    };
    open_all();
    ASSERT_FALSE(deploy({{"index.html", kPage}}));
    auto r = deploy({{"index.html", kPage}}, "testing", "root", true);
    ASSERT_TRUE(r) << r.error().detail;
    EXPECT_EQ(r->created_by, "root");
    EXPECT_EQ(served("testing", "index.html"), kPage);
    EXPECT_EQ(checks, 2);  // the forced call still ran the check (its refusal is logged)
}

Result<store::ObjectInfo> s3_put(store::Store& s, const std::string& key, const std::string& b) {
    store::MemoryBody body(b);
    return s.put("content", key, body, {});
}

TEST_F(DeployTest, BuildFromPrefix) {
    ASSERT_TRUE(s3_put(*store_, "testing/example.com/index.html", kPage));
    ASSERT_TRUE(s3_put(*store_, "testing/example.com/docs/", ""));  // folder placeholder
    ASSERT_TRUE(s3_put(*store_, "testing/example.com/docs/a.json", "{\"a\":1}"));
    ASSERT_TRUE(s3_put(*store_, "testing/other.com/x.html", "not ours"));
    auto r = svc_->build_from_prefix(kSite, "testing", "bob");
    ASSERT_TRUE(r) << r.error().detail;
    EXPECT_EQ(r->source, "s3");
    EXPECT_EQ(r->files, 2u);
    EXPECT_EQ(served("testing", "index.html"), kPage);
    EXPECT_EQ(served("testing", "docs/a.json"), "{\"a\":1}");
    auto again = svc_->build_from_prefix(kSite, "testing", "bob");
    ASSERT_TRUE(again);
    EXPECT_EQ(again->id, r->id);  // nothing changed
    // An empty prefix is a release with no files.
    ASSERT_TRUE(store_->remove("content", "testing/example.com/index.html"));
    ASSERT_TRUE(store_->remove("content", "testing/example.com/docs/a.json"));
    auto empty = svc_->build_from_prefix(kSite, "testing", "bob");
    ASSERT_TRUE(empty) << empty.error().detail;
    EXPECT_EQ(empty->files, 0u);
    EXPECT_EQ(served("testing", "index.html"), "<none>");
    EXPECT_FALSE(svc_->build_from_prefix(kSite, "production", "bob"));
}

TEST_F(DeployTest, S3WritesSettleIntoOneRelease) {
    svc_->start();
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 5; ++i) {
        std::string key = "testing/example.com/f" + std::to_string(i) + ".txt";
        ASSERT_TRUE(s3_put(*store_, key, "file " + std::to_string(i)));
        svc_->on_s3_write("content", key);
    }
    svc_->on_s3_write("content", "production/example.com/ignored.txt");
    svc_->on_s3_write("logs", "testing/example.com/x");
    while (catalog_->serving(kSite, "testing").empty() &&
           std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5))
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
    EXPECT_EQ(served("testing", "f4.txt"), "file 4");
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    auto all = svc_->releases(kSite);
    ASSERT_TRUE(all);
    EXPECT_EQ(all->size(), 1u);  // one burst, one release
    EXPECT_EQ(catalog_->serving(kSite, "production"), "");
    svc_->stop();
}

TEST_F(DeployTest, ActivationAtStartUp) {
    ASSERT_TRUE(deploy({{"index.html", kPage}}));
    close_all();
    open_all();  // a fresh catalog: set_sites activates what the database points at
    EXPECT_EQ(catalog_->serving(kSite, "testing"), "r1");
    EXPECT_EQ(served("testing", "index.html"), kPage);
    // An environment no longer configured is cleared.
    site_.environments.pop_back();
    ASSERT_TRUE(svc_->set_sites({site_}));
    EXPECT_EQ(catalog_->serving(kSite, "testing"), "");
}

TEST_F(DeployTest, FilesAlreadyUnderThePrefixBecomeTheFirstRelease) {
    close_all();
    {
        store::StoreSettings ss;
        ss.enabled = true;
        ss.dir = dir_.path() + "/store";
        ss.min_free_bytes = 0;
        auto st = store::Store::open(ss);
        ASSERT_TRUE(st);
        ASSERT_TRUE(s3_put(**st, "testing/example.com/index.html", "seeded"));
        ASSERT_TRUE(s3_put(**st, "production/example.com/index.html", "seeded prod"));
    }
    open_all();
    EXPECT_EQ(served("testing", "index.html"), "seeded");
    // The protected environment changes only by promotion, even at start-up.
    EXPECT_EQ(catalog_->serving(kSite, "production"), "");
}

TEST_F(DeployTest, InvalidateValidatesAndRebuilds) {
    auto bad = svc_->invalidate(kSite, "testing", {"docs/*"}, "alice");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, Errc::kInvalidArgument);
    EXPECT_FALSE(svc_->invalidate(kSite, "testing", {"/a*b"}, "alice"));
    EXPECT_FALSE(svc_->invalidate(kSite, "testing", {}, "alice"));
    EXPECT_FALSE(svc_->invalidate(kSite, "staging", {"/*"}, "alice"));
    ASSERT_TRUE(s3_put(*store_, "testing/example.com/index.html", "fresh"));
    auto inv = svc_->invalidate(kSite, "testing", {"/*"}, "alice");
    ASSERT_TRUE(inv) << inv.error().detail;
    EXPECT_EQ(inv->status, "Completed");
    EXPECT_EQ(inv->id, "I1");
    EXPECT_EQ(inv->paths, std::vector<std::string>{"/*"});
    EXPECT_EQ(served("testing", "index.html"), "fresh");
    auto all = svc_->invalidate(kSite, "", {"/index.html"}, "alice");
    ASSERT_TRUE(all);
    EXPECT_EQ(all->id, "I2");
}

}  // namespace
}  // namespace moat::release::testing

namespace moat::release::testing {
namespace {

// Deploys and S3 writes to the same environment from several threads: changes are serialised,
// every call succeeds, and release ids stay unique (run under TSan in CI).
TEST_F(ServiceTest, ConcurrentDeploysAndS3WritesSerialise) {
    svc_->start();
    std::atomic<int> failures{0};
    std::thread deployer([&] {
        for (int i = 0; i < 6; ++i)
            if (!deploy({{"index.html", "deploy " + std::to_string(i)}})) ++failures;
    });
    std::thread writer([&] {
        for (int i = 0; i < 6; ++i) {
            std::string key = "testing/example.com/s3-" + std::to_string(i) + ".txt";
            const std::string bytes = "s3 " + std::to_string(i);
            store::MemoryBody body(bytes);
            if (!store_->put("content", key, body, {})) ++failures;
            svc_->on_s3_write("content", key);
            std::this_thread::sleep_for(std::chrono::milliseconds(30));
        }
    });
    std::thread reader([&] {
        for (int i = 0; i < 50; ++i) {
            (void)catalog_->lookup(kSite, "testing", "index.html");
            if (!svc_->status(kSite)) ++failures;
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    });
    deployer.join();
    writer.join();
    reader.join();
    std::this_thread::sleep_for(std::chrono::milliseconds(800));  // the last burst settles
    svc_->stop();
    EXPECT_EQ(failures.load(), 0);
    auto all = svc_->releases(kSite);
    ASSERT_TRUE(all);
    std::set<std::string> ids;
    for (const auto& r : *all) EXPECT_TRUE(ids.insert(r.id).second) << r.id;
    EXPECT_GE(all->size(), 2u);
}

}  // namespace
}  // namespace moat::release::testing
