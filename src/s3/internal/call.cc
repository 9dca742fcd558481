#include "s3/internal/call.h"

#include <algorithm>
#include <cctype>

#include "s3/error_response.h"
#include "s3/errors.h"
#include "s3/internal/text.h"

namespace moat::s3::internal {
namespace {

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// System metadata S3 keeps with an object and returns on GET/HEAD.
constexpr std::string_view kSystemMeta[] = {"cache-control", "content-disposition",
                                            "content-encoding", "content-language", "expires"};

// Content-Encoding without aws-chunked (the transfer framing of SigV4 streaming uploads).
std::string strip_aws_chunked(std::string_view v) {
    std::string out;
    while (!v.empty()) {
        auto comma = v.find(',');
        std::string_view item = v.substr(0, comma);
        v = comma == std::string_view::npos ? std::string_view() : v.substr(comma + 1);
        while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
        while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
        if (item.empty() || item == "aws-chunked") continue;
        if (!out.empty()) out += ",";
        out += item;
    }
    return out;
}

}  // namespace

edge::ServiceHeaders Call::headers(edge::ServiceHeaders extra) const {
    edge::ServiceHeaders h;
    h.reserve(extra.size() + 2);
    h.emplace_back("x-amz-request-id", request_id);
    h.emplace_back("x-amz-id-2", request_id);
    for (auto& e : extra) h.push_back(std::move(e));
    return h;
}

Result<void> Call::send_xml(int status, std::string_view body, edge::ServiceHeaders extra) {
    extra.emplace_back("content-type", "application/xml");
    bytes_sent += body.size();
    return res.send(status, headers(std::move(extra)), body);
}

Result<void> Call::send_empty(int status, edge::ServiceHeaders extra) {
    return res.send(status, headers(std::move(extra)), {});
}

Result<void> Call::require(Action a, std::string_view bkt, std::string_view k) const {
    if (allowed(auth.key.grants, a, bkt, k)) return {};
    return s3_error(Code::kAccessDenied, "Access Denied");
}

std::unique_ptr<RequestBody> Call::body() { return make_request_body(*req.body, req, auth); }

Result<std::string> Call::read_document(std::size_t limit) {
    auto b = body();
    std::string out;
    char buf[16384];
    for (;;) {
        auto n = b->read(buf, sizeof buf);
        if (!n) return n.error();
        if (*n == 0) break;
        if (out.size() + *n > limit)
            return s3_error(Code::kMalformedXML,
                            "The XML you provided was larger than the maximum of " +
                                std::to_string(limit) + " bytes allowed");
        out.append(buf, *n);
    }
    return out;
}

Result<void> Call::require_integrity_header() const {
    if (!req.header("content-md5").empty()) return {};
    for (const auto& h : req.headers)
        if (starts_with(h.first, "x-amz-checksum-") || h.first == "x-amz-sdk-checksum-algorithm" ||
            h.first == "x-amz-trailer")
            return {};
    return s3_error(Code::kInvalidRequest, "Missing required header for this request: Content-MD5");
}

Result<std::size_t> TrackedBody::read(char* buf, std::size_t n) {
    auto r = inner_.read(buf, n);
    if (!r) {
        error_ = r.error();
        return r;
    }
    bytes_ += *r;
    return r;
}

Error TrackedBody::failure(const Error& store_error) const {
    if (!error_) return from_store(store_error);
    const Error& e = *error_;
    if (e.reason != 0) return e;  // the body reader's own s3 code (BadDigest ...)
    // A ServiceBody error: the peer stopped sending, or sent nothing for io_timeout.
    if (e.code == Errc::kUnavailable)
        return s3_error(Code::kRequestTimeout,
                        "Your socket connection to the server was not read from or written to "
                        "within the timeout period.");
    return s3_error(Code::kIncompleteBody,
                    "You did not provide the number of bytes specified "
                    "by the Content-Length HTTP header: " +
                        e.detail);
}

std::string quote_etag(std::string_view etag) {
    std::string out;
    out.reserve(etag.size() + 2);
    out += '"';
    out += etag;
    out += '"';
    return out;
}

std::string_view unquote_etag(std::string_view v) {
    while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
    while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
    if (starts_with(v, "W/")) v.remove_prefix(2);
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    return v;
}

Result<store::ObjectAttributes> attributes_from(const edge::ServiceRequest& req) {
    store::ObjectAttributes a;
    a.content_type = std::string(req.header("content-type"));
    std::size_t meta_bytes = 0;
    for (const auto& h : req.headers) {
        if (starts_with(h.first, "x-amz-meta-") && h.first.size() > 11) {
            a.user_meta.emplace_back(h.first.substr(11), h.second);
            meta_bytes += h.first.size() - 11 + h.second.size();
            continue;
        }
        for (auto name : kSystemMeta) {
            if (h.first != name) continue;
            std::string v = name == "content-encoding" ? strip_aws_chunked(h.second) : h.second;
            if (!v.empty()) a.system_meta.emplace_back(h.first, std::move(v));
        }
        // The checksum the client announced up front; the body reader verified it.
        if (starts_with(h.first, "x-amz-checksum-") && h.first != "x-amz-checksum-type" &&
            h.first != "x-amz-checksum-algorithm")
            a.checksums.emplace_back(h.first.substr(15), h.second);
    }
    // User-defined metadata is limited to 2 KB (UsingMetadata.html#UserMetadata).
    if (meta_bytes > 2048)
        return s3_error(Code::kInvalidArgument,
                        "Your metadata headers exceed the maximum allowed metadata size (2048)");
    return a;
}

Result<void> check_storage_headers(const edge::ServiceRequest& req) {
    auto sse = req.header("x-amz-server-side-encryption");
    if (!sse.empty() && sse != "AES256")
        return s3_error(Code::kInvalidArgument,
                        "Server side encryption specified is not supported: only AES256 "
                        "(SSE-S3) is; every object is encrypted at rest");
    if (!req.header("x-amz-server-side-encryption-customer-algorithm").empty())
        return s3_error(Code::kNotImplemented, "SSE-C is not supported");
    auto sc = req.header("x-amz-storage-class");
    if (!sc.empty() && sc != "STANDARD")
        return s3_error(Code::kInvalidStorageClass,
                        "The storage class you specified is not valid (moat has STANDARD only)");
    return {};
}

edge::ServiceHeaders object_headers(const store::ObjectInfo& info) {
    edge::ServiceHeaders h;
    h.emplace_back("etag", quote_etag(info.etag));
    h.emplace_back("last-modified", http_date(info.last_modified));
    h.emplace_back("accept-ranges", "bytes");
    h.emplace_back("content-type", info.attrs.content_type.empty() ? "binary/octet-stream"
                                                                   : info.attrs.content_type);
    if (!info.version_id.empty() && info.version_id != "null")
        h.emplace_back("x-amz-version-id", info.version_id);
    h.emplace_back("x-amz-server-side-encryption", "AES256");
    if (info.parts > 0) h.emplace_back("x-amz-mp-parts-count", std::to_string(info.parts));
    for (const auto& m : info.attrs.system_meta) h.push_back(m);
    for (const auto& m : info.attrs.user_meta) h.emplace_back("x-amz-meta-" + m.first, m.second);
    return h;
}

Result<std::size_t> ReaderBody::read(char* buf, std::size_t n) {
    if (pos_ >= end_) return std::size_t{0};
    n = static_cast<std::size_t>(std::min<std::uint64_t>(n, end_ - pos_));
    auto r = r_.read_at(pos_, buf, n);
    if (!r) return from_store(r.error());
    if (*r == 0) return s3_error(Code::kInternalError, "copy source ended early");
    pos_ += *r;
    return r;
}

}  // namespace moat::s3::internal
