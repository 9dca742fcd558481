// Reads the [store] section of moat.toml into Config::store. Fills StoreSettings only; never
// calls into store/ (the config fuzz target compiles config/*.cc alone).
#include <fmt/format.h>

#include "config/internal/reader.h"

namespace moat::config::internal {

void read_store(TableReader& top, const std::filesystem::path& base, Config& cfg) {
    store::StoreSettings& s = cfg.store;
    s.dir = cfg.data_dir + "/store";
    const toml::table* t = top.read_table("store");
    if (!t) return;
    s.enabled = true;  // a [store] section turns the store on unless it says otherwise
    TableReader r(top.sink(), *t, top.key_path("store"));
    r.read_bool("enabled", s.enabled);
    std::string dir;
    if (r.read_string("dir", dir)) {
        if (dir.empty())
            r.error("dir", "must not be empty");
        else
            s.dir = resolve_path(base, dir);
    }
    std::string key_file;
    if (r.read_string("master_key_file", key_file)) {
        if (key_file.empty())
            r.error("master_key_file", "must not be empty (omit it for the default)");
        else
            s.master_key_file = resolve_path(base, key_file);
    }
    r.read_duration("lifecycle_interval", s.lifecycle_interval, std::chrono::milliseconds{1000});
    std::int64_t day = 0;
    if (r.read_int("day_seconds", day, 1, 86400)) {
        s.day = std::chrono::seconds{day};
        if (day != 86400)
            r.warning(
                "day_seconds",
                fmt::format("a lifecycle day lasts {}s instead of 86400s: for tests only", day));
    }
    std::int64_t min_free_mb = 0;
    if (r.read_int("min_free_mb", min_free_mb, 0, 1 << 20))
        s.min_free_bytes = static_cast<std::uint64_t>(min_free_mb) << 20;
    std::int64_t plain_mb = 0;
    if (r.read_int("plain_cache_mb", plain_mb, 0, 1 << 16))
        s.plain_cache_bytes = static_cast<std::size_t>(plain_mb) << 20;
    std::int64_t plain_object_mb = 0;
    if (r.read_int("plain_cache_object_mb", plain_object_mb, 1, 1 << 12))
        s.plain_cache_max_object = static_cast<std::size_t>(plain_object_mb) << 20;
    r.finish();
}

}  // namespace moat::config::internal
