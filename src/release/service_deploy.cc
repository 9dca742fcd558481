// ReleaseService: deploys (missing, upload, deploy) and releases of what an S3 prefix holds.
#include <algorithm>
#include <map>
#include <set>

#include "content/mime.h"
#include "core/log.h"
#include "release/internal/mirror.h"
#include "release/internal/paths.h"
#include "release/internal/service_impl.h"
#include "release/internal/sha256.h"

namespace moat::release::internal {

namespace {

// Hashes an upload as the store pulls it; the last read fails when the bytes are not the ones
// announced, so the store discards what it wrote (BodySource contract).
class HashingBody : public store::BodySource {
public:
    HashingBody(store::BodySource& inner, std::string_view want) : inner_(inner), want_(want) {}
    Result<std::size_t> read(char* buf, std::size_t n) override {
        auto r = inner_.read(buf, n);
        if (!r || done_) return r;
        if (*r > 0) {
            hash_.update(buf, *r);
            return r;
        }
        done_ = true;  // the digest is final now; the store reads no further
        if (hash_.hex() != want_) {
            mismatch_ = true;
            return store::store_error(Errc::kInvalidArgument, store::Reason::kBodyRejected,
                                      "the bytes do not hash to the announced sha256");
        }
        return r;
    }
    bool mismatch() const { return mismatch_; }

private:
    store::BodySource& inner_;
    std::string want_;
    Sha256 hash_;
    bool mismatch_ = false;
    bool done_ = false;
};

Result<void> check_files(const std::vector<DeployFile>& files) {
    std::set<std::string_view> seen;
    for (const auto& f : files) {
        MOAT_TRY(check_path(f.path));
        if (!is_sha256_hex(f.sha256))
            return release_error(Errc::kInvalidArgument, Reason::kNone,
                                 "bad sha256 for \"" + f.path + "\": 64 lower-case hex digits");
        if (!seen.insert(f.path).second)
            return release_error(Errc::kInvalidArgument, Reason::kBadPath,
                                 "path \"" + f.path + "\" named twice");
    }
    return {};
}

std::string type_for(const DeployFile& f, const store::ObjectInfo* src) {
    if (!f.content_type.empty()) return f.content_type;
    if (src && !src->attrs.content_type.empty()) return src->attrs.content_type;
    return std::string(content::content_type_for(f.path));
}

}  // namespace

ManifestEntry ServiceImpl::entry_of(const store::ObjectInfo& o, std::string path,
                                    std::string_view type) const {
    ManifestEntry e;
    e.path = std::move(path);
    e.bucket = o.bucket;
    e.key = o.key;
    e.version_id = o.version_id;
    e.sha256 = o.sha256;
    e.size = o.size;
    e.content_type = !type.empty() ? std::string(type)
                     : !o.attrs.content_type.empty()
                         ? o.attrs.content_type
                         : std::string(content::content_type_for(e.path));
    e.etag = identity_etag(o.sha256);
    e.mtime = std::chrono::duration_cast<std::chrono::seconds>(o.last_modified.time_since_epoch())
                  .count();
    return e;
}

Result<std::vector<std::string>> ServiceImpl::missing(std::string_view site, std::string_view env,
                                                      const std::vector<DeployFile>& files) {
    auto s = find_site(site);
    if (!s) return s.error();
    MOAT_TRY(writable(*s, env));
    MOAT_TRY(check_files(files));
    std::vector<std::string> out;
    std::set<std::string_view> asked;
    for (const auto& f : files) {
        if (!asked.insert(f.sha256).second) continue;
        auto found = store_.find_by_sha256(f.sha256);
        if (found) continue;
        if (found.error().code != Errc::kNotFound) return found.error();
        out.push_back(f.sha256);
    }
    return out;
}

Result<store::ObjectInfo> ServiceImpl::upload(std::string_view site, std::string_view env,
                                              const DeployFile& file, store::BodySource& body,
                                              std::string_view by) {
    auto s = find_site(site);
    if (!s) return s.error();
    MOAT_TRY(writable(*s, env));
    MOAT_TRY(check_files({file}));
    HashingBody hashing(body, file.sha256);
    store::PutOptions opts;
    opts.attrs.content_type = type_for(file, nullptr);
    // Zero may mean "not announced"; the hash check covers a wrong size anyway.
    if (file.size > 0) opts.expected_size = file.size;
    auto put = store_.put(kContentBucket, prefix_of(env, site) + file.path, hashing, opts);
    if (!put) {
        if (hashing.mismatch())
            return release_error(
                Errc::kInvalidArgument, Reason::kHashMismatch,
                "the bytes of \"" + file.path + "\" do not hash to " + file.sha256);
        return put.error();
    }
    core::logger("release")->debug("upload site={} env={} path={} by={}", site, env, file.path, by);
    return put;
}

Result<ReleaseInfo> ServiceImpl::deploy(std::string_view site, std::string_view env,
                                        const std::vector<DeployFile>& files, std::string_view by,
                                        bool force) {
    auto s = find_site(site);
    if (!s) return s.error();
    MOAT_TRY(writable(*s, env));
    MOAT_TRY(check_files(files));
    MOAT_TRY(check_policy(*s, force, "deploy", by));
    std::lock_guard lock(mu_);

    // What env serves now: unchanged files keep their exact entries (and variants), so the same
    // files make the same manifest, whatever happened to the S3 view meanwhile.
    std::map<std::string, ManifestEntry> current;
    auto cur_id = db_->pointer(site, env);
    if (!cur_id) return cur_id.error();
    if (!cur_id->empty()) {
        auto row = load_row(site, *cur_id);
        if (!row) return row.error();
        auto m = load_manifest(*row);
        if (!m) return m.error();
        for (auto& e : m->entries) current.emplace(e.path, std::move(e));
    }
    std::string prefix = prefix_of(env, site);
    auto listed = list_prefix(store_, kContentBucket, prefix);
    if (!listed) return listed.error();
    std::map<std::string, const store::ObjectInfo*> latest;
    for (const auto& o : *listed) latest.emplace(o.key, &o);

    // Plan first: a missing content refuses the deploy before anything is written.
    struct Copy {
        std::size_t file;
        store::ObjectInfo src;
        std::string type;
    };
    std::vector<ManifestEntry> entries;
    std::vector<Copy> copies;
    for (std::size_t i = 0; i < files.size(); ++i) {
        const DeployFile& f = files[i];
        if (auto it = current.find(f.path);
            it != current.end() && it->second.sha256 == f.sha256 &&
            (f.content_type.empty() || f.content_type == it->second.content_type)) {
            entries.push_back(it->second);
            continue;
        }
        std::string key = prefix + f.path;
        if (auto it = latest.find(key); it != latest.end() && it->second->sha256 == f.sha256) {
            std::string type = type_for(f, it->second);
            if (it->second->attrs.content_type.empty() || it->second->attrs.content_type == type) {
                entries.push_back(entry_of(*it->second, f.path, type));
                continue;
            }
            copies.push_back(Copy{i, *it->second, type});  // same bytes, a new type
            continue;
        }
        auto src = store_.find_by_sha256(f.sha256);
        if (!src) {
            if (src.error().code != Errc::kNotFound) return src.error();
            return release_error(Errc::kConflict, Reason::kMissingContent,
                                 "the store lacks the content of \"" + f.path + "\" (" + f.sha256 +
                                     "): upload it first");
        }
        copies.push_back(Copy{i, std::move(*src), ""});
    }
    for (auto& c : copies) {
        const DeployFile& f = files[c.file];
        store::ObjectAttributes attrs;
        attrs.content_type = c.type.empty() ? type_for(f, nullptr) : c.type;
        auto o = store_.copy(c.src.bucket, c.src.key, c.src.version_id, kContentBucket,
                             prefix + f.path, attrs);
        if (!o) return o.error();
        entries.push_back(entry_of(*o, f.path, attrs.content_type));
    }
    std::sort(entries.begin(), entries.end(),
              [](const ManifestEntry& a, const ManifestEntry& b) { return a.path < b.path; });
    // The S3 view shows the release: reused entries made current again, removed paths get
    // delete markers.
    Manifest view{std::string(site), entries};
    auto mirrored = mirror(store_, view, kContentBucket, prefix);
    if (!mirrored) return mirrored.error();
    return finish_release(*s, env, std::move(entries), "deploy", by);
}

Result<ReleaseInfo> ServiceImpl::build_from_prefix(std::string_view site, std::string_view env,
                                                   std::string_view by) {
    auto s = find_site(site);
    if (!s) return s.error();
    MOAT_TRY(writable(*s, env));
    std::lock_guard lock(mu_);
    return build_locked(*s, env, by);
}

Result<ReleaseInfo> ServiceImpl::build_locked(const site::SiteSettings& s, std::string_view env,
                                              std::string_view by) {
    // An S3 upload publishes to testing like a deploy does, so the same header policy applies
    // (issue 7: a site below its min_grade is refused at deploy).
    MOAT_TRY(check_policy(s, false, "s3", by));
    std::map<std::string, ManifestEntry> current;
    auto cur_id = db_->pointer(s.name, env);
    if (!cur_id) return cur_id.error();
    if (!cur_id->empty()) {
        auto row = load_row(s.name, *cur_id);
        if (!row) return row.error();
        auto m = load_manifest(*row);
        if (!m) return m.error();
        for (auto& e : m->entries) current.emplace(e.path, std::move(e));
    }
    std::string prefix = prefix_of(env, s.name);
    auto listed = list_prefix(store_, kContentBucket, prefix);
    if (!listed) return listed.error();
    std::vector<ManifestEntry> entries;
    for (const auto& o : *listed) {
        std::string path = o.key.substr(prefix.size());
        if (path.empty() || path.back() == '/') continue;  // folder placeholders
        if (!is_clean_path(path) || o.sha256.empty()) {
            core::logger("release")->warn("key not released site={} env={} key={}", s.name, env,
                                          o.key);
            continue;
        }
        ManifestEntry e = entry_of(o, path, "");
        // The same bytes and type as the current release: keep its entry (same manifest).
        if (auto it = current.find(path); it != current.end() && it->second.sha256 == e.sha256 &&
                                          it->second.content_type == e.content_type)
            e = it->second;
        entries.push_back(std::move(e));
    }
    // Nothing uploaded and nothing served yet (a DeleteObjects of nothing, an invalidation of
    // an empty environment): no empty first release.
    if (entries.empty() && cur_id->empty())
        return release_error(Errc::kNotFound, Reason::kNoRelease,
                             "nothing under content/" + prefix + " to release");
    return finish_release(s, env, std::move(entries), "s3", by);
}

Result<ReleaseInfo> ServiceImpl::finish_release(const site::SiteSettings& s, std::string_view env,
                                                std::vector<ManifestEntry> entries,
                                                std::string_view source, std::string_view by) {
    auto cur_id = db_->pointer(s.name, env);
    if (!cur_id) return cur_id.error();
    ReleaseRow row;
    Manifest m;
    // Twice at most: a hold that finds a recorded variant gone makes the variants again.
    for (int attempt = 0;; ++attempt) {
        MOAT_TRY(variants_.fill(entries, attempt > 0));
        m = Manifest{s.name, entries};
        std::string json = to_json(m);
        std::string hash = sha256_hex(json);
        if (!cur_id->empty()) {
            auto cur = load_row(s.name, *cur_id);
            if (!cur) return cur.error();
            if (cur->manifest_hash == hash) {
                if (catalog_.serving(s.name, env) != *cur_id)
                    MOAT_TRY(catalog_.activate(s.name, env, *cur_id, m));
                return info_of(*cur);
            }
        }
        if (row.id.empty()) {
            auto seq = db_->next_seq(s.name);
            if (!seq) return seq.error();
            row.site = s.name;
            row.seq = *seq;
            row.id = "r" + std::to_string(*seq);
        }
        row.manifest_hash = hash;
        row.manifest_json = std::move(json);
        row.source = std::string(source);
        row.created_by = std::string(by);
        row.created_ms = now_ms();
        row.files = m.entries.size();
        row.bytes = 0;
        std::vector<store::VersionRef> refs;
        for (const auto& e : m.entries) {
            row.bytes += e.size;
            refs.push_back({e.bucket, e.key, e.version_id});
            for (const auto& v : e.variants)
                refs.push_back({settings_.variants_bucket, v.key, v.version_id});
        }
        // Held before it is recorded: a recorded release always has its versions.
        auto held = store_.hold(holder_of(s.name, row.id), refs);
        if (held) break;
        if (attempt > 0 || store::reason_of(held.error()) != store::Reason::kNoSuchVersion)
            return held.error();
    }
    if (auto r = db_->add_release(row); !r) {
        (void)store_.release_holds(holder_of(s.name, row.id));
        return r.error();
    }
    core::logger("release")->info("release made site={} env={} id={} files={} bytes={} by={}",
                                  s.name, env, row.id, row.files, row.bytes, by);
    MOAT_TRY(move(s, env, row, m, source, by, false));
    return info_of(row);
}

}  // namespace moat::release::internal
