// DeleteObjects (POST /bucket?delete): up to 1000 keys in one request, each answered on its own.
#include "s3/error_response.h"
#include "s3/errors.h"
#include "s3/internal/ops.h"
#include "s3/xml.h"

namespace moat::s3::internal {
namespace {

struct Target {
    std::string key;
    std::string version;
};

Error malformed(std::string why) {
    return s3_error(Code::kMalformedXML,
                    "The XML you provided was not well-formed or did not validate against our "
                    "published schema (" +
                        why + ")");
}

Result<std::pair<bool, std::vector<Target>>> parse_delete(std::string_view doc) {
    auto x = parse_xml(doc);
    if (!x) return x.error();
    if (x->name != "Delete") return malformed("the root element must be Delete");
    bool quiet = false;
    std::vector<Target> out;
    for (const auto& n : x->children) {
        if (n.name == "Quiet") {
            if (n.text != "true" && n.text != "false") return malformed("Quiet must be a boolean");
            quiet = n.text == "true";
        } else if (n.name == "Object") {
            const XmlNode* k = n.child("Key");
            if (!k) return malformed("Object without Key");
            out.push_back({k->text, std::string(n.child_text("VersionId"))});
        } else {
            return malformed("unexpected element " + n.name);
        }
    }
    // DeleteObjects API: 1 to 1000 keys.
    if (out.empty() || out.size() > 1000) return malformed("Delete needs 1 to 1000 Objects");
    return std::make_pair(quiet, std::move(out));
}

}  // namespace

Result<void> delete_objects(Call& c) {
    MOAT_TRY(c.require_integrity_header());
    auto doc = c.read_document();
    if (!doc) return doc.error();
    auto parsed = parse_delete(*doc);
    if (!parsed) return parsed.error();
    auto& [quiet, targets] = *parsed;
    if (auto b = c.store.bucket(c.bucket()); !b) return from_store(b.error());

    XmlWriter w;
    w.open("DeleteResult", kS3Xmlns);
    for (const auto& t : targets) {
        Error err;
        bool failed = false;
        store::DeleteOutcome out;
        if (t.key.empty() || t.key.size() > 1024) {
            err = s3_error(Code::kInvalidArgument, "invalid key");
            failed = true;
        } else if (auto a = c.require(Action::kWrite, c.bucket(), t.key); !a) {
            err = a.error();
            failed = true;
        } else if (auto r = c.store.remove(c.bucket(), t.key, t.version); !r) {
            auto reason = store::reason_of(r.error());
            if (reason != store::Reason::kNoSuchKey && reason != store::Reason::kNoSuchVersion) {
                err = from_store(r.error());
                failed = true;
            }
        } else {
            out = *r;
        }
        if (failed) {
            w.open("Error");
            w.leaf("Key", t.key);
            if (!t.version.empty()) w.leaf("VersionId", t.version);
            w.leaf("Code", code_info(code_of(err)).name);
            w.leaf("Message", err.detail);
            w.close();
            continue;
        }
        if (quiet) continue;
        w.open("Deleted");
        w.leaf("Key", t.key);
        if (!t.version.empty()) w.leaf("VersionId", t.version);
        if (out.delete_marker) {
            w.leaf("DeleteMarker", "true");
            if (t.version.empty()) w.leaf("DeleteMarkerVersionId", out.version_id);
        }
        w.close();
    }
    return c.send_xml(200, w.take());
}

}  // namespace moat::s3::internal
