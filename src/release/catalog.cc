#include "release/catalog.h"

#include <atomic>
#include <functional>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "content/encoding.h"
#include "content/http_date.h"
#include "content/mime.h"
#include "release/internal/body_cache.h"

namespace moat::release {

namespace {

using content::Encoding;
using content::FileEntry;
using content::Representation;

struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <class V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;
using StringSet = std::unordered_set<std::string, StringHash, std::equal_to<>>;

// FileEntry::content_type is a string_view, and the site table hands it on to responses that
// may outlive the entry (Response::content_type, for the access log): the types of released
// objects are interned here for the life of the process. They are few (one per distinct
// Content-Type ever released), so the set stays small.
std::string_view intern_type(std::string_view type) {
    static std::mutex mu;
    static StringSet* types = new StringSet();  // never destroyed: views may outlive statics
    std::lock_guard lock(mu);
    auto it = types->find(type);
    if (it == types->end()) it = types->emplace(type).first;
    return *it;
}

Result<Encoding> encoding_of(std::string_view name) {
    for (Encoding e : {Encoding::kBrotli, Encoding::kZstd, Encoding::kGzip})
        if (content::encoding_name(e) == name) return e;
    return make_error(Errc::kInvalidArgument,
                      "unknown variant encoding '" + std::string(name) + "'");
}

// What one (site, environment) serves: immutable once built.
struct LiveRelease {
    std::string id;
    StringMap<std::shared_ptr<const FileEntry>> files;
    StringSet folders;  // every proper prefix folder of a path: "a", "a/b" for "a/b/c.html"
};
using LivePtr = std::shared_ptr<const LiveRelease>;

// site -> env -> release. Replaced as a whole on every change (copy on write).
using EnvMap = StringMap<StringMap<LivePtr>>;

}  // namespace

struct Catalog::Impl {
    Impl(store::Store& st, ReleaseSettings s)
        : store(st),
          settings(std::move(s)),
          bodies(st, internal::BodyLimits{settings.max_memory_file, settings.memory_budget,
                                          settings.cache_dir}) {}

    store::Store& store;
    ReleaseSettings settings;
    internal::BodyCache bodies;
    std::atomic<std::shared_ptr<const EnvMap>> envs{std::make_shared<const EnvMap>()};
    std::mutex write_mu;  // serialises activate() and clear()

    LivePtr find(std::string_view site, std::string_view env) const {
        const auto map = envs.load(std::memory_order_acquire);
        auto s = map->find(site);
        if (s == map->end()) return nullptr;
        auto e = s->second.find(env);
        return e == s->second.end() ? nullptr : e->second;
    }

    Result<std::shared_ptr<FileEntry>> build_entry(const ManifestEntry& m) {
        auto e = std::make_shared<FileEntry>();
        e->path = m.path;
        e->content_type = intern_type(m.content_type.empty() ? content::content_type_for(m.path)
                                                             : std::string_view(m.content_type));
        e->compressible = content::is_compressible(e->content_type);
        e->mtime = static_cast<std::time_t>(m.mtime);
        e->last_modified = content::format_http_date(e->mtime);
        e->mtime_ns = m.mtime * 1'000'000'000;

        auto identity = bodies.get(m.sha256, "identity", {m.bucket, m.key, m.version_id}, m.size,
                                   /*verify_sha256=*/true);
        if (!identity) return identity.error();
        // One Representation per entry, even when the bytes are shared: the site table caches
        // header blocks (type, cache-control of the path) by Representation address.
        auto make_rep = [](Encoding enc, const std::string& etag, const internal::Body& b) {
            auto r = std::make_shared<Representation>();
            r->encoding = enc;
            r->size = b.size;
            r->etag = etag;
            r->bytes = b.bytes;
            r->file = b.file;
            return std::shared_ptr<const Representation>(std::move(r));
        };
        content::EncodingSet mask = content::encoding_bit(Encoding::kIdentity);
        e->reps[static_cast<int>(Encoding::kIdentity)].store(
            make_rep(Encoding::kIdentity, m.etag, *identity), std::memory_order_relaxed);
        for (const auto& v : m.variants) {
            auto enc = encoding_of(v.encoding);
            if (!enc) return make_error(Errc::kInvalidArgument, m.path + ": " + enc.error().detail);
            auto body = bodies.get(m.sha256, v.encoding,
                                   {settings.variants_bucket, v.key, v.version_id}, v.size,
                                   /*verify_sha256=*/false);
            if (!body) return body.error();
            e->reps[static_cast<int>(*enc)].store(make_rep(*enc, v.etag, *body),
                                                  std::memory_order_relaxed);
            mask |= content::encoding_bit(*enc);
        }
        // Published to other threads by the catalog's atomic store (release) after this.
        e->available_mask.store(mask, std::memory_order_relaxed);
        return e;
    }

    Result<LivePtr> build(const std::string& release_id, const Manifest& m) {
        auto live = std::make_shared<LiveRelease>();
        live->id = release_id;
        live->files.reserve(m.entries.size());
        for (const auto& me : m.entries) {
            auto entry = build_entry(me);
            if (!entry) {
                Error err = entry.error();
                err.detail = "release " + release_id + " path " + me.path + ": " + err.detail;
                return err;
            }
            live->files.emplace(me.path, std::move(*entry));
            for (auto slash = me.path.find('/'); slash != std::string::npos;
                 slash = me.path.find('/', slash + 1))
                live->folders.emplace(me.path.substr(0, slash));
        }
        return LivePtr(std::move(live));
    }

    // Publishes a copy of the map with (site, env) set to `live` (null: removed).
    void publish(std::string_view site, std::string_view env, LivePtr live) {
        auto next = std::make_shared<EnvMap>(*envs.load(std::memory_order_acquire));
        if (live) {
            (*next)[std::string(site)][std::string(env)] = std::move(live);
        } else if (auto s = next->find(site); s != next->end()) {
            if (auto e = s->second.find(env); e != s->second.end()) s->second.erase(e);
            if (s->second.empty()) next->erase(s);
        }
        envs.store(std::shared_ptr<const EnvMap>(std::move(next)), std::memory_order_release);
    }
};

Catalog::Catalog(store::Store& store, ReleaseSettings settings)
    : impl_(std::make_unique<Impl>(store, std::move(settings))) {}

Catalog::~Catalog() = default;

content::LookupResult Catalog::lookup(std::string_view site, std::string_view env,
                                      std::string_view rel) const {
    using content::Lookup;
    const LivePtr live = impl_->find(site, env);
    if (!live) return {};
    if (auto f = live->files.find(rel); f != live->files.end()) return {Lookup::kFile, f->second};
    // A folder: "a" or "a/" when some path starts with "a/"; "" is the root.
    if (rel.ends_with('/')) rel.remove_suffix(1);
    if (rel.empty()) return {live->files.empty() ? Lookup::kNotFound : Lookup::kDirectory, nullptr};
    if (live->folders.contains(rel)) return {Lookup::kDirectory, nullptr};
    return {};
}

Result<void> Catalog::activate(std::string_view site, std::string_view env,
                               const std::string& release_id, const Manifest& m) {
    std::lock_guard lock(impl_->write_mu);
    // Everything is loaded before the switch: on any error the old release keeps serving.
    auto live = impl_->build(release_id, m);
    if (!live) return live.error();
    impl_->publish(site, env, std::move(*live));
    return {};
}

std::string Catalog::serving(std::string_view site, std::string_view env) const {
    const LivePtr live = impl_->find(site, env);
    return live ? live->id : std::string();
}

void Catalog::clear(std::string_view site, std::string_view env) {
    std::lock_guard lock(impl_->write_mu);
    impl_->publish(site, env, nullptr);
}

Catalog::Stats Catalog::stats() const {
    Stats s;
    const auto map = impl_->envs.load(std::memory_order_acquire);
    for (const auto& [site, envs] : *map) s.environments += envs.size();
    const auto b = impl_->bodies.stats();
    s.bodies = b.bodies;
    s.memory_bytes = b.memory_bytes;
    s.file_bytes = b.file_bytes;
    return s;
}

}  // namespace moat::release
