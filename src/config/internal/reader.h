#pragma once
// Private to config/: typed access to a toml++ table that records every problem as a Diagnostic
// instead of stopping at the first. Only config/*.cc include this header, so toml++ (and its
// TOML_EXCEPTIONS setting, left at the library default) never reaches another part.

// toml++ 3.3 asserts instead of reporting a parse error on some malformed table headers ("[",
// "[[=": fixed upstream in marzer/tomlplusplus#301). The packaged library is built with NDEBUG and
// reports an ordinary parse error; when toml++ is compiled header-only (no -DTOML_HEADER_ONLY=0,
// e.g. a standalone fuzz build) its debug asserts are turned off the same way, so both builds
// behave alike. Must stay here, before the only include of toml++ in config/.
#if !defined(TOML_HEADER_ONLY) || TOML_HEADER_ONLY
#ifndef TOML_ASSERT
#define TOML_ASSERT(expr) static_assert(true)
#endif
#endif
#include <toml++/toml.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/values.h"

namespace moat::config::internal {

// Collects the diagnostics of one load. Not thread-safe; lives on the loader's stack.
class Sink {
public:
    explicit Sink(std::string file) : file_(std::move(file)) {}

    void error(const toml::source_region& at, std::string key, std::string message);
    void warning(const toml::source_region& at, std::string key, std::string message);
    bool has_errors() const { return errors_ > 0; }
    const std::string& file() const { return file_; }
    // In file order; diagnostics without a position go last.
    std::vector<Diagnostic> take();

private:
    void add(bool warning, const toml::source_region& at, std::string key, std::string message);

    std::string file_;
    std::vector<Diagnostic> out_;
    int errors_ = 0;
};

// `key` as it appears in a dotted path: bare when it may be, else double-quoted.
std::string quote_key(std::string_view key);
// "a string", "an integer", ... for messages.
const char* type_name(toml::node_type type);

// Reads the keys of one table. Every key asked for (read_*, get, allow) becomes known; finish()
// reports the others as unknown, so a typo never silently falls back to a default. Each read_*
// leaves `out` unchanged and reports an error when the value is missing a requirement, and
// returns whether `out` was set. The table must outlive the reader.
class TableReader {
public:
    TableReader(Sink& sink, const toml::table& table, std::string path);

    Sink& sink() { return sink_; }
    const toml::table& table() const { return table_; }
    const std::string& path() const { return path_; }
    std::string key_path(std::string_view key) const;

    const toml::node* get(std::string_view key);
    void allow(std::string_view key) { known_.emplace_back(key); }

    bool read_string(std::string_view key, std::string& out);
    bool read_bool(std::string_view key, bool& out);
    bool read_int(std::string_view key, std::int64_t& out, std::int64_t lo, std::int64_t hi);
    template <class T>
    bool read_int_as(std::string_view key, T& out, std::int64_t lo, std::int64_t hi) {
        std::int64_t v = 0;
        if (!read_int(key, v, lo, hi)) return false;
        out = static_cast<T>(v);
        return true;
    }
    // A duration string (see parse_duration) of at least `min`.
    bool read_duration(std::string_view key, std::chrono::milliseconds& out,
                       std::chrono::milliseconds min);
    bool read_duration(std::string_view key, std::chrono::seconds& out,
                       std::chrono::milliseconds min);
    // A size in bytes: an integer, or a string with a binary unit (see parse_size), from lo
    // to hi.
    bool read_size(std::string_view key, std::uint64_t& out, std::uint64_t lo, std::uint64_t hi);
    // A string that must be one of `choices`.
    bool read_choice(std::string_view key, std::string& out,
                     std::initializer_list<std::string_view> choices);
    // An array of strings; each element comes with its node for positions.
    struct Item {
        std::string value;
        const toml::node* node;
        std::string path;
    };
    bool read_string_list(std::string_view key, std::vector<Item>& out);
    const toml::table* read_table(std::string_view key);
    const toml::array* read_array(std::string_view key);

    void error(std::string_view key, std::string message);  // at the value of `key`
    void error_here(std::string message);                   // at the table itself
    void warning(std::string_view key, std::string message);

    void finish();

private:
    bool type_ok(std::string_view key, const toml::node* n, toml::node_type want);

    Sink& sink_;
    const toml::table& table_;
    std::string path_;
    std::vector<std::string> known_;
};

// Resolves a relative path against the config file's directory.
std::string resolve_path(const std::filesystem::path& base, const std::string& p);

// Reads the `[sites]` table into `cfg.sites` and `cfg.tls.certs`, reporting duplicates.
void read_sites(TableReader& top, const std::filesystem::path& base, Config& cfg);

// One reader per section, each in its own file (store.cc, s3.cc, acme.cc, mail.cc); called after
// read_sites so they may look at cfg.sites.
void read_store(TableReader& top, const std::filesystem::path& base, Config& cfg);
void read_s3(TableReader& top, const std::filesystem::path& base, Config& cfg);
void read_acme(TableReader& top, const std::filesystem::path& base, Config& cfg);
void read_mail(TableReader& top, const std::filesystem::path& base, Config& cfg);

// The [release] and [admin] sections (release.cc, admin.cc); called after read_store, as they
// turn the store on for sites served from it and derive their paths from its folder.
void read_release(TableReader& top, const std::filesystem::path& base, Config& cfg);
void read_admin(TableReader& top, const std::filesystem::path& base, Config& cfg);

// The listener addresses ("IPv4:port", "[IPv6]:port") listed at `key`, as written; one that does
// not parse is reported at its element. `unique(item, address)` sees each one that parses, in
// order, and reports a repeat (returning false). nullopt when the key is absent or not a list of
// strings, or when some element failed (s3.cc).
std::optional<std::vector<std::string>> read_listen_addresses(
    TableReader& r, std::string_view key,
    const std::function<bool(const TableReader::Item&, const ListenAddress&)>& unique);
// A list of listener addresses, none twice and at least one; `out` is replaced only when every
// item is valid (s3.cc).
void read_listen_list(TableReader& r, std::string_view key, std::vector<std::string>& out);
// A list of at least one host name, normalised (s3.cc).
void read_host_list(TableReader& r, std::string_view key, std::vector<std::string>& out);

// Reads `[sites."<host>".headers]` into `policy`.
void read_headers(TableReader& site, site::HeaderPolicy& policy);
// Reads `[[sites."<host>".cache]]`; replaces `rules` when the key is present.
void read_cache_rules(TableReader& site, std::vector<site::CacheRule>& rules);

}  // namespace moat::config::internal
