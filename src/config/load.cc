// load_file / load_string: parse with toml++, read the top level, [edge] and [tls], then the
// cross-section checks. Sites live in sites.cc, their header and cache policy in site_policy.cc.
#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "config/config.h"
#include "config/internal/reader.h"
#include "config/values.h"

namespace moat::config {
namespace {

using internal::Sink;
using internal::TableReader;
using std::chrono::milliseconds;

constexpr std::int64_t kMaxInt = INT64_MAX;

struct ListenUse {
    ListenAddress addr;
    std::string path;
};

// Reads one listener list; an empty list is valid and disables that port.
void read_listeners(TableReader& r, std::string_view key, std::vector<std::string>& out,
                    std::vector<ListenUse>& seen) {
    auto list = internal::read_listen_addresses(
        r, key, [&](const TableReader::Item& item, const ListenAddress& addr) {
            bool ok = true;
            for (const auto& prev : seen) {
                if (prev.addr.ipv6 == addr.ipv6 && prev.addr.address == addr.address &&
                    prev.addr.port == addr.port) {
                    r.sink().error(
                        item.node->source(), item.path,
                        fmt::format("\"{}\" is already listed at {}", item.value, prev.path));
                    ok = false;
                }
            }
            seen.push_back({addr, item.path});
            return ok;
        });
    if (list) out = std::move(*list);
}

void read_http2(TableReader& edge, edge::EdgeSettings& e) {
    const toml::table* t = edge.read_table("http2");
    if (!t) return;
    TableReader r(edge.sink(), *t, edge.key_path("http2"));
    r.read_int_as("max_concurrent_streams", e.h2_max_concurrent_streams, 1, 1000);
    r.read_int_as("header_table_size", e.h2_header_table_size, 0, 65536);
    r.read_int_as("max_header_list", e.h2_max_header_list, 1024, 1048576);
    r.read_int_as("max_resets_per_second", e.h2_max_resets_per_second, 1, 100000);
    r.read_int_as("max_control_frames_per_second", e.h2_max_control_per_second, 1, 100000);
    r.read_int_as("max_continuations", e.h2_max_continuations, 0, 1000);
    r.finish();
}

void read_edge(TableReader& top, edge::EdgeSettings& e) {
    const toml::table* t = top.read_table("edge");
    if (!t) return;
    TableReader r(top.sink(), *t, top.key_path("edge"));
    std::vector<ListenUse> seen;
    read_listeners(r, "https", e.https_listen, seen);
    read_listeners(r, "http", e.http_listen, seen);
    r.read_int_as("workers", e.workers, 0, 1024);

    std::string metrics;
    if (r.read_string("metrics", metrics)) {
        auto addr =
            metrics.empty() ? Result<ListenAddress>(ListenAddress{}) : parse_listen(metrics);
        if (!addr) {
            r.error("metrics", fmt::format("\"{}\": {}", metrics, addr.error().detail));
        } else {
            if (!metrics.empty() && !addr->is_loopback())
                r.warning("metrics",
                          "metrics listener is not on loopback: anyone who reaches it can read "
                          "them; prefer 127.0.0.1 or [::1] behind a proxy");
            e.metrics_listen = metrics;
        }
    }

    r.read_bool("access_log", e.access_log);

    std::string node_id;
    if (r.read_string("node_id", node_id)) {
        // It goes into a space-separated access log field (x-edge-location).
        bool ok = !node_id.empty() && node_id.size() <= 64;
        for (char c : node_id) {
            ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.');
        }
        if (ok) {
            e.node_id = node_id;
        } else {
            r.error("node_id", "must be 1-64 characters of letters, digits, '-', '_' or '.'");
        }
    }

    constexpr milliseconds kPositive{1};
    r.read_duration("handshake_timeout", e.handshake_timeout, kPositive);
    r.read_duration("header_timeout", e.header_timeout, kPositive);
    r.read_duration("idle_timeout", e.idle_timeout, kPositive);
    r.read_duration("write_timeout", e.write_timeout, kPositive);
    r.read_duration("drain_timeout", e.drain_timeout, milliseconds{0});

    r.read_int_as("max_connections", e.max_connections, 1, 10'000'000);
    r.read_int_as("max_header_bytes", e.max_header_bytes, 1024, 1048576);
    if (r.read_int_as("max_target_bytes", e.max_target_bytes, 256, 65536) &&
        e.max_target_bytes > e.max_header_bytes) {
        r.error("max_target_bytes", fmt::format("must not exceed max_header_bytes ({}), got {}",
                                                e.max_header_bytes, e.max_target_bytes));
    }
    r.read_int_as("max_headers", e.max_headers, 1, 1000);
    r.read_int_as("max_requests_per_connection", e.max_requests_per_connection, 0, kMaxInt);
    read_http2(r, e);
    r.finish();
}

// Returns the node of default_host (for a later check against the site hosts), or null.
const toml::node* read_tls(TableReader& top, tls::TlsSettings& t) {
    const toml::table* tbl = top.read_table("tls");
    if (!tbl) return nullptr;
    TableReader r(top.sink(), *tbl, top.key_path("tls"));
    const toml::node* default_node = nullptr;
    std::string host;
    if (r.read_string("default_host", host)) {
        if (host.empty()) {
            t.default_host.clear();
        } else if (auto h = normalize_host(host); !h) {
            r.error("default_host", fmt::format("\"{}\": {}", host, h.error().detail));
        } else {
            t.default_host = *h;
            default_node = tbl->get("default_host");
        }
    }
    r.read_duration("ticket_rotation", t.ticket_rotation, milliseconds{1000});
    if (r.read_duration("session_lifetime", t.session_lifetime, milliseconds{1000}) &&
        t.session_lifetime > std::chrono::hours(24)) {
        r.warning("session_lifetime",
                  "longer than 24h: testssl.sh flags session resumption lifetimes above one day");
    }
    r.finish();
    return default_node;
}

// TOML 1.0 allows non-ASCII text only in strings and comments. toml++ 3.3 reaches
// __builtin_unreachable() (undefined behaviour) classifying some non-ASCII characters met
// elsewhere (U+0491 after a key, for one; found by the fuzzer), so such files are refused here,
// before toml++ sees them. Returns the 1-based position of the first one, line 0 if none.
toml::source_position find_stray_non_ascii(std::string_view text) {
    toml::source_position pos{1, 1};
    std::size_t i = 0;
    auto advance = [&](std::size_t n) {
        for (; n > 0 && i < text.size(); --n, ++i) {
            auto c = static_cast<unsigned char>(text[i]);
            if (c == '\n') {
                ++pos.line;
                pos.column = 1;
            } else if ((c & 0xC0) != 0x80) {  // columns count characters, not UTF-8 bytes
                ++pos.column;
            }
        }
    };
    auto at = [&](std::string_view s) { return text.substr(i, s.size()) == s; };
    // Skips a string starting at i; `quote` is '"' (escapes apply) or '\''.
    auto skip_string = [&](char quote) {
        const std::string triple(3, quote);
        if (at(triple)) {
            advance(3);
            while (i < text.size() && !at(triple)) advance(quote == '"' && text[i] == '\\' ? 2 : 1);
            advance(3);
            for (int extra = 0; extra < 2 && i < text.size() && text[i] == quote; ++extra)
                advance(1);
            return;
        }
        advance(1);
        while (i < text.size() && text[i] != quote && text[i] != '\n')
            advance(quote == '"' && text[i] == '\\' ? 2 : 1);
        if (i < text.size() && text[i] == quote) advance(1);
    };
    while (i < text.size()) {
        char c = text[i];
        if (c == '#') {
            while (i < text.size() && text[i] != '\n') advance(1);
        } else if (c == '"' || c == '\'') {
            skip_string(c);
        } else if (static_cast<unsigned char>(c) >= 0x80) {
            return pos;
        } else {
            advance(1);
        }
    }
    return toml::source_position{0, 0};
}

std::filesystem::path base_dir_of(const std::string& name) {
    std::error_code ec;
    auto abs = std::filesystem::absolute(std::filesystem::path(name), ec);
    if (ec) return std::filesystem::current_path(ec);
    return abs.parent_path();
}

void build(const toml::table& root, Sink& sink, const std::filesystem::path& base, Config& cfg) {
    TableReader top(sink, root, "");
    std::string data_dir = cfg.data_dir;
    if (top.read_string("data_dir", data_dir) && data_dir.empty())
        top.error("data_dir", "must not be empty");
    cfg.data_dir = internal::resolve_path(base, data_dir.empty() ? "moat-data" : data_dir);
    top.read_choice("log_level", cfg.log_level, {"trace", "debug", "info", "warn", "error", "off"});
    read_edge(top, cfg.edge);
    const toml::node* default_host = read_tls(top, cfg.tls);
    internal::read_sites(top, base, cfg);
    internal::read_store(top, base, cfg);
    internal::read_release(top, base, cfg);
    internal::read_s3(top, base, cfg);
    internal::read_admin(top, base, cfg);
    internal::read_acme(top, base, cfg);
    internal::read_mail(top, base, cfg);
    top.finish();

    if (default_host) {
        bool found = false;
        for (const auto& cert : cfg.tls.certs) {
            for (const auto& n : cert.names) found = found || n == cfg.tls.default_host;
        }
        if (!found) {
            sink.error(default_host->source(), "tls.default_host",
                       fmt::format("\"{}\" is not the host, alias or environment host of any site",
                                   cfg.tls.default_host));
        }
    }
    cfg.tls.internal_ca_dir = cfg.data_dir + "/ca";
    cfg.edge.access_log_dir = cfg.data_dir + "/logs";
}

}  // namespace

LoadResult load_string(std::string_view text, const std::string& name) {
    Sink sink(name);
    LoadResult out;
    toml::table root;
    if (auto stray = find_stray_non_ascii(text); stray.line != 0) {
        sink.error(toml::source_region{stray, stray, nullptr}, "",
                   "non-ASCII character outside a string or comment (use a quoted key)");
        out.diagnostics = sink.take();
        return out;
    }
    try {
        root = toml::parse(text, std::string_view(name));
    } catch (const toml::parse_error& e) {
        sink.error(e.source(), "", std::string(e.description()));
        out.diagnostics = sink.take();
        return out;
    }
    auto cfg = std::make_shared<Config>();
    cfg->source = name;
    try {
        build(root, sink, base_dir_of(name), *cfg);
    } catch (const std::exception& e) {
        // Nothing above is expected to throw (filesystem calls take error_codes); this keeps a
        // surprise from escaping into a reload.
        sink.error(toml::source_region{}, "", fmt::format("internal error: {}", e.what()));
    }
    if (!sink.has_errors()) out.config = std::move(cfg);
    out.diagnostics = sink.take();
    return out;
}

LoadResult load_file(const std::string& path) {
    auto fail = [&](std::string message) {
        LoadResult out;
        Diagnostic d;
        d.file = path;
        d.message = std::move(message);
        out.diagnostics.push_back(std::move(d));
        return out;
    };
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec))
        return fail(ec ? fmt::format("cannot read the file: {}", ec.message()) : "not a file");
    std::ifstream in(path, std::ios::binary);
    if (!in) return fail(fmt::format("cannot read the file: {}", std::strerror(errno)));
    std::ostringstream buf;
    buf << in.rdbuf();
    if (in.bad()) return fail(fmt::format("cannot read the file: {}", std::strerror(errno)));
    return load_string(buf.str(), path);
}

}  // namespace moat::config
