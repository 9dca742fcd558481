// Reads the [s3] section of moat.toml into Config::s3.
#include <fmt/format.h>

#include "config/internal/reader.h"
#include "config/values.h"

namespace moat::config::internal {

std::optional<std::vector<std::string>> read_listen_addresses(
    TableReader& r, std::string_view key,
    const std::function<bool(const TableReader::Item&, const ListenAddress&)>& unique) {
    std::vector<TableReader::Item> items;
    if (!r.read_string_list(key, items)) return std::nullopt;
    std::vector<std::string> list;
    bool ok = true;
    for (const auto& item : items) {
        auto addr = parse_listen(item.value);
        if (!addr) {
            r.sink().error(item.node->source(), item.path,
                           fmt::format("\"{}\": {}", item.value, addr.error().detail));
            ok = false;
            continue;
        }
        if (!unique(item, *addr)) ok = false;
        list.push_back(item.value);
    }
    if (!ok) return std::nullopt;
    return list;
}

void read_listen_list(TableReader& r, std::string_view key, std::vector<std::string>& out) {
    std::vector<std::string> seen;
    auto list =
        read_listen_addresses(r, key, [&](const TableReader::Item& item, const ListenAddress&) {
            bool ok = true;
            for (const auto& prev : seen)
                if (prev == item.value) {
                    r.sink().error(item.node->source(), item.path,
                                   fmt::format("\"{}\" is listed twice", item.value));
                    ok = false;
                }
            seen.push_back(item.value);
            return ok;
        });
    if (!list) return;
    if (list->empty()) {
        r.error(key, "must list at least one address (set enabled = false instead)");
        return;
    }
    out = std::move(*list);
}

void read_host_list(TableReader& r, std::string_view key, std::vector<std::string>& out) {
    std::vector<TableReader::Item> items;
    if (!r.read_string_list(key, items)) return;
    std::vector<std::string> list;
    bool ok = true;
    for (const auto& item : items) {
        auto h = normalize_host(item.value);
        if (!h) {
            r.sink().error(item.node->source(), item.path,
                           fmt::format("\"{}\": {}", item.value, h.error().detail));
            ok = false;
            continue;
        }
        list.push_back(std::move(*h));
    }
    if (!ok) return;
    if (list.empty()) {
        r.error(key, "must name at least one endpoint host");
        return;
    }
    out = std::move(list);
}

void read_s3(TableReader& top, const std::filesystem::path& base, Config& cfg) {
    (void)base;
    const toml::table* t = top.read_table("s3");
    if (!t) return;
    TableReader r(top.sink(), *t, top.key_path("s3"));
    s3::S3Settings& s = cfg.s3;
    // A present [s3] section turns the API on unless it says otherwise.
    s.enabled = true;
    r.read_bool("enabled", s.enabled);
    read_listen_list(r, "listen", s.listen);
    read_host_list(r, "hosts", s.hosts);
    r.read_int_as("max_connections", s.max_connections, 1, 4096);
    r.read_duration("access_log_flush", s.access_log_flush, std::chrono::seconds(1));
    std::string region;
    if (r.read_string("region", region)) {
        bool ok = !region.empty() && region.size() <= 32;
        for (char c : region)
            ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
        if (ok)
            s.region = region;
        else
            r.error("region", "must be 1-32 characters of a-z, 0-9 and '-' (like us-east-1)");
    }
    r.finish();
}

}  // namespace moat::config::internal
