#pragma once
// One S3 request being served: what every operation needs (request, response, store, the
// authenticated key, the route) and the helpers they share. Lives on the handler's stack for one
// handle() call; the pool thread running it may block.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "edge/service.h"
#include "s3/access.h"
#include "s3/auth.h"
#include "s3/route.h"
#include "s3/settings.h"
#include "store/store.h"

namespace moat::s3::internal {

struct Call {
    edge::ServiceRequest& req;
    edge::ServiceResponse& res;
    store::Store& store;
    const S3Settings& settings;
    const AuthResult& auth;
    const Route& route;
    std::string request_id;
    std::string resource;  // "/bucket/key" for error documents

    // Set by operations for the error answer (x-amz-delete-marker, Content-Range ...).
    edge::ServiceHeaders error_headers;
    // For logs: what the operation touched and sent.
    std::string version_id;
    std::uint64_t bytes_sent = 0;
    std::optional<std::uint64_t> object_size;

    const std::string& bucket() const { return route.bucket; }
    const std::string& key() const { return route.key; }

    // x-amz-request-id (and x-amz-id-2) plus `extra`.
    edge::ServiceHeaders headers(edge::ServiceHeaders extra = {}) const;
    Result<void> send_xml(int status, std::string_view body, edge::ServiceHeaders extra = {});
    Result<void> send_empty(int status, edge::ServiceHeaders extra = {});

    // AccessDenied unless the key's grants allow `a` on bucket/key.
    Result<void> require(Action a, std::string_view bucket, std::string_view key) const;
    Result<void> require(Action a) const { return require(a, bucket(), key()); }

    // The request body decoded and verified (aws-chunked, Content-MD5, x-amz-checksum-*).
    std::unique_ptr<RequestBody> body();
    // A small request document (XML), whole. Over `limit` bytes: MalformedXML.
    Result<std::string> read_document(std::size_t limit = 1 << 20);
    // S3 requires an integrity header on DeleteObjects and PutBucketLifecycleConfiguration:
    // Content-MD5, or (botocore >= 1.36) an x-amz-checksum-* header or trailer.
    Result<void> require_integrity_header() const;
};

// A BodySource that remembers the error its source returned, so a failed store call can
// answer with the body's own error (BadDigest, IncompleteBody ...) rather than the store's.
class TrackedBody : public store::BodySource {
public:
    explicit TrackedBody(store::BodySource& inner) : inner_(inner) {}
    Result<std::size_t> read(char* buf, std::size_t n) override;
    store::Headers verified_checksums() const override { return inner_.verified_checksums(); }
    const std::optional<Error>& error() const { return error_; }
    std::uint64_t bytes() const { return bytes_; }
    // The error to answer with after the store call failed with `store_error`.
    Error failure(const Error& store_error) const;

private:
    store::BodySource& inner_;
    std::optional<Error> error_;
    std::uint64_t bytes_ = 0;
};

// "\"<etag>\"".
std::string quote_etag(std::string_view etag);
// The etag inside optional quotes (and a W/ prefix), for comparisons.
std::string_view unquote_etag(std::string_view v);

// The attributes a PutObject / CreateMultipartUpload / CopyObject(REPLACE) records: the
// content headers and x-amz-meta-*. Errors: InvalidArgument for metadata over 2 KiB.
Result<store::ObjectAttributes> attributes_from(const edge::ServiceRequest& req);
// x-amz-server-side-encryption (AES256 only) and x-amz-storage-class (STANDARD only).
Result<void> check_storage_headers(const edge::ServiceRequest& req);

// The headers that describe a stored object on GET/HEAD.
edge::ServiceHeaders object_headers(const store::ObjectInfo& info);

// Reads an ObjectReader's bytes [offset, offset+length) as a BodySource (UploadPartCopy).
class ReaderBody : public store::BodySource {
public:
    ReaderBody(store::ObjectReader& r, std::uint64_t offset, std::uint64_t length)
        : r_(r), pos_(offset), end_(offset + length) {}
    Result<std::size_t> read(char* buf, std::size_t n) override;

private:
    store::ObjectReader& r_;
    std::uint64_t pos_;
    std::uint64_t end_;
};

}  // namespace moat::s3::internal
