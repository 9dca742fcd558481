// Name resolution with a deadline (audit/internal/resolve.h), and `moat audit` of a name that
// does not resolve: a result within the timeout, never a hang. No outside network: the hung
// DNS is an injected lookup; real lookups are of literals and of .invalid (RFC 6761 §6.4).
#include "audit/internal/resolve.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>

#include "audit/audit.h"

namespace moat::audit::internal {
namespace {

using std::chrono::milliseconds;
using Steady = std::chrono::steady_clock;

// A lookup that blocks until released (a DNS server that never answers), then fails.
struct HungDns {
    std::mutex mu;
    std::condition_variable cv;
    bool released = false;
    std::atomic<int> calls{0};
    void release() {
        std::lock_guard lock(mu);
        released = true;
        cv.notify_all();
    }
};

Lookup hung_lookup(std::shared_ptr<HungDns> dns) {
    return [dns](const std::string& host, int, int) -> Result<std::vector<Endpoint>> {
        ++dns->calls;
        std::unique_lock lock(dns->mu);
        dns->cv.wait_for(lock, std::chrono::seconds(30), [&] { return dns->released; });
        return make_error(Errc::kNotFound, "cannot resolve " + host);
    };
}

TEST(Resolve, HungLookupTimesOutWithinTheTimeout) {
    auto dns = std::make_shared<HungDns>();
    auto start = Steady::now();
    auto r = resolve("slow.example", 443, milliseconds(200), AF_UNSPEC, hung_lookup(dns));
    auto took = Steady::now() - start;
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::kUnavailable);
    EXPECT_EQ(r.error().detail, "name resolution of slow.example timed out after 200 ms");
    EXPECT_GE(took, milliseconds(190));
    EXPECT_LT(took, milliseconds(2000));
    EXPECT_EQ(dns->calls.load(), 1);
    // The helper thread outlives the call; letting it finish later must be harmless.
    dns->release();
}

TEST(Resolve, TimeoutIsWrittenAsGiven) {
    auto dns = std::make_shared<HungDns>();
    auto r = resolve("slow.example", 443, milliseconds(1500), AF_UNSPEC, hung_lookup(dns));
    dns->release();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().detail, "name resolution of slow.example timed out after 1.5s");
}

TEST(Resolve, AnswerWithinTheTimeoutIsPassedOn) {
    Lookup quick = [](const std::string& host, int port, int family) {
        EXPECT_EQ(host, "a.example");
        EXPECT_EQ(port, 8443);
        EXPECT_EQ(family, AF_INET6);
        return lookup_blocking("::1", port, AF_INET6);
    };
    auto r = resolve("a.example", 8443, milliseconds(5000), AF_INET6, quick);
    ASSERT_TRUE(r) << r.error().detail;
    ASSERT_EQ(r->size(), 1u);
    EXPECT_EQ((*r)[0].text, "[::1]:8443");
    EXPECT_TRUE((*r)[0].v6());

    Lookup refused = [](const std::string&, int, int) -> Result<std::vector<Endpoint>> {
        return make_error(Errc::kNotFound, "cannot resolve a.example: Name or service not known");
    };
    auto e = resolve("a.example", 443, milliseconds(5000), AF_UNSPEC, refused);
    ASSERT_FALSE(e);
    EXPECT_EQ(e.error().code, Errc::kNotFound);
}

TEST(Resolve, IpLiteralsNeedNoHelper) {
    auto r = resolve("127.0.0.1", 443, milliseconds(0));  // no time to wait: answered in-line
    ASSERT_TRUE(r) << r.error().detail;
    EXPECT_EQ((*r)[0].text, "127.0.0.1:443");
    auto v6 = resolve("[::1]", 80, milliseconds(0));
    ASSERT_TRUE(v6) << v6.error().detail;
    EXPECT_EQ((*v6)[0].text, "[::1]:80");
}

TEST(Resolve, InvalidNameFailsWithinTheTimeout) {
    // RFC 6761 §6.4: .invalid never resolves. Whether the system resolver says so at once or
    // waits on an unreachable server, the answer comes within the timeout.
    auto start = Steady::now();
    auto r = resolve("no-such-host.invalid", 443, milliseconds(1000));
    EXPECT_FALSE(r);
    EXPECT_LT(Steady::now() - start, milliseconds(3000));
}

TEST(Audit, UnresolvableHostIsAResultNotAHang) {
    AuditOptions o;
    o.url = "https://no-such-host.invalid/";
    o.timeout = milliseconds(1000);
    auto start = Steady::now();
    auto rep = run_audit(o);
    ASSERT_TRUE(rep) << rep.error().detail;
    EXPECT_FALSE(rep->tls_error.empty());
    EXPECT_NE(rep->tls_error.find("no-such-host.invalid"), std::string::npos) << rep->tls_error;
    EXPECT_FALSE(rep->tls);
    EXPECT_LT(Steady::now() - start, milliseconds(3000));
}

}  // namespace
}  // namespace moat::audit::internal
