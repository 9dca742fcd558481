#pragma once
// Catalog: what each store-served (site, environment) serves now. Holds one LiveRelease per
// environment behind an atomic pointer, and the body cache those releases share (keyed by
// content hash and encoding, so two releases or two paths with the same bytes share them).
//
// activate() does all the work before the switch (reads and decrypts every body from the
// store, builds the FileEntry of every path with its ETag, type and variants), then swaps the
// pointer: a request sees either the old release or the new one, never a mix, and the switch
// itself is one atomic store. lookup() runs on edge workers: an atomic load and a hash lookup.
//
// Threads: lookup() from any worker; activate()/clear() from control-plane threads (they
// block on the store), serialised internally per environment.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "content/file_cache.h"
#include "core/result.h"
#include "release/manifest.h"
#include "release/settings.h"
#include "site/release_source.h"
#include "store/store.h"

namespace moat::release {

class Catalog : public site::ReleaseSource {
public:
    // `store` must outlive the catalog.
    Catalog(store::Store& store, ReleaseSettings settings);
    ~Catalog() override;
    Catalog(const Catalog&) = delete;
    Catalog& operator=(const Catalog&) = delete;

    content::LookupResult lookup(std::string_view site, std::string_view env,
                                 std::string_view rel) const override;

    // Loads what `m` needs that the body cache lacks, then points (site, env) at it. Errors
    // (a version gone from the store, a damaged blob, kIo of the cache folder): nothing
    // changes, the environment keeps serving what it served.
    Result<void> activate(std::string_view site, std::string_view env,
                          const std::string& release_id, const Manifest& m);
    // The release id (site, env) serves now; empty when none.
    std::string serving(std::string_view site, std::string_view env) const;
    // Stops serving (site, env) (404 from then on); bodies no release uses are freed.
    void clear(std::string_view site, std::string_view env);

    struct Stats {
        std::uint64_t environments = 0;  // with a release
        std::uint64_t bodies = 0;        // distinct (hash, encoding) held
        std::uint64_t memory_bytes = 0;  // of bodies held in memory
        std::uint64_t file_bytes = 0;    // of bodies in unlinked temporary files
    };
    Stats stats() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace moat::release
