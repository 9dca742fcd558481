#include "mail/tlsrpt_report.h"

#include <zlib.h>

#include <ctime>
#include <nlohmann/json.hpp>

#include "mail/grammar.h"

namespace moat::mail {
namespace {

using json = nlohmann::json;

Error bad(std::string why) { return make_error(Errc::kInvalidArgument, std::move(why)); }

std::string str(const json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// A count: a non-negative integer, or a string of digits (seen in the wild).
bool count(const json& j, const char* key, std::int64_t& out) {
    auto it = j.find(key);
    if (it == j.end()) {
        out = 0;
        return true;
    }
    if (it->is_number_unsigned() || it->is_number_integer()) {
        out = it->get<std::int64_t>();
        return out >= 0;
    }
    if (it->is_string()) {
        const auto& s = it->get_ref<const std::string&>();
        if (s.empty() || s.size() > 18) return false;
        for (char c : s)
            if (!grammar::is_digit(c)) return false;
        out = std::stoll(s);
        return true;
    }
    return false;
}

// Nesting depth of the JSON text, counted without parsing: refuses "[[[[..." before the parser
// and the destructor see it.
std::size_t max_depth(std::string_view s) {
    std::size_t depth = 0, worst = 0;
    bool in_str = false, esc = false;
    for (char c : s) {
        if (in_str) {
            if (esc)
                esc = false;
            else if (c == '\\')
                esc = true;
            else if (c == '"')
                in_str = false;
            continue;
        }
        if (c == '"')
            in_str = true;
        else if (c == '[' || c == '{')
            worst = std::max(worst, ++depth);
        else if ((c == ']' || c == '}') && depth > 0)
            --depth;
    }
    return worst;
}

}  // namespace

Result<std::int64_t> parse_datetime(std::string_view t) {
    const std::string text(t.substr(0, 64));
    // RFC 3339 §5.6 date-time: fixed-width digit fields (sscanf's %d would also take signs and
    // spaces: found by mail_input_fuzz), from 1970 (a report's day names its file: 4 digits).
    auto num = [&](std::size_t at, std::size_t len, int& out) {
        if (t.size() < at + len) return false;
        out = 0;
        for (std::size_t k = at; k < at + len; ++k) {
            if (!grammar::is_digit(t[k])) return false;
            out = out * 10 + (t[k] - '0');
        }
        return true;
    };
    int y, mo, d, h, mi, s;
    if (t.size() < 19 || !num(0, 4, y) || t[4] != '-' || !num(5, 2, mo) || t[7] != '-' ||
        !num(8, 2, d) || (t[10] != 'T' && t[10] != 't' && t[10] != ' ') || !num(11, 2, h) ||
        t[13] != ':' || !num(14, 2, mi) || t[16] != ':' || !num(17, 2, s) || y < 1970 || mo < 1 ||
        mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
        return bad("\"" + text + "\" is not an RFC 3339 date-time");
    std::string_view rest = t.substr(19);
    if (!rest.empty() && rest[0] == '.') {
        rest.remove_prefix(1);
        while (!rest.empty() && grammar::is_digit(rest[0])) rest.remove_prefix(1);
    }
    std::int64_t offset = 0;
    if (rest == "Z" || rest == "z" || rest.empty()) {
        // No zone (Microsoft's reports): read as UTC.
    } else if ((rest[0] == '+' || rest[0] == '-') && rest.size() == 6 && rest[3] == ':') {
        int oh = 0, om = 0;
        std::string_view z = rest.substr(1);
        auto two = [&](std::size_t at, int& out) {
            if (!grammar::is_digit(z[at]) || !grammar::is_digit(z[at + 1])) return false;
            out = (z[at] - '0') * 10 + (z[at + 1] - '0');
            return true;
        };
        if (!two(0, oh) || !two(3, om) || oh > 23 || om > 59)
            return bad("\"" + text + "\" has a bad zone offset");
        offset = (rest[0] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
    } else {
        return bad("\"" + text + "\" has trailing characters");
    }
    std::tm tm{};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    return static_cast<std::int64_t>(::timegm(&tm)) - offset;
}

Result<std::string> gunzip_limited(std::string_view gz, std::size_t max_out) {
    z_stream zs{};
    // 15 + 32: accept gzip and zlib headers.
    if (inflateInit2(&zs, 15 + 32) != Z_OK) return make_error(Errc::kInternal, "inflateInit2");
    std::string out;
    char buf[16384];
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
    zs.avail_in = static_cast<uInt>(gz.size());
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
        zs.next_out = reinterpret_cast<Bytef*>(buf);
        zs.avail_out = sizeof buf;
        rc = inflate(&zs, Z_NO_FLUSH);
        if (rc != Z_OK && rc != Z_STREAM_END) {
            inflateEnd(&zs);
            return bad(rc == Z_BUF_ERROR ? "the gzip body is truncated"
                                         : "the gzip body is corrupt");
        }
        out.append(buf, sizeof buf - zs.avail_out);
        if (out.size() > max_out) {
            inflateEnd(&zs);
            return make_error(Errc::kTooLarge,
                              "the report inflates beyond " + std::to_string(max_out) + " bytes");
        }
        if (rc != Z_STREAM_END && zs.avail_in == 0 && zs.avail_out != 0) {
            inflateEnd(&zs);
            return bad("the gzip body is truncated");
        }
    }
    inflateEnd(&zs);
    return out;
}

Result<std::string> decode_report_body(std::string_view content_type, std::string_view body,
                                       std::size_t max_inflated) {
    std::string ct = grammar::to_lower(content_type.substr(0, content_type.find(';')));
    while (!ct.empty() && ct.back() == ' ') ct.pop_back();
    bool gzip_magic = body.size() >= 2 && static_cast<unsigned char>(body[0]) == 0x1f &&
                      static_cast<unsigned char>(body[1]) == 0x8b;
    if (ct == "application/tlsrpt+gzip" || ct == "application/gzip" ||
        ((ct == "application/tlsrpt+json" || ct == "application/json") && gzip_magic))
        return gunzip_limited(body, max_inflated);
    if (ct == "application/tlsrpt+json" || ct == "application/json") {
        if (body.size() > max_inflated)
            return make_error(Errc::kTooLarge, "the report is larger than allowed");
        return std::string(body);
    }
    return bad("unsupported Content-Type \"" + std::string(content_type) +
               "\" (RFC 8460 §5.3: application/tlsrpt+gzip or application/tlsrpt+json)");
}

Result<TlsRptReport> parse_tlsrpt(std::string_view text) {
    if (max_depth(text) > 32) return bad("the JSON is nested too deeply");
    json j = json::parse(text.begin(), text.end(), nullptr, false);
    if (j.is_discarded()) return bad("the body is not valid JSON");
    if (!j.is_object()) return bad("the report is not a JSON object");
    TlsRptReport r;
    r.organization = str(j, "organization-name");
    r.report_id = str(j, "report-id");
    r.contact = str(j, "contact-info");
    if (r.report_id.empty()) return bad("report-id is missing (RFC 8460 §4.3)");
    if (r.report_id.size() > 256) return bad("report-id is longer than 256 characters");
    if (r.organization.size() > 256) return bad("organization-name is too long");
    auto dr = j.find("date-range");
    if (dr == j.end() || !dr->is_object()) return bad("date-range is missing (RFC 8460 §4.3)");
    auto start = parse_datetime(str(*dr, "start-datetime"));
    if (!start) return bad("date-range.start-datetime: " + start.error().detail);
    auto end = parse_datetime(str(*dr, "end-datetime"));
    if (!end) return bad("date-range.end-datetime: " + end.error().detail);
    r.start = *start;
    r.end = *end;
    auto pols = j.find("policies");
    // RFC 8460 §4.3: "policies" MUST be an array, even with one element.
    if (pols == j.end() || !pols->is_array()) return bad("policies must be an array");
    for (const auto& p : *pols) {
        if (!p.is_object()) return bad("a policies element is not an object");
        TlsRptPolicy pol;
        auto po = p.find("policy");
        if (po == p.end() || !po->is_object()) return bad("a policy object is missing");
        pol.type = str(*po, "policy-type");
        pol.domain = grammar::to_lower(str(*po, "policy-domain"));
        if (pol.domain.empty()) return bad("policy-domain is missing");
        if (!grammar::domain_error(pol.domain).empty() || pol.domain.size() > 253)
            return bad("policy-domain \"" + pol.domain + "\" is not a domain");
        // Erratum 6241: mx-host is an array; the RFC's example (and some senders) use a string;
        // parsedmarc-era code reads mx-host-pattern.
        for (const char* key : {"mx-host", "mx-host-pattern"}) {
            auto mx = po->find(key);
            if (mx == po->end()) continue;
            if (mx->is_string()) pol.mx_host.push_back(mx->get<std::string>());
            if (mx->is_array())
                for (const auto& e : *mx)
                    if (e.is_string()) pol.mx_host.push_back(e.get<std::string>());
        }
        auto sum = p.find("summary");
        if (sum != p.end() && sum->is_object()) {
            if (!count(*sum, "total-successful-session-count", pol.success) ||
                !count(*sum, "total-failure-session-count", pol.failure))
                return bad("summary counts must be non-negative integers");
        }
        auto fd = p.find("failure-details");
        if (fd != p.end() && fd->is_array()) {
            for (const auto& f : *fd) {
                if (!f.is_object()) continue;
                TlsRptFailure x;
                x.result_type = str(f, "result-type");
                x.sending_mta_ip = str(f, "sending-mta-ip");
                x.receiving_mx_hostname = grammar::to_lower(str(f, "receiving-mx-hostname"));
                x.receiving_ip = str(f, "receiving-ip");
                if (!count(f, "failed-session-count", x.count))
                    return bad("failed-session-count must be a non-negative integer");
                pol.failures.push_back(std::move(x));
            }
        }
        r.policies.push_back(std::move(pol));
    }
    if (r.policies.empty()) return bad("policies is empty");
    return r;
}

}  // namespace moat::mail
