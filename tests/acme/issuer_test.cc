// The order state machine (RFC 8555 §7.4) against a scripted CA: canned JSON answers, a real
// certificate signed from the CSR, and the failure shapes (badNonce, invalid challenge, 429,
// malformed and oversized answers, a bad directory).
#include "acme/issuer.h"

#include <gtest/gtest.h>
#include <openssl/x509v3.h>

#include <map>

#include "acme/challenge_board.h"
#include "acme/jws.h"

namespace moat::acme {
namespace {

using json = nlohmann::json;
using edge::ClientRequest;
using edge::ClientResponse;

// A tiny in-memory CA. Every POST's JWS is checked for the RFC 8555 §6.2 shape.
class FakeCa {
public:
    std::string authz_result = "valid";  // what validation ends in
    int bad_nonces = 0;                  // answer this many POSTs with badNonce first
    bool rate_limit_orders = false;
    bool reuse_authz = false;  // the authorization is already valid (§7.1.4)
    std::vector<std::string> log;
    std::string last_kid;
    int nonce_counter = 0;

    ClientResponse reply(int status, json body, std::string location = "") {
        ClientResponse r;
        r.status = status;
        r.body = body.dump();
        r.headers.emplace_back("replay-nonce", "nonce-" + std::to_string(++nonce_counter));
        if (!location.empty()) r.headers.emplace_back("location", location);
        return r;
    }

    Result<ClientResponse> operator()(const ClientRequest& req) {
        std::string path = req.url.substr(std::string("https://ca").size());
        log.push_back(req.method + " " + path);
        if (req.method == "GET" && path == "/dir")
            return reply(200, {{"newNonce", "https://ca/nonce"},
                               {"newAccount", "https://ca/acct"},
                               {"newOrder", "https://ca/order"}});
        if (req.method == "HEAD" && path == "/nonce") return reply(200, json::object());
        if (req.method != "POST") return reply(404, json::object());
        json jws = json::parse(req.body);
        json prot = json::parse(*internal::b64url_decode(jws["protected"].get<std::string>()));
        EXPECT_EQ(prot["url"], req.url);
        EXPECT_TRUE(prot.contains("nonce"));
        if (prot.contains("kid")) last_kid = prot["kid"];
        std::string payload = *internal::b64url_decode(jws["payload"].get<std::string>());
        if (bad_nonces > 0) {
            --bad_nonces;
            return reply(400,
                         {{"type", "urn:ietf:params:acme:error:badNonce"}, {"detail", "stale"}});
        }
        if (path == "/acct") {
            EXPECT_TRUE(prot.contains("jwk"));
            return reply(201, {{"status", "valid"}}, "https://ca/acct/1");
        }
        EXPECT_EQ(prot.value("kid", ""), "https://ca/acct/1") << path;
        if (path == "/order") {
            if (rate_limit_orders) {
                ClientResponse r = reply(429, {{"type", "urn:ietf:params:acme:error:rateLimited"},
                                               {"detail", "too many certificates"}});
                r.headers.emplace_back("retry-after", "3600");
                return r;
            }
            json p = json::parse(payload);
            for (const auto& id : p["identifiers"]) names.push_back(id["value"]);
            order_status = reuse_authz ? "ready" : "pending";
            return reply(201, order(), "https://ca/order/1");
        }
        if (path == "/order/1") return reply(200, order());
        if (path == "/authz/1") {
            json ch = {{"type", "http-01"},
                       {"url", "https://ca/ch/1"},
                       {"token", "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"},
                       {"status", ch_status}};
            if (ch_status == "invalid")
                ch["error"] = {{"type", "urn:ietf:params:acme:error:connection"},
                               {"detail", "connection refused"}};
            std::string st = reuse_authz ? "valid" : authz_status;
            return reply(200,
                         {{"status", st},
                          {"identifier", {{"type", "dns"}, {"value", names[0]}}},
                          {"challenges",
                           json::array({ch,
                                        {{"type", "dns-01"},
                                         {"url", "https://ca/ch/2"},
                                         {"token", "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"},
                                         {"status", "pending"}}})}});
        }
        if (path == "/ch/1") {
            responded = true;
            authz_status = authz_result;
            ch_status = authz_result;
            if (authz_result == "valid")
                order_status = "ready";
            else
                order_status = "invalid";
            return reply(200, {{"type", "http-01"}, {"status", "processing"}});
        }
        if (path == "/fin/1") {
            json p = json::parse(payload);
            auto der = internal::b64url_decode(p["csr"].get<std::string>());
            EXPECT_TRUE(der);
            chain = sign_csr(*der);
            order_status = "processing";
            return reply(200, order());
        }
        if (path == "/cert/1") {
            ClientResponse r = reply(200, json::object());
            r.body = chain;
            return r;
        }
        return reply(404, {{"type", "urn:ietf:params:acme:error:malformed"}});
    }

    json order() {
        // "processing" turns "valid" on the next look, as a real CA would after a while.
        json o = {{"status", order_status},
                  {"authorizations", {"https://ca/authz/1"}},
                  {"finalize", "https://ca/fin/1"}};
        if (order_status == "processing")
            order_status = "valid";
        else if (order_status == "valid")
            o["certificate"] = "https://ca/cert/1";
        return o;
    }

    // Issues a certificate for the CSR's key and SANs from a throwaway CA.
    std::string sign_csr(const std::string& der) {
        const auto* p = reinterpret_cast<const unsigned char*>(der.data());
        X509_REQ* req = d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size()));
        EXPECT_NE(req, nullptr);
        EVP_PKEY* pub = X509_REQ_get_pubkey(req);
        EXPECT_EQ(X509_REQ_verify(req, pub), 1);
        auto ca_key = internal::generate_p256();
        X509* x = X509_new();
        X509_set_version(x, 2);
        ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
        X509_gmtime_adj(X509_getm_notBefore(x), 0);
        X509_gmtime_adj(X509_getm_notAfter(x), 86400);
        X509_set_pubkey(x, pub);
        X509_NAME* n = X509_get_subject_name(x);
        X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>("fake"), -1, -1, 0);
        X509_set_issuer_name(x, n);
        STACK_OF(X509_EXTENSION)* exts = X509_REQ_get_extensions(req);
        for (int i = 0; i < sk_X509_EXTENSION_num(exts); ++i)
            X509_add_ext(x, sk_X509_EXTENSION_value(exts, i), -1);
        sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
        X509_sign(x, ca_key->get(), EVP_sha256());
        BIO* b = BIO_new(BIO_s_mem());
        PEM_write_bio_X509(b, x);
        char* data = nullptr;
        long len = BIO_get_mem_data(b, &data);
        std::string pem(data, static_cast<std::size_t>(len));
        BIO_free(b);
        X509_free(x);
        EVP_PKEY_free(pub);
        X509_REQ_free(req);
        return pem;
    }

    std::vector<std::string> names;
    std::string order_status = "pending", authz_status = "pending", ch_status = "pending";
    bool responded = false;
    std::string chain;
};

class IssuerTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto k = AccountKey::generate();
        ASSERT_TRUE(k);
        key_.emplace(std::move(*k));
        client_ = std::make_unique<AcmeClient>("https://ca/dir",
                                               [this](const ClientRequest& r) { return ca_(r); });
        board_ = std::make_shared<ChallengeBoard>();
        http_ = make_http01_solver(board_);
        opts_.sleep = [this](std::chrono::milliseconds d) { slept_.push_back(d); };
    }

    Result<Issued> issue() {
        auto acct = client_->register_account(*key_, {"mailto:ops@example.test"}, "", "");
        if (!acct) return acct.error();
        Issuer issuer(*client_, *key_, {http_.get()}, opts_);
        return issuer.issue({"site.example.test", "test.site.example.test"}, "");
    }

    FakeCa ca_;
    std::optional<AccountKey> key_;
    std::unique_ptr<AcmeClient> client_;
    std::shared_ptr<ChallengeBoard> board_;
    std::unique_ptr<Solver> http_;
    IssuerOptions opts_;
    std::vector<std::chrono::milliseconds> slept_;
};

TEST_F(IssuerTest, HappyPathIssuesACertificateForOurKey) {
    auto r = issue();
    ASSERT_TRUE(r) << r.error().detail;
    EXPECT_NE(r->chain_pem.find("BEGIN CERTIFICATE"), std::string::npos);
    EXPECT_NE(r->key_pem.find("PRIVATE KEY"), std::string::npos);
    auto ck = tls::load_cert_key_pem(r->chain_pem, r->key_pem);
    ASSERT_TRUE(ck) << ck.error().detail;
    EXPECT_TRUE((*ck)->covers("test.site.example.test"));
    EXPECT_TRUE(ca_.responded);
    EXPECT_EQ(ca_.names, (std::vector<std::string>{"site.example.test", "test.site.example.test"}));
    // The http-01 answer was published while validating and removed afterwards.
    EXPECT_TRUE(board_->http01("LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0").empty());
    EXPECT_FALSE(slept_.empty());
}

TEST_F(IssuerTest, RsaOptionOrdersWithAnRsa2048Key) {
    opts_.rsa = true;
    auto r = issue();
    ASSERT_TRUE(r) << r.error().detail;
    auto ck = tls::load_cert_key_pem(r->chain_pem, r->key_pem);
    ASSERT_TRUE(ck) << ck.error().detail;
    EXPECT_EQ(EVP_PKEY_get_base_id((*ck)->key()), EVP_PKEY_RSA);
    EXPECT_EQ(EVP_PKEY_get_bits((*ck)->key()), 2048);
    EXPECT_TRUE((*ck)->covers("site.example.test"));
}

TEST_F(IssuerTest, RetriesBadNonce) {
    ca_.bad_nonces = 2;
    auto r = issue();
    ASSERT_TRUE(r) << r.error().detail;
}

TEST_F(IssuerTest, GivesUpAfterTooManyBadNonces) {
    ca_.bad_nonces = 100;
    auto r = issue();
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().detail.find("badNonce"), std::string::npos);
}

TEST_F(IssuerTest, SkipsAuthorizationsAlreadyValid) {
    ca_.reuse_authz = true;
    auto r = issue();
    ASSERT_TRUE(r) << r.error().detail;
    EXPECT_FALSE(ca_.responded);
}

TEST_F(IssuerTest, FailedChallengeIsAClearError) {
    ca_.authz_result = "invalid";
    auto r = issue();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().reason, static_cast<int>(Reason::kChallenge));
    EXPECT_NE(r.error().detail.find("connection refused"), std::string::npos) << r.error().detail;
    EXPECT_NE(r.error().detail.find("http-01"), std::string::npos);
    EXPECT_TRUE(board_->http01("LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0").empty());
}

TEST_F(IssuerTest, RateLimitCarriesRetryAfter) {
    ca_.rate_limit_orders = true;
    auto r = issue();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().reason, static_cast<int>(Reason::kRateLimited));
    EXPECT_EQ(r.error().code, Errc::kUnavailable);
    ASSERT_TRUE(client_->retry_after());
    EXPECT_EQ(*client_->retry_after(), std::chrono::seconds(3600));
    EXPECT_NE(r.error().detail.find("retry after 3600s"), std::string::npos) << r.error().detail;
}

TEST_F(IssuerTest, PendingForeverHitsTheDeadline) {
    // A CA that never finishes validating: the poll ends at its deadline, not in a hang.
    opts_.poll_timeout = std::chrono::seconds(0);
    ca_.authz_result = "pending";
    auto r = issue();
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().detail.find("still pending"), std::string::npos) << r.error().detail;
}

TEST(AcmeClientDirectory, BadDirectoryAnswersAreClearErrors) {
    struct Case {
        int status;
        std::string body;
    };
    for (const Case& c : {Case{404, "not found"}, Case{200, "<html>"}, Case{200, "{}"},
                          Case{200, R"({"newNonce":"https://n"})"}}) {
        AcmeClient client("https://ca/dir", [&](const ClientRequest&) -> Result<ClientResponse> {
            ClientResponse r;
            r.status = c.status;
            r.body = c.body;
            return r;
        });
        auto d = client.directory();
        ASSERT_FALSE(d) << c.body;
        EXPECT_EQ(d.error().reason, static_cast<int>(Reason::kBadDirectory));
        EXPECT_NE(d.error().detail.find("https://ca/dir"), std::string::npos);
    }
}

TEST(AcmeClientDirectory, UnreachableAndOversizedAreClearErrors) {
    AcmeClient down("https://ca/dir", [](const ClientRequest&) -> Result<ClientResponse> {
        return make_error(Errc::kUnavailable, "https://ca/dir: Connection refused");
    });
    auto d = down.directory();
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error().reason, static_cast<int>(Reason::kUnreachable));
    AcmeClient big("https://ca/dir", [](const ClientRequest&) -> Result<ClientResponse> {
        return make_error(Errc::kTooLarge,
                          "https://ca/dir: response body larger than 1048576 bytes");
    });
    auto b = big.directory();
    ASSERT_FALSE(b);
    EXPECT_EQ(b.error().code, Errc::kTooLarge);
}

TEST(ChallengeBoard, Http01HandlerAnswersOnlyKnownTokens) {
    auto board = std::make_shared<ChallengeBoard>();
    board->add_http01("tok123", "tok123.thumb");
    auto h = ChallengeBoard::http_handler(board);
    edge::Request req;
    req.method = edge::Method::kGet;
    req.path = "/.well-known/acme-challenge/tok123";
    edge::Response res;
    h->handle(req, res);
    EXPECT_EQ(res.status, 200);
    ASSERT_TRUE(res.body.bytes);
    EXPECT_EQ(*res.body.bytes, "tok123.thumb");
    edge::Response miss;
    req.path = "/.well-known/acme-challenge/other";
    h->handle(req, miss);
    EXPECT_EQ(miss.status, 404);
    board->remove_http01("tok123");
    edge::Response gone;
    req.path = "/.well-known/acme-challenge/tok123";
    h->handle(req, gone);
    EXPECT_EQ(gone.status, 404);
    edge::Response post;
    req.method = edge::Method::kOther;
    h->handle(req, post);
    EXPECT_EQ(post.status, 405);
}

TEST(ChallengeBoard, AlpnProviderIsCaseInsensitive) {
    auto board = std::make_shared<ChallengeBoard>();
    auto provider = ChallengeBoard::alpn_provider(board);
    EXPECT_EQ(provider("a.test"), nullptr);
    auto cert = std::make_shared<tls::CertKey>(X509_new(), nullptr, EVP_PKEY_new());
    board->add_alpn("A.Test", cert);
    EXPECT_EQ(provider("a.test"), cert);
    board->remove_alpn("a.test");
    EXPECT_EQ(provider("a.test"), nullptr);
}

}  // namespace
}  // namespace moat::acme
