// LocalStore: ListObjects (v1/v2) and ListObjectVersions over the versions table.
//
// Keys are compared as bytes (SQLite BINARY collation = memcmp), which for UTF-8 is code point
// order, as S3 lists. Two facts about valid UTF-8 keep the SQL simple: no key contains the byte
// 0xFF, so every key starting with P is < P + "\xff"; and S + "\0" is the smallest string after
// S, so "key > S" is "key >= S\0".
#include <algorithm>

#include "store/internal/names.h"
#include "store/local_store.h"

namespace moat::store {

using internal::Conn;
using internal::Stmt;

namespace {

constexpr int kBatch = 500;

std::string after(std::string s) {
    s.push_back('\0');
    return s;
}
std::string upper_bound_of(const std::string& prefix) { return prefix + "\xff"; }

// The common prefix `key` rolls up into, or "" when none (S3: the part of the key after the
// prefix, up to and including the first delimiter).
std::string common_prefix(const std::string& key, const std::string& prefix,
                          const std::string& delim) {
    if (delim.empty()) return {};
    auto pos = key.find(delim, prefix.size());
    if (pos == std::string::npos) return {};
    return key.substr(0, pos + delim.size());
}

// How both listings page through keys under `prefix`: keys holding `delimiter` after the prefix
// roll up into one common prefix each; a prefix at or before `marker` went out on an earlier page
// and is only skipped; at most `max` entries (objects or versions, and prefixes).
struct Rollup {
    const std::string& prefix;
    const std::string& delimiter;
    const std::string& marker;
    int max;
};

// Runs batch() (a statement over at most kBatch rows in key order, from the caller's position,
// key in column 2) until the rows run out or the page is full. skip(cp) moves the position past
// every key under cp; add_prefix(cp) and add_row(s, key) add one entry, add_row also moving the
// position past that row. Returns whether entries were left over (the page is truncated).
template <class Batch, class Skip, class AddPrefix, class AddRow>
Result<bool> walk(const Rollup& r, Batch batch, Skip skip, AddPrefix add_prefix, AddRow add_row) {
    int count = 0;
    for (;;) {
        Stmt s = batch();
        int rows = 0;
        bool jumped = false;
        for (;;) {
            auto row = s.step();
            if (!row) return row.error();
            if (!*row) break;
            ++rows;
            std::string key = s.text(2);
            std::string cp = common_prefix(key, r.prefix, r.delimiter);
            if (!cp.empty() && cp <= r.marker) {
                skip(cp);
                jumped = true;
                break;
            }
            if (count == r.max) return true;
            ++count;
            if (!cp.empty()) {
                add_prefix(cp);
                skip(cp);  // every key under it
                jumped = true;
                break;
            }
            add_row(s, key);
        }
        if (!jumped && rows < kBatch) return false;
    }
}

}  // namespace

Result<ListPage> LocalStore::list(std::string_view bucket, const ListQuery& q) {
    auto c = pool_.lease();
    if (!c) return c.error();
    MOAT_TRY(versioning_of(**c, bucket));
    ListPage page;
    int max = std::clamp(q.max_keys, 0, 1000);
    if (max == 0) return page;
    std::string prefix = q.prefix;
    std::string from = std::max(prefix, after(q.after));
    std::string upper = upper_bound_of(prefix);
    auto truncated = walk(
        Rollup{prefix, q.delimiter, q.after, max},
        [&] {
            auto s = (*c)->prepare("SELECT " MOAT_VERSION_COLS
                                   " FROM versions v WHERE bucket = ? AND latest = 1 AND key >= ? "
                                   "AND key < ? AND marker = 0 ORDER BY key LIMIT ?");
            s.bind(1, bucket).bind(2, from).bind(3, upper).bind(4, kBatch);
            return s;
        },
        [&](const std::string& cp) { from = upper_bound_of(cp); },
        [&](const std::string& cp) {
            page.common_prefixes.push_back(cp);
            page.next_after = cp;
        },
        [&](const Stmt& s, const std::string& key) {
            page.objects.push_back(internal::version_from(s));
            page.next_after = key;
            from = after(key);
        });
    if (!truncated) return truncated.error();
    page.truncated = *truncated;
    if (!page.truncated) page.next_after.clear();
    return page;
}

Result<VersionPage> LocalStore::list_versions(std::string_view bucket, const VersionQuery& q) {
    auto c = pool_.lease();
    if (!c) return c.error();
    MOAT_TRY(versioning_of(**c, bucket));
    VersionPage page;
    int max = std::clamp(q.max_keys, 0, 1000);
    if (max == 0) return page;
    const std::string& prefix = q.prefix;
    std::string upper = upper_bound_of(prefix);
    // Position: versions of `cur_key` older than `cur_id`, then keys >= `from`.
    std::string cur_key;
    std::int64_t cur_id = 0;
    std::string from = prefix;
    if (!q.key_marker.empty()) {
        from = std::max(prefix, after(q.key_marker));
        if (!q.version_id_marker.empty()) {
            auto s =
                (*c)->prepare("SELECT id FROM versions WHERE bucket = ? AND key = ? AND vid = ?");
            s.bind(1, bucket).bind(2, q.key_marker).bind(3, q.version_id_marker);
            auto r = s.step();
            if (!r) return r.error();
            if (*r) {
                cur_key = q.key_marker;
                cur_id = s.i64(0);
            }
        }
    }
    auto truncated = walk(
        Rollup{prefix, q.delimiter, q.key_marker, max},
        [&] {
            auto s = (*c)->prepare("SELECT " MOAT_VERSION_COLS
                                   " FROM versions v WHERE bucket = ?1 AND ((key = ?2 AND id < ?3) "
                                   "OR key >= ?4) AND key >= ?5 AND key < ?6 "
                                   "ORDER BY key, id DESC LIMIT ?7");
            s.bind(1, bucket).bind(2, cur_key).bind(3, cur_id).bind(4, from).bind(5, prefix);
            s.bind(6, upper).bind(7, kBatch);
            return s;
        },
        [&](const std::string& cp) {
            cur_key.clear();
            from = upper_bound_of(cp);
        },
        [&](const std::string& cp) {
            page.common_prefixes.push_back(cp);
            page.next_key_marker = cp;
            page.next_version_id_marker.clear();
        },
        [&](const Stmt& s, const std::string& key) {
            ObjectInfo o = internal::version_from(s);
            page.next_key_marker = key;
            page.next_version_id_marker = o.version_id;
            page.versions.push_back(std::move(o));
            cur_key = key;
            cur_id = s.i64(0);
            from = after(key);
        });
    if (!truncated) return truncated.error();
    page.truncated = *truncated;
    if (!page.truncated) {
        page.next_key_marker.clear();
        page.next_version_id_marker.clear();
    }
    return page;
}

}  // namespace moat::store
