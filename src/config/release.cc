// Reads the [release] section of moat.toml into Config::release, and turns the store and the
// release part on when a site environment is served from the store. Fills ReleaseSettings
// only; never calls into release/ (the config fuzz target compiles config/*.cc alone).
#include <fmt/format.h>

#include "config/internal/reader.h"

namespace moat::config::internal {

void read_release(TableReader& top, const std::filesystem::path& base, Config& cfg) {
    (void)base;
    release::ReleaseSettings& s = cfg.release;
    bool from_store = false;
    for (const auto& site : cfg.sites)
        for (const auto& env : site.environments) from_store = from_store || env.from_store;
    if (from_store) {
        // Releases live in the store: a site served from it needs it, and gets it without a
        // [store] section. Only an explicit `enabled = false` there is a contradiction.
        const toml::table* st = top.table().get_as<toml::table>("store");
        if (const toml::node* off = st ? st->get("enabled") : nullptr; off && !cfg.store.enabled)
            top.sink().error(off->source(), "store.enabled",
                             "a site is served from the store (store = true): the store must "
                             "be enabled");
        cfg.store.enabled = true;
        s.enabled = true;
    }
    s.db_path = cfg.store.dir + "/releases.db";
    s.cache_dir = cfg.data_dir + "/cache";

    const toml::table* t = top.read_table("release");
    if (!t) return;
    TableReader r(top.sink(), *t, top.key_path("release"));
    r.read_int_as("keep", s.keep, 1, 1000);
    constexpr std::chrono::milliseconds kMinSettle{10};
    r.read_duration("settle", s.settle, kMinSettle);
    r.read_duration("settle_max", s.settle_max, kMinSettle);
    if (s.settle_max < s.settle)
        r.error(t->contains("settle_max") ? "settle_max" : "settle",
                fmt::format("settle_max ({}ms) must not be shorter than settle ({}ms)",
                            s.settle_max.count(), s.settle.count()));

    constexpr std::uint64_t kMaxSize = 1ull << 50;
    r.read_size("memory_budget", s.memory_budget, 0, kMaxSize);
    r.read_size("max_memory_file", s.max_memory_file, 0, kMaxSize);
    if (s.max_memory_file > s.memory_budget)
        r.error(t->contains("max_memory_file") ? "max_memory_file" : "memory_budget",
                fmt::format("max_memory_file ({}) must not exceed memory_budget ({})",
                            s.max_memory_file, s.memory_budget));
    r.read_size("min_compress_size", s.min_compress_size, 0, kMaxSize);
    r.read_size("max_compress_file", s.max_compress_file, 0, kMaxSize);
    // The ranges of the libraries' own level parameters.
    r.read_int_as("brotli_level", s.brotli_level, 0, 11);
    r.read_int_as("zstd_level", s.zstd_level, 1, 22);
    r.read_int_as("gzip_level", s.gzip_level, 1, 9);
    r.read_int_as("compress_threads", s.compress_threads, 1, 64);
    r.finish();
}

}  // namespace moat::config::internal
