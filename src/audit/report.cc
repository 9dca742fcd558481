#include "audit/report.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace moat::audit {
namespace {

using nlohmann::json;

json suite_json(const SuiteInfo& s) {
    json j = {{"name", s.name},       {"bits", s.bits},       {"kx", s.kx},
              {"aead", s.aead},       {"cbc", s.cbc},         {"forward_secret", s.forward_secret},
              {"rc4", s.rc4},         {"block64", s.block64}, {"export", s.exportable},
              {"null", s.null_cipher}};
    if (!s.kx_group.empty()) j["kx_group"] = s.kx_group, j["kx_bits"] = s.kx_bits;
    return j;
}

json tls_json(const AuditReport& r) {
    if (!r.tls) return json{{"error", r.tls_error}};
    const TlsProbeResult& t = *r.tls;
    json protocols = json::array();
    for (const auto& p : t.protocols) {
        json pj = {{"protocol", p.protocol}, {"offered", p.offered}};
        if (!p.offered) pj["refusal"] = p.refusal;
        json suites = json::array();
        for (const auto& s : p.suites) suites.push_back(suite_json(s));
        pj["suites"] = suites;
        if (p.server_order) pj["server_order"] = *p.server_order;
        protocols.push_back(pj);
    }
    const CertFacts& c = t.facts.cert;
    json cert = {{"present", c.present},
                 {"subject", c.subject},
                 {"issuer", c.issuer},
                 {"names", c.names},
                 {"key_type", c.key_type},
                 {"key_bits", c.key_bits},
                 {"signature", c.signature},
                 {"days_left", c.days_left},
                 {"expired", c.expired},
                 {"not_yet_valid", c.not_yet_valid},
                 {"self_signed", c.self_signed},
                 {"trusted", c.trusted},
                 {"trust_error", c.trust_error},
                 {"name_match", c.name_match},
                 {"chain_complete", c.chain_complete},
                 {"chain", t.chain}};
    bool fs = false, aead = false;
    for (const auto& s : t.facts.suites) fs = fs || s.forward_secret, aead = aead || s.aead;
    json caps = json::array();
    for (const auto& cap : r.tls_grade.caps)
        caps.push_back({{"id", cap.id}, {"grade", cap.grade}, {"reason", cap.reason}});
    json j = {{"protocols", protocols},
              {"offered", t.facts.protocols},
              {"groups", t.groups},
              {"forward_secrecy", fs},
              {"aead", aead},
              {"certificate", cert},
              {"alpn", t.alpn},
              {"notes", t.notes},
              {"grade",
               {{"grade", r.tls_grade.grade},
                {"grade_if_trusted", r.tls_grade.grade_if_trusted},
                {"score", r.tls_grade.score},
                {"score_grade", r.tls_grade.score_grade},
                {"protocol_score", r.tls_grade.protocol_score},
                {"key_exchange_score", r.tls_grade.key_exchange_score},
                {"cipher_score", r.tls_grade.cipher_score},
                {"caps", caps},
                {"warnings", r.tls_grade.warnings},
                {"plus_missing", r.tls_grade.plus_missing}}}};
    j["secure_renegotiation"] =
        t.facts.secure_renegotiation ? json(*t.facts.secure_renegotiation) : json();
    j["resumption"] = t.resumption ? json(*t.resumption) : json();
    j["resumption_kind"] = t.resumption_kind;
    j["compression"] = t.facts.tls_compression;
    return j;
}

json headers_json(const AuditReport& r) {
    if (!r.headers) return json{{"error", r.http_error.empty() ? r.tls_error : r.http_error}};
    const HeaderCard& h = *r.headers;
    json tests = json::array();
    for (const auto& t : h.obs_tests)
        tests.push_back({{"test", t.test}, {"points", t.points}, {"result", t.result}});
    json hsts = nullptr;
    if (h.hsts)
        hsts = {{"valid", h.hsts->valid},
                {"max_age", h.hsts->max_age},
                {"include_subdomains", h.hsts->include_subdomains},
                {"preload", h.hsts->preload},
                {"error", h.hsts->error}};
    json csp = nullptr;
    if (h.csp) {
        csp = {{"directives", h.csp->directives},
               {"warnings", h.csp_findings.warnings()},
               {"unsafe_inline", h.csp_findings.unsafe_inline_script},
               {"unsafe_eval", h.csp_findings.unsafe_eval},
               {"frame_ancestors", h.csp_findings.frame_ancestors},
               {"valid", h.csp_findings.valid}};
    }
    json cookies = json::array();
    for (const auto& c : h.cookies)
        cookies.push_back({{"name", c.name},
                           {"secure", c.secure},
                           {"http_only", c.http_only},
                           {"same_site", c.same_site},
                           {"problems", c.problems}});
    json raw = json::array();
    for (const auto& [n, v] : r.http->headers) raw.push_back({n, v});
    return {{"status", r.http->status},
            {"headers", raw},
            {"securityheaders",
             {{"grade", h.sh_grade},
              {"present", h.sh_present},
              {"missing", h.sh_missing},
              {"warnings", h.sh_warnings}}},
            {"observatory", {{"score", h.obs_score}, {"grade", h.obs_grade}, {"tests", tests}}},
            {"grade", h.grade()},
            {"hsts", hsts},
            {"hsts_preload_problems", h.preload_problems},
            {"csp", csp},
            {"cookies", cookies},
            {"deprecated", h.deprecated},
            {"leaks", h.leaks},
            {"notes", h.notes}};
}

std::string yes(bool b) { return b ? "yes" : "no"; }

}  // namespace

std::string report_json(const AuditReport& r) {
    json j = {{"target",
               {{"host", r.target.host},
                {"port", r.target.port},
                {"path", r.target.path},
                {"address", r.address}}},
              {"grade", r.overall_grade()},
              {"tls", tls_json(r)},
              {"http", headers_json(r)},
              {"transport",
               {{"http2", r.tls && r.tls->alpn == "h2"},
                {"alpn", r.tls ? r.tls->alpn : ""},
                {"ipv6",
                 {{"addresses", r.ipv6.addresses},
                  {"reachable", r.ipv6.reachable},
                  {"detail", r.ipv6.detail}}},
                {"content_encoding", r.content_encoding},
                {"http_port",
                 {{"summary", r.http_port.summary},
                  {"home_status", r.http_port.home_status},
                  {"home_location", r.http_port.home_location},
                  {"deep_status", r.http_port.deep_status},
                  {"deep_location", r.http_port.deep_location},
                  {"error", r.http_port.error}}},
                {"mail", r.mail_hint}}}};
    // A hostile server's header bytes need not be UTF-8: replace rather than throw (type_error
    // 316 would otherwise escape).
    return j.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string report_text(const AuditReport& r) {
    std::string o;
    auto line = [&](const std::string& s) { o += s + "\n"; };
    line(fmt::format("moat audit https://{}:{}{}  ({})", r.target.host, r.target.port,
                     r.target.path, r.address.empty() ? "unresolved" : r.address));
    if (!r.tls) {
        line("TLS: FAILED: " + r.tls_error);
        line("Overall grade: F");
        return o;
    }
    const TlsProbeResult& t = *r.tls;
    const TlsGrade& g = r.tls_grade;
    line("");
    line(fmt::format(
        "== TLS  grade {}{}  (score {}: protocol {}, key exchange {}, cipher {})", g.grade,
        g.grade == g.grade_if_trusted ? "" : " (" + g.grade_if_trusted + " if trusted)", g.score,
        g.protocol_score, g.key_exchange_score, g.cipher_score));
    for (const auto& p : t.protocols) {
        if (!p.offered) {
            line(fmt::format("  {:8} not offered ({})", p.protocol, p.refusal));
            continue;
        }
        std::string order = !p.server_order   ? ""
                            : *p.server_order ? ", server order"
                                              : ", client order";
        line(fmt::format("  {:8} offered, {} suite(s){}", p.protocol, p.suites.size(), order));
        for (const auto& s : p.suites)
            line(fmt::format("    {:34} {:3} bits {:6}{}{}{}", s.name, s.bits, s.kx,
                             s.aead  ? " AEAD"
                             : s.cbc ? " CBC"
                                     : "",
                             s.forward_secret ? " FS" : "",
                             s.kx_group.empty() ? "" : " (" + s.kx_group + ")"));
    }
    std::string groups;
    for (const auto& x : t.groups) groups += (groups.empty() ? "" : ", ") + x;
    line("  groups: " + (groups.empty() ? "none found" : groups));
    bool fs = false, aead = false;
    for (const auto& s : t.facts.suites) fs = fs || s.forward_secret, aead = aead || s.aead;
    line(fmt::format(
        "  forward secrecy: {}   AEAD: {}   secure renegotiation: {}", yes(fs), yes(aead),
        t.facts.secure_renegotiation ? yes(*t.facts.secure_renegotiation) : "n/a (TLS 1.3 only)"));
    line(fmt::format("  session resumption: {}",
                     t.resumption ? (*t.resumption ? "yes (" + t.resumption_kind + ")" : "no")
                                  : "not determined"));
    const CertFacts& c = t.facts.cert;
    if (c.present) {
        std::string names;
        for (const auto& n : c.names) names += (names.empty() ? "" : ", ") + n;
        line(fmt::format("  certificate: {} {} bits, {}, {} day(s) left{}", c.key_type, c.key_bits,
                         c.signature, c.days_left, c.expired ? " (EXPIRED)" : ""));
        line("    subject " + c.subject + "; names: " + names);
        line(fmt::format("    trusted: {}{}  name match: {}  chain complete: {}  sent: {} cert(s)",
                         yes(c.trusted), c.trusted ? "" : " (" + c.trust_error + ")",
                         yes(c.name_match), yes(c.chain_complete), c.chain_length));
    }
    for (const auto& cap : g.caps)
        line(fmt::format("  cap {}: {} [{}]", cap.grade, cap.reason, cap.id));
    for (const auto& w : g.warnings) line("  warning (A-): " + w);
    for (const auto& w : g.plus_missing)
        if (g.grade_if_trusted == "A") line("  not A+: " + w);
    for (const auto& n : t.notes) line("  note: " + n);

    line("");
    if (!r.headers) {
        line("== HTTP headers: FAILED: " + r.http_error);
    } else {
        const HeaderCard& h = *r.headers;
        line(fmt::format("== HTTP headers  grade {}  (securityheaders {}, observatory {} / {})",
                         h.grade(), h.sh_grade, h.obs_score, h.obs_grade));
        line("  " + r.http->status_line);
        if (h.hsts)
            line(fmt::format("  HSTS: max-age={}{}{}{}", h.hsts->max_age,
                             h.hsts->include_subdomains ? "; includeSubDomains" : "",
                             h.hsts->preload ? "; preload" : "",
                             h.hsts->valid ? "" : " INVALID: " + h.hsts->error));
        else
            line("  HSTS: none");
        if (h.preload_problems.empty()) line("  HSTS preload: ready");
        for (const auto& p : h.preload_problems) line("  HSTS preload: " + p);
        if (h.csp) {
            line("  CSP:");
            for (const auto& [name, src] : h.csp->directives) {
                std::string s;
                for (const auto& x : src) s += " " + x;
                line("    " + name + s);
            }
            for (const auto& w : h.csp_findings.warnings()) line("    ! " + w);
        } else {
            line("  CSP: none");
        }
        for (const auto& p : h.sh_present) line("  present: " + p);
        for (const auto& m : h.sh_missing) line("  MISSING: " + m);
        for (const auto& w : h.sh_warnings) line("  warning: " + w);
        for (const auto& ck : h.cookies) {
            line(fmt::format("  cookie {}: Secure {} HttpOnly {} SameSite {}", ck.name,
                             yes(ck.secure), yes(ck.http_only),
                             ck.same_site.empty() ? "-" : ck.same_site));
            for (const auto& p : ck.problems) line("    ! " + p);
        }
        for (const auto& d : h.deprecated) line("  deprecated header: " + d);
        for (const auto& l : h.leaks) line("  leaks: " + l);
        for (const auto& n : h.notes) line("  note: " + n);
        line("  observatory points:");
        for (const auto& t2 : h.obs_tests)
            line(fmt::format("    {:+4}  {:30} {}", t2.points, t2.test, t2.result));
    }

    line("");
    line("== Transport");
    line("  HTTP/2 (ALPN): " +
         (t.alpn == "h2" ? std::string("yes")
                         : "no (" + (t.alpn.empty() ? std::string("none") : t.alpn) + ")"));
    line("  IPv6: " + std::string(r.ipv6.reachable ? "reachable" : "not reachable") + " - " +
         r.ipv6.detail);
    line("  HTTP compression: " +
         (r.content_encoding.empty() ? std::string("none for GET /") : r.content_encoding));
    line("  port 80: " + r.http_port.summary +
         (r.http_port.home_status
              ? fmt::format(" (/ -> {} {}, deep path -> {} {})", r.http_port.home_status,
                            r.http_port.home_location, r.http_port.deep_status,
                            r.http_port.deep_location)
              : (r.http_port.error.empty() ? "" : " (" + r.http_port.error + ")")));
    if (!r.mail_hint.empty()) line("  " + r.mail_hint);
    line("");
    line("Overall grade: " + r.overall_grade());
    return o;
}

}  // namespace moat::audit
