#pragma once
// Grades a response's header list the way securityheaders.com and the MDN HTTP Observatory do
// (reference/tls.md §2.1, §2.2; docs/audit.md lists every rule). Pure functions of the headers
// plus what is known of port 80: `moat audit` feeds it a live response, `moat config check`
// feeds it site::security_headers() of a site's policy, offline.

#include <optional>
#include <string>
#include <vector>

#include "audit/cookies.h"
#include "audit/csp.h"
#include "audit/hsts.h"
#include "core/result.h"
#include "site/header_policy.h"
#include "site/settings.h"

namespace moat::audit {

// What http://host/ does (the Observatory's redirection test, hstspreload's first redirect).
enum class HttpPort {
    kUnknown,           // not probed
    kNotListening,      // nothing on port 80
    kRedirectSameHost,  // 30x to https://same-host/
    kRedirectOffHost,   // 30x to https on another host first
    kRedirectToHttp,    // 30x that stays on http
    kNoRedirect,        // serves the page (or an error) over plain HTTP
};
const char* http_port_name(HttpPort p);

struct HeaderContext {
    bool https = true;  // HSTS counts only over HTTPS (RFC 6797 §8.1)
    HttpPort http_port = HttpPort::kUnknown;
    std::string sent_origin;  // the Origin the probe sent, to spot CORS reflection
};

// One Observatory test: its name, the points it added or took, and why.
struct ScoreLine {
    std::string test;
    int points = 0;
    std::string result;
};

struct HeaderCard {
    // securityheaders.com-style card.
    std::string sh_grade;
    std::vector<std::string> sh_present;   // of the six graded headers
    std::vector<std::string> sh_missing;   // missing or invalid
    std::vector<std::string> sh_warnings;  // each one keeps the grade off A+
    // Observatory-style card: 100 + the points of every test (bonuses only from 90 up).
    int obs_score = 0;
    std::string obs_grade;
    std::vector<ScoreLine> obs_tests;
    // Details behind both.
    std::optional<Hsts> hsts;
    std::vector<std::string> preload_problems;  // empty = ready for hstspreload.org
    std::optional<CspPolicy> csp;
    CspFindings csp_findings;
    std::vector<Cookie> cookies;
    std::vector<std::string> deprecated;  // deprecated headers present
    std::vector<std::string> leaks;       // Server / X-Powered-By ... values
    std::vector<std::string> notes;       // other findings (unknown Permissions-Policy names ...)

    // The lower of the two cards: what `headers.min_grade` is compared against.
    std::string grade() const;
};

// Grades a header list (names in any case; repeated names kept, e.g. Set-Cookie).
HeaderCard grade_headers(const site::HeaderList& headers, const HeaderContext& ctx);

// The card a site's own policy earns, offline: security_headers(policy, https = true) with
// the site's HTTP-port policy as the redirection result.
HeaderCard grade_site_policy(const site::SiteSettings& site);

// The check behind `headers.min_grade`: kInvalidArgument naming the key, the grade and the
// reasons when the site's policy grades below its minimum; ok when no minimum is set. For
// config check now, and for deploy/promotion refusal (releases) later.
Result<void> check_min_header_grade(const site::SiteSettings& site);

// Observatory letter for a score (reference/tls.md §2.2 table).
std::string observatory_grade(int score);

}  // namespace moat::audit
