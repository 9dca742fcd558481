#include "release/internal/mirror.h"

#include <map>

namespace moat::release::internal {

Result<std::vector<store::ObjectInfo>> list_prefix(store::Store& store, std::string_view bucket,
                                                   std::string_view prefix) {
    std::vector<store::ObjectInfo> out;
    store::ListQuery q;
    q.prefix = std::string(prefix);
    q.max_keys = 1000;
    for (;;) {
        auto page = store.list(bucket, q);
        if (!page) return page.error();
        for (auto& o : page->objects) out.push_back(std::move(o));
        if (!page->truncated || page->next_after.empty()) break;
        q.after = page->next_after;
    }
    return out;
}

Result<MirrorStats> mirror(store::Store& store, const Manifest& m, std::string_view bucket,
                           std::string_view prefix) {
    auto listed = list_prefix(store, bucket, prefix);
    if (!listed) return listed.error();
    std::map<std::string, const store::ObjectInfo*> latest;
    for (const auto& o : *listed) latest.emplace(o.key, &o);
    MirrorStats st;
    for (const auto& e : m.entries) {
        std::string key = std::string(prefix) + e.path;
        auto it = latest.find(key);
        if (it != latest.end()) {
            bool same = it->second->sha256 == e.sha256;
            latest.erase(it);
            if (same) continue;
        }
        // Also when the key is the entry's own and a later write covered its version: the copy
        // makes that version's bytes current again.
        auto c = store.copy(e.bucket, e.key, e.version_id, bucket, key, std::nullopt);
        if (!c) return c.error();
        ++st.copied;
    }
    for (const auto& [key, o] : latest) {
        if (!key.empty() && key.back() == '/') continue;
        auto r = store.remove(bucket, key);
        if (!r) return r.error();
        ++st.removed;
    }
    return st;
}

}  // namespace moat::release::internal
