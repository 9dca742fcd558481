#pragma once
// Content codings and Accept-Encoding negotiation (RFC 9110 §12.5.3).

#include <cstdint>
#include <string_view>

namespace moat::content {

enum class Encoding : std::uint8_t { kIdentity = 0, kBrotli = 1, kZstd = 2, kGzip = 3 };
inline constexpr int kEncodingCount = 4;

// "br", "zstd", "gzip"; "" for identity. Also the Content-Encoding value.
std::string_view encoding_name(Encoding e);
// File suffix of a precompressed sibling: ".br", ".zst", ".gz"; "" for identity.
std::string_view encoding_suffix(Encoding e);

// A set of available encodings: bit (1 << int(Encoding)).
using EncodingSet = std::uint8_t;
inline constexpr EncodingSet encoding_bit(Encoding e) {
    return static_cast<EncodingSet>(1u << static_cast<unsigned>(e));
}

// Picks the coding to send among `available` (identity is always available unless the client
// forbids it with "identity;q=0" or "*;q=0"): the highest q-value wins; on equal q, the server
// order br > zstd > gzip > identity (smallest first). Missing header: identity.
// Returns nullopt-like kIdentity also when nothing acceptable exists (the caller then sends
// identity anyway: RFC 9110 §12.5.3 permits ignoring the header rather than 406).
Encoding choose_encoding(std::string_view accept_encoding, EncodingSet available);

}  // namespace moat::content
