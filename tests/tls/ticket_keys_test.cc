#include "tls/ticket_keys.h"

#include <gtest/gtest.h>

#include "tls/internal_ca.h"
#include "tls/server_context.h"
#include "tls_test_util.h"

namespace moat::tls {
namespace {

using namespace std::chrono_literals;
using testing::ClientOptions;
using testing::Conn;

TEST(TicketKeys, RingKeepsTwoPreviousKeys) {
    auto now = std::chrono::system_clock::now();
    TicketKeys keys(1h, [&] { return now; });
    EXPECT_EQ(keys.size(), 1u);
    keys.rotate_now();
    keys.rotate_now();
    keys.rotate_now();
    EXPECT_EQ(keys.size(), 1 + TicketKeys::kPrevious);
}

// Full resumption round trips for TLS 1.3 and TLS 1.2 (both use tickets only).
class ResumptionTest : public ::testing::TestWithParam<int> {
protected:
    void SetUp() override {
        auto ca = InternalCa::open_or_create(dir_.file("ca"));
        ASSERT_TRUE(ca) << ca.error().detail;
        auto t = std::make_shared<CertTable>();
        auto a = ca->issue({"a.test"});
        auto b = ca->issue({"b.test"});
        ASSERT_TRUE(a && b);
        ASSERT_TRUE(t->add("a.test", *a));
        ASSERT_TRUE(t->add("b.test", *b));
        TlsSettings s;
        s.ticket_rotation = 12h;
        auto sc = ServerContext::create(s, [this] { return now_; });
        ASSERT_TRUE(sc) << sc.error().detail;
        server_ = *sc;
        server_->set_certs(t);
    }

    ClientOptions opts(const std::string& sni, SSL_SESSION* session = nullptr) {
        ClientOptions o;
        o.sni = sni;
        o.max_version = GetParam();
        o.session = session;
        return o;
    }

    // A fresh full handshake with a.test; returns the client's session.
    testing::SessionPtr first_session() {
        Conn c(server_->native(), opts("a.test"));
        EXPECT_TRUE(c.handshake());
        EXPECT_FALSE(c.resumed());
        auto s = c.session();
        EXPECT_NE(s, nullptr);
        EXPECT_EQ(SSL_SESSION_is_resumable(s.get()), 1);
        return s;
    }

    bool resumes(SSL_SESSION* session, const std::string& sni = "a.test") {
        Conn c(server_->native(), opts(sni, session));
        EXPECT_TRUE(c.handshake());
        EXPECT_EQ(server_name(c.server()), sni);
        return c.resumed();
    }

    testing::TempDir dir_;
    std::chrono::system_clock::time_point now_ = std::chrono::system_clock::now();
    std::shared_ptr<ServerContext> server_;
};

TEST_P(ResumptionTest, TicketResumesOnASecondConnection) {
    auto s = first_session();
    EXPECT_TRUE(resumes(s.get()));
}

TEST_P(ResumptionTest, TicketSurvivesRotationsWhileItsKeyIsInTheRing) {
    auto s = first_session();
    now_ += 12h;  // one rotation: the ticket's key is now "previous"
    EXPECT_TRUE(resumes(s.get()));
    now_ += 12h;  // two rotations: still in the ring
    EXPECT_TRUE(resumes(s.get()));
    now_ += 12h;  // three: the key has left the ring -> full handshake
    EXPECT_FALSE(resumes(s.get()));
    EXPECT_EQ(server_->ticket_keys().size(), 1 + TicketKeys::kPrevious);
}

TEST_P(ResumptionTest, LongIdleDropsAllOldKeysAtOnce) {
    auto s = first_session();
    now_ += 24h * 7;  // lazy rotation must not leave the week-old key usable
    EXPECT_FALSE(resumes(s.get()));
}

TEST_P(ResumptionTest, RenewedTicketKeepsResumingAfterRotation) {
    auto s = first_session();
    now_ += 12h;
    Conn c(server_->native(), opts("a.test", s.get()));
    ASSERT_TRUE(c.handshake());
    ASSERT_TRUE(c.resumed());
    auto renewed = c.session();  // issued under the newest key
    now_ += 24h;                 // the original key is gone, the renewed one is not
    EXPECT_FALSE(resumes(s.get()));
    EXPECT_TRUE(resumes(renewed.get()));
}

// Browsers and OpenSSL's client use a TLS 1.3 ticket once (RFC 8446 §C.4), so every resumed
// connection must hand out a fresh one, or every second connection is a full handshake.
TEST_P(ResumptionTest, EachResumedConnectionResumesTheNext) {
    auto s = first_session();
    for (int i = 0; i < 4; ++i) {
        Conn c(server_->native(), opts("a.test", s.get()));
        ASSERT_TRUE(c.handshake());
        ASSERT_TRUE(c.resumed()) << "connection " << i;
        auto next = c.session();
        ASSERT_TRUE(next);
        if (GetParam() == TLS1_3_VERSION) EXPECT_NE(next.get(), s.get()) << "no new ticket";
        s = std::move(next);
    }
}

TEST_P(ResumptionTest, TicketDoesNotResumeForAnotherName) {
    auto s = first_session();
    EXPECT_FALSE(resumes(s.get(), "b.test"));
    EXPECT_TRUE(resumes(s.get(), "a.test"));
}

TEST_P(ResumptionTest, RestartInvalidatesTickets) {
    auto s = first_session();
    auto other = ServerContext::create(TlsSettings{});
    ASSERT_TRUE(other);
    (*other)->set_certs(server_->certs());
    Conn c((*other)->native(), opts("a.test", s.get()));
    ASSERT_TRUE(c.handshake());
    EXPECT_FALSE(c.resumed());  // keys never leave the process
}

INSTANTIATE_TEST_SUITE_P(Versions, ResumptionTest,
                         ::testing::Values(TLS1_3_VERSION, TLS1_2_VERSION),
                         [](const ::testing::TestParamInfo<int>& i) {
                             return i.param == TLS1_3_VERSION ? "Tls13" : "Tls12";
                         });

}  // namespace
}  // namespace moat::tls
