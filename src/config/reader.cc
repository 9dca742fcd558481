// TableReader and Sink: the typed, error-collecting layer over toml++ (see internal/reader.h).
#include "config/internal/reader.h"

#include <fmt/format.h>

#include <algorithm>

#include "config/values.h"

namespace moat::config::internal {
namespace {

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diag = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            std::size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1] ? 1 : 0)});
            diag = up;
        }
    }
    return row[b.size()];
}

bool is_bare_key(std::string_view key) {
    if (key.empty()) return false;
    return std::all_of(key.begin(), key.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
    });
}

}  // namespace

void Sink::add(bool warning, const toml::source_region& at, std::string key, std::string message) {
    Diagnostic d;
    d.warning = warning;
    d.file = file_;
    d.line = static_cast<int>(at.begin.line);
    d.column = static_cast<int>(at.begin.column);
    d.key = std::move(key);
    d.message = std::move(message);
    if (!warning) ++errors_;
    out_.push_back(std::move(d));
}

void Sink::error(const toml::source_region& at, std::string key, std::string message) {
    add(false, at, std::move(key), std::move(message));
}

void Sink::warning(const toml::source_region& at, std::string key, std::string message) {
    add(true, at, std::move(key), std::move(message));
}

std::vector<Diagnostic> Sink::take() {
    std::stable_sort(out_.begin(), out_.end(), [](const Diagnostic& a, const Diagnostic& b) {
        // Line 0 means "no position": after everything that has one.
        auto la = a.line == 0 ? INT32_MAX : a.line;
        auto lb = b.line == 0 ? INT32_MAX : b.line;
        return la != lb ? la < lb : a.column < b.column;
    });
    return std::move(out_);
}

std::string quote_key(std::string_view key) {
    if (is_bare_key(key)) return std::string(key);
    std::string out = "\"";
    for (char c : key) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
            out += fmt::format("\\u{:04X}", static_cast<unsigned char>(c));
        } else {
            out += c;
        }
    }
    return out + "\"";
}

const char* type_name(toml::node_type type) {
    switch (type) {
        case toml::node_type::none:
            return "nothing";
        case toml::node_type::table:
            return "a table";
        case toml::node_type::array:
            return "an array";
        case toml::node_type::string:
            return "a string";
        case toml::node_type::integer:
            return "an integer";
        case toml::node_type::floating_point:
            return "a float";
        case toml::node_type::boolean:
            return "a boolean";
        case toml::node_type::date:
            return "a date";
        case toml::node_type::time:
            return "a time";
        case toml::node_type::date_time:
            return "a date-time";
    }
    return "a value";
}

TableReader::TableReader(Sink& sink, const toml::table& table, std::string path)
    : sink_(sink), table_(table), path_(std::move(path)) {}

std::string TableReader::key_path(std::string_view key) const {
    if (path_.empty()) return quote_key(key);
    return path_ + "." + quote_key(key);
}

const toml::node* TableReader::get(std::string_view key) {
    known_.emplace_back(key);
    return table_.get(key);
}

void TableReader::error(std::string_view key, std::string message) {
    const toml::node* n = table_.get(key);
    sink_.error(n ? n->source() : table_.source(), key_path(key), std::move(message));
}

void TableReader::error_here(std::string message) {
    sink_.error(table_.source(), path_, std::move(message));
}

void TableReader::warning(std::string_view key, std::string message) {
    const toml::node* n = table_.get(key);
    sink_.warning(n ? n->source() : table_.source(), key_path(key), std::move(message));
}

bool TableReader::type_ok(std::string_view key, const toml::node* n, toml::node_type want) {
    if (n->type() == want) return true;
    error(key, fmt::format("expected {}, got {}", type_name(want), type_name(n->type())));
    return false;
}

bool TableReader::read_string(std::string_view key, std::string& out) {
    const toml::node* n = get(key);
    if (!n || !type_ok(key, n, toml::node_type::string)) return false;
    const std::string& s = n->as_string()->get();
    if (s.find('\0') != std::string::npos) {
        error(key, "must not contain NUL");
        return false;
    }
    out = s;
    return true;
}

bool TableReader::read_bool(std::string_view key, bool& out) {
    const toml::node* n = get(key);
    if (!n || !type_ok(key, n, toml::node_type::boolean)) return false;
    out = n->as_boolean()->get();
    return true;
}

bool TableReader::read_int(std::string_view key, std::int64_t& out, std::int64_t lo,
                           std::int64_t hi) {
    const toml::node* n = get(key);
    if (!n || !type_ok(key, n, toml::node_type::integer)) return false;
    std::int64_t v = n->as_integer()->get();
    if (v < lo || v > hi) {
        if (hi == INT64_MAX) {
            error(key, fmt::format("must be at least {}, got {}", lo, v));
        } else {
            error(key, fmt::format("must be from {} to {}, got {}", lo, hi, v));
        }
        return false;
    }
    out = v;
    return true;
}

bool TableReader::read_duration(std::string_view key, std::chrono::milliseconds& out,
                                std::chrono::milliseconds min) {
    const toml::node* n = get(key);
    if (!n) return false;
    if (n->type() != toml::node_type::string) {
        error(key,
              fmt::format("expected a duration string like \"10s\", got {}", type_name(n->type())));
        return false;
    }
    const std::string& s = n->as_string()->get();
    auto d = parse_duration(s);
    if (!d) {
        error(key, fmt::format("invalid duration \"{}\": {}", s, d.error().detail));
        return false;
    }
    if (*d < min) {
        error(key, fmt::format("must be at least {}ms, got \"{}\"", min.count(), s));
        return false;
    }
    out = *d;
    return true;
}

bool TableReader::read_duration(std::string_view key, std::chrono::seconds& out,
                                std::chrono::milliseconds min) {
    std::chrono::milliseconds ms{};
    if (!read_duration(key, ms, min)) return false;
    if (ms.count() % 1000 != 0) {
        error(key, "must be a whole number of seconds");
        return false;
    }
    out = std::chrono::duration_cast<std::chrono::seconds>(ms);
    return true;
}

bool TableReader::read_size(std::string_view key, std::uint64_t& out, std::uint64_t lo,
                            std::uint64_t hi) {
    const toml::node* n = get(key);
    if (!n) return false;
    std::uint64_t v = 0;
    if (n->type() == toml::node_type::integer) {
        const std::int64_t i = n->as_integer()->get();
        if (i < 0) {
            error(key, fmt::format("must not be negative, got {}", i));
            return false;
        }
        v = static_cast<std::uint64_t>(i);
    } else if (n->type() == toml::node_type::string) {
        const std::string& s = n->as_string()->get();
        auto size = parse_size(s);
        if (!size) {
            error(key, fmt::format("invalid size \"{}\": {}", s, size.error().detail));
            return false;
        }
        v = *size;
    } else {
        error(key, fmt::format("expected a size like \"64MiB\" or a number of bytes, got {}",
                               type_name(n->type())));
        return false;
    }
    if (v < lo || v > hi) {
        error(key, fmt::format("must be from {} to {} bytes, got {}", lo, hi, v));
        return false;
    }
    out = v;
    return true;
}

bool TableReader::read_choice(std::string_view key, std::string& out,
                              std::initializer_list<std::string_view> choices) {
    std::string v;
    if (!read_string(key, v)) return false;
    if (std::find(choices.begin(), choices.end(), v) == choices.end()) {
        std::string list;
        for (auto c : choices) list += fmt::format("{}\"{}\"", list.empty() ? "" : ", ", c);
        error(key, fmt::format("must be one of {}, got \"{}\"", list, v));
        return false;
    }
    out = std::move(v);
    return true;
}

bool TableReader::read_string_list(std::string_view key, std::vector<Item>& out) {
    const toml::node* n = get(key);
    if (!n || !type_ok(key, n, toml::node_type::array)) return false;
    const toml::array& arr = *n->as_array();
    bool ok = true;
    std::vector<Item> items;
    for (std::size_t i = 0; i < arr.size(); ++i) {
        const toml::node& e = arr[i];
        std::string path = fmt::format("{}[{}]", key_path(key), i);
        if (e.type() != toml::node_type::string) {
            sink_.error(e.source(), path,
                        fmt::format("expected a string, got {}", type_name(e.type())));
            ok = false;
            continue;
        }
        const std::string& s = e.as_string()->get();
        if (s.find('\0') != std::string::npos) {
            sink_.error(e.source(), path, "must not contain NUL");
            ok = false;
            continue;
        }
        items.push_back({s, &e, std::move(path)});
    }
    if (!ok) return false;
    out = std::move(items);
    return true;
}

const toml::table* TableReader::read_table(std::string_view key) {
    const toml::node* n = get(key);
    if (!n || !type_ok(key, n, toml::node_type::table)) return nullptr;
    return n->as_table();
}

const toml::array* TableReader::read_array(std::string_view key) {
    const toml::node* n = get(key);
    if (!n || !type_ok(key, n, toml::node_type::array)) return nullptr;
    return n->as_array();
}

void TableReader::finish() {
    for (auto&& [k, v] : table_) {
        std::string_view name = k.str();
        if (std::find(known_.begin(), known_.end(), name) != known_.end()) continue;
        std::string msg = "unknown key";
        std::size_t best = 3;  // suggest only close matches: 1-2 edits
        for (const auto& cand : known_) {
            std::size_t d = edit_distance(name, cand);
            if (d < best) {
                best = d;
                msg = fmt::format("unknown key (did you mean \"{}\"?)", cand);
            }
        }
        sink_.error(k.source(), key_path(name), std::move(msg));
    }
}

std::string resolve_path(const std::filesystem::path& base, const std::string& p) {
    std::filesystem::path path(p);
    if (path.is_relative()) path = base / path;
    path = path.lexically_normal();
    // "dir/." normalizes to "dir/": drop the trailing separator so callers can append "/ca".
    if (!path.has_filename() && path.has_relative_path()) path = path.parent_path();
    return path.string();
}

}  // namespace moat::config::internal
