// Several servers started together on one new store (a shared store for several moat
// processes): every open succeeds and the store is initialised once. Real processes: SQLite's
// locks are per process, so threads of one process cannot show the race between processes
// (two servers started at once got "database is locked" before opens were serialised).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <vector>

#include "test_util.h"

namespace moat::store {
namespace {

TEST(ConcurrentOpen, NewStoreOpenedByManyProcessesAtOnceInitialisesOnce) {
    for (int round = 0; round < 4; ++round) {
        testing::TempDir dir;
        StoreSettings settings = testing::settings_for(dir.path());
        settings.default_buckets = true;  // the seed's buckets, made once
        constexpr int kOpeners = 8;
        // Children wait for the same instant so their opens overlap.
        auto go = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
        std::vector<pid_t> kids;
        for (int i = 0; i < kOpeners; ++i) {
            pid_t pid = ::fork();
            ASSERT_GE(pid, 0);
            if (pid == 0) {
                std::this_thread::sleep_until(go);
                auto s = Store::open(settings);
                if (!s) std::fprintf(stderr, "open: %s\n", s.error().detail.c_str());
                ::_exit(s ? 0 : 1);
            }
            kids.push_back(pid);
        }
        int failed = 0;
        for (pid_t pid : kids) {
            int status = 0;
            ::waitpid(pid, &status, 0);
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++failed;
        }
        EXPECT_EQ(failed, 0) << "round " << round;
        auto s = Store::open(settings);
        ASSERT_TRUE(s) << s.error().detail;
        auto buckets = (*s)->buckets();
        ASSERT_TRUE(buckets) << buckets.error().detail;
        EXPECT_EQ(buckets->size(), 2u);  // content and logs, once
    }
}

}  // namespace
}  // namespace moat::store
