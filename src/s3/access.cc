#include "s3/access.h"

namespace moat::s3 {
namespace {

bool under(std::string_view key, std::string_view prefix) {
    return key.substr(0, prefix.size()) == prefix;
}

}  // namespace

bool internal_bucket(std::string_view bucket) { return bucket.substr(0, 5) == "moat-"; }

bool allowed(const std::vector<store::Grant>& grants, Action action, std::string_view bucket,
             std::string_view key) {
    const bool internal = internal_bucket(bucket);
    for (const auto& g : grants) {
        if (g.bucket == "*" ? internal : g.bucket != bucket) continue;
        switch (action) {
            case Action::kRead:
                if (g.read && under(key, g.prefix)) return true;
                break;
            case Action::kWrite:
                if (g.write && under(key, g.prefix)) return true;
                break;
            case Action::kList:
                if (g.list && under(key, g.prefix)) return true;
                break;
            case Action::kAdmin:
                if (g.write && g.prefix.empty()) return true;
                break;
            case Action::kSee:
                if (g.read || g.write || g.list) return true;
                break;
        }
    }
    return false;
}

}  // namespace moat::s3
