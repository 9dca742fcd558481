#include "s3/lifecycle_xml.h"

#include <charconv>
#include <set>

#include "s3/errors.h"
#include "s3/xml.h"

namespace moat::s3 {
namespace {

Error invalid(std::string why) { return s3_error(Code::kInvalidArgument, std::move(why)); }
Error malformed(std::string why) {
    return s3_error(Code::kMalformedXML,
                    "The XML you provided was not well-formed or did not validate against our "
                    "published schema (" +
                        why + ")");
}

// A positive day count (S3 allows up to 2^31-1).
Result<int> days(const XmlNode& n, std::string_view what, int min) {
    int v = 0;
    const char* b = n.text.data();
    const char* e = b + n.text.size();
    auto [p, ec] = std::from_chars(b, e, v);
    if (ec != std::errc() || p != e || n.text.empty())
        return malformed(std::string(what) + " is not an integer");
    if (v < min) return invalid(std::string(what) + " must be at least " + std::to_string(min));
    return v;
}

Result<void> read_filter(const XmlNode& rule, store::LifecycleRule& out) {
    const XmlNode* filter = rule.child("Filter");
    const XmlNode* legacy = rule.child("Prefix");
    if (filter && legacy) return malformed("Rule has both Filter and Prefix");
    if (legacy) {
        out.prefix = legacy->text;
        return {};
    }
    if (!filter) return {};  // no filter: the whole bucket
    if (filter->child("Tag"))
        return s3_error(Code::kNotImplemented, "Tag filters are not supported");
    if (filter->child("ObjectSizeGreaterThan") || filter->child("ObjectSizeLessThan"))
        return s3_error(Code::kNotImplemented, "ObjectSize filters are not supported");
    if (const XmlNode* a = filter->child("And")) {
        if (a->child("Tag") || a->child("ObjectSizeGreaterThan") || a->child("ObjectSizeLessThan"))
            return s3_error(Code::kNotImplemented, "Tag and ObjectSize filters are not supported");
        out.prefix = std::string(a->child_text("Prefix"));
        if (filter->child("Prefix")) return malformed("Filter has both And and Prefix");
        return {};
    }
    out.prefix = std::string(filter->child_text("Prefix"));
    return {};
}

Result<store::LifecycleRule> read_rule(const XmlNode& n) {
    store::LifecycleRule r;
    r.id = std::string(n.child_text("ID"));
    if (r.id.size() > 255) return invalid("ID is longer than 255 characters");
    std::string_view status = n.child_text("Status");
    if (status == "Enabled")
        r.enabled = true;
    else if (status == "Disabled")
        r.enabled = false;
    else
        return malformed("Status must be Enabled or Disabled");
    MOAT_TRY(read_filter(n, r));
    if (n.child("Transition") || n.child("NoncurrentVersionTransition"))
        return s3_error(Code::kNotImplemented,
                        "Transitions are not supported: moat has one "
                        "storage class");
    if (const XmlNode* e = n.child("Expiration")) {
        if (e->child("Date"))
            return s3_error(Code::kNotImplemented, "Expiration Date is not supported; use Days");
        const XmlNode* d = e->child("Days");
        const XmlNode* m = e->child("ExpiredObjectDeleteMarker");
        if (d && m)
            return invalid("ExpiredObjectDeleteMarker cannot be specified with Days or Date");
        if (d) {
            auto v = days(*d, "Days", 1);
            if (!v) return v.error();
            r.expiration_days = *v;
        } else if (m) {
            if (m->text != "true" && m->text != "false")
                return malformed("ExpiredObjectDeleteMarker must be true or false");
            r.expired_object_delete_marker = m->text == "true";
        } else {
            return malformed("Expiration needs Days or ExpiredObjectDeleteMarker");
        }
    }
    if (const XmlNode* e = n.child("NoncurrentVersionExpiration")) {
        const XmlNode* d = e->child("NoncurrentDays");
        if (!d) return malformed("NoncurrentVersionExpiration needs NoncurrentDays");
        auto v = days(*d, "NoncurrentDays", 1);
        if (!v) return v.error();
        r.noncurrent_days = *v;
        if (const XmlNode* k = e->child("NewerNoncurrentVersions")) {
            auto nv = days(*k, "NewerNoncurrentVersions", 1);
            if (!nv) return nv.error();
            if (*nv > 100) return invalid("NewerNoncurrentVersions must be at most 100");
            r.newer_noncurrent_versions = *nv;
        }
    }
    if (const XmlNode* e = n.child("AbortIncompleteMultipartUpload")) {
        const XmlNode* d = e->child("DaysAfterInitiation");
        if (!d) return malformed("AbortIncompleteMultipartUpload needs DaysAfterInitiation");
        auto v = days(*d, "DaysAfterInitiation", 1);
        if (!v) return v.error();
        r.abort_multipart_days = *v;
    }
    if (!r.expiration_days && !r.expired_object_delete_marker && !r.noncurrent_days &&
        !r.abort_multipart_days)
        return invalid("At least one action needs to be specified in a rule");
    return r;
}

}  // namespace

Result<std::vector<store::LifecycleRule>> parse_lifecycle(std::string_view doc) {
    auto root = parse_xml(doc);
    if (!root) return root.error();
    if (root->name != "LifecycleConfiguration")
        return malformed("the root element must be LifecycleConfiguration");
    std::vector<store::LifecycleRule> rules;
    std::set<std::string> ids;
    for (const auto& c : root->children) {
        if (c.name != "Rule") return malformed("unexpected element " + c.name);
        if (rules.size() == 1000) return invalid("at most 1000 rules are allowed");
        auto r = read_rule(c);
        if (!r) return r.error();
        if (!r->id.empty() && !ids.insert(r->id).second)
            return invalid("Rule ID must be unique. Found same ID for more than one rule");
        rules.push_back(std::move(*r));
    }
    if (rules.empty()) return malformed("a configuration needs at least one Rule");
    return rules;
}

std::string render_lifecycle(const std::vector<store::LifecycleRule>& rules) {
    XmlWriter w;
    w.open("LifecycleConfiguration", kS3Xmlns);
    for (const auto& r : rules) {
        w.open("Rule");
        if (!r.id.empty()) w.leaf("ID", r.id);
        w.open("Filter");
        w.leaf("Prefix", r.prefix);
        w.close();
        w.leaf("Status", r.enabled ? "Enabled" : "Disabled");
        if (r.expiration_days || r.expired_object_delete_marker) {
            w.open("Expiration");
            if (r.expiration_days)
                w.leaf("Days", std::to_string(*r.expiration_days));
            else
                w.leaf("ExpiredObjectDeleteMarker", "true");
            w.close();
        }
        if (r.noncurrent_days) {
            w.open("NoncurrentVersionExpiration");
            w.leaf("NoncurrentDays", std::to_string(*r.noncurrent_days));
            if (r.newer_noncurrent_versions)
                w.leaf("NewerNoncurrentVersions", std::to_string(*r.newer_noncurrent_versions));
            w.close();
        }
        if (r.abort_multipart_days) {
            w.open("AbortIncompleteMultipartUpload");
            w.leaf("DaysAfterInitiation", std::to_string(*r.abort_multipart_days));
            w.close();
        }
        w.close();
    }
    return w.take();
}

}  // namespace moat::s3
