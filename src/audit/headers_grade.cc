#include "audit/headers_grade.h"

#include <algorithm>
#include <array>

#include "audit/grade.h"
#include "core/text.h"

namespace moat::audit {
namespace {

// All values of a header (lower-case name), in order.
std::vector<std::string> values(const site::HeaderList& h, std::string_view name) {
    std::vector<std::string> out;
    for (const auto& [n, v] : h)
        if (core::ascii_lower(n) == name) out.push_back(v);
    return out;
}

std::optional<std::string> first(const site::HeaderList& h, std::string_view name) {
    auto v = values(h, name);
    if (v.empty()) return std::nullopt;
    return v.front();
}

// W3C Referrer Policy §8.1: a comma list, the last known token wins.
std::string referrer_policy(const std::string& v) {
    static constexpr std::array<std::string_view, 8> kKnown{"no-referrer",
                                                            "no-referrer-when-downgrade",
                                                            "same-origin",
                                                            "origin",
                                                            "strict-origin",
                                                            "origin-when-cross-origin",
                                                            "strict-origin-when-cross-origin",
                                                            "unsafe-url"};
    std::string out;
    std::size_t start = 0;
    while (start <= v.size()) {
        std::size_t c = v.find(',', start);
        if (c == std::string::npos) c = v.size();
        std::string tok =
            core::ascii_lower(core::trim_ows(std::string_view(v).substr(start, c - start)));
        if (std::find(kKnown.begin(), kKnown.end(), tok) != kKnown.end()) out = tok;
        start = c + 1;
    }
    return out;
}

// Permissions-Policy feature names browsers know (W3C Permissions Policy registry, Chromium
// and Firefox feature lists, 2026). Names outside it are ignored with a console warning.
constexpr std::array<std::string_view, 48> kFeatures{"accelerometer",
                                                     "ambient-light-sensor",
                                                     "attribution-reporting",
                                                     "autoplay",
                                                     "battery",
                                                     "bluetooth",
                                                     "browsing-topics",
                                                     "camera",
                                                     "captured-surface-control",
                                                     "clipboard-read",
                                                     "clipboard-write",
                                                     "compute-pressure",
                                                     "cross-origin-isolated",
                                                     "deferred-fetch",
                                                     "display-capture",
                                                     "document-domain",
                                                     "encrypted-media",
                                                     "execution-while-not-rendered",
                                                     "execution-while-out-of-viewport",
                                                     "fullscreen",
                                                     "gamepad",
                                                     "geolocation",
                                                     "gyroscope",
                                                     "hid",
                                                     "identity-credentials-get",
                                                     "idle-detection",
                                                     "interest-cohort",
                                                     "keyboard-map",
                                                     "local-fonts",
                                                     "magnetometer",
                                                     "microphone",
                                                     "midi",
                                                     "otp-credentials",
                                                     "payment",
                                                     "picture-in-picture",
                                                     "publickey-credentials-create",
                                                     "publickey-credentials-get",
                                                     "screen-wake-lock",
                                                     "serial",
                                                     "speaker-selection",
                                                     "storage-access",
                                                     "sync-xhr",
                                                     "unload",
                                                     "usb",
                                                     "web-share",
                                                     "window-management",
                                                     "xr-spatial-tracking",
                                                     "private-state-token-issuance"};

std::vector<std::string> unknown_features(const std::string& v) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start < v.size()) {
        std::size_t c = v.find(',', start);
        if (c == std::string::npos) c = v.size();
        std::string_view item = core::trim_ows(std::string_view(v).substr(start, c - start));
        start = c + 1;
        std::string name = core::ascii_lower(core::trim_ows(item.substr(0, item.find('='))));
        if (name.empty()) continue;
        if (name.rfind("ch-", 0) == 0) continue;  // client hints: an open-ended family
        if (std::find(kFeatures.begin(), kFeatures.end(), name) == kFeatures.end())
            out.push_back(name);
    }
    return out;
}

void add(HeaderCard& c, std::string test, int points, std::string result) {
    c.obs_tests.push_back({std::move(test), points, std::move(result)});
}

// securityheaders.com: the six headers, each present and valid; every one missing costs a
// letter (documented approximation: the scanner is closed source); warnings cap at A.
void securityheaders_card(HeaderCard& c, const site::HeaderList& h, const HeaderContext& ctx,
                          bool xcto_ok, bool xfo_ok, const std::string& referrer) {
    auto mark = [&](const char* name, bool ok) {
        (ok ? c.sh_present : c.sh_missing).emplace_back(name);
    };
    mark("Strict-Transport-Security", ctx.https && c.hsts && c.hsts->valid);
    mark("Content-Security-Policy", c.csp.has_value() && c.csp_findings.valid);
    mark("X-Frame-Options", xfo_ok || (c.csp && c.csp_findings.frame_ancestors));
    mark("X-Content-Type-Options", xcto_ok);
    mark("Referrer-Policy", !referrer.empty());
    mark("Permissions-Policy", first(h, "permissions-policy").has_value());
    if (c.csp && c.csp_findings.unsafe_inline_script)
        c.sh_warnings.emplace_back("CSP allows 'unsafe-inline' scripts");
    if (c.csp && c.csp_findings.unsafe_eval) c.sh_warnings.emplace_back("CSP allows 'unsafe-eval'");
    if (c.hsts && !c.hsts->valid) c.sh_warnings.push_back("HSTS invalid: " + c.hsts->error);
    if (referrer == "unsafe-url" || referrer == "no-referrer-when-downgrade")
        c.sh_warnings.push_back("Referrer-Policy " + referrer + " leaks full URLs");
    for (const auto& ck : c.cookies)
        if (!ck.problems.empty())
            c.sh_warnings.push_back("cookie " + ck.name + ": " + ck.problems[0]);
    static constexpr std::array<const char*, 7> kLetters{"A", "B", "C", "D", "E", "F", "F"};
    std::size_t missing = std::min<std::size_t>(c.sh_missing.size(), 6);
    c.sh_grade = kLetters[missing];
    if (missing == 0 && c.sh_warnings.empty()) c.sh_grade = "A+";
}

void observatory_csp(HeaderCard& c) {
    if (!c.csp) return add(c, "content-security-policy", -25, "no Content-Security-Policy header");
    const CspFindings& f = c.csp_findings;
    if (!f.valid) return add(c, "content-security-policy", -25, "CSP header invalid");
    if (f.unsafe())
        return add(c, "content-security-policy", -20,
                   "CSP implemented unsafely: 'unsafe-inline' or data: in script-src, broad "
                   "sources in script-src/object-src, or no script-src/object-src restriction");
    if (f.unsafe_eval) return add(c, "content-security-policy", -10, "CSP allows 'unsafe-eval'");
    if (f.insecure_passive)
        return add(c, "content-security-policy", -10, "CSP allows http: images or media");
    if (f.unsafe_inline_style)
        return add(c, "content-security-policy", 0, "CSP with 'unsafe-inline' in style-src only");
    if (f.default_none && f.form_action_restricted)
        return add(c, "content-security-policy", 10,
                   "CSP with default-src 'none', no unsafe sources, form-action restricted");
    add(c, "content-security-policy", 5, "CSP without unsafe sources");
}

void observatory_cookies(HeaderCard& c) {
    if (c.cookies.empty()) return add(c, "cookies", 0, "no cookies set");
    bool hsts = c.hsts && c.hsts->valid && c.hsts->max_age > 0;
    int worst = 5;
    std::string why = "all cookies Secure, HttpOnly (sessions) and SameSite";
    auto take = [&](int pts, std::string w) {
        if (pts < worst) worst = pts, why = std::move(w);
    };
    for (const auto& ck : c.cookies) {
        if (!ck.same_site_valid) take(-20, "cookie " + ck.name + " has an invalid SameSite");
        if (!ck.secure && ck.session_like)
            take(-40, "session cookie " + ck.name + " without Secure");
        if (!ck.secure && !ck.session_like)
            take(hsts ? -5 : -20, "cookie " + ck.name + " without Secure" +
                                      std::string(hsts ? " (HSTS protects it)" : ""));
        if (ck.session_like && !ck.http_only)
            take(-30, "session cookie " + ck.name + " without HttpOnly");
        if (ck.same_site.empty()) take(0, "cookie " + ck.name + " without SameSite");
    }
    add(c, "cookies", worst, why);
}

}  // namespace

const char* http_port_name(HttpPort p) {
    switch (p) {
        case HttpPort::kUnknown:
            return "unknown";
        case HttpPort::kNotListening:
            return "refuse (nothing listening)";
        case HttpPort::kRedirectSameHost:
            return "redirect to https on the same host";
        case HttpPort::kRedirectOffHost:
            return "redirect to another host first";
        case HttpPort::kRedirectToHttp:
            return "redirect that stays on http";
        case HttpPort::kNoRedirect:
            return "serves plain HTTP without redirecting";
    }
    return "unknown";
}

std::string observatory_grade(int score) {
    struct Step {
        int min;
        const char* grade;
    };
    static constexpr std::array<Step, 13> kSteps{{{100, "A+"},
                                                  {90, "A"},
                                                  {85, "A-"},
                                                  {80, "B+"},
                                                  {70, "B"},
                                                  {65, "B-"},
                                                  {60, "C+"},
                                                  {50, "C"},
                                                  {45, "C-"},
                                                  {40, "D+"},
                                                  {30, "D"},
                                                  {25, "D-"},
                                                  {0, "F"}}};
    for (const auto& s : kSteps)
        if (score >= s.min) return s.grade;
    return "F";
}

std::string HeaderCard::grade() const { return worse_grade(sh_grade, obs_grade); }

HeaderCard grade_headers(const site::HeaderList& h, const HeaderContext& ctx) {
    HeaderCard c;
    if (auto v = first(h, "strict-transport-security"); v && ctx.https) c.hsts = parse_hsts(*v);
    auto csps = values(h, "content-security-policy");
    if (!csps.empty()) {
        // Several CSP headers are all enforced (CSP3 §8.1); grading the first one is what a
        // page that merely adds a second, stricter policy deserves, and the note says so.
        c.csp = parse_csp(csps.front());
        c.csp_findings = analyze_csp(*c.csp);
        if (csps.size() > 1)
            c.notes.emplace_back("several Content-Security-Policy headers: graded the first");
    }
    for (const auto& v : values(h, "set-cookie")) c.cookies.push_back(parse_cookie(v, ctx.https));

    auto xcto = first(h, "x-content-type-options");
    bool xcto_ok = xcto && core::ascii_lower(core::trim_ows(*xcto)) == "nosniff";
    if (xcto && !xcto_ok)
        c.notes.push_back("X-Content-Type-Options '" + *xcto + "' is not nosniff");
    auto xfo = first(h, "x-frame-options");
    std::string xfo_l = xfo ? core::ascii_lower(core::trim_ows(*xfo)) : "";
    bool xfo_ok = xfo_l == "deny" || xfo_l == "sameorigin";
    if (xfo && !xfo_ok)
        c.notes.push_back("X-Frame-Options '" + *xfo + "' is not DENY or SAMEORIGIN");
    auto rp = first(h, "referrer-policy");
    std::string referrer = rp ? referrer_policy(*rp) : "";
    if (rp && referrer.empty())
        c.notes.push_back("Referrer-Policy '" + *rp + "' has no known value");
    if (auto pp = first(h, "permissions-policy"))
        for (const auto& n : unknown_features(*pp))
            c.notes.push_back("Permissions-Policy: unknown feature '" + n +
                              "' (ignored by browsers)");
    if (auto coop = first(h, "cross-origin-opener-policy")) {
        std::string v = core::ascii_lower(core::trim_ows(*coop));
        if (v != "same-origin" && v != "same-origin-allow-popups" && v != "unsafe-none" &&
            v != "noopener-allow-popups")
            c.notes.push_back("Cross-Origin-Opener-Policy '" + *coop + "' is not a known value");
    } else {
        c.notes.emplace_back("no Cross-Origin-Opener-Policy");
    }
    auto corp = first(h, "cross-origin-resource-policy");
    std::string corp_l = corp ? core::ascii_lower(core::trim_ows(*corp)) : "";
    if (!corp) c.notes.emplace_back("no Cross-Origin-Resource-Policy");
    for (auto name : {"expect-ct", "x-xss-protection", "feature-policy", "public-key-pins",
                      "public-key-pins-report-only", "report-to"})
        if (first(h, name)) c.deprecated.emplace_back(name);
    for (auto name :
         {"server", "x-powered-by", "x-aspnet-version", "x-aspnetmvc-version", "x-generator"})
        if (auto v = first(h, name)) c.leaks.push_back(std::string(name) + ": " + *v);

    std::optional<bool> redirects;
    if (ctx.http_port != HttpPort::kUnknown && ctx.http_port != HttpPort::kNotListening)
        redirects = ctx.http_port == HttpPort::kRedirectSameHost;
    c.preload_problems = preload_problems(c.hsts, redirects);

    securityheaders_card(c, h, ctx, xcto_ok, xfo_ok, referrer);

    // Observatory: penalties always, bonuses only when the score without them is >= 90.
    observatory_csp(c);
    observatory_cookies(c);
    auto acao = first(h, "access-control-allow-origin");
    auto acac = first(h, "access-control-allow-credentials");
    if (acao && !ctx.sent_origin.empty() && core::trim_ows(*acao) == ctx.sent_origin && acac &&
        core::ascii_lower(core::trim_ows(*acac)) == "true")
        add(c, "cross-origin-resource-sharing", -50,
            "reflects any Origin with credentials allowed");
    else
        add(c, "cross-origin-resource-sharing", 0,
            acao ? "Access-Control-Allow-Origin: " + *acao : "content not visible via CORS");
    switch (ctx.http_port) {
        case HttpPort::kUnknown:
            add(c, "redirection", 0, "port 80 not probed");
            break;
        case HttpPort::kNotListening:
            add(c, "redirection", 0, "no HTTP listener");
            break;
        case HttpPort::kRedirectSameHost:
            add(c, "redirection", 0, "http redirects to https on the same host");
            break;
        case HttpPort::kRedirectOffHost:
            add(c, "redirection", -5, "first redirect goes to another host");
            break;
        case HttpPort::kRedirectToHttp:
        case HttpPort::kNoRedirect:
            add(c, "redirection", -20, "http does not redirect to https");
            break;
    }
    if (!rp)
        add(c, "referrer-policy", 0,
            "no Referrer-Policy (browsers default to strict-origin-when-cross-origin)");
    else if (referrer == "no-referrer" || referrer == "same-origin" ||
             referrer == "strict-origin" || referrer == "strict-origin-when-cross-origin")
        add(c, "referrer-policy", 5, "Referrer-Policy " + referrer);
    else if (referrer == "origin" || referrer == "origin-when-cross-origin" ||
             referrer == "unsafe-url")
        add(c, "referrer-policy", -5, "unsafe Referrer-Policy " + referrer);
    else if (referrer.empty())
        add(c, "referrer-policy", -5, "invalid Referrer-Policy");
    else
        add(c, "referrer-policy", 0, "Referrer-Policy " + referrer);
    if (!ctx.https)
        add(c, "strict-transport-security", -20, "not HTTPS: HSTS cannot apply");
    else if (!c.hsts)
        add(c, "strict-transport-security", -20, "no Strict-Transport-Security header");
    else if (!c.hsts->valid)
        add(c, "strict-transport-security", -20, "invalid HSTS: " + c.hsts->error);
    else if (c.hsts->max_age < 15768000)
        add(c, "strict-transport-security", -10,
            "max-age " + std::to_string(c.hsts->max_age) + " is under six months (15768000)");
    else
        add(c, "strict-transport-security", 0,
            "max-age " + std::to_string(c.hsts->max_age) + " (preload list not consulted)");
    add(c, "subresource-integrity", 0, "not tested (page scripts are not fetched)");
    add(c, "x-content-type-options", xcto_ok ? 0 : -5,
        xcto_ok ? "nosniff" : "missing or not nosniff");
    if (c.csp && c.csp_findings.frame_ancestors)
        add(c, "x-frame-options", 5, "framing controlled by CSP frame-ancestors");
    else if (xfo_ok)
        add(c, "x-frame-options", 0, "X-Frame-Options " + xfo_l);
    else
        add(c, "x-frame-options", -20, "no X-Frame-Options or frame-ancestors");
    if (corp_l == "same-origin" || corp_l == "same-site")
        add(c, "cross-origin-resource-policy", 10, "Cross-Origin-Resource-Policy " + corp_l);
    else
        add(c, "cross-origin-resource-policy", 0,
            corp ? "Cross-Origin-Resource-Policy " + corp_l : "no Cross-Origin-Resource-Policy");

    int penalties = 0, bonuses = 0;
    for (const auto& t : c.obs_tests) (t.points < 0 ? penalties : bonuses) += t.points;
    int score = 100 + penalties;
    if (score >= 90) score += bonuses;
    c.obs_score = std::max(score, 0);
    c.obs_grade = observatory_grade(c.obs_score);
    return c;
}

HeaderCard grade_site_policy(const site::SiteSettings& site) {
    HeaderContext ctx;
    ctx.https = true;
    // Both redirect policies answer http://host/ with a redirect to https on the same host;
    // refuse leaves nothing to redirect (the Observatory's "no HTTP listener", 0 points).
    ctx.http_port = site.http_policy == site::HttpPolicy::kRefuse ? HttpPort::kNotListening
                                                                  : HttpPort::kRedirectSameHost;
    return grade_headers(site::security_headers(site.headers, true), ctx);
}

Result<void> check_min_header_grade(const site::SiteSettings& site) {
    if (site.headers.min_grade.empty()) return {};
    if (!grade_rank(site.headers.min_grade))
        return make_error(Errc::kInvalidArgument,
                          "headers.min_grade: \"" + site.headers.min_grade + "\" is not a grade");
    HeaderCard card = grade_site_policy(site);
    std::string g = card.grade();
    if (grade_at_least(g, site.headers.min_grade)) return {};
    std::string why;
    for (const auto& m : card.sh_missing) why += (why.empty() ? "" : "; ") + ("missing " + m);
    for (const auto& w : card.sh_warnings) why += (why.empty() ? "" : "; ") + w;
    for (const auto& t : card.obs_tests)
        if (t.points < 0) why += (why.empty() ? "" : "; ") + t.result;
    return make_error(Errc::kInvalidArgument,
                      "headers.min_grade: the header policy grades " + g + " (securityheaders " +
                          card.sh_grade + ", observatory " + card.obs_grade + " " +
                          std::to_string(card.obs_score) + "), below the minimum " +
                          site.headers.min_grade + (why.empty() ? "" : ": " + why));
}

}  // namespace moat::audit
