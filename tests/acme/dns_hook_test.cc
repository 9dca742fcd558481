// run_dns_hook and the hook-driven dns-01 solver, with real /bin/sh scripts in a temp folder:
// arguments arrive without a shell, exit codes and output become the error, a hook that hangs
// is killed with what it started, and a chatty hook cannot block moat on a full pipe.
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "acme/jws.h"
#include "acme/solvers.h"

namespace moat::acme {
namespace {

using namespace std::chrono_literals;

class DnsHookTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/moat-dns-hook-test.XXXXXX";
        dir_ = ::mkdtemp(tmpl);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    // An executable /bin/sh script in the temp folder; $D in `body` is the folder.
    std::string script(const std::string& name, const std::string& body) {
        std::string path = dir_ + "/" + name;
        std::ofstream(path) << "#!/bin/sh\nD='" << dir_ << "'\n" << body << "\n";
        ::chmod(path.c_str(), 0755);
        return path;
    }
    std::string read(const std::string& name) {
        std::ifstream in(dir_ + "/" + name);
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    }
    std::string dir_;
};

// SIGKILL to the group is delivered at once; the orphan is then a zombie until whoever
// adopted it reaps it, so "dead" is: no process, or state Z (within 2 s).
bool dies_soon(int pid) {
    for (int i = 0; i < 100; ++i) {
        std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
        std::string id, comm, state;
        if (!(stat >> id >> comm >> state) || state == "Z") return true;
        std::this_thread::sleep_for(20ms);
    }
    return false;
}

TEST_F(DnsHookTest, PassesEachArgumentVerbatimWithoutAShell) {
    auto hook = script("hook.sh", "printf '%s|' \"$#\" \"$@\" >> \"$D/args\"");
    // Shell syntax in the value must neither split it nor run anything.
    std::string value = "a b;touch " + dir_ + "/pwned $(id) `id` *";
    auto r = run_dns_hook(hook, "add", "_acme-challenge.example.com", value, 5s);
    ASSERT_TRUE(r) << r.error().detail;
    EXPECT_EQ(read("args"), "3|add|_acme-challenge.example.com|" + value + "|");
    EXPECT_FALSE(std::filesystem::exists(dir_ + "/pwned"));
}

TEST_F(DnsHookTest, HookStartsWithDefaultSignalsWhateverMoatIgnoresOrBlocks) {
    // moat ignores SIGPIPE and blocks signals in its threads; the hook must not inherit that.
    auto hook = script("hook.sh", "exec grep -E '^Sig(Ign|Blk):' /proc/self/status > \"$D/sig\"");
    auto old_pipe = ::signal(SIGPIPE, SIG_IGN);
    sigset_t term, old_mask;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    ::pthread_sigmask(SIG_BLOCK, &term, &old_mask);
    auto r = run_dns_hook(hook, "add", "x", "v", 5s);
    ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
    ::signal(SIGPIPE, old_pipe);
    ASSERT_TRUE(r) << r.error().detail;
    // Masks of signals 1..64, bit n-1 for signal n. glibc's posix_spawn leaves its two internal
    // real-time signals (32, 33) ignored in every child, so only the standard ones 1..31 count.
    std::istringstream in(read("sig"));
    std::string name, blk, ign;
    in >> name >> blk >> name >> ign;
    ASSERT_FALSE(ign.empty()) << read("sig");
    EXPECT_EQ(std::stoull(blk, nullptr, 16), 0u) << "blocked: " << blk;
    EXPECT_EQ(std::stoull(ign, nullptr, 16) & 0x7fffffffu, 0u) << "ignored: " << ign;
}

TEST_F(DnsHookTest, NonZeroExitIsAnErrorWithTheHooksOutput) {
    auto hook =
        script("hook.sh", "echo 'zone example.com:' ; echo 'API token rejected' >&2; exit 3");
    auto r = run_dns_hook(hook, "add", "_acme-challenge.example.com", "v", 5s);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::kUnavailable);
    EXPECT_EQ(r.error().detail, "dns hook " + hook +
                                    " add _acme-challenge.example.com failed (exit 3): zone "
                                    "example.com: API token rejected");
}

TEST_F(DnsHookTest, DeathBySignalIsAnError) {
    auto hook = script("hook.sh", "kill -TERM $$");
    auto r = run_dns_hook(hook, "remove", "_acme-challenge.example.com", "v", 5s);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().detail.find("remove _acme-challenge.example.com failed (signal 15)"),
              std::string::npos)
        << r.error().detail;
}

TEST_F(DnsHookTest, MissingOrNotExecutableHookFailsToStart) {
    auto r = run_dns_hook(dir_ + "/absent", "add", "x", "v", 5s);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().detail.find("No such file or directory"), std::string::npos)
        << r.error().detail;
    std::string plain = dir_ + "/plain";
    std::ofstream(plain) << "#!/bin/sh\nexit 0\n";
    ::chmod(plain.c_str(), 0644);
    r = run_dns_hook(plain, "add", "x", "v", 5s);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().detail.find("Permission denied"), std::string::npos) << r.error().detail;
}

TEST_F(DnsHookTest, HangingHookIsKilledWithWhatItStartedAfterTheLimit) {
    // The script starts a child (its own pid recorded) and waits for it: both must die.
    auto hook = script("hook.sh", "echo starting; sleep 300 & echo $! > \"$D/child\"; wait");
    auto t0 = std::chrono::steady_clock::now();
    auto r = run_dns_hook(hook, "add", "_acme-challenge.example.com", "v", 700ms);
    auto took = std::chrono::steady_clock::now() - t0;
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::kUnavailable);
    EXPECT_NE(r.error().detail.find("timed out after 700ms, killed: starting"), std::string::npos)
        << r.error().detail;
    EXPECT_GE(took, 700ms);
    EXPECT_LT(took, 5s);
    int child = std::stoi(read("child"));
    EXPECT_TRUE(dies_soon(child)) << "the hook's child " << child << " survived";
}

TEST_F(DnsHookTest, SucceedsWithoutWaitingForChildrenItLeftRunning) {
    // A hook that daemonizes something keeps the pipe open; its exit is what counts.
    auto hook = script("hook.sh", "sleep 300 & echo $! > \"$D/child\"; exit 0");
    auto t0 = std::chrono::steady_clock::now();
    auto r = run_dns_hook(hook, "add", "x", "v", 10s);
    EXPECT_TRUE(r) << r.error().detail;
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
    ::kill(std::stoi(read("child")), SIGKILL);
}

TEST_F(DnsHookTest, ChattyHookDoesNotBlockOnAFullPipeAndTheErrorStaysShort) {
    // 1 MiB of output is far more than a pipe buffers: unread, the hook would never exit.
    auto hook = script("hook.sh", "head -c 1048576 /dev/zero | tr '\\0' x; exit 1");
    auto r = run_dns_hook(hook, "add", "x", "v", 10s);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().detail.find("failed (exit 1): xxxx"), std::string::npos);
    EXPECT_LT(r.error().detail.size(), 1200u);
}

TEST_F(DnsHookTest, SolverAddsThenRemovesTheChallengeRecordThroughTheHook) {
    DnsUpdateSettings s;
    s.hook = script("hook.sh", "echo \"$1 $2 $3\" >> \"$D/log\"");
    s.propagation_timeout = 5s;
    auto solver = make_dns01_solver(s);
    ASSERT_TRUE(solver) << solver.error().detail;
    EXPECT_STREQ((*solver)->type(), "dns-01");
    // RFC 8555 §8.4: a wildcard's record sits at the base name.
    auto r = (*solver)->present("*.example.com", "token", "token.thumbprint");
    ASSERT_TRUE(r) << r.error().detail;
    (*solver)->cleanup("*.example.com", "token", "token.thumbprint");
    std::string v = dns01_value("token.thumbprint");
    EXPECT_EQ(read("log"), "add _acme-challenge.example.com " + v +
                               "\nremove _acme-challenge.example.com " + v + "\n");
}

TEST_F(DnsHookTest, SolverBoundsTheHookByThePropagationTimeout) {
    DnsUpdateSettings s;
    s.hook = script("hook.sh", "exec sleep 300");
    s.propagation_timeout = 1s;
    auto solver = make_dns01_solver(s);
    ASSERT_TRUE(solver);
    auto t0 = std::chrono::steady_clock::now();
    auto r = (*solver)->present("example.com", "t", "t.k");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().detail.find("timed out after 1s"), std::string::npos) << r.error().detail;
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
}

TEST_F(DnsHookTest, StoppingMoatKillsARunningHookAtOnce) {
    // Shutdown must not wait out propagation_timeout (minutes in production) for a hook that
    // waits on DNS: the manager's cancelled() turns true and the group dies within ~50 ms.
    DnsUpdateSettings s;
    s.hook = script("hook.sh",
                    "if [ \"$1\" = add ]; then echo waiting; sleep 300 & echo $! > \"$D/child\"; "
                    "wait; else echo \"$1\" >> \"$D/log\"; fi");
    s.propagation_timeout = 60s;
    std::atomic<bool> stop{false};
    auto solver = make_dns01_solver(s, {}, [&] { return stop.load(); });
    ASSERT_TRUE(solver);
    std::thread stopper([&] {
        std::this_thread::sleep_for(300ms);
        stop = true;
    });
    auto t0 = std::chrono::steady_clock::now();
    auto r = (*solver)->present("example.com", "t", "t.k");
    auto took = std::chrono::steady_clock::now() - t0;
    stopper.join();
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().detail.find("killed, moat is stopping: waiting"), std::string::npos)
        << r.error().detail;
    EXPECT_GE(took, 300ms);
    EXPECT_LT(took, 3s);
    int child = std::stoi(read("child"));
    EXPECT_TRUE(dies_soon(child)) << "the hook's child " << child << " survived";
    // The removal still runs while stopping (with a short bound of its own).
    (*solver)->cleanup("example.com", "t", "t.k");
    EXPECT_EQ(read("log"), "remove\n");
}

TEST_F(DnsHookTest, NotCancelledTheHookRunsToItsEnd) {
    // The check itself must not end a hook: cancelled() false all along.
    auto hook = script("hook.sh", "sleep 0.3; echo done > \"$D/out\"");
    auto r = run_dns_hook(hook, "add", "x", "v", 5s, [] { return false; });
    EXPECT_TRUE(r) << r.error().detail;
    EXPECT_EQ(read("out"), "done\n");
}

}  // namespace
}  // namespace moat::acme
