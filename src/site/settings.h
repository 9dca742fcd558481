#pragma once
// Site settings: hosts, environments, HTTP-port policy, header policy and cache rules.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace moat::site {

enum class HttpPolicy { kRedirect, kRedirectHome, kRefuse };

struct Environment {
    std::string name;  // "production", "testing", ...
    std::string host;  // production: the canonical host; testing: "test.<host>" by default
    std::string root;  // folder served (empty when from_store)
    // Served from the store: the release this environment points at (release::Catalog through
    // site::ReleaseSource), made by `moat deploy`, S3 uploads, promotion or rollback.
    bool from_store = false;
};

// Security headers (reference/tls.md §2.5). Empty string = header not sent.
struct HeaderPolicy {
    std::int64_t hsts_max_age = 63072000;  // two years
    bool hsts_include_subdomains = false;
    bool hsts_preload = false;
    std::string csp =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "font-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'; upgrade-insecure-requests";
    std::string x_content_type_options = "nosniff";
    std::string x_frame_options = "DENY";
    std::string referrer_policy = "strict-origin-when-cross-origin";
    std::string permissions_policy =
        "camera=(), microphone=(), geolocation=(), payment=(), usb=(), fullscreen=(self)";
    std::string cross_origin_opener_policy = "same-origin";
    std::string cross_origin_resource_policy = "same-origin";
    std::vector<std::pair<std::string, std::string>> add;  // extra headers (name, value)
    std::vector<std::string> remove;                       // default headers not to send
    // The lowest grade the policy may earn (the worse of the securityheaders.com- and
    // Observatory-style cards): "A+", "A", "B" ... Empty = no minimum. Checked offline by
    // audit::check_min_header_grade (config check; deploys and promotions later).
    std::string min_grade;
};

// One Cache-Control rule. Exactly one of prefix, glob, extension is set. First match wins.
struct CacheRule {
    std::string prefix;     // "/assets/"
    std::string glob;       // "/img/*.png" ('*' = any run of characters except '/', '**' = any)
    std::string extension;  // "jpg" (no dot)
    std::string cache_control;
};

struct SiteSettings {
    std::string name;                  // defaults to the canonical host
    std::string host;                  // canonical host
    std::vector<std::string> aliases;  // 301 to the canonical host, keeping path and query
    std::vector<Environment> environments;
    std::string redirect_to;  // redirect-only site: every request goes to this URL + path
    int redirect_status = 301;
    HttpPolicy http_policy = HttpPolicy::kRedirectHome;
    HeaderPolicy headers;
    std::vector<CacheRule> cache_rules{
        {"/assets/", "", "", "public, max-age=15552000, immutable"},
        {"", "", "jpg", "public, max-age=1209600"},
        {"", "", "html", "public, max-age=43200"},
    };
    std::string default_cache_control = "public, max-age=3600";
    std::string error_page = "404.html";  // relative to the environment's root; empty: built in
    std::string index = "index.html";
    bool precompressed = true;  // use .br/.zst/.gz siblings when present
    bool compress = true;       // make br/zstd/gzip variants off the hot path
    // Approvals, from principals other than the requester, before the production environment
    // of a store-served site changes by promotion (0: none needed).
    int approvals = 1;
    // Answer requests for any Host nobody else claims with the production environment
    // (`moat serve --root`, like `caddy file-server`). Not a config key: a named site is safer.
    bool any_host = false;
};

}  // namespace moat::site
