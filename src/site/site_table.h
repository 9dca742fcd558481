#pragma once
// SiteTable: the Handler for sites served from folders. It maps the request's host to a site
// and environment, applies the site's HTTP-port policy, aliases and redirects, turns the path
// into a file below the environment's root, and answers with the file (conditional requests,
// ranges, content codings) or an error, every response carrying the site's security headers.
//
// Ownership and threads: built once per configuration by the app (create()), immutable
// afterwards, shared by every worker through a shared_ptr; a reload builds a new table and
// swaps it in atomically while the FileCache is shared across reloads. handle() runs on the
// worker threads concurrently and never blocks: the only per-worker state is a small cache of
// header blocks indexed by Request::worker.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "content/file_cache.h"
#include "core/result.h"
#include "edge/handler.h"
#include "site/release_source.h"
#include "site/settings.h"

namespace moat::site {

struct SiteTableOptions {
    // Public HTTPS port, for absolute redirects (HTTP -> HTTPS, aliases): ":port" is added to
    // the Location when it is not 443.
    std::uint16_t https_port = 443;
    // Worker threads that call handle(); Request::worker must be in [0, workers). Must match
    // the FileCache's FileCacheSettings::workers.
    int workers = 1;
    // Header blocks kept per worker (one per file representation served recently).
    std::size_t header_cache_entries = 4096;
    // Hook for the ACME http-01 challenge (RFC 8555 §8.3): when set, plain-HTTP requests for
    // /.well-known/acme-challenge/* go to it before the HTTP-port policy. It is the only path
    // that bypasses the policy.
    std::shared_ptr<edge::Handler> http_challenge;
    // Files of environments with from_store (required when any has it).
    std::shared_ptr<const ReleaseSource> releases;
};

class SiteTable : public edge::Handler {
public:
    // Validates and indexes `sites`. Errors (kInvalidArgument, naming the site): a site with
    // no host, a host claimed twice (canonical, alias or environment host, across all sites),
    // a folder site without environments or whose canonical host no environment serves, an
    // environment root that is not absolute (or set with from_store), an environment served
    // from_store without opts.releases, a redirect_to that is not an http(s) URL, a
    // redirect_status that is not 301/302/303/307/308, an invalid header policy
    // (validate_header_policy), a cache rule without exactly one of prefix/glob/extension, or
    // an index / error_page that is not a clean relative path. Empty environment hosts default
    // to the canonical host for "production" and "<name>.<host>" otherwise ("test.<host>" for
    // "testing"); an empty name defaults to the canonical host.
    static Result<std::shared_ptr<SiteTable>> create(std::vector<SiteSettings> sites,
                                                     SiteTableOptions opts,
                                                     std::shared_ptr<content::FileCache> cache);

    ~SiteTable() override;
    SiteTable(const SiteTable&) = delete;
    SiteTable& operator=(const SiteTable&) = delete;

    // Fills `res` (expected default-constructed). Thread-safe; see the class comment.
    void handle(const edge::Request& req, edge::Response& res) override;

private:
    struct Impl;
    explicit SiteTable(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace moat::site
