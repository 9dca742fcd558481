#include "acme/messages.h"

#include <ctime>
#include <nlohmann/json.hpp>

namespace moat::acme {
namespace {

using json = nlohmann::json;

Result<json> parse_object(std::string_view body, const char* what) {
    json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded())
        return make_error(Errc::kInvalidArgument, std::string(what) + ": not JSON");
    if (!j.is_object())
        return make_error(Errc::kInvalidArgument, std::string(what) + ": not an object");
    return j;
}

// Optional string member: absent -> "", wrong type -> error.
bool opt_string(const json& j, const char* key, std::string& out) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return true;
    if (!it->is_string()) return false;
    out = it->get<std::string>();
    return true;
}

Error bad(const char* what, const char* field) {
    return make_error(Errc::kInvalidArgument,
                      std::string(what) + ": field " + field + " missing or of the wrong type");
}

bool is_url(const std::string& s) { return s.starts_with("https://") || s.starts_with("http://"); }

std::optional<Problem> problem_of(const json& j) {
    auto it = j.find("error");
    if (it == j.end() || !it->is_object()) return std::nullopt;
    Problem p;
    opt_string(*it, "type", p.type);
    opt_string(*it, "detail", p.detail);
    return p;
}

}  // namespace

Result<Directory> parse_directory(std::string_view body) {
    auto j = parse_object(body, "directory");
    if (!j) return j.error();
    Directory d;
    struct Field {
        const char* key;
        std::string* out;
        bool required;
    } fields[] = {{"newNonce", &d.new_nonce, true},    {"newAccount", &d.new_account, true},
                  {"newOrder", &d.new_order, true},    {"revokeCert", &d.revoke_cert, false},
                  {"keyChange", &d.key_change, false}, {"renewalInfo", &d.renewal_info, false}};
    for (const Field& f : fields) {
        if (!opt_string(*j, f.key, *f.out) || (f.required && f.out->empty()))
            return bad("directory", f.key);
        if (!f.out->empty() && !is_url(*f.out))
            return make_error(Errc::kInvalidArgument,
                              std::string("directory: ") + f.key + " is not a URL");
    }
    if (auto m = j->find("meta"); m != j->end() && m->is_object()) {
        opt_string(*m, "termsOfService", d.terms_of_service);
        if (auto e = m->find("externalAccountRequired"); e != m->end() && e->is_boolean())
            d.external_account_required = e->get<bool>();
        if (auto c = m->find("caaIdentities"); c != m->end() && c->is_array())
            for (const auto& v : *c)
                if (v.is_string()) d.caa_identities.push_back(v.get<std::string>());
    }
    return d;
}

bool Problem::is(std::string_view short_type) const {
    constexpr std::string_view kPrefix = "urn:ietf:params:acme:error:";
    return type.size() == kPrefix.size() + short_type.size() && type.starts_with(kPrefix) &&
           type.ends_with(short_type);
}

std::string Problem::to_string() const {
    std::string s = type.empty() ? "error" : type;
    if (status != 0) s += " (HTTP " + std::to_string(status) + ")";
    if (!detail.empty()) s += ": " + detail.substr(0, 300);
    return s;
}

Problem parse_problem(std::string_view body, int http_status) {
    Problem p;
    p.status = http_status;
    json j = json::parse(body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
        p.detail = "unparseable error document";
        return p;
    }
    opt_string(j, "type", p.type);
    opt_string(j, "detail", p.detail);
    return p;
}

Result<Order> parse_order(std::string_view body) {
    auto j = parse_object(body, "order");
    if (!j) return j.error();
    Order o;
    if (!opt_string(*j, "status", o.status) || o.status.empty()) return bad("order", "status");
    if (!opt_string(*j, "finalize", o.finalize) || !is_url(o.finalize))
        return bad("order", "finalize");
    if (!opt_string(*j, "certificate", o.certificate)) return bad("order", "certificate");
    auto az = j->find("authorizations");
    if (az == j->end() || !az->is_array()) return bad("order", "authorizations");
    for (const auto& a : *az) {
        if (!a.is_string() || !is_url(a.get<std::string>())) return bad("order", "authorizations");
        o.authorizations.push_back(a.get<std::string>());
    }
    if (auto ids = j->find("identifiers"); ids != j->end() && ids->is_array()) {
        for (const auto& id : *ids) {
            if (!id.is_object()) return bad("order", "identifiers");
            std::string v;
            if (!opt_string(id, "value", v)) return bad("order", "identifiers");
            o.identifiers.push_back(v);
        }
    }
    o.error = problem_of(*j);
    return o;
}

const Challenge* Authorization::find(std::string_view type) const {
    for (const auto& c : challenges)
        if (c.type == type) return &c;
    return nullptr;
}

std::optional<Problem> Authorization::first_error() const {
    for (const auto& c : challenges)
        if (c.error) return c.error;
    return std::nullopt;
}

Result<Authorization> parse_authorization(std::string_view body) {
    auto j = parse_object(body, "authorization");
    if (!j) return j.error();
    Authorization a;
    if (!opt_string(*j, "status", a.status) || a.status.empty())
        return bad("authorization", "status");
    auto id = j->find("identifier");
    if (id == j->end() || !id->is_object() || !opt_string(*id, "value", a.identifier) ||
        a.identifier.empty())
        return bad("authorization", "identifier");
    if (auto w = j->find("wildcard"); w != j->end() && w->is_boolean()) a.wildcard = w->get<bool>();
    auto cs = j->find("challenges");
    if (cs == j->end() || !cs->is_array()) return bad("authorization", "challenges");
    for (const auto& c : *cs) {
        if (!c.is_object()) return bad("authorization", "challenges");
        Challenge ch;
        if (!opt_string(c, "type", ch.type) || !opt_string(c, "url", ch.url) ||
            !opt_string(c, "token", ch.token) || !opt_string(c, "status", ch.status))
            return bad("authorization", "challenges");
        if (ch.type.empty() || !is_url(ch.url)) return bad("authorization", "challenges");
        ch.error = problem_of(c);
        a.challenges.push_back(std::move(ch));
    }
    return a;
}

Result<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view s) {
    int Y, M, D, h, m, sec, n = 0;
    std::string str(s);
    if (std::sscanf(str.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &Y, &M, &D, &h, &m, &sec, &n) != 6 ||
        n != 19)
        return make_error(Errc::kInvalidArgument, "not an RFC 3339 time");
    if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
        return make_error(Errc::kInvalidArgument, "not an RFC 3339 time");
    std::size_t i = 19;
    if (i < str.size() && str[i] == '.') {
        ++i;
        while (i < str.size() && std::isdigit(static_cast<unsigned char>(str[i]))) ++i;
    }
    long offset = 0;
    if (i < str.size() && (str[i] == 'Z' || str[i] == 'z')) {
        ++i;
    } else if (i + 6 == str.size() && (str[i] == '+' || str[i] == '-') && str[i + 3] == ':') {
        int oh = 0, om = 0;
        if (std::sscanf(str.c_str() + i + 1, "%2d:%2d", &oh, &om) != 2)
            return make_error(Errc::kInvalidArgument, "not an RFC 3339 time");
        offset = (str[i] == '+' ? 1 : -1) * (oh * 3600L + om * 60L);
        i += 6;
    } else {
        return make_error(Errc::kInvalidArgument, "RFC 3339 time without a zone");
    }
    if (i != str.size()) return make_error(Errc::kInvalidArgument, "not an RFC 3339 time");
    std::tm tm{};
    tm.tm_year = Y - 1900;
    tm.tm_mon = M - 1;
    tm.tm_mday = D;
    tm.tm_hour = h;
    tm.tm_min = m;
    tm.tm_sec = sec;
    time_t t = timegm(&tm);
    return std::chrono::system_clock::from_time_t(t - offset);
}

Result<RenewalWindow> parse_renewal_info(std::string_view body) {
    auto j = parse_object(body, "renewalInfo");
    if (!j) return j.error();
    auto w = j->find("suggestedWindow");
    if (w == j->end() || !w->is_object()) return bad("renewalInfo", "suggestedWindow");
    std::string s, e;
    if (!opt_string(*w, "start", s) || !opt_string(*w, "end", e))
        return bad("renewalInfo", "suggestedWindow");
    auto start = parse_rfc3339(s);
    auto end = parse_rfc3339(e);
    if (!start || !end) return bad("renewalInfo", "suggestedWindow");
    // RFC 9773 §4.2: a window whose end is not after its start is invalid.
    if (*end <= *start)
        return make_error(Errc::kInvalidArgument, "renewalInfo: window ends before it starts");
    RenewalWindow rw{*start, *end, {}};
    opt_string(*j, "explanationURL", rw.explanation_url);
    return rw;
}

std::optional<std::chrono::seconds> parse_retry_after(std::string_view v,
                                                      std::chrono::system_clock::time_point now) {
    while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
    while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
    if (v.empty()) return std::nullopt;
    bool digits = true;
    for (char c : v) digits = digits && c >= '0' && c <= '9';
    if (digits) {
        if (v.size() > 9) return std::chrono::seconds(999'999'999);
        return std::chrono::seconds(std::stol(std::string(v)));
    }
    std::tm tm{};
    std::string s(v);
    const char* end = strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (end == nullptr || *end != '\0') return std::nullopt;
    auto at = std::chrono::system_clock::from_time_t(timegm(&tm));
    auto d = std::chrono::duration_cast<std::chrono::seconds>(at - now);
    return d.count() < 0 ? std::chrono::seconds(0) : d;
}

bool valid_token(std::string_view token) {
    if (token.size() < 22 || token.size() > 256) return false;
    for (char c : token) {
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_';
        if (!ok) return false;
    }
    return true;
}

}  // namespace moat::acme
