#pragma once
// The issuer domain to publish in a CAA record (RFC 8659 §4.2) for the configured CA; used by
// `moat dns <site>` (mail part) to print "<domain>. CAA 0 issue \"<issuer>\"".

#include <string>
#include <string_view>

namespace moat::acme {

// Let's Encrypt directories (production and staging) -> "letsencrypt.org"; other well-known
// CAs by their documented CAA domains (ZeroSSL "sectigo.com", Google Trust Services "pki.goog",
// Buypass "buypass.com"); otherwise the directory URL's host name, lower-cased, without port.
// Empty for a URL without a host.
std::string caa_issuer_domain(std::string_view directory_url);

}  // namespace moat::acme
