// TlsRptService's listeners across reloads: new addresses serve before removed ones close, kept
// ones keep their socket, an address that cannot be bound changes nothing. Plain TCP connects
// on loopback are enough to see which listeners exist.
#include "mail/tlsrpt_service.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>

namespace moat::mail {
namespace {

bool connects(const char* ip, std::uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, ip, &a.sin_addr);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    return ok;
}

class TlsRptServiceTest : public ::testing::Test {
protected:
    void SetUp() override {
        settings_.tlsrpt_dir = (std::filesystem::temp_directory_path() /
                                ("moat-tlsrpt-svc-" + std::to_string(::getpid())))
                                   .string();
        settings_.tlsrpt_listen = {"127.0.0.1:0"};
        auto svc =
            TlsRptService::start(settings_, tls::TlsSettings{}, std::make_shared<tls::CertTable>());
        ASSERT_TRUE(svc) << svc.error().detail;
        ASSERT_TRUE(*svc);
        svc_ = std::move(*svc);
    }
    void TearDown() override {
        svc_.reset();
        std::filesystem::remove_all(settings_.tlsrpt_dir);
    }
    MailSettings settings_;
    std::unique_ptr<TlsRptService> svc_;
};

TEST_F(TlsRptServiceTest, OffWithoutListenAddresses) {
    MailSettings off;
    auto svc = TlsRptService::start(off, tls::TlsSettings{}, std::make_shared<tls::CertTable>());
    ASSERT_TRUE(svc);
    EXPECT_FALSE(*svc);
}

TEST_F(TlsRptServiceTest, ReloadMovesToANewAddressAndClosesTheOld) {
    auto before = svc_->ports();
    ASSERT_EQ(before.size(), 1u);
    ASSERT_TRUE(connects("127.0.0.1", before[0]));

    ASSERT_TRUE(svc_->set_listen({"127.0.0.2:0"}));
    auto after = svc_->ports();
    ASSERT_EQ(after.size(), 1u);
    EXPECT_TRUE(connects("127.0.0.2", after[0]));
    EXPECT_FALSE(connects("127.0.0.1", before[0]));

    // Listen nowhere, then again somewhere: the service outlives an empty list.
    ASSERT_TRUE(svc_->set_listen({}));
    EXPECT_TRUE(svc_->ports().empty());
    EXPECT_FALSE(connects("127.0.0.2", after[0]));
    ASSERT_TRUE(svc_->set_listen({"127.0.0.1:0"}));
    ASSERT_EQ(svc_->ports().size(), 1u);
    EXPECT_TRUE(connects("127.0.0.1", svc_->ports()[0]));
}

TEST_F(TlsRptServiceTest, KeptAddressesKeepTheirListener) {
    auto before = svc_->ports();
    ASSERT_TRUE(svc_->set_listen({"127.0.0.1:0", "127.0.0.2:0"}));
    auto after = svc_->ports();
    ASSERT_EQ(after.size(), 2u);
    EXPECT_EQ(after[0], before[0]);  // the same socket, not a rebind (":0" would move it)
    EXPECT_TRUE(connects("127.0.0.1", after[0]));
    EXPECT_TRUE(connects("127.0.0.2", after[1]));
}

TEST_F(TlsRptServiceTest, AnAddressThatCannotBeBoundChangesNothing) {
    auto before = svc_->ports();
    // 192.0.2.1 (TEST-NET-1) is on no interface here: bind fails after 127.0.0.2 was bound.
    auto r = svc_->set_listen({"127.0.0.2:0", "192.0.2.1:0"});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().detail.find("192.0.2.1"), std::string::npos) << r.error().detail;
    EXPECT_EQ(svc_->ports(), before);
    EXPECT_TRUE(connects("127.0.0.1", before[0]));

    auto bad = svc_->set_listen({"not an address"});
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, Errc::kInvalidArgument);
    EXPECT_EQ(svc_->ports(), before);
}

TEST_F(TlsRptServiceTest, AfterStopReloadsBindNothing) {
    auto before = svc_->ports();
    svc_->stop();
    EXPECT_FALSE(connects("127.0.0.1", before[0]));
    EXPECT_TRUE(svc_->set_listen({"127.0.0.1:0", "127.0.0.2:0"}));
    EXPECT_EQ(svc_->ports(), before);  // no new listener came up
    EXPECT_FALSE(connects("127.0.0.1", before[0]));
}

}  // namespace
}  // namespace moat::mail
