#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "test_util.h"

namespace moat::store {
namespace {

TEST(Concurrency, ManyThreadsPutReadListAndDeleteAtOnce) {
    testing::TempDir dir;
    auto st = Store::open(testing::settings_for(dir.path()));
    ASSERT_TRUE(st);
    Store& s = **st;
    ASSERT_TRUE(s.create_bucket("conc"));
    ASSERT_TRUE(s.set_versioning("conc", Versioning::kEnabled));
    constexpr int kThreads = 8, kEach = 25;
    std::atomic<int> failures{0};
    std::vector<std::thread> ts;
    for (int t = 0; t < kThreads; ++t) {
        ts.emplace_back([&, t] {
            for (int i = 0; i < kEach; ++i) {
                // Sizes straddle the inline limit; every 5th object has the same bytes (dedup).
                std::string data =
                    i % 5 == 0 ? std::string(40000, 'd')
                               : testing::random_data(100 + (i * 997 % 60000), t * 1000 + i);
                std::string key = "t" + std::to_string(t) + "/" + std::to_string(i);
                testing::StringBody b(data, 7000);
                auto r = s.put("conc", key, b, {});
                if (!r) {
                    ++failures;
                    continue;
                }
                testing::StringBody hot(data);
                if (!s.put("conc", "hot", hot, {})) ++failures;
                auto got = testing::read_all(s, "conc", key);
                if (!got || *got != data) ++failures;
                if (!s.list("conc", {})) ++failures;
                if (i % 7 == 0 && !s.remove("conc", key)) ++failures;
                if (i % 10 == 0 && !s.collect_garbage()) ++failures;
            }
        });
    }
    for (auto& t : ts) t.join();
    EXPECT_EQ(failures.load(), 0);
    VersionQuery q;
    q.prefix = "hot";
    auto hot = s.list_versions("conc", q);
    EXPECT_EQ(hot->versions.size(), static_cast<std::size_t>(kThreads * kEach));
    auto rep = s.scrub();
    ASSERT_TRUE(rep);
    EXPECT_TRUE(rep->damaged.empty());
    EXPECT_TRUE(rep->missing.empty());
}

}  // namespace
}  // namespace moat::store
