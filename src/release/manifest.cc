// Release manifests: canonical JSON, parsing with validation, hash, diff.
#include "release/manifest.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "release/internal/paths.h"
#include "release/internal/sha256.h"

namespace moat::release {

namespace {

using Json = nlohmann::ordered_json;  // keeps the order written: the canonical key order

// Bumped if the canonical form ever changes (hashes of old manifests then stay what they were,
// since the stored text is kept as is).
constexpr int kFormat = 1;

Error bad(std::string what) { return make_error(Errc::kInvalidArgument, "manifest: " + what); }

bool known_encoding(std::string_view e) { return e == "br" || e == "zstd" || e == "gzip"; }

Json variant_json(const Variant& v) {
    Json j;
    j["encoding"] = v.encoding;
    j["key"] = v.key;
    j["version_id"] = v.version_id;
    j["size"] = v.size;
    j["etag"] = v.etag;
    return j;
}

Json entry_json(const ManifestEntry& e) {
    Json j;
    j["path"] = e.path;
    j["bucket"] = e.bucket;
    j["key"] = e.key;
    j["version_id"] = e.version_id;
    j["sha256"] = e.sha256;
    j["size"] = e.size;
    j["content_type"] = e.content_type;
    j["etag"] = e.etag;
    j["mtime"] = e.mtime;
    Json vs = Json::array();
    for (const auto& v : e.variants) vs.push_back(variant_json(v));
    j["variants"] = std::move(vs);
    return j;
}

// Typed field access; nlohmann throws on a wrong type, which the caller turns into an error.
const Json& field(const Json& j, const char* name) {
    auto it = j.find(name);
    if (it == j.end()) throw std::runtime_error(std::string("missing \"") + name + "\"");
    return *it;
}
std::string str(const Json& j, const char* name) {
    const Json& v = field(j, name);
    if (!v.is_string()) throw std::runtime_error(std::string("\"") + name + "\" is not a string");
    return v.get<std::string>();
}
template <class T>
T num(const Json& j, const char* name) {
    const Json& v = field(j, name);
    if (!v.is_number_integer())
        throw std::runtime_error(std::string("\"") + name + "\" is not an integer");
    if constexpr (std::is_unsigned_v<T>) {
        if (!v.is_number_unsigned())
            throw std::runtime_error(std::string("\"") + name + "\" is negative");
    }
    return v.get<T>();
}

Result<Manifest> parse(const Json& root) {
    if (!root.is_object()) return bad("not an object");
    if (num<int>(root, "format") != kFormat) return bad("unknown format");
    Manifest m;
    m.site = str(root, "site");
    const Json& entries = field(root, "entries");
    if (!entries.is_array()) return bad("\"entries\" is not an array");
    m.entries.reserve(entries.size());
    for (const Json& je : entries) {
        if (!je.is_object()) return bad("an entry is not an object");
        ManifestEntry e;
        e.path = str(je, "path");
        e.bucket = str(je, "bucket");
        e.key = str(je, "key");
        e.version_id = str(je, "version_id");
        e.sha256 = str(je, "sha256");
        e.size = num<std::uint64_t>(je, "size");
        e.content_type = str(je, "content_type");
        e.etag = str(je, "etag");
        e.mtime = num<std::int64_t>(je, "mtime");
        if (!internal::is_clean_path(e.path)) return bad("bad path \"" + e.path + "\"");
        if (!m.entries.empty() && m.entries.back().path >= e.path)
            return bad("entries not sorted or not unique at \"" + e.path + "\"");
        if (!internal::is_sha256_hex(e.sha256)) return bad("bad sha256 of \"" + e.path + "\"");
        if (e.bucket.empty() || e.key.empty() || e.version_id.empty())
            return bad("no object version for \"" + e.path + "\"");
        const Json& vs = field(je, "variants");
        if (!vs.is_array()) return bad("\"variants\" is not an array");
        for (const Json& jv : vs) {
            if (!jv.is_object()) return bad("a variant is not an object");
            Variant v;
            v.encoding = str(jv, "encoding");
            v.key = str(jv, "key");
            v.version_id = str(jv, "version_id");
            v.size = num<std::uint64_t>(jv, "size");
            v.etag = str(jv, "etag");
            if (!known_encoding(v.encoding))
                return bad("unknown encoding \"" + v.encoding + "\" of \"" + e.path + "\"");
            if (v.key.empty() || v.version_id.empty())
                return bad("no object version for a variant of \"" + e.path + "\"");
            e.variants.push_back(std::move(v));
        }
        m.entries.push_back(std::move(e));
    }
    return m;
}

}  // namespace

std::string to_json(const Manifest& m) {
    Json root;
    root["format"] = kFormat;
    root["site"] = m.site;
    Json entries = Json::array();
    for (const auto& e : m.entries) entries.push_back(entry_json(e));
    root["entries"] = std::move(entries);
    // Paths are checked UTF-8 before they get here; `replace` only keeps a bug from throwing.
    return root.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Result<Manifest> manifest_from_json(std::string_view json) {
    try {
        return parse(Json::parse(json));
    } catch (const std::exception& e) {
        return bad(e.what());
    }
}

std::string manifest_hash(const Manifest& m) { return internal::sha256_hex(to_json(m)); }

Diff diff(const Manifest& from, const Manifest& to) {
    // Both are sorted by path (the manifest invariant), but a hand-made one may not be: index.
    std::map<std::string_view, const ManifestEntry*> old;
    for (const auto& e : from.entries) old.emplace(e.path, &e);
    Diff d;
    for (const auto& e : to.entries) {
        auto it = old.find(e.path);
        if (it == old.end()) {
            d.added.push_back(e.path);
            continue;
        }
        if (it->second->sha256 != e.sha256 || it->second->content_type != e.content_type)
            d.changed.push_back(e.path);
        old.erase(it);
    }
    for (const auto& [path, e] : old) d.removed.emplace_back(path);
    std::sort(d.added.begin(), d.added.end());
    std::sort(d.changed.begin(), d.changed.end());
    return d;
}

}  // namespace moat::release
