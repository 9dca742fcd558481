// CopyObject and UploadPartCopy: x-amz-copy-source names "/bucket/key[?versionId=v]", URL-encoded.
#include <fmt/format.h>

#include <charconv>

#include "s3/conditions.h"
#include "s3/error_response.h"
#include "s3/errors.h"
#include "s3/internal/ops.h"
#include "s3/internal/text.h"
#include "s3/xml.h"

namespace moat::s3::internal {
namespace {

struct Source {
    std::string bucket;
    std::string key;
    std::string version;
};

Result<Source> parse_copy_source(std::string_view v) {
    Error bad = s3_error(Code::kInvalidArgument,
                         "Invalid copy source: expected /bucket/key[?versionId=id], URL-encoded");
    std::string_view path = v, query;
    if (auto q = v.find('?'); q != std::string_view::npos) {
        path = v.substr(0, q);
        query = v.substr(q + 1);
    }
    if (!path.empty() && path[0] == '/') path.remove_prefix(1);
    auto decoded = percent_decode(path);
    if (!decoded) return bad;
    auto slash = decoded->find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == decoded->size()) return bad;
    Source s{decoded->substr(0, slash), decoded->substr(slash + 1), {}};
    if (!query.empty()) {
        auto params = parse_query(query);
        if (!params) return bad;
        for (const auto& [k, val] : *params) {
            if (k != "versionId") return bad;
            s.version = val;
        }
    }
    if (s.key.size() > 1024) return s3_error(Code::kKeyTooLongError, "Your key is too long");
    return s;
}

// x-amz-copy-source-if-*: any failure is 412 (CopyObject API reference).
Result<void> source_conditions(const Call& c, const store::ObjectInfo& src) {
    Conditions cond{c.req.header("x-amz-copy-source-if-match"),
                    c.req.header("x-amz-copy-source-if-none-match"),
                    c.req.header("x-amz-copy-source-if-modified-since"),
                    c.req.header("x-amz-copy-source-if-unmodified-since")};
    if (evaluate_conditions(cond, src.etag, src.last_modified) != Code::kNone)
        return s3_error(Code::kPreconditionFailed,
                        "At least one of the pre-conditions you specified did not hold");
    return {};
}

Result<store::ObjectInfo> source_info(Call& c, const Source& s) {
    MOAT_TRY(c.require(Action::kRead, s.bucket, s.key));
    auto info = c.store.head(s.bucket, s.key, s.version);
    if (!info) {
        auto r = store::reason_of(info.error());
        if (r == store::Reason::kDeleteMarker)
            return s3_error(s.version.empty() ? Code::kNoSuchKey : Code::kInvalidRequest,
                            "The copy source is a delete marker");
        return from_store(info.error());
    }
    MOAT_TRY(source_conditions(c, *info));
    return std::move(*info);
}

// x-amz-copy-source-range: "bytes=first-last", both given, first <= last < the source's size
// (UploadPartCopy API reference). Unlike a GET Range, a last byte past the end is an error,
// not clamped: the part would silently be shorter than the client asked for.
Result<std::pair<std::uint64_t, std::uint64_t>> copy_range(std::string_view v, std::uint64_t size) {
    Error bad = s3_error(Code::kInvalidArgument,
                         "The x-amz-copy-source-range value must be of the form bytes=first-last "
                         "where first and last are the zero-based offsets of the first and last "
                         "bytes to copy");
    if (v.substr(0, 6) != "bytes=") return bad;
    v.remove_prefix(6);
    auto dash = v.find('-');
    if (dash == std::string_view::npos) return bad;
    auto number = [](std::string_view t, std::uint64_t& out) {
        auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
        return !t.empty() && ec == std::errc() && p == t.data() + t.size();
    };
    std::uint64_t first = 0, last = 0;
    if (!number(v.substr(0, dash), first) || !number(v.substr(dash + 1), last) || first > last)
        return bad;
    if (last >= size)
        return s3_error(Code::kInvalidRange,
                        "Range specified is not valid for source object of "
                        "size: " +
                            std::to_string(size));
    return std::make_pair(first, last - first + 1);
}

}  // namespace

Result<void> copy_object(Call& c) {
    MOAT_TRY(c.require(Action::kWrite));
    MOAT_TRY(check_storage_headers(c.req));
    auto src = parse_copy_source(c.req.header("x-amz-copy-source"));
    if (!src) return src.error();
    auto directive = c.req.header("x-amz-metadata-directive");
    if (!directive.empty() && directive != "COPY" && directive != "REPLACE")
        return s3_error(Code::kInvalidArgument, "Unknown metadata directive.");
    bool replace = directive == "REPLACE";
    // Copying an object onto itself only makes sense when it changes the metadata.
    if (src->bucket == c.bucket() && src->key == c.key() && src->version.empty() && !replace)
        return s3_error(Code::kInvalidRequest,
                        "This copy request is illegal because it is trying to copy an object to "
                        "itself without changing the object's metadata, storage class, website "
                        "redirect location or encryption attributes.");
    auto info = source_info(c, *src);
    if (!info) return info.error();
    std::optional<store::ObjectAttributes> attrs;
    if (replace) {
        auto a = attributes_from(c.req);
        if (!a) return a.error();
        attrs = std::move(*a);
    }
    auto out = c.store.copy(src->bucket, src->key, info->version_id, c.bucket(), c.key(), attrs);
    if (!out) return from_store(out.error());
    c.version_id = out->version_id;
    c.object_size = out->size;
    edge::ServiceHeaders h;
    h.emplace_back("x-amz-server-side-encryption", "AES256");
    if (!out->version_id.empty() && out->version_id != "null")
        h.emplace_back("x-amz-version-id", out->version_id);
    if (!info->version_id.empty() && info->version_id != "null")
        h.emplace_back("x-amz-copy-source-version-id", info->version_id);
    XmlWriter w;
    w.open("CopyObjectResult", kS3Xmlns);
    w.leaf("LastModified", iso8601_ms(out->last_modified));
    w.leaf("ETag", quote_etag(out->etag));
    return c.send_xml(200, w.take(), std::move(h));
}

Result<void> upload_part_copy(Call& c) {
    MOAT_TRY(c.require(Action::kWrite));
    int number = 0;
    auto pn = c.route.param("partNumber");
    auto [p, ec] = std::from_chars(pn.data(), pn.data() + pn.size(), number);
    if (ec != std::errc() || p != pn.data() + pn.size() || number < 1 || number > 10000)
        return s3_error(Code::kInvalidArgument,
                        "Part number must be an integer between 1 and 10000, inclusive");
    auto src = parse_copy_source(c.req.header("x-amz-copy-source"));
    if (!src) return src.error();
    auto info = source_info(c, *src);
    if (!info) return info.error();
    std::uint64_t first = 0, length = info->size;
    if (auto range = c.req.header("x-amz-copy-source-range"); !range.empty()) {
        auto r = copy_range(range, info->size);
        if (!r) return r.error();
        first = r->first;
        length = r->second;
    }
    auto reader = c.store.open_object(src->bucket, src->key, info->version_id);
    if (!reader) return from_store(reader.error());
    ReaderBody body(**reader, first, length);
    auto part = c.store.put_part(c.bucket(), c.key(), c.route.param("uploadId"), number, body);
    if (!part) return from_store(part.error());
    edge::ServiceHeaders h;
    h.emplace_back("x-amz-server-side-encryption", "AES256");
    if (!info->version_id.empty() && info->version_id != "null")
        h.emplace_back("x-amz-copy-source-version-id", info->version_id);
    XmlWriter w;
    w.open("CopyPartResult", kS3Xmlns);
    w.leaf("LastModified", iso8601_ms(part->last_modified));
    w.leaf("ETag", quote_etag(part->etag));
    return c.send_xml(200, w.take(), std::move(h));
}

}  // namespace moat::s3::internal
