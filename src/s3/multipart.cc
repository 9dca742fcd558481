// Multipart uploads: Create, UploadPart, Complete, Abort, ListParts.
#include <algorithm>
#include <charconv>

#include "s3/error_response.h"
#include "s3/errors.h"
#include "s3/internal/ops.h"
#include "s3/internal/text.h"
#include "s3/xml.h"

namespace moat::s3::internal {
namespace {

Error malformed(std::string why) {
    return s3_error(Code::kMalformedXML,
                    "The XML you provided was not well-formed or did not validate against our "
                    "published schema (" +
                        why + ")");
}

bool parse_int(std::string_view v, long long& out) {
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    return !v.empty() && ec == std::errc() && p == v.data() + v.size();
}

Result<int> part_number(const Call& c) {
    long long n = 0;
    if (!parse_int(c.route.param("partNumber"), n) || n < 1 || n > 10000)
        return s3_error(Code::kInvalidArgument,
                        "Part number must be an integer between 1 and 10000, inclusive");
    return static_cast<int>(n);
}

// CompleteMultipartUpload: Part{PartNumber, ETag} in ascending part order (else
// InvalidPartOrder), 1 to 10000 of them.
Result<std::vector<std::pair<int, std::string>>> parse_complete(std::string_view doc) {
    XmlLimits lim;
    lim.max_elements = 4 * 10000 + 16;  // Part, PartNumber, ETag and a checksum per part
    auto x = parse_xml(doc, lim);
    if (!x) return x.error();
    if (x->name != "CompleteMultipartUpload")
        return malformed("the root element must be CompleteMultipartUpload");
    std::vector<std::pair<int, std::string>> parts;
    for (const auto& p : x->children) {
        if (p.name != "Part") return malformed("unexpected element " + p.name);
        long long n = 0;
        if (!parse_int(p.child_text("PartNumber"), n) || n < 1 || n > 10000)
            return malformed("PartNumber must be 1 to 10000");
        const XmlNode* etag = p.child("ETag");
        if (!etag) return malformed("Part without ETag");
        if (!parts.empty() && n <= parts.back().first)
            return s3_error(Code::kInvalidPartOrder,
                            "The list of parts was not in ascending order. The parts list must be "
                            "specified in order by part number.");
        parts.emplace_back(static_cast<int>(n), std::string(unquote_etag(etag->text)));
    }
    if (parts.empty()) return malformed("You must specify at least one part");
    return parts;
}

// CompleteMultipartUpload's conditional write (store.md §1.5): If-None-Match: * (create only)
// and If-Match: "<etag>" (replace only that version), both checked by the store inside the
// commit, so an upload racing another writer cannot overwrite it unseen. AWS takes no other
// forms here.
Result<store::PutOptions> complete_conditions(const Call& c) {
    store::PutOptions cond;
    auto inm = c.req.header("if-none-match");
    auto im = c.req.header("if-match");
    if (inm == "*")
        cond.if_none_match_any = true;
    else if (!inm.empty())
        return s3_error(Code::kNotImplemented,
                        "CompleteMultipartUpload takes If-None-Match: * only");
    if (!im.empty()) {
        auto etag = unquote_etag(im);
        if (etag.empty() || etag == "*" || etag.find_first_of(",\"") != std::string_view::npos)
            return s3_error(Code::kNotImplemented,
                            "CompleteMultipartUpload takes one ETag in If-Match");
        cond.if_match_etag = std::string(etag);
    }
    return cond;
}

}  // namespace

Result<void> create_multipart_upload(Call& c) {
    MOAT_TRY(c.require(Action::kWrite));
    MOAT_TRY(check_storage_headers(c.req));
    auto attrs = attributes_from(c.req);
    if (!attrs) return attrs.error();
    auto id = c.store.create_upload(c.bucket(), c.key(), *attrs);
    if (!id) return from_store(id.error());
    XmlWriter w;
    w.open("InitiateMultipartUploadResult", kS3Xmlns);
    w.leaf("Bucket", c.bucket());
    w.leaf("Key", c.key());
    w.leaf("UploadId", *id);
    return c.send_xml(200, w.take(), {{"x-amz-server-side-encryption", "AES256"}});
}

Result<void> upload_part(Call& c) {
    MOAT_TRY(c.require(Action::kWrite));
    auto n = part_number(c);
    if (!n) return n.error();
    auto body = c.body();
    TrackedBody tracked(*body);
    auto part = c.store.put_part(c.bucket(), c.key(), c.route.param("uploadId"), *n, tracked);
    if (!part) return tracked.failure(part.error());
    edge::ServiceHeaders h;
    h.emplace_back("etag", quote_etag(part->etag));
    h.emplace_back("x-amz-server-side-encryption", "AES256");
    for (const auto& cs : body->checksums())
        h.emplace_back("x-amz-checksum-" + cs.first, cs.second);
    return c.send_empty(200, std::move(h));
}

Result<void> complete_multipart_upload(Call& c) {
    MOAT_TRY(c.require(Action::kWrite));
    auto doc = c.read_document(8 << 20);  // 10000 parts of ~100 bytes each
    if (!doc) return doc.error();
    auto parts = parse_complete(*doc);
    if (!parts) return parts.error();
    auto cond = complete_conditions(c);
    if (!cond) return cond.error();
    auto info =
        c.store.complete_upload_if(c.bucket(), c.key(), c.route.param("uploadId"), *parts, *cond);
    if (!info) return from_store(info.error());
    c.version_id = info->version_id;
    c.object_size = info->size;
    edge::ServiceHeaders h;
    h.emplace_back("x-amz-server-side-encryption", "AES256");
    if (!info->version_id.empty() && info->version_id != "null")
        h.emplace_back("x-amz-version-id", info->version_id);
    XmlWriter w;
    w.open("CompleteMultipartUploadResult", kS3Xmlns);
    std::string host(c.req.header("host"));
    w.leaf("Location", "https://" + host + "/" + uri_encode(c.bucket(), false) + "/" +
                           uri_encode(c.key(), true));
    w.leaf("Bucket", c.bucket());
    w.leaf("Key", c.key());
    w.leaf("ETag", quote_etag(info->etag));
    return c.send_xml(200, w.take(), std::move(h));
}

Result<void> abort_multipart_upload(Call& c) {
    MOAT_TRY(c.require(Action::kWrite));
    if (auto r = c.store.abort_upload(c.bucket(), c.key(), c.route.param("uploadId")); !r)
        return from_store(r.error());
    return c.send_empty(204);
}

Result<void> list_parts(Call& c) {
    // The uploader (write) or a lister may see an upload's parts.
    if (!allowed(c.auth.key.grants, Action::kWrite, c.bucket(), c.key()))
        MOAT_TRY(c.require(Action::kList, c.bucket(), c.key()));
    auto parts = c.store.list_parts(c.bucket(), c.key(), c.route.param("uploadId"));
    if (!parts) return from_store(parts.error());
    long long marker = 0, max = 1000;
    if (c.route.has("part-number-marker") &&
        !parse_int(c.route.param("part-number-marker"), marker))
        return s3_error(Code::kInvalidArgument, "part-number-marker must be an integer");
    if (c.route.has("max-parts") && (!parse_int(c.route.param("max-parts"), max) || max < 0))
        return s3_error(Code::kInvalidArgument, "max-parts must be a non-negative integer");
    max = std::min<long long>(max, 1000);
    auto& all = *parts;
    std::sort(all.begin(), all.end(),
              [](const auto& a, const auto& b) { return a.number < b.number; });
    XmlWriter w;
    w.open("ListPartsResult", kS3Xmlns);
    w.leaf("Bucket", c.bucket());
    w.leaf("Key", c.key());
    w.leaf("UploadId", c.route.param("uploadId"));
    w.open("Initiator");
    w.leaf("ID", c.auth.key.principal);
    w.leaf("DisplayName", c.auth.key.principal);
    w.close();
    w.open("Owner");
    w.leaf("ID", c.auth.key.principal);
    w.leaf("DisplayName", c.auth.key.principal);
    w.close();
    w.leaf("StorageClass", "STANDARD");
    w.leaf("PartNumberMarker", std::to_string(marker));
    std::vector<const store::PartInfo*> page;
    bool truncated = false;
    for (const auto& p : all) {
        if (p.number <= marker) continue;
        if (static_cast<long long>(page.size()) == max) {
            truncated = true;
            break;
        }
        page.push_back(&p);
    }
    if (truncated && !page.empty())
        w.leaf("NextPartNumberMarker", std::to_string(page.back()->number));
    w.leaf("MaxParts", std::to_string(max));
    w.leaf("IsTruncated", truncated ? "true" : "false");
    for (const auto* p : page) {
        w.open("Part");
        w.leaf("PartNumber", std::to_string(p->number));
        w.leaf("LastModified", iso8601_ms(p->last_modified));
        w.leaf("ETag", quote_etag(p->etag));
        w.leaf("Size", std::to_string(p->size));
        w.close();
    }
    return c.send_xml(200, w.take());
}

}  // namespace moat::s3::internal
