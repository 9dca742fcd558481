#include "site/header_policy.h"

#include <algorithm>
#include <array>
#include <string_view>

#include "core/text.h"

namespace moat::site {
namespace {

// RFC 9110 §5.6.2 tchar.
bool is_token(std::string_view s) {
    if (s.empty()) return false;
    static constexpr std::string_view kExtra = "!#$%&'*+-.^_`|~";
    return std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               kExtra.find(c) != std::string_view::npos;
    });
}

bool is_safe_value(std::string_view v) {
    return v.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

// Headers that the edge or the file serving path writes; letting a policy add them would
// break framing (HTTP/1 smuggling, HTTP/2 protocol errors) or contradict the representation.
constexpr std::array<std::string_view, 17> kReserved = {
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "upgrade",
    "proxy-connection",
    "te",
    "trailer",
    "date",
    "server",
    "content-type",
    "content-encoding",
    "content-range",
    "etag",
    "last-modified",
    "vary",
    "cache-control",
};

bool is_reserved(std::string_view lower_name) {
    return std::find(kReserved.begin(), kReserved.end(), lower_name) != kReserved.end();
}

}  // namespace

HeaderList security_headers(const HeaderPolicy& p, bool https) {
    HeaderList out;
    out.reserve(8 + p.add.size());
    if (https && p.hsts_max_age >= 0) {
        std::string v = "max-age=" + std::to_string(p.hsts_max_age);
        if (p.hsts_include_subdomains) v += "; includeSubDomains";
        if (p.hsts_preload) v += "; preload";
        out.emplace_back("strict-transport-security", std::move(v));
    }
    auto put = [&](const char* name, const std::string& value) {
        if (!value.empty()) out.emplace_back(name, value);
    };
    put("content-security-policy", p.csp);
    put("x-content-type-options", p.x_content_type_options);
    put("x-frame-options", p.x_frame_options);
    put("referrer-policy", p.referrer_policy);
    put("permissions-policy", p.permissions_policy);
    put("cross-origin-opener-policy", p.cross_origin_opener_policy);
    put("cross-origin-resource-policy", p.cross_origin_resource_policy);

    for (const auto& r : p.remove) {
        const std::string name = core::ascii_lower(r);
        std::erase_if(out, [&](const auto& h) { return h.first == name; });
    }
    const std::size_t defaults = out.size();
    for (const auto& [n, v] : p.add) {
        std::string name = core::ascii_lower(n);
        if (!is_token(name) || !is_safe_value(v) || is_reserved(name)) continue;
        auto end = out.begin() + static_cast<std::ptrdiff_t>(defaults);
        auto it = std::find_if(out.begin(), end, [&](const auto& h) { return h.first == name; });
        if (it != end) {
            it->second = v;
        } else {
            out.emplace_back(std::move(name), v);
        }
    }
    return out;
}

Result<void> validate_header_policy(const HeaderPolicy& p) {
    for (const auto& [n, v] : p.add) {
        if (!is_token(n)) return make_error(Errc::kInvalidArgument, "bad header name: " + n);
        if (!is_safe_value(v))
            return make_error(Errc::kInvalidArgument, "header value has CR, LF or NUL: " + n);
        if (is_reserved(core::ascii_lower(n)))
            return make_error(Errc::kInvalidArgument, "header is set by moat itself: " + n);
    }
    const std::string* values[] = {&p.csp,
                                   &p.x_content_type_options,
                                   &p.x_frame_options,
                                   &p.referrer_policy,
                                   &p.permissions_policy,
                                   &p.cross_origin_opener_policy,
                                   &p.cross_origin_resource_policy};
    for (const std::string* v : values)
        if (!is_safe_value(*v))
            return make_error(Errc::kInvalidArgument, "header value has CR, LF or NUL: " + *v);
    return {};
}

}  // namespace moat::site
