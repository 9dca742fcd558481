#include "mail/policy_router.h"

#include <gtest/gtest.h>

namespace moat::mail {
namespace {

class Fallback : public edge::Handler {
public:
    int calls = 0;
    void handle(const edge::Request&, edge::Response& res) override {
        ++calls;
        res.status = 299;
    }
};

struct Fixture {
    std::shared_ptr<Fallback> next = std::make_shared<Fallback>();
    PolicyRouter router;
    static std::vector<MailDomain> domains() {
        MailDomain d;
        d.domain = "example.com";
        d.mode = StsMode::kEnforce;
        d.mx = {"mail.example.com"};
        d.max_age = 1209600;
        return {d};
    }
    Fixture() : router(domains(), next) {}

    edge::Response get(std::string_view host, std::string_view path, bool secure = true,
                       edge::Method m = edge::Method::kGet) {
        edge::Request req;
        req.method = m;
        req.host = host;
        req.path = path;
        req.target = path;
        req.secure = secure;
        edge::Response res;
        router.handle(req, res);
        return res;
    }
};

std::string header(const edge::Response& r, const std::string& name) {
    if (!r.fixed) return "";
    for (const auto& [k, v] : r.fixed->fields)
        if (k == name) return v;
    return "";
}

std::string body(const edge::Response& r) {
    return r.body.bytes ? r.body.bytes->substr(r.body.offset, r.body.length) : "";
}

TEST(PolicyRouter, ServesThePolicyAsRfc8461Wants) {
    Fixture f;
    auto r = f.get("mta-sts.example.com", "/.well-known/mta-sts.txt");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(header(r, "content-type"), "text/plain; charset=utf-8");
    EXPECT_EQ(body(r), "version: STSv1\nmode: enforce\nmx: mail.example.com\nmax_age: 1209600\n");
    EXPECT_EQ(header(r, "location"), "");
    EXPECT_EQ(f.next->calls, 0);
    auto head = f.get("mta-sts.example.com", "/.well-known/mta-sts.txt", true, edge::Method::kHead);
    EXPECT_EQ(head.status, 200);
    EXPECT_EQ(head.body.length, r.body.length);
}

TEST(PolicyRouter, OtherPathsAre404AndNeverRedirect) {
    Fixture f;
    for (const char* p : {"/", "/mta-sts.txt", "/.well-known/mta-sts.txt/", "/.well-known/",
                          "/.well-known/MTA-STS.txt", "/index.html"}) {
        auto r = f.get("mta-sts.example.com", p);
        EXPECT_EQ(r.status, 404) << p;
        EXPECT_EQ(header(r, "location"), "") << p;
    }
}

TEST(PolicyRouter, PlainHttpGetsNoPolicyAndNoRedirect) {
    Fixture f;
    auto r = f.get("mta-sts.example.com", "/.well-known/mta-sts.txt", false);
    EXPECT_EQ(r.status, 403);
    EXPECT_EQ(header(r, "location"), "");
}

TEST(PolicyRouter, AcmeHttp01ChallengesOnPlainHttpGoToTheNextHandler) {
    // The policy host's own certificate may be ordered over http-01 (RFC 8555 §8.3); the
    // challenge handler sits behind the router.
    Fixture f;
    EXPECT_EQ(f.get("mta-sts.example.com", "/.well-known/acme-challenge/tok", false).status, 299);
    EXPECT_EQ(f.next->calls, 1);
    // Over HTTPS, and for any other plain-HTTP path, the router answers itself.
    EXPECT_EQ(f.get("mta-sts.example.com", "/.well-known/acme-challenge/tok", true).status, 404);
    EXPECT_EQ(f.get("mta-sts.example.com", "/.well-known/acme-challengex", false).status, 403);
    EXPECT_EQ(f.next->calls, 1);
}

TEST(PolicyRouter, OnlyGetAndHead) {
    Fixture f;
    auto r = f.get("mta-sts.example.com", "/.well-known/mta-sts.txt", true, edge::Method::kOther);
    EXPECT_EQ(r.status, 405);
    EXPECT_EQ(header(r, "allow"), "GET, HEAD");
}

TEST(PolicyRouter, OtherHostsGoToTheSites) {
    Fixture f;
    EXPECT_EQ(f.get("example.com", "/.well-known/mta-sts.txt").status, 299);
    EXPECT_EQ(f.get("mta-sts.example.net", "/").status, 299);
    EXPECT_EQ(f.next->calls, 2);
    EXPECT_EQ(f.router.policy_of("example.com").substr(0, 15), "version: STSv1\n");
}

}  // namespace
}  // namespace moat::mail
