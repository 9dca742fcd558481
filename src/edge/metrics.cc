#include "edge/metrics.h"

#include <array>
#include <charconv>
#include <cmath>
#include <set>

namespace moat::edge {

namespace metrics_detail {
unsigned assign_shard() {
    static std::atomic<unsigned> next{0};
    return next.fetch_add(1, std::memory_order_relaxed) & (kShards - 1);
}
}  // namespace metrics_detail

namespace {

constexpr std::array<std::string_view, 6> kCodeClass = {"000", "1xx", "2xx", "3xx", "4xx", "5xx"};
constexpr std::array<std::string_view, kTlsFailureKinds> kTlsReason = {
    "timeout", "protocol", "unknown_name", "peer_alert", "other"};

// Names the built-in families use; extensions may not take them.
const std::set<std::string, std::less<>> kBuiltin = {
    "moat_requests_total",
    "moat_response_bytes_total",
    "moat_open_connections",
    "moat_connections_total",
    "moat_connections_shed_total",
    "moat_tls_handshakes_total",
    "moat_tls_handshake_failures_total",
    "moat_cache_hits_total",
    "moat_cache_misses_total",
    "moat_access_log_dropped_total",
};

bool valid_metric_name(std::string_view s) {  // [a-zA-Z_:][a-zA-Z0-9_:]*
    if (s.empty()) return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
                  (i > 0 && c >= '0' && c <= '9');
        if (!ok) return false;
    }
    return true;
}

bool valid_label_name(std::string_view s) {  // [a-zA-Z_][a-zA-Z0-9_]*, "__" is reserved
    if (s.empty() || s.starts_with("__")) return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                  (i > 0 && c >= '0' && c <= '9');
        if (!ok) return false;
    }
    return true;
}

// Exposition format 0.0.4: in label values \ " and newline are escaped; in HELP only \ and
// newline.
void append_escaped(std::string& out, std::string_view s, bool quote) {
    for (char c : s) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '"' && quote) {
            out += "\\\"";
        } else {
            out += c;
        }
    }
}

void append_header(std::string& out, std::string_view name, std::string_view help,
                   std::string_view type) {
    out.append("# HELP ").append(name).push_back(' ');
    append_escaped(out, help, false);
    out.append("\n# TYPE ").append(name).push_back(' ');
    out.append(type).push_back('\n');
}

void append_label(std::string& out, std::string_view name, std::string_view value) {
    if (out.back() != '{') out.push_back(',');
    out.append(name).append("=\"");
    append_escaped(out, value, true);
    out.push_back('"');
}

void append_value(std::string& out, std::uint64_t v) {
    char buf[24];
    out.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

void append_value(std::string& out, double v) {
    if (std::isnan(v)) {
        out += "NaN";
    } else if (std::isinf(v)) {
        out += v > 0 ? "+Inf" : "-Inf";
    } else {
        char buf[32];  // shortest form that reads back as the same double
        out.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
    }
}

void append_sample(std::string& out, std::string_view name, std::uint64_t v) {
    out.append(name).push_back(' ');
    append_value(out, v);
    out.push_back('\n');
}

}  // namespace

std::uint64_t SiteCounters::requests(int code_class) const {
    std::uint64_t n = 0;
    if (code_class < 0 || code_class > 5) return 0;
    for (const auto& s : shards_) n += s.requests[code_class].load(std::memory_order_relaxed);
    return n;
}

std::uint64_t SiteCounters::response_bytes() const {
    std::uint64_t n = 0;
    for (const auto& s : shards_) n += s.bytes.load(std::memory_order_relaxed);
    return n;
}

Metrics::Metrics(std::size_t max_sites) : max_sites_(max_sites) {
    auto other = std::make_unique<SiteCounters>("_other", "");
    other_ = other.get();
    sites_.emplace(std::make_pair(std::string("_other"), std::string()), std::move(other));
}

Metrics::~Metrics() = default;

SiteCounters* Metrics::site(std::string_view name, std::string_view env) {
    std::lock_guard lock(mu_);
    auto key = std::make_pair(std::string(name), std::string(env));
    if (auto it = sites_.find(key); it != sites_.end()) return it->second.get();
    if (sites_.size() > max_sites_) return other_;  // +1: _other does not count
    auto counters = std::make_unique<SiteCounters>(key.first, key.second);
    SiteCounters* p = counters.get();
    sites_.emplace(std::move(key), std::move(counters));
    return p;
}

void Metrics::set_access_log_dropped(std::function<std::uint64_t()> read) {
    std::lock_guard lock(mu_);
    access_log_dropped_ = std::move(read);
}

Result<void> Metrics::add_gauge(std::string name, std::string help, std::function<double()> read,
                                Labels labels) {
    return add(std::move(name), std::move(help), "gauge", std::move(read), std::move(labels));
}

Result<void> Metrics::add_counter(std::string name, std::string help, std::function<double()> read,
                                  Labels labels) {
    return add(std::move(name), std::move(help), "counter", std::move(read), std::move(labels));
}

Result<void> Metrics::add(std::string name, std::string help, const char* type,
                          std::function<double()> read, Labels labels) {
    if (!valid_metric_name(name))
        return make_error(Errc::kInvalidArgument, "bad metric name: " + name);
    if (!read) return make_error(Errc::kInvalidArgument, "no value function for " + name);
    std::string rendered;
    std::set<std::string_view> seen;
    for (const auto& [k, v] : labels) {
        if (!valid_label_name(k) || !seen.insert(k).second)
            return make_error(Errc::kInvalidArgument, "bad or repeated label name: " + k);
        rendered += rendered.empty() ? "{" : ",";
        rendered += k + "=\"";
        append_escaped(rendered, v, true);
        rendered += '"';
    }
    if (!rendered.empty()) rendered += '}';

    std::lock_guard lock(mu_);
    if (kBuiltin.count(name) != 0)
        return make_error(Errc::kConflict, name + " is a built-in metric");
    auto [it, inserted] = extra_.try_emplace(name, Family{help, type, {}});
    Family& f = it->second;
    if (!inserted && (f.help != help || std::string_view(f.type) != type))
        return make_error(Errc::kConflict, name + " is registered with another help or type");
    for (const auto& s : f.series)
        if (s.first == rendered)
            return make_error(Errc::kConflict, name + rendered + " is already registered");
    f.series.emplace_back(std::move(rendered), std::move(read));
    return {};
}

template <class F>
std::uint64_t Metrics::sum(F field) const {
    std::uint64_t n = 0;
    for (const auto& s : shards_) n += field(s).load(std::memory_order_relaxed);
    return n;
}

std::string Metrics::render() const {
    std::string out;
    out.reserve(4096);
    std::lock_guard lock(mu_);

    append_header(out, "moat_requests_total",
                  "Requests answered, by site, environment and status class (000: the client "
                  "left before the response started).",
                  "counter");
    for (const auto& [key, c] : sites_) {
        for (int cls = 0; cls < 6; ++cls) {
            out += "moat_requests_total{";
            append_label(out, "site", c->name());
            if (!c->env().empty()) append_label(out, "env", c->env());
            append_label(out, "code_class", kCodeClass[cls]);
            out += "} ";
            append_value(out, c->requests(cls));
            out += '\n';
        }
    }
    append_header(out, "moat_response_bytes_total", "Bytes sent in responses, by site.", "counter");
    for (const auto& [key, c] : sites_) {
        out += "moat_response_bytes_total{";
        append_label(out, "site", c->name());
        if (!c->env().empty()) append_label(out, "env", c->env());
        out += "} ";
        append_value(out, c->response_bytes());
        out += '\n';
    }

    append_header(out, "moat_open_connections", "Client connections open now.", "gauge");
    std::int64_t open = 0;
    for (const auto& s : shards_) open += s.open.load(std::memory_order_relaxed);
    out += "moat_open_connections ";
    out += std::to_string(open < 0 ? 0 : open);  // < 0 only while a scrape races a close
    out += '\n';

    auto counter = [&](std::string_view name, std::string_view help, std::uint64_t v) {
        append_header(out, name, help, "counter");
        append_sample(out, name, v);
    };
    counter("moat_connections_total", "Client connections accepted.",
            sum([](const Shard& s) -> const auto& { return s.connections; }));
    counter("moat_connections_shed_total",
            "Client connections refused because the connection limit was reached.",
            sum([](const Shard& s) -> const auto& { return s.shed; }));
    counter("moat_tls_handshakes_total", "TLS handshakes completed.",
            sum([](const Shard& s) -> const auto& { return s.handshakes; }));

    append_header(out, "moat_tls_handshake_failures_total", "TLS handshakes failed, by reason.",
                  "counter");
    for (std::size_t r = 0; r < kTlsFailureKinds; ++r) {
        out += "moat_tls_handshake_failures_total{";
        append_label(out, "reason", kTlsReason[r]);
        out += "} ";
        append_value(out,
                     sum([r](const Shard& s) -> const auto& { return s.handshake_failures[r]; }));
        out += '\n';
    }
    counter("moat_cache_hits_total", "Responses served from the body cache.",
            sum([](const Shard& s) -> const auto& { return s.cache_hits; }));
    counter("moat_cache_misses_total", "Responses that had to read the file.",
            sum([](const Shard& s) -> const auto& { return s.cache_misses; }));
    counter("moat_access_log_dropped_total",
            "Access log records dropped because the writer could not keep up.",
            access_log_dropped_ ? access_log_dropped_() : 0);

    for (const auto& [name, f] : extra_) {
        append_header(out, name, f.help, f.type);
        for (const auto& [labels, read] : f.series) {
            out.append(name).append(labels).push_back(' ');
            append_value(out, read());
            out += '\n';
        }
    }
    return out;
}

}  // namespace moat::edge
