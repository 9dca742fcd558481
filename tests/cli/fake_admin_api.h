#pragma once
// A tiny in-process admin API (docs/admin-api.md) for the CLI's tests: HTTPS on 127.0.0.1
// with a certificate from a throwaway internal CA, the deploy calls (missing, PUT, deploy)
// over an in-memory content set, and canned answers for anything else.

#include <openssl/evp.h>

#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "edge/service.h"
#include "tls/cert_table.h"
#include "tls/internal_ca.h"
#include "tls/server_context.h"
#include "tls/tls_test_util.h"

namespace moat::cli::testing {

inline std::string sha256_hex(std::string_view s) {
    unsigned char md[32];
    unsigned int len = 0;
    EVP_Digest(s.data(), s.size(), md, &len, EVP_sha256(), nullptr);
    static const char* kHex = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
        out += kHex[md[i] >> 4];
        out += kHex[md[i] & 15];
    }
    return out;
}

class FakeAdminApi : public edge::ServiceHandler {
public:
    struct Seen {
        std::string method, path, otp, body;
    };
    // A canned answer for method + path (no deploy logic).
    struct Canned {
        int status;
        std::string body;
        std::vector<std::pair<std::string, std::string>> headers;
    };

    std::mutex mu;
    std::set<std::string> have;          // contents the "store" has
    std::vector<std::string> put_paths;  // request paths of accepted PUTs, in order
    std::vector<Seen> seen;              // every request
    int fail_put_after = -1;             // refuse PUTs (403) once this many were accepted
    int deploys = 0;
    std::map<std::string, Canned> canned;  // "POST /v1/..." -> answer
    std::string token = "moat_test";
    // Consulted first (under mu): an answer for this request, or nullopt for the usual ones.
    std::function<std::optional<Canned>(const Seen&)> hook;

    void handle(edge::ServiceRequest& req, edge::ServiceResponse& res) override {
        std::string body;
        char buf[65536];
        for (;;) {
            auto n = req.body->read(buf, sizeof buf);
            if (!n || *n == 0) break;
            body.append(buf, *n);
        }
        std::lock_guard lock(mu);
        seen.push_back({req.method, req.target, std::string(req.header("x-moat-otp")),
                        req.method == "PUT" ? "" : body});
        if (req.header("authorization") != "Bearer " + token)
            return error(res, 401, "Unauthorized", "bad token");
        if (hook) {
            if (auto c = hook(seen.back())) {
                (void)res.send(c->status, {{"Content-Type", "application/json"}}, c->body);
                return;
            }
        }
        if (auto it = canned.find(req.method + " " + req.target); it != canned.end()) {
            edge::ServiceHeaders h{{"Content-Type", "application/json"}};
            for (const auto& kv : it->second.headers) h.push_back(kv);
            (void)res.send(it->second.status, h, it->second.body);
            return;
        }
        const std::string prefix = "/v1/sites/example.com/envs/testing/";
        if (!req.path.starts_with(prefix)) return error(res, 404, "NoSuchSite", "no such site");
        std::string rest = req.path.substr(prefix.size());
        if (req.method == "POST" && rest == "missing") {
            auto j = nlohmann::json::parse(body);
            std::set<std::string> missing;
            for (const auto& f : j["files"])
                if (!have.count(f["sha256"])) missing.insert(f["sha256"].get<std::string>());
            return json(res, 200, {{"missing", missing}});
        }
        if (req.method == "PUT" && rest.starts_with("files/")) {
            if (fail_put_after >= 0 && static_cast<int>(put_paths.size()) >= fail_put_after)
                return error(res, 403, "AccessDenied", "stop");
            std::string sha = sha256_hex(body);
            if (sha != req.header("x-moat-sha256"))
                return error(res, 400, "HashMismatch", "bytes differ from X-Moat-Sha256");
            have.insert(sha);
            put_paths.push_back(req.path);
            return json(res, 200,
                        {{"path", rest.substr(6)}, {"sha256", sha}, {"size", body.size()}});
        }
        if (req.method == "POST" && rest == "deploy") {
            auto j = nlohmann::json::parse(body);
            for (const auto& f : j["files"])
                if (!have.count(f["sha256"]))
                    return error(res, 409, "MissingContent",
                                 "lacks " + f["path"].get<std::string>());
            ++deploys;
            return json(res, 200,
                        {{"id", "r" + std::to_string(deploys)},
                         {"site", "example.com"},
                         {"files", j["files"].size()},
                         {"url", "https://test.example.com/"}});
        }
        error(res, 404, "NotFound", "no such call");
    }

private:
    static void json(edge::ServiceResponse& res, int status, const nlohmann::json& j) {
        (void)res.send(status, {{"Content-Type", "application/json"}}, j.dump());
    }
    static void error(edge::ServiceResponse& res, int status, const std::string& code,
                      const std::string& msg) {
        json(res, status, {{"error", {{"code", code}, {"message", msg}}}});
    }
};

// The fake API served over TLS on 127.0.0.1:<port>; ca() is the root to trust.
class FakeAdminServer {
public:
    FakeAdminServer() : api(std::make_shared<FakeAdminApi>()) {
        auto ca = tls::InternalCa::open_or_create(dir_.file("ca"));
        EXPECT_TRUE(ca) << ca.error().detail;
        ca_ = ca->root_cert_path();
        auto leaf = ca->issue({"127.0.0.1"});
        EXPECT_TRUE(leaf);
        auto table = std::make_shared<tls::CertTable>();
        EXPECT_TRUE(table->add("127.0.0.1", *leaf));
        EXPECT_TRUE(table->set_default("127.0.0.1"));
        auto ctx = tls::ServerContext::create(tls::TlsSettings{});
        EXPECT_TRUE(ctx);
        (*ctx)->set_certs(table);
        (*ctx)->offer_http11_only();  // as the real admin listener
        edge::ServiceSettings s;
        s.name = "fake-admin";
        s.listen = {"127.0.0.1:0"};
        s.io_timeout = std::chrono::milliseconds(5000);
        auto srv = edge::ServiceServer::create(s, *ctx, api);
        EXPECT_TRUE(srv) << srv.error().detail;
        server_ = std::move(*srv);
        server_->start();
        url_ = "https://127.0.0.1:" + std::to_string(server_->ports().at(0));
    }
    ~FakeAdminServer() { server_->stop(); }
    const std::string& url() const { return url_; }
    const std::string& ca() const { return ca_; }
    std::string dir() const { return dir_.path(); }

    std::shared_ptr<FakeAdminApi> api;

private:
    tls::testing::TempDir dir_;
    std::unique_ptr<edge::ServiceServer> server_;
    std::string url_, ca_;
};

}  // namespace moat::cli::testing
