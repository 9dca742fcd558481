#pragma once
// Where the site table finds the files of an environment served from the store: the release
// that environment points at now. Implemented by release::Catalog; the site part only sees
// this header, so it does not depend on the store.

#include <string_view>

#include "content/file_cache.h"

namespace moat::site {

class ReleaseSource {
public:
    virtual ~ReleaseSource() = default;
    // The file (kFile), folder (kDirectory: some path of the release starts with rel + "/")
    // or nothing at `rel` (normalised as for FileCache::get) in the release that (site, env)
    // serves now. No release yet: kNotFound. Runs on edge workers: never blocks, no locks
    // held beyond an atomic load; the entry stays valid while the caller holds it, even if
    // the environment moves to another release meanwhile.
    virtual content::LookupResult lookup(std::string_view site, std::string_view env,
                                         std::string_view rel) const = 0;
};

}  // namespace moat::site
