#include "site/site_table.h"

#include <algorithm>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "content/conditional.h"
#include "content/encoding.h"
#include "content/range.h"
#include "core/assert.h"
#include "core/log.h"
#include "site/cache_rules.h"
#include "site/header_policy.h"
#include "site/path.h"

namespace moat::site {

namespace {

using edge::HeaderBlock;
using edge::Request;
using edge::Response;
using edge::ResultType;
using BlockPtr = std::shared_ptr<const HeaderBlock>;
using TextPtr = std::shared_ptr<const std::string>;

constexpr std::string_view kTextPlain = "text/plain; charset=utf-8";
constexpr std::string_view kTextHtml = "text/html; charset=utf-8";
constexpr std::string_view kAcmeChallengePrefix = "/.well-known/acme-challenge/";

// Answers that depend on the request (400, 403, 405, 412, 416, 421 ...) must not be reused.
constexpr const char* kErrorCacheControl = "no-store";
// A 404 is cacheable by default (RFC 9110 §15.1); ten seconds, CloudFront's default error
// caching TTL, absorbs bursts for a missing path while a newly published file still shows up
// almost at once. Browsers and shared caches alike may keep it that long.
constexpr const char* kNotFoundCacheControl = "max-age=10";
// Permanent redirects (aliases, HTTP -> HTTPS, folder -> folder/) only change with the
// config; an hour keeps a config fix from being stuck in browsers for long.
constexpr const char* kPermanentRedirectCacheControl = "public, max-age=3600";
constexpr const char* kTemporaryRedirectCacheControl = "no-store";

enum BlockKind {
    kErrorBlock,         // text/plain, no-store
    kMethodBlock,        // same + Allow (405)
    kNotFoundBlock,      // built-in 404 page
    kPermanentRedirect,  // 301/308
    kTemporaryRedirect,  // 302/303/307
    kBlockCount
};

struct Blocks {
    BlockPtr b[kBlockCount];
};

Blocks make_blocks(const HeaderList& security) {
    using Extra = std::initializer_list<std::pair<const char*, std::string_view>>;
    auto make = [&](Extra extra) {
        auto blk = std::make_shared<HeaderBlock>();
        for (const auto& [n, v] : security) blk->add(n, v);
        for (const auto& [n, v] : extra) blk->add(n, std::string(v));
        return BlockPtr(std::move(blk));
    };
    Blocks out;
    out.b[kErrorBlock] =
        make({{"content-type", kTextPlain}, {"cache-control", kErrorCacheControl}});
    // RFC 9110 §15.5.6: a 405 MUST carry Allow.
    out.b[kMethodBlock] = make({{"content-type", kTextPlain},
                                {"cache-control", kErrorCacheControl},
                                {"allow", "GET, HEAD"}});
    out.b[kNotFoundBlock] =
        make({{"content-type", kTextHtml}, {"cache-control", kNotFoundCacheControl}});
    out.b[kPermanentRedirect] = make({{"cache-control", kPermanentRedirectCacheControl}});
    out.b[kTemporaryRedirect] = make({{"cache-control", kTemporaryRedirectCacheControl}});
    return out;
}

struct Bodies {
    TextPtr empty = std::make_shared<const std::string>();
    TextPtr bad_request = std::make_shared<const std::string>("Bad Request\n");
    TextPtr https_required =
        std::make_shared<const std::string>("HTTPS is required: use https:// for this site.\n");
    TextPtr method = std::make_shared<const std::string>("Method Not Allowed: use GET or HEAD.\n");
    TextPtr misdirected = std::make_shared<const std::string>(
        "Misdirected Request: this server does not serve this host on this connection.\n");
    TextPtr precondition = std::make_shared<const std::string>("Precondition Failed\n");
    TextPtr range = std::make_shared<const std::string>("Range Not Satisfiable\n");
    TextPtr too_long = std::make_shared<const std::string>("URI Too Long\n");
    TextPtr internal = std::make_shared<const std::string>("Internal Server Error\n");
    TextPtr not_found = std::make_shared<const std::string>(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<title>404 Not Found</title></head>\n<body><h1>404 Not Found</h1>"
        "<p>The requested page does not exist.</p></body></html>\n");
};

struct EnvRt {
    std::string name;
    std::string root;
    bool from_store = false;  // files come from SiteTableOptions::releases, not `root`
};

struct SiteRt {
    SiteSettings s;
    std::vector<EnvRt> envs;    // fixed after create(): HostEntry points into it
    HeaderList security[2];     // [https]
    Blocks blocks[2];           // [https]
    std::string canonical;      // "https://host[:port]", alias target
    std::string redirect_base;  // redirect_to without a trailing '/'
};

enum class HostKind { kEnv, kAlias, kRedirect };

struct HostEntry {
    HostKind kind = HostKind::kEnv;
    const SiteRt* site = nullptr;
    const EnvRt* env = nullptr;  // kEnv only
    std::string https_base;      // "https://<this host>[:port]", for HTTP -> HTTPS redirects
};

struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// Header blocks for file representations, per worker: a Representation is immutable, so its
// block (security headers, type, validators, cache-control) is built once and reused; the hot
// path then only adds per-response fields. The key's pointer is checked against a weak_ptr
// (owner equivalence) because a freed Representation's address may be reused by a new one;
// holding weak_ptrs keeps the control blocks, not the bodies, alive.
struct BlockKey {
    const void* site;
    const void* rep;
    unsigned flags;
    bool operator==(const BlockKey&) const = default;
};
struct BlockKeyHash {
    std::size_t operator()(const BlockKey& k) const {
        const auto h = std::hash<const void*>{};
        return h(k.rep) ^ (h(k.site) * 31) ^ k.flags;
    }
};
struct CachedBlock {
    std::weak_ptr<const content::Representation> owner;
    BlockPtr block;
};
struct alignas(64) WorkerBlocks {
    std::unordered_map<BlockKey, CachedBlock, BlockKeyHash> map;
};

enum BlockFlags : unsigned { kFlagHttps = 1, kFlagVary = 2, kFlagErrorPage = 4 };

bool is_host_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

// A DNS name or IPv4 address, or an IPv6 literal in brackets as Host headers carry it.
bool valid_host(const std::string& host) {
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
        return std::all_of(host.begin() + 1, host.end() - 1, [](char c) {
            return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == ':' || c == '.';
        });
    return !host.empty() && std::all_of(host.begin(), host.end(), is_host_char);
}

std::string normalize_host(std::string_view h) {
    std::string out(h);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (!out.empty() && out.back() == '.') out.pop_back();
    return out;
}

// Bytes that may be copied into a Location header unchanged (RFC 9112 §3.2: a request-target
// is visible ASCII; the edge should have checked, this keeps CR/LF out of our headers anyway).
bool is_visible_ascii(std::string_view s) {
    for (char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (c <= 0x20 || c >= 0x7f) return false;
    }
    return true;
}

// CR, LF or NUL in a configured header value would split or truncate the header block.
bool has_line_break(std::string_view v) {
    return v.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

bool is_redirect_status(int s) { return s == 301 || s == 302 || s == 303 || s == 307 || s == 308; }

Error site_error(const SiteSettings& s, std::string msg) {
    return make_error(Errc::kInvalidArgument, "site " + s.name + ": " + msg);
}

// Fills defaults and checks everything handle() relies on.
Result<void> prepare_site(SiteSettings& s) {
    s.host = normalize_host(s.host);
    if (s.name.empty()) s.name = s.host;
    if (s.host.empty()) return site_error(s, "no host");
    for (auto& a : s.aliases) a = normalize_host(a);
    for (auto& e : s.environments) {
        if (e.name.empty()) return site_error(s, "environment without a name");
        if (e.host.empty())
            e.host = e.name == "production" ? s.host
                     : e.name == "testing"  ? "test." + s.host
                                            : e.name + "." + s.host;
        e.host = normalize_host(e.host);
    }
    if (!s.redirect_to.empty()) {
        if (!(s.redirect_to.starts_with("https://") || s.redirect_to.starts_with("http://")) ||
            !is_visible_ascii(s.redirect_to))
            return site_error(s, "redirect_to must be an http(s) URL: " + s.redirect_to);
        if (!is_redirect_status(s.redirect_status))
            return site_error(s, "redirect_status must be 301, 302, 303, 307 or 308");
    } else {
        if (s.environments.empty()) return site_error(s, "no environment to serve");
        bool canonical = false;
        for (const auto& e : s.environments) {
            if (e.from_store && !e.root.empty())
                return site_error(s, "environment " + e.name + ": set either root or store");
            if (!e.from_store && (e.root.empty() || e.root[0] != '/'))
                return site_error(s, "environment " + e.name + ": root must be absolute");
            canonical = canonical || e.host == s.host;
        }
        if (!canonical) return site_error(s, "no environment serves the canonical host " + s.host);
    }
    if (auto r = validate_header_policy(s.headers); !r) return site_error(s, r.error().detail);
    for (const auto& r : s.cache_rules) {
        const int set = !r.prefix.empty() + !r.glob.empty() + !r.extension.empty();
        if (set != 1)
            return site_error(s, "a cache rule needs exactly one of prefix, glob, extension");
        if (r.cache_control.empty() || has_line_break(r.cache_control))
            return site_error(s, "bad cache_control: " + r.cache_control);
    }
    if (has_line_break(s.default_cache_control)) return site_error(s, "bad default_cache_control");
    if (s.index.empty() || s.index.find('/') != std::string::npos)
        return site_error(s, "index must be a file name");
    if (auto n = normalize_path("/" + s.index); !n || *n != s.index)
        return site_error(s, "index must be a plain file name: " + s.index);
    if (!s.error_page.empty()) {
        auto n = normalize_path("/" + s.error_page);
        if (!n || n->empty() || n->back() == '/')
            return site_error(s, "error_page must be a clean relative file path: " + s.error_page);
        s.error_page = *n;
    }
    return {};
}

void respond(Response& res, int status, const BlockPtr& block, const TextPtr& body,
             std::string_view content_type, ResultType result) {
    res.status = status;
    res.fixed = block;
    res.body = edge::Body{body, nullptr, 0, body->size()};
    res.content_type = content_type;
    res.result = result;
}

}  // namespace

struct SiteTable::Impl {
    SiteTableOptions opts;
    std::shared_ptr<content::FileCache> cache;
    std::vector<std::unique_ptr<SiteRt>> sites;
    std::unordered_map<std::string, HostEntry, StringHash, std::equal_to<>> hosts;
    Blocks unknown;                        // for hosts we do not serve: default policy without HSTS
    const HostEntry* catch_all = nullptr;  // SiteSettings::any_host, for unknown hosts
    Bodies bodies;
    std::unique_ptr<WorkerBlocks[]> workers;

    Result<void> add_host(const std::string& host, HostEntry e) {
        if (!valid_host(host))
            return make_error(Errc::kInvalidArgument,
                              "site " + e.site->s.name + ": bad host '" + host + "'");
        e.https_base = "https://" + host;
        if (opts.https_port != 443) e.https_base += ":" + std::to_string(opts.https_port);
        if (!hosts.try_emplace(host, std::move(e)).second)
            return make_error(Errc::kInvalidArgument, "host " + host + " is claimed twice");
        return {};
    }

    const HostEntry* find(std::string_view host) const {
        if (!host.empty() && host.back() == '.') host.remove_suffix(1);
        char buf[256];
        if (host.size() >= sizeof buf) return nullptr;
        bool upper = false;
        for (char c : host) upper = upper || (c >= 'A' && c <= 'Z');
        if (upper) {  // SNI is not necessarily lower-cased by the edge
            for (std::size_t i = 0; i < host.size(); ++i) {
                const char c = host[i];
                buf[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
            }
            host = std::string_view(buf, host.size());
        }
        auto it = hosts.find(host);
        return it == hosts.end() ? nullptr : &it->second;
    }

    void redirect(Response& res, int status, const Blocks& b, std::string location) const {
        const bool permanent = status == 301 || status == 308;
        respond(res, status, b.b[permanent ? kPermanentRedirect : kTemporaryRedirect], bodies.empty,
                {}, ResultType::kRedirect);
        res.extra.emplace_back("location", std::move(location));
    }

    void error(Response& res, int status, const Blocks& b, const TextPtr& body) const {
        respond(res, status, b.b[kErrorBlock], body, kTextPlain, ResultType::kError);
    }

    void handle(const Request& req, Response& res);
    void serve(const Request& req, Response& res, const SiteRt& site, const EnvRt& env);
    void serve_file(const Request& req, Response& res, const SiteRt& site,
                    const content::FileEntry& e, bool error_page);
    void not_found(const Request& req, Response& res, const SiteRt& site, const EnvRt& env);
    // The file, folder or nothing at `rel` in the environment: its folder through the file
    // cache, or the release it serves now.
    Result<content::LookupResult> lookup(const Request& req, const SiteRt& site, const EnvRt& env,
                                         std::string_view rel);
    BlockPtr file_block(int worker, const SiteRt& site, const content::FileEntry& e,
                        const std::shared_ptr<const content::Representation>& rep, unsigned flags,
                        bool& cached);
};

void SiteTable::Impl::handle(const Request& req, Response& res) {
    MOAT_CHECK(req.worker >= 0 && req.worker < opts.workers, "worker index out of range");
    const bool https = req.secure;
    const HostEntry* he = find(req.host);
    if (he == nullptr) he = catch_all;
    // RFC 9110 §15.5.20: we cannot answer for this authority; never fall back to another
    // site's content.
    if (he == nullptr) return error(res, 421, unknown, bodies.misdirected);
    const SiteRt& site = *he->site;
    const Blocks& b = site.blocks[https ? 1 : 0];
    res.log_site = site.s.name;
    if (he->env != nullptr) res.log_env = he->env->name;

    // The certificate of this connection was chosen for the SNI name: answering for another
    // site on it would let connection reuse (RFC 9113 §9.1.1) or domain fronting reach a site
    // the client never authenticated. 421 tells the client to retry on a fresh connection.
    if (https && !req.sni.empty()) {
        const HostEntry* se = find(req.sni);
        if (se == nullptr) se = catch_all;
        if (se == nullptr || se->site != he->site) return error(res, 421, b, bodies.misdirected);
    }

    if (!https) {
        // The only bypass of the HTTP-port policy: the CA fetches http-01 challenges over port
        // 80 (RFC 8555 §8.3) before the site has a certificate.
        if (opts.http_challenge && req.path.starts_with(kAcmeChallengePrefix))
            return opts.http_challenge->handle(req, res);
        switch (site.s.http_policy) {
            case HttpPolicy::kRedirect:
                if (!req.target.starts_with('/') || !is_visible_ascii(req.target))
                    return error(res, 400, b, bodies.bad_request);
                return redirect(res, 301, b, he->https_base + std::string(req.target));
            case HttpPolicy::kRedirectHome:
                // Only "/" redirects: that is what HSTS preload lists and graders probe, and
                // no other URL is ever advertised over plain HTTP.
                if (req.path == "/") {
                    if (!is_visible_ascii(req.query)) return error(res, 400, b, bodies.bad_request);
                    std::string loc = he->https_base + "/";
                    if (!req.query.empty()) loc.append("?").append(req.query);
                    return redirect(res, 301, b, std::move(loc));
                }
                return error(res, 403, b, bodies.https_required);
            case HttpPolicy::kRefuse:
                // 403 rather than 421: a 421 asks the client to retry the same URL on another
                // connection (RFC 9110 §15.5.20), which over http:// meets the same refusal;
                // a 403 with a text body tells the visitor what to do instead.
                return error(res, 403, b, bodies.https_required);
        }
    }

    // RFC 9110 §9.1: a static site implements GET and HEAD only.
    if (req.method != edge::Method::kGet && req.method != edge::Method::kHead)
        return respond(res, 405, b.b[kMethodBlock], bodies.method, kTextPlain, ResultType::kError);

    switch (he->kind) {
        case HostKind::kAlias:
            if (!req.target.starts_with('/') || !is_visible_ascii(req.target))
                return error(res, 400, b, bodies.bad_request);
            return redirect(res, 301, b, site.canonical + std::string(req.target));
        case HostKind::kRedirect: {
            if (!req.path.starts_with('/') || !is_visible_ascii(req.path) ||
                !is_visible_ascii(req.query))
                return error(res, 400, b, bodies.bad_request);
            std::string loc = site.redirect_base;
            loc.append(req.path);
            if (!req.query.empty()) loc.append("?").append(req.query);
            return redirect(res, site.s.redirect_status, b, std::move(loc));
        }
        case HostKind::kEnv:
            return serve(req, res, site, *he->env);
    }
}

void SiteTable::Impl::serve(const Request& req, Response& res, const SiteRt& site,
                            const EnvRt& env) {
    const Blocks& b = site.blocks[req.secure ? 1 : 0];
    auto rel = normalize_path(req.path);
    if (!rel) {
        switch (rel.error().code) {
            case Errc::kNotFound:
                return not_found(req, res, site, env);
            case Errc::kTooLarge:
                return error(res, 414, b, bodies.too_long);
            default:
                return error(res, 400, b, bodies.bad_request);
        }
    }
    // Default documents: "/" and "/a/" serve the folder's index without a redirect.
    const bool folder = rel->empty() || rel->back() == '/';
    std::string with_index;
    std::string_view file = *rel;
    if (folder) {
        with_index = *rel + site.s.index;
        file = with_index;
    }
    auto got = lookup(req, site, env, file);
    if (!got) {
        core::logger("site")->warn("file lookup failed site={} env={} err={}", site.s.name,
                                   env.name, got.error().detail);
        return error(res, 500, b, bodies.internal);
    }
    switch (got->kind) {
        case content::Lookup::kFile:
            return serve_file(req, res, site, *got->entry, false);
        case content::Lookup::kDirectory: {
            // "/a" names a folder: send the client to "/a/" so that relative links inside
            // its index resolve below it. No listings, ever.
            if (folder) return not_found(req, res, site, env);
            if (!is_visible_ascii(req.query)) return error(res, 400, b, bodies.bad_request);
            std::string loc = "/" + encode_path(*rel) + "/";
            if (!req.query.empty()) loc.append("?").append(req.query);
            return redirect(res, 301, b, std::move(loc));
        }
        case content::Lookup::kNotFound:
            return not_found(req, res, site, env);
    }
}

void SiteTable::Impl::not_found(const Request& req, Response& res, const SiteRt& site,
                                const EnvRt& env) {
    if (!site.s.error_page.empty()) {
        auto got = lookup(req, site, env, site.s.error_page);
        if (got && got->kind == content::Lookup::kFile)
            return serve_file(req, res, site, *got->entry, true);
    }
    const Blocks& b = site.blocks[req.secure ? 1 : 0];
    respond(res, 404, b.b[kNotFoundBlock], bodies.not_found, kTextHtml, ResultType::kError);
}

Result<content::LookupResult> SiteTable::Impl::lookup(const Request& req, const SiteRt& site,
                                                      const EnvRt& env, std::string_view rel) {
    // create() checked that `releases` is set when an environment is served from the store.
    if (env.from_store) return opts.releases->lookup(site.s.name, env.name, rel);
    return cache->get(env.root, rel, req.worker, site.s.precompressed, site.s.compress);
}

void SiteTable::Impl::serve_file(const Request& req, Response& res, const SiteRt& site,
                                 const content::FileEntry& e, bool error_page) {
    using content::Encoding;
    const content::EncodingSet avail = e.available();
    const bool negotiates = (e.compressible && (site.s.precompressed || site.s.compress)) ||
                            (avail & ~content::encoding_bit(Encoding::kIdentity)) != 0;
    // RFC 9110 §14.2: Range is defined for GET only (ignored with HEAD).
    const std::string_view range = (!error_page && req.method == edge::Method::kGet)
                                       ? req.header("range")
                                       : std::string_view{};
    // A Range request is answered from the identity representation: its bytes and ETag do not
    // depend on which compressed variants happen to exist yet (they appear in the background),
    // so a download started before a variant was made can still be resumed with If-Range, and
    // media players get offsets into the file they expect. The response still varies on
    // Accept-Encoding.
    Encoding enc = Encoding::kIdentity;
    if (negotiates && range.empty())
        enc = content::choose_encoding(req.header("accept-encoding"), avail);
    auto rep = e.rep(enc);
    if (!rep && enc != Encoding::kIdentity) rep = e.rep(Encoding::kIdentity);
    const Blocks& b = site.blocks[req.secure ? 1 : 0];
    if (!rep || (!rep->bytes && !rep->file)) return error(res, 500, b, bodies.internal);

    const unsigned flags = (req.secure ? kFlagHttps : 0u) | (negotiates ? kFlagVary : 0u) |
                           (error_page ? kFlagErrorPage : 0u);
    bool cached = false;
    res.fixed = file_block(req.worker, site, e, rep, flags, cached);
    res.content_type = e.content_type;
    res.body = edge::Body{rep->bytes, rep->bytes ? nullptr : rep->file, 0, rep->size};

    if (error_page) {
        // The custom page stands in for a resource that does not exist: no validators and no
        // ranges, only its bytes with the 404 status.
        res.status = 404;
        res.result = ResultType::kError;
        return;
    }

    const content::Preconditions pre{req.header("if-match"), req.header("if-none-match"),
                                     req.header("if-modified-since"),
                                     req.header("if-unmodified-since"), req.header("if-range")};
    switch (content::evaluate(pre, rep->etag, e.mtime)) {
        case content::Precondition::kProceed:
            break;
        case content::Precondition::kNotModified:
            // RFC 9110 §15.4.5: the same fields a 200 would carry (ETag, Vary, Cache-Control and
            // the security headers), without a body.
            res.status = 304;
            res.no_body = true;
            res.body = {};
            res.result = ResultType::kHit;
            return;
        case content::Precondition::kFailed:
            return error(res, 412, b, bodies.precondition);
    }

    res.status = 200;
    res.result = (rep->bytes || cached) ? ResultType::kHit : ResultType::kMiss;
    if (range.empty()) return;
    const content::ByteRange r = content::parse_range(range, rep->size);
    if (r.kind == content::ByteRange::kNone ||
        !content::if_range_allows(req.header("if-range"), rep->etag, e.mtime))
        return;  // §13.1.5: a failed If-Range means "send me everything"
    if (r.kind == content::ByteRange::kUnsatisfiable) {
        error(res, 416, b, bodies.range);
        // RFC 9110 §15.5.17: the current length, so the client can ask again.
        res.extra.emplace_back("content-range", "bytes */" + std::to_string(rep->size));
        return;
    }
    res.status = 206;
    res.body.offset = r.first;
    res.body.length = r.last - r.first + 1;
    res.range_start = r.first;
    res.range_end = r.last;
    std::string cr = "bytes ";
    cr.append(std::to_string(r.first)).append("-").append(std::to_string(r.last));
    cr.append("/").append(std::to_string(rep->size));
    res.extra.emplace_back("content-range", std::move(cr));
}

BlockPtr SiteTable::Impl::file_block(int worker, const SiteRt& site, const content::FileEntry& e,
                                     const std::shared_ptr<const content::Representation>& rep,
                                     unsigned flags, bool& cached) {
    auto& map = workers[static_cast<std::size_t>(worker)].map;
    const BlockKey key{&site, rep.get(), flags};
    auto it = map.find(key);
    if (it != map.end() && !it->second.owner.owner_before(rep) &&
        !rep.owner_before(it->second.owner)) {
        cached = true;
        return it->second.block;
    }

    auto blk = std::make_shared<HeaderBlock>();
    for (const auto& [n, v] : site.security[(flags & kFlagHttps) ? 1 : 0]) blk->add(n, v);
    blk->add("content-type", std::string(e.content_type));
    if (flags & kFlagErrorPage) {
        blk->add("cache-control", kNotFoundCacheControl);
    } else {
        std::string path = e.path.starts_with('/') ? e.path : "/" + e.path;
        blk->add("cache-control", std::string(match_cache_control(
                                      site.s.cache_rules, site.s.default_cache_control, path)));
        // Each coding has its own strong ETag (RFC 9110 §8.8.3.3): the bytes differ.
        if (!rep->etag.empty()) blk->add("etag", rep->etag);
        if (!e.last_modified.empty()) blk->add("last-modified", e.last_modified);
        blk->add("accept-ranges", "bytes");
    }
    if (rep->encoding != content::Encoding::kIdentity)
        blk->add("content-encoding", std::string(content::encoding_name(rep->encoding)));
    // RFC 9110 §12.5.5: every response whose coding was (or could have been) chosen from
    // Accept-Encoding says so, identity, 206 and 304 included, or caches mix codings up.
    if (flags & kFlagVary) blk->add("vary", "Accept-Encoding");
    BlockPtr block = std::move(blk);

    if (it != map.end()) {
        it->second = CachedBlock{rep, block};
    } else {
        if (map.size() >= opts.header_cache_entries) map.clear();  // simple bound; rebuilt fast
        map.emplace(key, CachedBlock{rep, block});
    }
    return block;
}

SiteTable::SiteTable(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SiteTable::~SiteTable() = default;

void SiteTable::handle(const Request& req, Response& res) { impl_->handle(req, res); }

Result<std::shared_ptr<SiteTable>> SiteTable::create(std::vector<SiteSettings> sites,
                                                     SiteTableOptions opts,
                                                     std::shared_ptr<content::FileCache> cache) {
    if (!cache) return make_error(Errc::kInvalidArgument, "site table needs a file cache");
    if (opts.workers < 1) return make_error(Errc::kInvalidArgument, "workers must be at least 1");
    if (opts.https_port == 0) return make_error(Errc::kInvalidArgument, "https_port must be set");
    if (opts.header_cache_entries == 0) opts.header_cache_entries = 1;

    auto impl = std::make_unique<Impl>();
    impl->opts = std::move(opts);
    impl->cache = std::move(cache);
    impl->unknown = make_blocks(security_headers(HeaderPolicy{}, false));
    impl->workers = std::make_unique<WorkerBlocks[]>(static_cast<std::size_t>(impl->opts.workers));
    const std::string port_suffix =
        impl->opts.https_port == 443 ? "" : ":" + std::to_string(impl->opts.https_port);

    for (auto& settings : sites) {
        MOAT_TRY(prepare_site(settings));
        auto rt = std::make_unique<SiteRt>();
        rt->s = std::move(settings);
        for (int https = 0; https < 2; ++https) {
            rt->security[https] = security_headers(rt->s.headers, https != 0);
            rt->blocks[https] = make_blocks(rt->security[https]);
        }
        rt->canonical = "https://" + rt->s.host + port_suffix;
        rt->redirect_base = rt->s.redirect_to;
        while (rt->redirect_base.ends_with('/')) rt->redirect_base.pop_back();
        SiteRt* site = rt.get();
        impl->sites.push_back(std::move(rt));

        const bool redirect_only = !site->s.redirect_to.empty();
        if (redirect_only) {
            // Every host of a redirect-only site, environments included, sends the client on.
            MOAT_TRY(impl->add_host(site->s.host, {HostKind::kRedirect, site, nullptr, {}}));
            for (const auto& e : site->s.environments)
                if (e.host != site->s.host)
                    MOAT_TRY(impl->add_host(e.host, {HostKind::kRedirect, site, nullptr, {}}));
        } else {
            site->envs.reserve(site->s.environments.size());
            for (const auto& e : site->s.environments) {
                if (e.from_store && !impl->opts.releases)
                    return site_error(site->s, "environment " + e.name +
                                                   " is served from the store, which is not open");
                site->envs.push_back({e.name, e.root, e.from_store});
            }
            for (std::size_t i = 0; i < site->envs.size(); ++i)
                MOAT_TRY(impl->add_host(site->s.environments[i].host,
                                        {HostKind::kEnv, site, &site->envs[i], {}}));
        }
        for (const auto& a : site->s.aliases)
            MOAT_TRY(impl->add_host(
                a, {redirect_only ? HostKind::kRedirect : HostKind::kAlias, site, nullptr, {}}));
    }
    // The any_host site answers hosts nobody else claims (serve --root). Looked up after every
    // insert: map nodes do not move on rehash, so the pointer stays valid.
    for (const auto& rt : impl->sites) {
        if (!rt->s.any_host) continue;
        if (impl->catch_all != nullptr)
            return make_error(Errc::kInvalidArgument, "only one site may answer any host");
        impl->catch_all = impl->find(rt->s.host);
    }
    return std::shared_ptr<SiteTable>(new SiteTable(std::move(impl)));
}

}  // namespace moat::site
