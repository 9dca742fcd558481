#pragma once
// A ReleaseService for the handler tests: canned answers, recorded calls, and per-method
// errors to inject.
#include <map>
#include <string>
#include <vector>

#include "release/service.h"

namespace moat::admin::testing {

class FakeReleases : public release::ReleaseService {
public:
    using Clock = std::chrono::system_clock;

    FakeReleases() {
        release::SiteStatus s;
        s.site = "docs";
        s.approvals_required = 1;
        s.environments.push_back({"testing", "https://testing.docs.test/", "r2", true, false});
        s.environments.push_back({"production", "https://docs.test/", "r1", true, true});
        sites.push_back(s);
    }

    // Error to return from a method by name ("deploy", "approve" ...), once set.
    std::map<std::string, Error> errors;
    std::vector<std::string> calls;  // "deploy docs/testing by=bob" ("... force" when forced)
    std::vector<release::SiteStatus> sites;
    bool promote_now = false;  // promote(): promoted (200) or pending (202)
    std::string uploaded;      // bytes upload() pulled from its BodySource
    std::size_t largest_read = 0;

    release::ReleaseInfo info(std::string id) const {
        release::ReleaseInfo r;
        r.id = std::move(id);
        r.site = "docs";
        r.manifest_hash = std::string(64, 'c');
        r.source = "deploy";
        r.created_by = "bob";
        r.created = Clock::time_point(std::chrono::seconds(1'795'950'000));
        r.files = 2;
        r.bytes = 300;
        r.environments = {"testing"};
        return r;
    }

    Result<void> set_sites(std::vector<site::SiteSettings>) override { return {}; }
    void start() override {}
    void stop() override {}
    void on_s3_write(std::string_view, std::string_view) override {}

    Result<std::vector<release::SiteStatus>> status() override {
        if (auto e = err("status")) return *e;
        return sites;
    }
    Result<release::SiteStatus> status(std::string_view site) override {
        if (auto e = err("status")) return *e;
        for (const auto& s : sites)
            if (s.site == site) return s;
        return release::release_error(Errc::kNotFound, release::Reason::kUnknownSite,
                                      "no site " + std::string(site));
    }
    Result<std::vector<std::string>> missing(
        std::string_view site, std::string_view env,
        const std::vector<release::DeployFile>& files) override {
        record("missing", site, env, "");
        if (auto e = err("missing")) return *e;
        std::vector<std::string> out;
        for (const auto& f : files) out.push_back(f.sha256);
        return out;
    }
    Result<store::ObjectInfo> upload(std::string_view site, std::string_view env,
                                     const release::DeployFile& file, store::BodySource& body,
                                     std::string_view by) override {
        record("upload", site, env, by);
        last_file = file;
        char buf[4096];
        for (;;) {
            auto n = body.read(buf, sizeof buf);
            if (!n) return n.error();
            if (*n == 0) break;
            uploaded.append(buf, *n);
        }
        if (auto e = err("upload")) return *e;
        store::ObjectInfo o;
        o.bucket = "content";
        o.key = std::string(env) + "/" + std::string(site) + "/" + file.path;
        o.version_id = "v1";
        o.size = uploaded.size();
        o.sha256 = file.sha256;
        return o;
    }
    Result<release::ReleaseInfo> deploy(std::string_view site, std::string_view env,
                                        const std::vector<release::DeployFile>& files,
                                        std::string_view by, bool force) override {
        record("deploy", site, env, by, force);
        deployed = files;
        if (auto e = err("deploy", force)) return *e;
        return info("r3");
    }
    Result<release::ReleaseInfo> build_from_prefix(std::string_view, std::string_view,
                                                   std::string_view) override {
        return info("r4");
    }
    Result<std::vector<release::ReleaseInfo>> releases(std::string_view site) override {
        if (auto e = err("releases")) return *e;
        return std::vector<release::ReleaseInfo>{info("r2"), info("r1")};
    }
    Result<release::ReleaseInfo> release(std::string_view site, std::string_view id) override {
        if (auto e = err("release")) return *e;
        return info(std::string(id));
    }
    Result<release::Manifest> manifest(std::string_view site, std::string_view id) override {
        if (auto e = err("manifest")) return *e;
        release::Manifest m;
        m.site = std::string(site);
        return m;
    }
    Result<std::vector<release::PointerMove>> history(std::string_view site) override {
        release::PointerMove m{"testing", "r2",
                               "r1",      "deploy",
                               "bob",     Clock::time_point(std::chrono::seconds(1'795'950'000))};
        return std::vector<release::PointerMove>{m};
    }
    Result<release::Diff> diff(std::string_view, std::string_view, std::string_view) override {
        if (auto e = err("diff")) return *e;
        return release::Diff{{"new.html"}, {"old.html"}, {"index.html"}};
    }
    Result<release::PromoteOutcome> promote(std::string_view site, std::string_view from,
                                            std::string_view rel, std::string_view by,
                                            bool force) override {
        record("promote", site, from, by, force);
        if (auto e = err("promote", force)) return *e;
        return outcome(promote_now, by);
    }
    Result<release::PromoteOutcome> approve(std::string_view site, std::string_view rel,
                                            std::string_view by, bool force) override {
        record("approve", site, rel, by, force);
        if (auto e = err("approve", force)) return *e;
        auto o = outcome(true, "bob");
        o.approvers = {std::string(by)};
        o.approvals = 1;
        return o;
    }
    Result<void> reject(std::string_view site, std::string_view rel, std::string_view by,
                        std::string_view reason) override {
        record("reject", site, rel, by);
        if (auto e = err("reject")) return *e;
        return {};
    }
    Result<release::ReleaseInfo> rollback(std::string_view site, std::string_view env,
                                          std::string_view to, std::string_view by) override {
        record("rollback", site, env, by);
        if (auto e = err("rollback")) return *e;
        return info("r1");
    }
    Result<release::Invalidation> invalidate(std::string_view site, std::string_view env,
                                             const std::vector<std::string>& paths,
                                             std::string_view by) override {
        record("invalidate", site, env, by);
        if (auto e = err("invalidate")) return *e;
        release::Invalidation i;
        i.id = "I1";
        i.site = std::string(site);
        i.env = std::string(env);
        i.paths = paths;
        i.status = "Completed";
        i.by = std::string(by);
        i.created = Clock::time_point(std::chrono::seconds(1'795'950'000));
        return i;
    }
    Result<int> prune(std::string_view) override { return 0; }

    release::DeployFile last_file;
    std::vector<release::DeployFile> deployed;

private:
    // As the real service: a forced call passes a policy refusal (Reason::kPolicy).
    std::optional<Error> err(const std::string& m, bool force = false) const {
        auto it = errors.find(m);
        if (it == errors.end()) return std::nullopt;
        if (force && release::reason_of(it->second) == release::Reason::kPolicy)
            return std::nullopt;
        return it->second;
    }
    void record(const char* what, std::string_view site, std::string_view x, std::string_view by,
                bool force = false) {
        calls.push_back(std::string(what) + " " + std::string(site) + "/" + std::string(x) +
                        " by=" + std::string(by) + (force ? " force" : ""));
    }
    release::PromoteOutcome outcome(bool promoted, std::string_view by) const {
        release::PromoteOutcome o;
        o.promoted = promoted;
        o.release = info("r2");
        o.required = 1;
        o.requested_by = std::string(by);
        return o;
    }
};

}  // namespace moat::admin::testing
