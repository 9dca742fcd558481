// Listings: ListObjects (v1), ListObjectsV2, ListObjectVersions, ListMultipartUploads.
#include <algorithm>
#include <charconv>

#include "s3/error_response.h"
#include "s3/errors.h"
#include "s3/internal/ops.h"
#include "s3/internal/text.h"
#include "s3/xml.h"

namespace moat::s3::internal {
namespace {

// max-keys / max-uploads: 0..1000; larger asks are capped at 1000 as S3 does.
Result<int> max_param(const Call& c, std::string_view name) {
    if (!c.route.has(name)) return 1000;
    auto v = c.route.param(name);
    long long n = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (v.empty() || ec != std::errc() || p != v.data() + v.size() || n < 0)
        return s3_error(Code::kInvalidArgument,
                        std::string(name) + " must be a non-negative integer");
    return static_cast<int>(std::min<long long>(n, 1000));
}

// encoding-type=url: keys and prefixes go out percent-encoded (botocore always asks for it
// and decodes, so keys with spaces, '+' or control characters survive the XML).
struct Encoder {
    bool url = false;
    std::string operator()(std::string_view s) const {
        return url ? uri_encode(s, true) : std::string(s);
    }
};

Result<Encoder> encoder(const Call& c) {
    Encoder e;
    if (!c.route.has("encoding-type")) return e;
    if (c.route.param("encoding-type") != "url")
        return s3_error(Code::kInvalidArgument, "Invalid Encoding Method specified in Request");
    e.url = true;
    return e;
}

// What every listing starts with: its prefix (the List permission is checked against it), the
// key encoding and the page size, from the parameter `max_name`.
struct Listing {
    std::string prefix;
    Encoder enc;
    int max = 0;
};

Result<Listing> start_listing(Call& c, std::string_view max_name) {
    Listing l;
    l.prefix = std::string(c.route.param("prefix"));
    MOAT_TRY(c.require(Action::kList, c.bucket(), l.prefix));
    auto enc = encoder(c);
    if (!enc) return enc.error();
    auto max = max_param(c, max_name);
    if (!max) return max.error();
    l.enc = *enc;
    l.max = *max;
    return l;
}

// <Owner> or <Initiator>: the caller's principal, the only identity moat has.
void principal(XmlWriter& w, const Call& c, const char* element = "Owner") {
    w.open(element);
    w.leaf("ID", c.auth.key.principal);
    w.leaf("DisplayName", c.auth.key.principal);
    w.close();
}

// The page fields every listing sends after its markers, in S3's order: MaxKeys (MaxUploads),
// Delimiter (when given), EncodingType, IsTruncated.
void page_fields(XmlWriter& w, const char* max_element, int max, std::string_view delimiter,
                 const Encoder& enc, bool truncated) {
    w.leaf(max_element, std::to_string(max));
    if (!delimiter.empty()) w.leaf("Delimiter", enc(delimiter));
    if (enc.url) w.leaf("EncodingType", "url");
    w.leaf("IsTruncated", truncated ? "true" : "false");
}

void contents(XmlWriter& w, const Call& c, const Encoder& enc, const store::ObjectInfo& o,
              bool with_owner) {
    w.open("Contents");
    w.leaf("Key", enc(o.key));
    w.leaf("LastModified", iso8601_ms(o.last_modified));
    w.leaf("ETag", quote_etag(o.etag));
    w.leaf("Size", std::to_string(o.size));
    if (with_owner) principal(w, c);
    w.leaf("StorageClass", "STANDARD");
    w.close();
}

void common_prefixes(XmlWriter& w, const Encoder& enc, const std::vector<std::string>& ps) {
    for (const auto& p : ps) {
        w.open("CommonPrefixes");
        w.leaf("Prefix", enc(p));
        w.close();
    }
}

}  // namespace

Result<void> list_objects(Call& c) {
    bool v2 = c.route.op == Op::kListObjectsV2;
    auto l = start_listing(c, "max-keys");
    if (!l) return l.error();
    const Encoder& enc = l->enc;
    store::ListQuery q;
    q.prefix = l->prefix;
    q.delimiter = std::string(c.route.param("delimiter"));
    q.max_keys = l->max;
    if (v2) {
        if (c.route.has("continuation-token")) {
            // Our tokens are the hex of the last key or prefix returned: opaque to clients.
            auto after = hex_decode(c.route.param("continuation-token"));
            if (!after || c.route.param("continuation-token").empty())
                return s3_error(Code::kInvalidArgument,
                                "The continuation token provided is incorrect");
            q.after = std::move(*after);
        } else {
            q.after = std::string(c.route.param("start-after"));
        }
    } else {
        q.after = std::string(c.route.param("marker"));
    }
    auto page = c.store.list(c.bucket(), q);
    if (!page) return from_store(page.error());

    XmlWriter w;
    w.open("ListBucketResult", kS3Xmlns);
    w.leaf("Name", c.bucket());
    w.leaf("Prefix", enc(l->prefix));
    if (v2) {
        if (c.route.has("continuation-token"))
            w.leaf("ContinuationToken", c.route.param("continuation-token"));
        if (c.route.has("start-after")) w.leaf("StartAfter", enc(c.route.param("start-after")));
        w.leaf("KeyCount", std::to_string(page->objects.size() + page->common_prefixes.size()));
    } else {
        w.leaf("Marker", enc(c.route.param("marker")));
        // NextMarker only with a delimiter; without one clients continue from the last key.
        if (page->truncated && !q.delimiter.empty()) w.leaf("NextMarker", enc(page->next_after));
    }
    page_fields(w, "MaxKeys", l->max, q.delimiter, enc, page->truncated);
    if (v2 && page->truncated) w.leaf("NextContinuationToken", hex_encode(page->next_after));
    bool with_owner = !v2 || c.route.param("fetch-owner") == "true";
    for (const auto& o : page->objects) contents(w, c, enc, o, with_owner);
    common_prefixes(w, enc, page->common_prefixes);
    return c.send_xml(200, w.take());
}

Result<void> list_object_versions(Call& c) {
    auto l = start_listing(c, "max-keys");
    if (!l) return l.error();
    const Encoder& enc = l->enc;
    store::VersionQuery q;
    q.prefix = l->prefix;
    q.delimiter = std::string(c.route.param("delimiter"));
    q.key_marker = std::string(c.route.param("key-marker"));
    q.version_id_marker = std::string(c.route.param("version-id-marker"));
    q.max_keys = l->max;
    if (!q.version_id_marker.empty() && q.key_marker.empty())
        return s3_error(Code::kInvalidArgument,
                        "A version-id marker cannot be specified without a key marker.");
    auto page = c.store.list_versions(c.bucket(), q);
    if (!page) return from_store(page.error());

    XmlWriter w;
    w.open("ListVersionsResult", kS3Xmlns);
    w.leaf("Name", c.bucket());
    w.leaf("Prefix", enc(l->prefix));
    w.leaf("KeyMarker", enc(q.key_marker));
    w.leaf("VersionIdMarker", q.version_id_marker);
    if (page->truncated) {
        w.leaf("NextKeyMarker", enc(page->next_key_marker));
        w.leaf("NextVersionIdMarker", page->next_version_id_marker);
    }
    page_fields(w, "MaxKeys", l->max, q.delimiter, enc, page->truncated);
    for (const auto& v : page->versions) {
        w.open(v.delete_marker ? "DeleteMarker" : "Version");
        w.leaf("Key", enc(v.key));
        w.leaf("VersionId", v.version_id);
        w.leaf("IsLatest", v.is_latest ? "true" : "false");
        w.leaf("LastModified", iso8601_ms(v.last_modified));
        if (!v.delete_marker) {
            w.leaf("ETag", quote_etag(v.etag));
            w.leaf("Size", std::to_string(v.size));
            w.leaf("StorageClass", "STANDARD");
        }
        principal(w, c);
        w.close();
    }
    common_prefixes(w, enc, page->common_prefixes);
    return c.send_xml(200, w.take());
}

Result<void> list_multipart_uploads(Call& c) {
    auto l = start_listing(c, "max-uploads");
    if (!l) return l.error();
    const Encoder& enc = l->enc;
    auto ups = c.store.list_uploads(c.bucket(), l->prefix);
    if (!ups) return from_store(ups.error());
    std::string key_marker(c.route.param("key-marker"));
    std::string id_marker(c.route.param("upload-id-marker"));
    auto& all = *ups;
    std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
        return a.key != b.key ? a.key < b.key : a.initiated < b.initiated;
    });
    // Uploads after (key-marker, upload-id-marker); a key-marker alone skips that whole key.
    std::size_t i = 0;
    if (!key_marker.empty()) {
        while (i < all.size() && all[i].key < key_marker) ++i;
        if (id_marker.empty()) {
            while (i < all.size() && all[i].key == key_marker) ++i;
        } else {
            std::size_t j = i;
            while (j < all.size() && all[j].key == key_marker && all[j].upload_id != id_marker) ++j;
            if (j < all.size() && all[j].key == key_marker) i = j + 1;
        }
    }
    XmlWriter w;
    w.open("ListMultipartUploadsResult", kS3Xmlns);
    w.leaf("Bucket", c.bucket());
    w.leaf("KeyMarker", enc(key_marker));
    w.leaf("UploadIdMarker", id_marker);
    std::size_t end = std::min(all.size(), i + static_cast<std::size_t>(l->max));
    bool truncated = end < all.size();
    if (truncated && end > i) {
        w.leaf("NextKeyMarker", enc(all[end - 1].key));
        w.leaf("NextUploadIdMarker", all[end - 1].upload_id);
    }
    w.leaf("Prefix", enc(l->prefix));
    page_fields(w, "MaxUploads", l->max, "", enc, truncated);
    for (std::size_t k = i; k < end; ++k) {
        w.open("Upload");
        w.leaf("Key", enc(all[k].key));
        w.leaf("UploadId", all[k].upload_id);
        principal(w, c, "Initiator");
        principal(w, c);
        w.leaf("StorageClass", "STANDARD");
        w.leaf("Initiated", iso8601_ms(all[k].initiated));
        w.close();
    }
    return c.send_xml(200, w.take());
}

}  // namespace moat::s3::internal
