#pragma once
// A site's security headers (reference: the default set for a static site, overridable per
// site) as plain (name, value) pairs: the SiteTable builds its header blocks from them once,
// and the audit feature grades them without serving anything.

#include <string>
#include <utility>
#include <vector>

#include "core/result.h"
#include "site/settings.h"

namespace moat::site {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// The headers a response of a site with this policy carries, names lower-case, in a fixed
// order: strict-transport-security (only when `https`: RFC 6797 §7.2 forbids it over plain
// HTTP; omitted when hsts_max_age < 0), content-security-policy, x-content-type-options,
// x-frame-options, referrer-policy, permissions-policy, cross-origin-opener-policy,
// cross-origin-resource-policy (each omitted when its value is empty), then policy.add.
// policy.remove drops defaults by name (case-insensitive). An `add` whose name is a default
// replaces that default in place (two CSP headers would both be enforced, RFC 9110 §5.3
// notwithstanding, which is never what an override means); other `add` entries are appended
// in order, repeats kept. Invalid `add` entries (see validate_header_policy) are skipped.
// No Server header, ever.
HeaderList security_headers(const HeaderPolicy& policy, bool https);

// kInvalidArgument naming the first bad entry: an `add` name that is not an RFC 9110 §5.6.2
// token, a value with CR, LF or NUL (header injection), or a name moat owns because it frames
// or describes the response (content-length, transfer-encoding, connection, content-type,
// content-encoding, etag, last-modified, date, vary, cache-control, server ...).
Result<void> validate_header_policy(const HeaderPolicy& policy);

}  // namespace moat::site
