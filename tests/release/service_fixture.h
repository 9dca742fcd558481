#pragma once
// A ReleaseService over a real LocalStore and a real Catalog in a fresh temp folder, with one
// site (example.com: production and testing from the store, one approval), and helpers that
// deploy from strings the way the CLI does (missing, upload, deploy).

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "release/catalog.h"
#include "release/internal/sha256.h"
#include "release/service.h"
#include "store/memory_body.h"
#include "store/store.h"
#include "support/temp_dir.h"

namespace moat::release::testing {

using TempDir = test_support::TempDir;

inline std::string sha(std::string_view s) { return internal::sha256_hex(s); }

inline DeployFile file_of(const std::string& path, const std::string& body) {
    return DeployFile{path, sha(body), body.size(), ""};
}

// Files by path -> body.
using Files = std::map<std::string, std::string>;

class ServiceTest : public ::testing::Test {
protected:
    static constexpr const char* kSite = "example.com";

    void SetUp() override { open_all(); }
    void TearDown() override { close_all(); }

    virtual void tune(ReleaseSettings&) {}

    void open_all() {
        store::StoreSettings ss;
        ss.enabled = true;
        ss.dir = dir_.path() + "/store";
        ss.day = std::chrono::seconds(1);
        ss.min_free_bytes = 0;
        auto st = store::Store::open(ss);
        ASSERT_TRUE(st) << st.error().detail;
        store_ = std::move(*st);
        rs_.enabled = true;
        rs_.db_path = dir_.path() + "/releases.db";
        rs_.cache_dir = dir_.path() + "/cache";
        rs_.brotli_level = 4;
        rs_.zstd_level = 3;
        rs_.gzip_level = 6;
        rs_.settle = std::chrono::milliseconds(100);
        rs_.settle_max = std::chrono::milliseconds(500);
        tune(rs_);
        catalog_ = std::make_unique<Catalog>(*store_, rs_);
        auto svc = ReleaseService::open(*store_, *catalog_, rs_, opts_);
        ASSERT_TRUE(svc) << svc.error().detail;
        svc_ = std::move(*svc);
        ASSERT_TRUE(svc_->set_sites({site_})) << "set_sites";
    }
    void close_all() {
        if (svc_) svc_->stop();
        svc_.reset();
        catalog_.reset();
        store_.reset();
    }

    static site::SiteSettings make_site() {
        site::SiteSettings s;
        s.name = kSite;
        s.host = kSite;
        s.environments.push_back({"production", "", "", true});
        s.environments.push_back({"testing", "", "", true});
        s.approvals = 1;
        return s;
    }

    // The CLI's deploy: ask what is missing, upload those, deploy the list.
    Result<ReleaseInfo> deploy(const Files& files, const std::string& env = "testing",
                               const std::string& by = "alice", bool force = false) {
        std::vector<DeployFile> list;
        for (const auto& [p, b] : files) list.push_back(file_of(p, b));
        auto miss = svc_->missing(kSite, env, list);
        if (!miss) return miss.error();
        for (const auto& [p, b] : files) {
            auto f = file_of(p, b);
            if (std::find(miss->begin(), miss->end(), f.sha256) == miss->end()) continue;
            store::MemoryBody body(b);
            auto up = svc_->upload(kSite, env, f, body, by);
            if (!up) return up.error();
            miss->erase(std::find(miss->begin(), miss->end(), f.sha256));
        }
        return svc_->deploy(kSite, env, list, by, force);
    }

    // The identity bytes (site, env) serves at `path`; "<none>" when nothing.
    std::string served(const std::string& env, const std::string& path) {
        auto r = catalog_->lookup(kSite, env, path);
        if (r.kind != content::Lookup::kFile || !r.entry) return "<none>";
        auto rep = r.entry->rep(content::Encoding::kIdentity);
        if (!rep || !rep->bytes) return "<no bytes>";
        return *rep->bytes;
    }

    // Number of versions (markers included) of content/<key>.
    int versions_of(const std::string& key) {
        store::VersionQuery q;
        q.prefix = key;
        auto page = store_->list_versions("content", q);
        if (!page) return -1;
        int n = 0;
        for (const auto& v : page->versions)
            if (v.key == key) ++n;
        return n;
    }

    TempDir dir_;
    ReleaseSettings rs_;
    ServiceOptions opts_;
    site::SiteSettings site_ = make_site();
    std::unique_ptr<store::Store> store_;
    std::unique_ptr<Catalog> catalog_;
    std::unique_ptr<ReleaseService> svc_;
};

}  // namespace moat::release::testing
