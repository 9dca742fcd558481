// Store-level crash test: a child process PUTs in a loop and reports each acknowledged write on
// a pipe; the parent SIGKILLs it at a random moment, several times, then checks that every
// acknowledged version reads back byte-exact and that nothing half-written is visible.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <random>
#include <sstream>

#include "store/internal/crypto.h"
#include "test_util.h"

namespace moat::store {
namespace {

std::string sha_hex(const std::string& s) {
    auto d = internal::Digest::sha256();
    d.update(s.data(), s.size());
    return internal::to_hex(d.finish());
}

[[noreturn]] void child(const std::string& dir, int round, int out) {
    auto st = Store::open(testing::settings_for(dir));
    if (!st) _exit(3);
    Store& s = **st;
    std::mt19937 rng(round * 7919 + 1);
    for (int i = 0;; ++i) {
        std::size_t size = rng() % 3 == 0 ? rng() % 400000 : rng() % 20000;
        std::string data = testing::random_data(size, rng());
        std::string key =
            i % 4 == 0 ? "hot" : "r" + std::to_string(round) + "/" + std::to_string(i);
        testing::StringBody b(data, 16384);
        auto r = s.put("crash", key, b, {});
        if (!r) _exit(4);
        std::string line = key + " " + r->version_id + " " + sha_hex(data) + "\n";
        if (::write(out, line.data(), line.size()) != static_cast<ssize_t>(line.size())) _exit(5);
        if (i % 9 == 0) (void)s.remove("crash", key);  // markers too
        if (i % 25 == 0) (void)s.collect_garbage();
    }
}

TEST(Crash, AcknowledgedPutsSurviveKill9) {
    testing::TempDir dir;
    {
        auto st = Store::open(testing::settings_for(dir.path()));
        ASSERT_TRUE(st);
        ASSERT_TRUE((*st)->create_bucket("crash"));
        ASSERT_TRUE((*st)->set_versioning("crash", Versioning::kEnabled));
    }
    std::map<std::string, std::string> acked;  // "key vid" -> sha256
    std::mt19937 rng(std::random_device{}());
    constexpr int kRounds = 6;
    for (int round = 0; round < kRounds; ++round) {
        int fds[2];
        ASSERT_EQ(::pipe(fds), 0);
        pid_t pid = ::fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            ::close(fds[0]);
            child(dir.path(), round, fds[1]);
        }
        ::close(fds[1]);
        int wait_ms = 150 + static_cast<int>(rng() % 600);
        std::string buf;
        auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
        char tmp[4096];
        while (std::chrono::steady_clock::now() < deadline) {
            pollfd p{fds[0], POLLIN, 0};
            if (::poll(&p, 1, 10) > 0) {
                ssize_t n = ::read(fds[0], tmp, sizeof tmp);
                if (n <= 0) break;
                buf.append(tmp, static_cast<std::size_t>(n));
            }
        }
        ::kill(pid, SIGKILL);
        int status = 0;
        ::waitpid(pid, &status, 0);
        ASSERT_TRUE(WIFSIGNALED(status)) << "child exited early, status " << status;
        for (;;) {
            ssize_t n = ::read(fds[0], tmp, sizeof tmp);
            if (n <= 0) break;
            buf.append(tmp, static_cast<std::size_t>(n));
        }
        ::close(fds[0]);
        std::istringstream lines(buf);
        std::string key, vid, sha;
        while (lines >> key >> vid >> sha) acked[key + " " + vid] = sha;
    }
    ASSERT_GT(acked.size(), 20u) << "too few writes to mean anything";

    auto st = Store::open(testing::settings_for(dir.path()));
    ASSERT_TRUE(st) << st.error().detail;
    Store& s = **st;
    for (const auto& [kv, sha] : acked) {
        auto sp = kv.find(' ');
        std::string key = kv.substr(0, sp), vid = kv.substr(sp + 1);
        auto got = testing::read_all(s, "crash", key, vid);
        ASSERT_TRUE(got) << kv << ": " << got.error().detail;
        EXPECT_EQ(sha_hex(*got), sha) << kv;
    }
    // Everything visible is whole: each listed version reads back to its recorded digest.
    VersionQuery q;
    std::size_t seen = 0;
    for (;;) {
        auto page = s.list_versions("crash", q);
        ASSERT_TRUE(page);
        for (const auto& v : page->versions) {
            if (v.delete_marker) continue;
            ++seen;
            auto got = testing::read_all(s, "crash", v.key, v.version_id);
            ASSERT_TRUE(got) << v.key;
            EXPECT_EQ(sha_hex(*got), v.sha256) << v.key;
        }
        if (!page->truncated) break;
        q.key_marker = page->next_key_marker;
        q.version_id_marker = page->next_version_id_marker;
    }
    EXPECT_GE(seen, acked.size());
    auto rep = s.scrub();
    ASSERT_TRUE(rep);
    EXPECT_TRUE(rep->damaged.empty()) << rep->damaged.front();
    EXPECT_TRUE(rep->missing.empty()) << rep->missing.front();
    std::printf("crash test: %d kills, %zu acknowledged versions verified, %zu visible\n", kRounds,
                acked.size(), seen);
}

}  // namespace
}  // namespace moat::store
