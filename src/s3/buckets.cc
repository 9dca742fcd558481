// Bucket operations: ListBuckets, Create/Delete/HeadBucket, GetBucketLocation, versioning,
// lifecycle and encryption configuration.
#include "s3/error_response.h"
#include "s3/errors.h"
#include "s3/internal/ops.h"
#include "s3/internal/text.h"
#include "s3/lifecycle_xml.h"
#include "s3/xml.h"

namespace moat::s3::internal {
namespace {

Error malformed(std::string why) {
    return s3_error(Code::kMalformedXML,
                    "The XML you provided was not well-formed or did not validate against our "
                    "published schema (" +
                        why + ")");
}

// Every bucket operation but CreateBucket names an existing bucket.
Result<store::BucketInfo> existing(Call& c) {
    auto b = c.store.bucket(c.bucket());
    if (!b) return from_store(b.error());
    return std::move(*b);
}

void owner(XmlWriter& w, const Call& c) {
    w.open("Owner");
    w.leaf("ID", c.auth.key.principal);
    w.leaf("DisplayName", c.auth.key.principal);
    w.close();
}

}  // namespace

Result<void> list_buckets(Call& c) {
    auto all = c.store.buckets();
    if (!all) return from_store(all.error());
    XmlWriter w;
    w.open("ListAllMyBucketsResult", kS3Xmlns);
    owner(w, c);
    w.open("Buckets");
    for (const auto& b : *all) {
        // A key sees the buckets it has a grant on, nothing more.
        if (!allowed(c.auth.key.grants, Action::kSee, b.name, "")) continue;
        w.open("Bucket");
        w.leaf("Name", b.name);
        w.leaf("CreationDate", iso8601_ms(b.created));
        w.close();
    }
    w.close();
    return c.send_xml(200, w.take());
}

Result<void> create_bucket(Call& c) {
    MOAT_TRY(c.require(Action::kAdmin, c.bucket(), ""));
    auto doc = c.read_document();
    if (!doc) return doc.error();
    if (!doc->empty()) {
        auto x = parse_xml(*doc);
        if (!x) return x.error();
        if (x->name != "CreateBucketConfiguration")
            return malformed("the root element must be CreateBucketConfiguration");
        auto loc = x->child_text("LocationConstraint");
        // us-east-1 is named by an empty constraint (GetBucketLocation answers the same).
        if (!loc.empty() && loc != c.settings.region)
            return s3_error(Code::kInvalidArgument,
                            "The specified location-constraint is not valid: this endpoint "
                            "serves " +
                                c.settings.region);
    }
    if (auto r = c.store.create_bucket(c.bucket()); !r) return from_store(r.error());
    return c.send_empty(200, {{"location", "/" + c.bucket()}});
}

Result<void> delete_bucket(Call& c) {
    MOAT_TRY(c.require(Action::kAdmin, c.bucket(), ""));
    if (auto r = c.store.delete_bucket(c.bucket()); !r) return from_store(r.error());
    return c.send_empty(204);
}

Result<void> head_bucket(Call& c) {
    MOAT_TRY(c.require(Action::kSee, c.bucket(), ""));
    auto b = existing(c);
    if (!b) return b.error();
    return c.send_empty(200, {{"x-amz-bucket-region", c.settings.region}});
}

Result<void> get_bucket_location(Call& c) {
    MOAT_TRY(c.require(Action::kSee, c.bucket(), ""));
    auto b = existing(c);
    if (!b) return b.error();
    // An empty LocationConstraint means us-east-1 (GetBucketLocation API reference).
    std::string body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LocationConstraint xmlns=\"";
    body += kS3Xmlns;
    body += "\">";
    if (c.settings.region != "us-east-1") xml_escape(body, c.settings.region);
    body += "</LocationConstraint>";
    return c.send_xml(200, body);
}

Result<void> get_bucket_versioning(Call& c) {
    MOAT_TRY(c.require(Action::kSee, c.bucket(), ""));
    auto b = existing(c);
    if (!b) return b.error();
    XmlWriter w;
    w.open("VersioningConfiguration", kS3Xmlns);
    // A bucket that was never versioned answers an empty configuration.
    if (b->versioning == store::Versioning::kEnabled) w.leaf("Status", "Enabled");
    if (b->versioning == store::Versioning::kSuspended) w.leaf("Status", "Suspended");
    return c.send_xml(200, w.take());
}

Result<void> put_bucket_versioning(Call& c) {
    MOAT_TRY(c.require(Action::kAdmin, c.bucket(), ""));
    auto doc = c.read_document();
    if (!doc) return doc.error();
    auto x = parse_xml(*doc);
    if (!x) return x.error();
    if (x->name != "VersioningConfiguration")
        return malformed("the root element must be VersioningConfiguration");
    if (x->child_text("MfaDelete") == "Enabled")
        return s3_error(Code::kNotImplemented, "MFA delete is not supported");
    auto status = x->child_text("Status");
    store::Versioning v;
    if (status == "Enabled")
        v = store::Versioning::kEnabled;
    else if (status == "Suspended")
        v = store::Versioning::kSuspended;
    else
        return malformed("Status must be Enabled or Suspended");
    if (auto r = c.store.set_versioning(c.bucket(), v); !r) return from_store(r.error());
    return c.send_empty(200);
}

Result<void> get_bucket_lifecycle(Call& c) {
    MOAT_TRY(c.require(Action::kSee, c.bucket(), ""));
    auto rules = c.store.lifecycle(c.bucket());
    if (!rules) return from_store(rules.error());
    if (rules->empty())
        return s3_error(Code::kNoSuchLifecycleConfiguration,
                        "The lifecycle configuration does not exist");
    return c.send_xml(200, render_lifecycle(*rules));
}

Result<void> put_bucket_lifecycle(Call& c) {
    MOAT_TRY(c.require(Action::kAdmin, c.bucket(), ""));
    MOAT_TRY(c.require_integrity_header());
    auto doc = c.read_document();
    if (!doc) return doc.error();
    auto rules = parse_lifecycle(*doc);
    if (!rules) return rules.error();
    if (auto r = c.store.set_lifecycle(c.bucket(), std::move(*rules)); !r)
        return from_store(r.error());
    return c.send_empty(200);
}

Result<void> delete_bucket_lifecycle(Call& c) {
    MOAT_TRY(c.require(Action::kAdmin, c.bucket(), ""));
    if (auto r = c.store.set_lifecycle(c.bucket(), {}); !r) return from_store(r.error());
    return c.send_empty(204);
}

Result<void> get_bucket_encryption(Call& c) {
    MOAT_TRY(c.require(Action::kSee, c.bucket(), ""));
    auto b = existing(c);
    if (!b) return b.error();
    // Every object is encrypted at rest with a per-object key (SSE-S3), whatever was asked.
    XmlWriter w;
    w.open("ServerSideEncryptionConfiguration", kS3Xmlns);
    w.open("Rule");
    w.open("ApplyServerSideEncryptionByDefault");
    w.leaf("SSEAlgorithm", "AES256");
    w.close();
    w.leaf("BucketKeyEnabled", "false");
    w.close();
    return c.send_xml(200, w.take());
}

Result<void> put_bucket_encryption(Call& c) {
    MOAT_TRY(c.require(Action::kAdmin, c.bucket(), ""));
    auto doc = c.read_document();
    if (!doc) return doc.error();
    auto x = parse_xml(*doc);
    if (!x) return x.error();
    if (x->name != "ServerSideEncryptionConfiguration")
        return malformed("the root element must be ServerSideEncryptionConfiguration");
    for (const auto& rule : x->children) {
        const XmlNode* d = rule.child("ApplyServerSideEncryptionByDefault");
        if (rule.name != "Rule" || !d)
            return malformed("expected Rule/ApplyServerSideEncryptionByDefault");
        if (d->child_text("SSEAlgorithm") != "AES256")
            return s3_error(Code::kNotImplemented,
                            "only SSEAlgorithm AES256 (SSE-S3) is supported, and always on");
    }
    auto b = existing(c);
    if (!b) return b.error();
    return c.send_empty(200);
}

}  // namespace moat::s3::internal
