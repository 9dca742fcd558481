#include "acme/caa.h"

#include <cctype>

namespace moat::acme {

std::string caa_issuer_domain(std::string_view url) {
    auto scheme = url.find("://");
    std::string_view rest = scheme == std::string_view::npos ? url : url.substr(scheme + 3);
    std::string_view host = rest.substr(0, rest.find_first_of("/?#"));
    if (auto at = host.rfind('@'); at != std::string_view::npos) host = host.substr(at + 1);
    if (host.starts_with('[')) {
        host = host.substr(0, host.find(']') + 1);
    } else if (auto colon = host.find(':'); colon != std::string_view::npos) {
        host = host.substr(0, colon);
    }
    std::string h(host);
    for (char& c : h) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    while (!h.empty() && h.back() == '.') h.pop_back();
    auto under = [&](std::string_view domain) {
        return h == domain || (h.size() > domain.size() && h.ends_with(domain) &&
                               h[h.size() - domain.size() - 1] == '.');
    };
    if (under("letsencrypt.org")) return "letsencrypt.org";
    if (under("zerossl.com")) return "sectigo.com";
    if (under("pki.goog")) return "pki.goog";
    if (under("buypass.com")) return "buypass.com";
    return h;
}

}  // namespace moat::acme
