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

}  // namespace
}  // namespace moat::s3
