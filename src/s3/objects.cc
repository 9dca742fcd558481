// Object operations: PutObject, GetObject / HeadObject, DeleteObject.
#include <fmt/format.h>

#include <charconv>
#include <limits>

#include "s3/conditions.h"
#include "s3/error_response.h"
#include "s3/errors.h"
#include "s3/internal/ops.h"
#include "s3/internal/text.h"

namespace moat::s3::internal {
namespace {

constexpr std::uint64_t kMaxPutSize = 5ull << 30;  // 5 GiB: larger objects need multipart
constexpr std::size_t kReadPiece = 256 * 1024;

std::optional<std::uint64_t> header_u64(const edge::ServiceRequest& req, std::string_view name) {
    auto v = req.header(name);
    std::uint64_t n = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (v.empty() || ec != std::errc() || p != v.data() + v.size()) return std::nullopt;
    return n;
}

// GET ?versionId=<a delete marker> is 405 MethodNotAllowed, a key whose latest version is a
// marker is 404 NoSuchKey; both say x-amz-delete-marker: true.
Error open_failure(Call& c, const Error& store_error) {
    if (store::reason_of(store_error) == store::Reason::kDeleteMarker) {
        c.error_headers.emplace_back("x-amz-delete-marker", "true");
        if (c.route.has("versionId"))
            return s3_error(Code::kMethodNotAllowed,
                            "The specified method is not allowed against this resource.");
        return s3_error(Code::kNoSuchKey, "The specified key does not exist.");
    }
    if (store::reason_of(store_error) == store::Reason::kNoSuchKey && c.route.has("versionId"))
        return s3_error(Code::kNoSuchVersion, "The specified version does not exist.");
    return from_store(store_error);
}

// PutObject's If-Match / If-None-Match against the current version (conditional writes,
// store.md §1.5): If-None-Match: * is the store's atomic create-if-absent; an ETag list is
// checked here.
Result<void> put_preconditions(Call& c, store::PutOptions& opts) {
    auto inm = c.req.header("if-none-match");
    auto im = c.req.header("if-match");
    if (inm == "*") opts.if_none_match_any = true;
    // One ETag in If-Match is checked again inside the store's commit, so the compare and the
    // write are atomic; lists and `*` are checked here only.
    if (im.size() >= 2 && im.front() == '"' && im.back() == '"' &&
        im.find(',') == std::string_view::npos)
        opts.if_match_etag = std::string(im.substr(1, im.size() - 2));
    if (im.empty() && (inm.empty() || inm == "*")) return {};
    auto cur = c.store.head(c.bucket(), c.key());
    if (!cur) {
        auto r = store::reason_of(cur.error());
        bool absent = r == store::Reason::kNoSuchKey || r == store::Reason::kDeleteMarker;
        if (!absent) return from_store(cur.error());
        if (!im.empty()) return s3_error(Code::kNoSuchKey, "The specified key does not exist.");
        return {};
    }
    Conditions cond;
    cond.if_match = im;
    if (inm != "*") cond.if_none_match = inm;
    if (evaluate_conditions(cond, cur->etag, cur->last_modified) != Code::kNone)
        return s3_error(Code::kPreconditionFailed,
                        "At least one of the pre-conditions you specified did not hold");
    return {};
}

}  // namespace

Result<void> put_object(Call& c) {
    MOAT_TRY(c.require(Action::kWrite));
    MOAT_TRY(check_storage_headers(c.req));
    store::PutOptions opts;
    auto attrs = attributes_from(c.req);
    if (!attrs) return attrs.error();
    opts.attrs = std::move(*attrs);
    // The decoded length of an aws-chunked body, else Content-Length.
    auto decoded = header_u64(c.req, "x-amz-decoded-content-length");
    if (decoded)
        opts.expected_size = decoded;
    else if (c.req.body->length() && c.auth.payload != PayloadMode::kStreamingSigned &&
             c.auth.payload != PayloadMode::kStreamingSignedTrailer &&
             c.auth.payload != PayloadMode::kStreamingUnsignedTrailer)
        opts.expected_size = c.req.body->length();
    if (opts.expected_size && *opts.expected_size > kMaxPutSize)
        return s3_error(Code::kEntityTooLarge,
                        "Your proposed upload exceeds the maximum allowed size (5 GiB); use a "
                        "multipart upload");
    MOAT_TRY(put_preconditions(c, opts));
    auto body = c.body();
    TrackedBody tracked(*body);
    auto info = c.store.put(c.bucket(), c.key(), tracked, opts);
    if (!info) return tracked.failure(info.error());
    c.version_id = info->version_id;
    c.object_size = info->size;
    edge::ServiceHeaders h;
    h.emplace_back("etag", quote_etag(info->etag));
    h.emplace_back("x-amz-server-side-encryption", "AES256");
    if (info->version_id != "null" && !info->version_id.empty())
        h.emplace_back("x-amz-version-id", info->version_id);
    for (const auto& cs : body->checksums())
        h.emplace_back("x-amz-checksum-" + cs.first, cs.second);
    return c.send_empty(200, std::move(h));
}

Result<void> get_object(Call& c) {
    MOAT_TRY(c.require(Action::kRead));
    bool head = c.req.method == "HEAD";
    std::string version(c.route.param("versionId"));
    std::unique_ptr<store::ObjectReader> reader;
    store::ObjectInfo info;
    if (head) {
        auto h = c.store.head(c.bucket(), c.key(), version);
        if (!h) return open_failure(c, h.error());
        info = std::move(*h);
    } else {
        auto r = c.store.open_object(c.bucket(), c.key(), version);
        if (!r) return open_failure(c, r.error());
        reader = std::move(*r);
        info = reader->info();
    }
    c.version_id = info.version_id;
    c.object_size = info.size;

    Conditions cond{c.req.header("if-match"), c.req.header("if-none-match"),
                    c.req.header("if-modified-since"), c.req.header("if-unmodified-since")};
    Code pre = evaluate_conditions(cond, info.etag, info.last_modified);
    if (pre == Code::kNotModified) {
        c.error_headers.emplace_back("etag", quote_etag(info.etag));
        c.error_headers.emplace_back("last-modified", http_date(info.last_modified));
        return s3_error(Code::kNotModified, "Not Modified");
    }
    if (pre == Code::kPreconditionFailed)
        return s3_error(Code::kPreconditionFailed,
                        "At least one of the pre-conditions you specified did not hold");

    auto h = object_headers(info);
    // A part of a multipart object (?partNumber=N) is not supported; ask for the whole.
    if (c.route.has("partNumber"))
        return s3_error(Code::kNotImplemented, "GetObject with partNumber is not supported");
    RangeSpec range = parse_range(c.req.header("range"), info.size);
    if (range.kind == RangeSpec::kUnsatisfiable) {
        c.error_headers.emplace_back("content-range", fmt::format("bytes */{}", info.size));
        return s3_error(Code::kInvalidRange, "The requested range is not satisfiable");
    }
    int status = 200;
    if (range.kind == RangeSpec::kPart) {
        status = 206;
        h.emplace_back("content-range", fmt::format("bytes {}-{}/{}", range.first,
                                                    range.first + range.length - 1, info.size));
    } else if (c.req.header("x-amz-checksum-mode") == "ENABLED") {
        // The whole object's checksums as the client sent them (a range has none of its own).
        for (const auto& cs : info.attrs.checksums)
            h.emplace_back("x-amz-checksum-" + cs.first, cs.second);
        if (!info.attrs.checksums.empty()) h.emplace_back("x-amz-checksum-type", "FULL_OBJECT");
    }
    // response-* query parameters override headers (GetObject API; presigned downloads).
    static constexpr std::pair<std::string_view, std::string_view> kOverrides[] = {
        {"response-content-type", "content-type"},
        {"response-content-language", "content-language"},
        {"response-expires", "expires"},
        {"response-cache-control", "cache-control"},
        {"response-content-disposition", "content-disposition"},
        {"response-content-encoding", "content-encoding"}};
    for (const auto& [param, header] : kOverrides) {
        if (!c.route.has(param)) continue;
        std::string v(c.route.param(param));
        if (v.find_first_of("\r\n") != std::string::npos)
            return s3_error(Code::kInvalidArgument, std::string(param) + " holds a line break");
        std::erase_if(h, [&](const auto& kv) { return kv.first == header; });
        h.emplace_back(std::string(header), std::move(v));
    }
    MOAT_TRY(c.res.start(status, c.headers(std::move(h)), range.length));
    if (head) return {};
    std::string buf;  // for the pieces the store cannot lend (not in its plaintext cache)
    std::uint64_t pos = range.first, end = range.first + range.length;
    while (pos < end) {
        // Zero-copy: the TLS layer encrypts straight from the store's cached plaintext.
        // write() has consumed the bytes when it returns; `lent` keeps them alive until then,
        // even if the cache evicts the entry meanwhile.
        auto rest = static_cast<std::size_t>(
            std::min<std::uint64_t>(end - pos, std::numeric_limits<std::size_t>::max()));
        if (auto lent = reader->view(pos, rest)) {
            MOAT_TRY(c.res.write(lent->bytes));
            pos += lent->bytes.size();
            c.bytes_sent += lent->bytes.size();
            continue;
        }
        if (buf.empty()) buf.resize(std::min<std::uint64_t>(kReadPiece, end - pos));
        std::size_t want = std::min(buf.size(), rest);
        auto n = reader->read_at(pos, buf.data(), want);
        if (!n) return from_store(n.error());
        if (*n == 0) return s3_error(Code::kInternalError, "object ended before its size");
        MOAT_TRY(c.res.write(std::string_view(buf.data(), *n)));
        pos += *n;
        c.bytes_sent += *n;
    }
    return {};
}

Result<void> delete_object(Call& c) {
    MOAT_TRY(c.require(Action::kWrite));
    std::string version(c.route.param("versionId"));
    auto out = c.store.remove(c.bucket(), c.key(), version);
    edge::ServiceHeaders h;
    if (!out) {
        // Deleting what is not there succeeds (204), as in S3.
        auto r = store::reason_of(out.error());
        if (r != store::Reason::kNoSuchKey && r != store::Reason::kNoSuchVersion)
            return from_store(out.error());
        return c.send_empty(204);
    }
    if (out->delete_marker) h.emplace_back("x-amz-delete-marker", "true");
    if (!out->version_id.empty() && (out->version_id != "null" || !version.empty()))
        h.emplace_back("x-amz-version-id", out->version_id);
    c.version_id = out->version_id;
    return c.send_empty(204, std::move(h));
}

}  // namespace moat::s3::internal
