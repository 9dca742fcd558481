#include <gtest/gtest.h>

#include "test_util.h"

namespace moat::store {
namespace {

TEST(AccessKeys, CreateFindListDeleteAndSealedAtRest) {
    testing::TempDir dir;
    std::string secret, id;
    {
        auto st = Store::open(testing::settings_for(dir.path()));
        ASSERT_TRUE(st);
        Store& s = **st;
        auto k = s.create_key("deployer", {Grant{"content", "testing/", true, true, true},
                                           Grant{"*", "", true, false, false}});
        ASSERT_TRUE(k) << k.error().detail;
        EXPECT_EQ(k->access_key_id.size(), 20u);
        EXPECT_EQ(k->access_key_id.substr(0, 4), "MOAT");
        for (char c : k->access_key_id) EXPECT_TRUE(std::isupper(c) || std::isdigit(c));
        EXPECT_EQ(k->secret.size(), 40u);
        secret = k->secret;
        id = k->access_key_id;
        auto f = s.find_key(id);
        ASSERT_TRUE(f);
        EXPECT_EQ(f->secret, secret);
        EXPECT_EQ(f->principal, "deployer");
        ASSERT_EQ(f->grants.size(), 2u);
        EXPECT_EQ(f->grants[0].prefix, "testing/");
        EXPECT_TRUE(f->grants[0].write);
        EXPECT_FALSE(f->grants[1].write);
        auto all = s.keys();
        ASSERT_EQ(all->size(), 1u);
        EXPECT_TRUE((*all)[0].secret.empty());
        EXPECT_EQ(s.find_key("MOATNOPE").error().code, Errc::kNotFound);
        EXPECT_FALSE(s.create_key("", {}));
        EXPECT_FALSE(s.create_key("x", {Grant{"Bad_Bucket", "", true, false, false}}));
        EXPECT_FALSE(s.create_key("x", {Grant{"content", "", false, false, false}}));
    }
    for (const char* f : {"/meta.db", "/meta.db-wal"}) {
        std::string bytes = testing::file_bytes(dir.path() + f);
        EXPECT_EQ(bytes.find(secret), std::string::npos) << f;
    }
    auto st = Store::open(testing::settings_for(dir.path()));
    ASSERT_TRUE(st);
    EXPECT_EQ((*st)->find_key(id)->secret, secret);
    ASSERT_TRUE((*st)->delete_key(id));
    EXPECT_EQ((*st)->delete_key(id).error().code, Errc::kNotFound);
}

}  // namespace
}  // namespace moat::store
