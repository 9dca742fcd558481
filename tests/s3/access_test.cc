#include "s3/access.h"

#include <gtest/gtest.h>

namespace moat::s3 {
namespace {

std::vector<store::Grant> demo() {
    return {{"content", "", true, true, true},
            {"logs", "", true, false, true},
            {"other", "team/", true, true, false}};
}

TEST(Access, FollowsGrants) {
    auto g = demo();
    EXPECT_TRUE(allowed(g, Action::kWrite, "content", "testing/a.html"));
    EXPECT_TRUE(allowed(g, Action::kAdmin, "content", ""));
    EXPECT_TRUE(allowed(g, Action::kRead, "logs", "x"));
    EXPECT_FALSE(allowed(g, Action::kWrite, "logs", "x"));
    EXPECT_FALSE(allowed(g, Action::kAdmin, "logs", ""));
    EXPECT_TRUE(allowed(g, Action::kList, "logs", ""));
    EXPECT_FALSE(allowed(g, Action::kRead, "secret", "x"));
    EXPECT_FALSE(allowed(g, Action::kSee, "secret", ""));
    // Prefix grants: only keys under the prefix, no bucket administration, no listing.
    EXPECT_TRUE(allowed(g, Action::kWrite, "other", "team/a"));
    EXPECT_FALSE(allowed(g, Action::kWrite, "other", "teamx"));
    EXPECT_FALSE(allowed(g, Action::kAdmin, "other", ""));
    EXPECT_FALSE(allowed(g, Action::kList, "other", "team/"));
    EXPECT_TRUE(allowed(g, Action::kSee, "other", ""));
    EXPECT_FALSE(allowed({}, Action::kRead, "content", "x"));
}

TEST(Access, ListingsStayUnderThePrefix) {
    std::vector<store::Grant> g{{"b", "pub/", false, false, true}};
    EXPECT_TRUE(allowed(g, Action::kList, "b", "pub/"));
    EXPECT_TRUE(allowed(g, Action::kList, "b", "pub/x"));
    EXPECT_FALSE(allowed(g, Action::kList, "b", ""));
    EXPECT_FALSE(allowed(g, Action::kList, "b", "pu"));
    std::vector<store::Grant> all{{"*", "", true, true, true}};
    EXPECT_TRUE(allowed(all, Action::kAdmin, "anything", ""));
}

TEST(Access, StarDoesNotReachMoatsOwnBuckets) {
    std::vector<store::Grant> all{{"*", "", true, true, true}};
    for (auto b : {"moat-acme", "moat-releases", "moat-anything"}) {
        EXPECT_FALSE(allowed(all, Action::kRead, b, "account.key")) << b;
        EXPECT_FALSE(allowed(all, Action::kList, b, "")) << b;
        EXPECT_FALSE(allowed(all, Action::kWrite, b, "x")) << b;
        EXPECT_FALSE(allowed(all, Action::kAdmin, b, "")) << b;
        EXPECT_FALSE(allowed(all, Action::kSee, b, "")) << b;
    }
    EXPECT_TRUE(allowed(all, Action::kRead, "moatx", "k"));  // only the "moat-" prefix
    // A grant that names the bucket still works (an operator's deliberate choice).
    std::vector<store::Grant> named{{"moat-releases", "", true, false, true}};
    EXPECT_TRUE(allowed(named, Action::kRead, "moat-releases", "v/x"));
    EXPECT_FALSE(allowed(named, Action::kRead, "moat-acme", "account.key"));
}

}  // namespace
}  // namespace moat::s3
