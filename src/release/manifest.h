#pragma once
// A release manifest: the immutable list of what one release of a site serves. Made when the
// release is made (a deploy, or S3 uploads under content/<env>/<site>/), never per request:
// hashes, ETags, types and compressed variants are all in it.
//
// Canonical form: JSON with entries sorted by path and keys in a fixed order, no whitespace;
// the manifest hash (what an approval is bound to) is the SHA-256 of that text.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace moat::release {

// A compressed form of an entry, stored as its own object (ReleaseSettings::variants_bucket).
struct Variant {
    std::string encoding;  // "br", "zstd", "gzip" (content::encoding_name)
    std::string key;       // object key in the variants bucket
    std::string version_id;
    std::uint64_t size = 0;
    std::string etag;  // strong, quoted: the identity's ETag token + "-br" / "-zstd" / "-gz"
};

struct ManifestEntry {
    std::string path;        // relative URL path, no leading '/': "docs/index.html"
    std::string bucket;      // where the identity bytes live: "content"
    std::string key;         // "<env>/<site>/<path>"
    std::string version_id;  // the exact version served
    std::string sha256;      // lower-case hex of the identity bytes
    std::uint64_t size = 0;
    std::string content_type;       // from the object, else from the path's extension
    std::string etag;               // strong, quoted, as FileCache: base64url of 16 sha256 bytes
    std::int64_t mtime = 0;         // Last-Modified, seconds since the epoch
    std::vector<Variant> variants;  // only those smaller than the identity, br/zstd/gzip order
};

struct Manifest {
    std::string site;
    std::vector<ManifestEntry> entries;  // sorted by path, unique
};

// Canonical JSON (see above).
std::string to_json(const Manifest& m);
// Parses to_json's output (and only well-formed manifests: unique sorted clean paths, hex
// hashes). Errors: kInvalidArgument naming what is wrong.
Result<Manifest> manifest_from_json(std::string_view json);
// Lower-case hex SHA-256 of to_json(m).
std::string manifest_hash(const Manifest& m);

// Path-level difference between two manifests (by sha256; a changed type counts as changed).
struct Diff {
    std::vector<std::string> added, removed, changed;  // paths, sorted
};
Diff diff(const Manifest& from, const Manifest& to);

}  // namespace moat::release
