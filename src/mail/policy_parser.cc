#include "mail/policy_parser.h"

#include <fmt/format.h>

#include <map>
#include <set>

#include "mail/grammar.h"

namespace moat::mail {
namespace {

constexpr const char* k8461_31 = "RFC 8461 §3.1";
constexpr const char* k8461_32 = "RFC 8461 §3.2";
constexpr const char* k8460_3 = "RFC 8460 §3";

void add(CheckResults& r, const char* id, Status s, std::string msg, const char* rfc) {
    r.push_back({id, s, std::move(msg), rfc});
}

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

std::string_view trim_wsp(std::string_view s) {
    while (!s.empty() && is_wsp(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_wsp(s.back())) s.remove_suffix(1);
    return s;
}

// sts-ext-name / sts-policy-ext-name = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
bool valid_ext_name(std::string_view n) {
    if (n.empty() || n.size() > 32 || !grammar::is_alnum(n[0])) return false;
    for (char c : n)
        if (!grammar::is_alnum(c) && c != '_' && c != '-' && c != '.') return false;
    return true;
}

// sts-ext-value = 1*(%x21-3A / %x3C / %x3E-7E): visible ASCII without '=' and ';'.
bool valid_txt_ext_value(std::string_view v) {
    if (v.empty()) return false;
    for (char c : v) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x21 || u > 0x7e || c == '=' || c == ';') return false;
    }
    return true;
}

bool is_ascii(std::string_view s) {
    for (char c : s)
        if (static_cast<unsigned char>(c) >= 0x80) return false;
    return true;
}

// Shared shape of both TXT records: "<version>" then fields split by *WSP ";" *WSP.
// Returns the fields (name, value) or false with FAIL results added under `id`.
bool split_txt(std::string_view txt, std::string_view version, const char* id, const char* rfc,
               CheckResults& out, std::vector<std::pair<std::string, std::string>>& fields) {
    if (!is_ascii(txt)) {
        add(out, id, Status::kFail, "the record is not US-ASCII", rfc);
        return false;
    }
    if (txt.substr(0, version.size()) != version) {
        add(out, id, Status::kFail,
            fmt::format("\"{}\" does not begin with \"{}\" (case-sensitive)", txt, version), rfc);
        return false;
    }
    std::string_view rest = txt.substr(version.size());
    if (!rest.empty() && !is_wsp(rest[0]) && rest[0] != ';') {
        add(out, id, Status::kFail, fmt::format("\"{}\": the version is not followed by ';'", txt),
            rfc);
        return false;
    }
    if (!rest.empty() && is_wsp(rest[0])) {
        add(out, id, Status::kWarn,
            fmt::format("whitespace before the first ';' (\"{} ;\"): valid by the ABNF, but some "
                        "senders (mox) discard such records (erratum 6285)",
                        version),
            rfc);
    }
    rest = trim_wsp(rest);
    if (rest.empty() || rest[0] != ';') {
        add(out, id, Status::kFail, fmt::format("\"{}\" has no fields after the version", txt),
            rfc);
        return false;
    }
    rest.remove_prefix(1);
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    for (;;) {
        auto semi = rest.find(';', start);
        parts.push_back(trim_wsp(rest.substr(
            start, semi == std::string_view::npos ? std::string_view::npos : semi - start)));
        if (semi == std::string_view::npos) break;
        start = semi + 1;
    }
    if (parts.size() > 1 && parts.back().empty()) parts.pop_back();  // one trailing ";" is fine
    bool ok = true;
    for (auto p : parts) {
        auto eq = p.find('=');
        if (p.empty() || eq == std::string_view::npos) {
            add(out, id, Status::kFail,
                fmt::format("\"{}\": empty or malformed field \"{}\" (fields are name=value)", txt,
                            p),
                rfc);
            ok = false;
            continue;
        }
        fields.emplace_back(std::string(p.substr(0, eq)), std::string(p.substr(eq + 1)));
    }
    if (fields.empty() && ok) {
        add(out, id, Status::kFail, fmt::format("\"{}\" has no fields", txt), rfc);
        return false;
    }
    return ok;
}

bool valid_utf8_impl(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        auto c = static_cast<unsigned char>(s[i]);
        int n = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : -1;
        if (n < 0 || i + static_cast<std::size_t>(n) >= s.size()) return false;
        std::uint32_t cp = n == 0 ? c : n == 1 ? (c & 0x1f) : n == 2 ? (c & 0x0f) : (c & 0x07);
        for (int k = 1; k <= n; ++k) {
            auto d = static_cast<unsigned char>(s[i + k]);
            if ((d & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (d & 0x3f);
        }
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += static_cast<std::size_t>(n) + 1;
    }
    return true;
}

}  // namespace

bool valid_utf8(std::string_view s) { return valid_utf8_impl(s); }

ParsedStsRecord parse_sts_record(std::string_view txt) {
    ParsedStsRecord out;
    std::vector<std::pair<std::string, std::string>> fields;
    bool ok = split_txt(txt, "v=STSv1", "S4", k8461_31, out.results, fields);
    bool have_id = false;
    for (const auto& [name, value] : fields) {
        if (name == "id") {
            if (have_id) {
                add(out.results, "S4", Status::kWarn,
                    fmt::format("a second id=\"{}\" is ignored (the first counts)", value),
                    k8461_32);
                continue;
            }
            have_id = true;
            if (!grammar::valid_sts_id(value)) {
                add(out.results, "S4", Status::kFail,
                    fmt::format("id=\"{}\" is not 1-32 letters and digits", value), k8461_31);
                ok = false;
            }
            out.id = value;
        } else if (!valid_ext_name(name) || !valid_txt_ext_value(value)) {
            add(out.results, "S4", Status::kFail,
                fmt::format("field \"{}={}\" breaks the sts-extension grammar", name, value),
                k8461_31);
            ok = false;
        } else {
            add(out.results, "S4", Status::kInfo,
                fmt::format("unknown field \"{}\" (senders ignore it)", name), k8461_31);
        }
    }
    if (!have_id && !fields.empty()) {
        add(out.results, "S4", Status::kFail, "the record has no id field", k8461_31);
        ok = false;
    }
    out.valid = ok && have_id;
    if (out.valid)
        add(out.results, "S4", Status::kPass, fmt::format("valid record, id={}", out.id), k8461_31);
    return out;
}

ParsedTlsRptRecord parse_tlsrpt_record(std::string_view txt) {
    ParsedTlsRptRecord out;
    std::vector<std::pair<std::string, std::string>> fields;
    bool ok = split_txt(txt, "v=TLSRPTv1", "R2", k8460_3, out.results, fields);
    bool have_rua = false;
    for (const auto& [name, value] : fields) {
        if (name != "rua") {
            if (!valid_ext_name(name) || !valid_txt_ext_value(value)) {
                add(out.results, "R2", Status::kFail,
                    fmt::format("field \"{}={}\" breaks the tlsrpt-extension grammar", name, value),
                    k8460_3);
                ok = false;
            } else {
                add(out.results, "R2", Status::kInfo,
                    fmt::format("unknown field \"{}\" (ignored)", name), k8460_3);
            }
            continue;
        }
        if (have_rua) continue;
        have_rua = true;
        std::size_t start = 0;
        std::string_view v = value;
        for (;;) {
            auto comma = v.find(',', start);
            std::string_view uri =
                trim_wsp(v.substr(start, comma == std::string_view::npos ? comma : comma - start));
            if (auto why = grammar::rua_error(uri); !why.empty()) {
                add(out.results, "R2", Status::kFail, fmt::format("rua \"{}\" {}", uri, why),
                    k8460_3);
                ok = false;
            } else {
                out.rua.emplace_back(uri);
            }
            if (comma == std::string_view::npos) break;
            start = comma + 1;
        }
    }
    if (!have_rua && !fields.empty()) {
        add(out.results, "R2", Status::kFail, "the record has no rua field", k8460_3);
        ok = false;
    }
    out.valid = ok && have_rua && !out.rua.empty();
    if (out.valid)
        add(out.results, "R2", Status::kPass,
            fmt::format("valid record, rua={}", fmt::join(out.rua, ", ")), k8460_3);
    return out;
}

ParsedPolicy parse_policy(std::string_view body) {
    ParsedPolicy out;
    CheckResults& r = out.results;
    // P1: bytes.
    bool p1 = true;
    if (body.substr(0, 3) == "\xEF\xBB\xBF") {
        add(r, "P1", Status::kFail,
            "the policy starts with a UTF-8 byte-order mark: senders read the first key as "
            "\"\\ufeffversion\"",
            k8461_32);
        body.remove_prefix(3);
        p1 = false;
    }
    if (!valid_utf8(body)) {
        add(r, "P1", Status::kFail, "the policy is not valid UTF-8", k8461_32);
        p1 = false;
    }
    for (char c : body) {
        auto u = static_cast<unsigned char>(c);
        if ((u < 0x20 && c != '\t' && c != '\r' && c != '\n') || u == 0x7f) {
            add(r, "P1", Status::kFail,
                fmt::format("the policy holds the control character 0x{:02x}", u), k8461_32);
            p1 = false;
            break;
        }
    }
    if (p1) add(r, "P1", Status::kPass, "no BOM, valid UTF-8, no control characters", k8461_32);

    // P2: terminators. Split on LF, CRLF, and (invalid) bare CR.
    std::vector<std::string_view> lines;
    int lf = 0, crlf = 0, bare_cr = 0;
    std::size_t start = 0;
    for (std::size_t i = 0; i < body.size(); ++i) {
        if (body[i] == '\n') {
            bool cr = i > start && body[i - 1] == '\r';
            (cr ? crlf : lf)++;
            lines.push_back(body.substr(start, i - start - (cr ? 1 : 0)));
            start = i + 1;
        } else if (body[i] == '\r' && (i + 1 >= body.size() || body[i + 1] != '\n')) {
            ++bare_cr;
            lines.push_back(body.substr(start, i - start));
            start = i + 1;
        }
    }
    bool last_terminated = start == body.size();
    if (!last_terminated) lines.push_back(body.substr(start));
    int blank_inside = 0, blank_end = 0;
    {
        std::size_t last = lines.size();
        while (last > 0 && lines[last - 1].empty()) --last;
        blank_end = static_cast<int>(lines.size() - last);
        for (std::size_t i = 0; i < last; ++i) blank_inside += lines[i].empty() ? 1 : 0;
    }
    if (bare_cr) {
        add(r, "P2", Status::kFail,
            fmt::format("{} line(s) end with a bare CR: only LF or CRLF end a line", bare_cr),
            k8461_32);
    } else if (lf && crlf) {
        add(r, "P2", Status::kWarn,
            fmt::format("mixed line ends ({} LF, {} CRLF): valid, but pick one", lf, crlf),
            k8461_32);
    }
    if (blank_inside || blank_end) {
        add(r, "P2", Status::kWarn,
            "blank line(s) in or after the policy: not in the ABNF (only one terminator after "
            "the last field); strict senders (mox) reject the policy",
            "RFC 8461 §3.2, erratum 6253");
    }
    if (!bare_cr && !(lf && crlf) && !blank_inside && !blank_end)
        add(r, "P2", Status::kPass, crlf ? "CRLF line ends" : "LF line ends", k8461_32);

    // P3: each line "key:" *WSP value *WSP; then P4..P8 from the fields.
    std::map<std::string, std::string> first;  // first value of each non-mx key
    std::set<std::string> dup_reported, mx_seen;
    bool p3 = true;
    int n = 0;
    for (auto line : lines) {
        ++n;
        if (line.empty()) continue;
        auto colon = line.find(':');
        std::string_view key = line.substr(0, colon);
        if (colon == std::string_view::npos || !valid_ext_name(key)) {
            std::string why = is_wsp(line[0]) ? "starts with whitespace"
                              : colon == std::string_view::npos
                                  ? "has no ':'"
                                  : "has an invalid key (no space before ':', keys are "
                                    "letters, digits, '_', '-', '.')";
            add(r, "P3", Status::kFail,
                fmt::format("line {} \"{}\" {}", n, std::string(line.substr(0, 60)), why),
                k8461_32);
            p3 = false;
            continue;
        }
        std::string value(trim_wsp(line.substr(colon + 1)));
        std::string k(key);
        if (k == "mx") {
            if (!mx_seen.insert(grammar::to_lower(value)).second) {
                add(r, "P8", Status::kInfo, fmt::format("mx \"{}\" is listed twice", value),
                    k8461_32);
                continue;
            }
            out.mx.push_back(value);
            continue;
        }
        if (first.count(k)) {
            if (dup_reported.insert(k).second)
                add(r, "P8", Status::kWarn,
                    fmt::format("\"{}\" appears more than once: the RFC uses the first, "
                                "postfix-mta-sts-resolver the last",
                                k),
                    k8461_32);
            continue;
        }
        first[k] = value;
        if (k != "version" && k != "mode" && k != "max_age")
            add(r, "P8", Status::kInfo, fmt::format("unknown key \"{}\" (ignored)", k), k8461_32);
    }
    if (p3) add(r, "P3", Status::kPass, "every line is \"key: value\"", k8461_32);

    if (auto it = first.find("version"); it == first.end()) {
        add(r, "P4", Status::kFail, "no \"version\" line", k8461_32);
    } else if (it->second != "STSv1") {
        add(r, "P4", Status::kFail,
            fmt::format("version \"{}\" is not \"STSv1\" (case-sensitive)", it->second), k8461_32);
    } else {
        out.version = it->second;
        add(r, "P4", Status::kPass, "version: STSv1", k8461_32);
    }

    if (auto it = first.find("mode"); it == first.end()) {
        add(r, "P5", Status::kFail, "no \"mode\" line", k8461_32);
    } else if (it->second == "enforce") {
        out.mode = it->second;
        add(r, "P5", Status::kPass, "mode: enforce", "RFC 8461 §5");
    } else if (it->second == "testing") {
        out.mode = it->second;
        add(r, "P5", Status::kWarn,
            "mode: testing: senders report failures but deliver anyway (no protection yet)",
            "RFC 8461 §5");
    } else if (it->second == "none") {
        out.mode = it->second;
        add(r, "P5", Status::kWarn, "mode: none: the policy is withdrawn", "RFC 8461 §5");
    } else {
        add(r, "P5", Status::kFail,
            fmt::format("mode \"{}\" is not enforce, testing or none (case-sensitive)", it->second),
            k8461_32);
    }

    if (auto it = first.find("max_age"); it == first.end()) {
        add(r, "P6", Status::kFail, "no \"max_age\" line", k8461_32);
    } else {
        const std::string& v = it->second;
        bool digits = !v.empty() && v.size() <= 10;
        for (char c : v) digits = digits && grammar::is_digit(c);
        std::int64_t age = digits ? std::stoll(v) : -1;
        if (!digits || age > grammar::kMaxMaxAge) {
            add(r, "P6", Status::kFail,
                fmt::format("max_age \"{}\" is not 1-10 digits of at most 31557600", v), k8461_32);
        } else {
            out.max_age = age;
            if (age == 0) {
                add(r, "P6", Status::kWarn, "max_age 0: senders forget the policy at once",
                    k8461_32);
            } else if (age < 86400) {
                add(r, "P6", Status::kWarn,
                    fmt::format("max_age {} is under a day (RFC 8461 expects weeks)", age),
                    "RFC 8461 §3.2, §10.2");
            } else if (age < 604800 && out.mode && *out.mode == "enforce") {
                add(r, "P6", Status::kWarn,
                    fmt::format("max_age {} is under a week for an enforced policy", age),
                    "RFC 8461 §3.2, §10.2");
            } else {
                add(r, "P6", Status::kPass, fmt::format("max_age {}", age), k8461_32);
            }
        }
    }

    bool mx_ok = true;
    for (const auto& m : out.mx) {
        std::string p = grammar::to_lower(m);
        if (!p.empty() && p.back() == '.') {
            add(r, "P7", Status::kWarn,
                fmt::format("mx \"{}\" has a trailing dot (not in the grammar; some senders "
                            "strip it)",
                            m),
                k8461_32);
            p.pop_back();
        }
        std::string why = grammar::mx_pattern_error(p);
        if (why.find("IP address") != std::string::npos) {
            add(r, "P7", Status::kWarn,
                fmt::format("mx \"{}\" looks like an IP address; MX hosts are names", m), k8461_32);
        } else if (!why.empty()) {
            add(r, "P7", Status::kFail, fmt::format("mx \"{}\" {}", m, why), k8461_32);
            mx_ok = false;
        }
    }
    bool mode_none = out.mode && *out.mode == "none";
    if (out.mx.empty() && !mode_none) {
        add(r, "P7", Status::kFail, "no mx line (required unless mode is none)", k8461_32);
        mx_ok = false;
    } else if (mx_ok && !out.mx.empty()) {
        add(r, "P7", Status::kPass, fmt::format("mx: {}", fmt::join(out.mx, ", ")), k8461_32);
    }

    out.valid = true;
    for (const auto& x : r) out.valid = out.valid && x.status != Status::kFail;
    return out;
}

}  // namespace moat::mail
