#pragma once
// The building blocks of AWS Signature Version 4 as S3 uses it (store.md §2.1; AWS General
// Reference "Create a canonical request for Signature Version 4"): URI encoding without
// normalization or double encoding, canonical query, canonical headers, the signing key and
// the string to sign. Pure functions, no I/O, safe from any thread.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "edge/service.h"

namespace moat::s3::sigv4 {

inline constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";
inline constexpr std::string_view kStreamingPayload = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
inline constexpr std::string_view kStreamingPayloadTrailer =
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";
inline constexpr std::string_view kStreamingUnsignedTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
// hex SHA-256 of the empty string.
inline constexpr std::string_view kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// RFC 3986 percent-decoding; nullopt for a malformed escape. '+' stays '+'.
std::optional<std::string> uri_decode(std::string_view s);
// AWS URI encoding: unreserved A-Za-z0-9-_.~ kept, everything else %XX upper case; '/' kept
// when keep_slash (paths) and encoded otherwise (query names and values).
std::string uri_encode(std::string_view s, bool keep_slash);

// The canonical URI of an S3 request: the path as sent, decoded once and re-encoded per
// segment; no normalization ("//", ".", ".." stay). nullopt for a malformed escape.
std::optional<std::string> canonical_uri(std::string_view raw_path);
// The canonical query: parameters decoded, re-encoded, sorted by name then value, "name=value"
// joined by '&' ("uploads" becomes "uploads="). `skip` (exact name) is left out: the
// signature of a presigned URL. nullopt for a malformed escape.
std::optional<std::string> canonical_query(std::string_view raw_query, std::string_view skip = {});
// Decoded query parameters in their order; nullopt for a malformed escape.
std::optional<std::vector<std::pair<std::string, std::string>>> parse_query(
    std::string_view raw_query);

// "name:value\n" for each signed header (values of repeated fields joined by ',', trimmed,
// inner runs of spaces collapsed). `signed_headers` is the "a;b;c" list as sent.
std::string canonical_headers(const edge::ServiceHeaders& headers, std::string_view host_header,
                              std::string_view signed_headers);

std::string canonical_request(std::string_view method, std::string_view canonical_uri,
                              std::string_view canonical_query, std::string_view canonical_headers,
                              std::string_view signed_headers, std::string_view payload_hash);

// "AWS4-HMAC-SHA256\n<amz_date>\n<scope>\n<hex sha256(canonical request)>".
std::string string_to_sign(std::string_view amz_date, std::string_view scope,
                           std::string_view canonical_request);

std::string hmac_sha256(std::string_view key, std::string_view data);  // raw 32 bytes
// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request").
std::string signing_key(std::string_view secret, std::string_view date, std::string_view region,
                        std::string_view service);
// hex(HMAC(signing_key, string_to_sign)).
std::string signature(std::string_view signing_key, std::string_view string_to_sign);

// aws-chunked (store.md §2.3): the signature of one chunk, chained from the previous one.
std::string chunk_signature(std::string_view signing_key, std::string_view amz_date,
                            std::string_view scope, std::string_view previous_signature,
                            std::string_view chunk_sha256_hex);
// The trailer signature: trailer_lines is "name:value\n" per trailing header.
std::string trailer_signature(std::string_view signing_key, std::string_view amz_date,
                              std::string_view scope, std::string_view previous_signature,
                              std::string_view trailer_lines);

// Equal strings, in time independent of where they differ.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace moat::s3::sigv4
