// Parsing of untrusted ACME responses (RFC 8555 §7.1, RFC 9773 §4.2): malformed input is a clean
// error, never an exception or a crash.
#include "acme/messages.h"

#include <gtest/gtest.h>

namespace moat::acme {
namespace {

constexpr char kDir[] = R"({
  "newNonce": "https://ca/nonce", "newAccount": "https://ca/acct", "newOrder": "https://ca/order",
  "revokeCert": "https://ca/revoke", "keyChange": "https://ca/key",
  "renewalInfo": "https://ca/ari",
  "meta": {"termsOfService": "https://ca/tos", "externalAccountRequired": true,
           "caaIdentities": ["ca.example"], "profiles": {"classic": "x"}},
  "x-unknown": 1})";

TEST(Directory, ParsesEveryField) {
    auto d = parse_directory(kDir);
    ASSERT_TRUE(d) << d.error().detail;
    EXPECT_EQ(d->new_nonce, "https://ca/nonce");
    EXPECT_EQ(d->new_account, "https://ca/acct");
    EXPECT_EQ(d->new_order, "https://ca/order");
    EXPECT_EQ(d->renewal_info, "https://ca/ari");
    EXPECT_TRUE(d->external_account_required);
    EXPECT_EQ(d->caa_identities, std::vector<std::string>{"ca.example"});
}

TEST(Directory, RefusesMalformedDocuments) {
    for (const char* bad :
         {"", "{", "null", "[]", "\"str\"", "{\"newNonce\": 5}", "<html>not found</html>",
          R"({"newNonce":"https://ca/n","newAccount":"https://ca/a"})",  // no newOrder
          R"({"newNonce":"ftp://x","newAccount":"https://ca/a","newOrder":"https://ca/o"})",  // not
                                                                                              // a
                                                                                              // URL
          R"({"newNonce":"https://n","newAccount":["x"],"newOrder":"https://o"})"}) {
        auto d = parse_directory(bad);
        EXPECT_FALSE(d) << bad;
        if (!d) EXPECT_EQ(d.error().code, Errc::kInvalidArgument);
    }
    // meta of the wrong type is ignored, not fatal.
    EXPECT_TRUE(parse_directory(
        R"({"newNonce":"https://n","newAccount":"https://a","newOrder":"https://o","meta":7})"));
}

TEST(Problem, RecognisesTypesAndSurvivesGarbage) {
    Problem p =
        parse_problem(R"({"type":"urn:ietf:params:acme:error:badNonce","detail":"x"})", 400);
    EXPECT_TRUE(p.is("badNonce"));
    EXPECT_FALSE(p.is("Nonce"));
    EXPECT_EQ(p.status, 400);
    Problem g = parse_problem("<<garbage>>", 502);
    EXPECT_EQ(g.status, 502);
    EXPECT_NE(g.to_string().find("502"), std::string::npos);
}

TEST(Order, ParsesAndValidates) {
    auto o = parse_order(R"({"status":"pending","identifiers":[{"type":"dns","value":"a.test"}],
        "authorizations":["https://ca/authz/1"],"finalize":"https://ca/fin/1"})");
    ASSERT_TRUE(o) << o.error().detail;
    EXPECT_EQ(o->status, "pending");
    EXPECT_EQ(o->authorizations.size(), 1u);
    EXPECT_EQ(o->identifiers, std::vector<std::string>{"a.test"});
    auto inv = parse_order(R"({"status":"invalid","authorizations":[],"finalize":"https://f",
        "error":{"type":"urn:ietf:params:acme:error:unauthorized","detail":"nope"}})");
    ASSERT_TRUE(inv);
    ASSERT_TRUE(inv->error);
    EXPECT_TRUE(inv->error->is("unauthorized"));
    EXPECT_FALSE(parse_order(R"({"status":"pending","finalize":"https://f"})"));  // no authzs
    EXPECT_FALSE(
        parse_order(R"({"status":"pending","authorizations":[1],"finalize":"https://f"})"));
    EXPECT_FALSE(parse_order(R"({"authorizations":[],"finalize":"https://f"})"));  // no status
}

TEST(Authorization, ParsesChallengesAndErrors) {
    auto a =
        parse_authorization(R"({"status":"invalid","identifier":{"type":"dns","value":"a.test"},
        "challenges":[{"type":"http-01","url":"https://ca/ch/1","token":"tok","status":"invalid",
        "error":{"type":"urn:ietf:params:acme:error:connection","detail":"refused"}},
        {"type":"dns-01","url":"https://ca/ch/2","token":"tok","status":"pending"}]})");
    ASSERT_TRUE(a) << a.error().detail;
    EXPECT_EQ(a->identifier, "a.test");
    ASSERT_NE(a->find("dns-01"), nullptr);
    EXPECT_EQ(a->find("tls-alpn-01"), nullptr);
    ASSERT_TRUE(a->first_error());
    EXPECT_TRUE(a->first_error()->is("connection"));
    EXPECT_FALSE(parse_authorization(R"({"status":"pending","challenges":[]})"));
    EXPECT_FALSE(parse_authorization(
        R"({"status":"pending","identifier":{"value":"a"},"challenges":[{"type":"x","url":3}]})"));
}

TEST(RenewalInfo, ParsesWindowAndRejectsInverted) {
    auto w = parse_renewal_info(R"({"suggestedWindow":{"start":"2025-01-02T04:00:00Z",
        "end":"2025-01-03T04:00:00Z"},"explanationURL":"https://ca/why"})");
    ASSERT_TRUE(w) << w.error().detail;
    EXPECT_EQ(std::chrono::duration_cast<std::chrono::hours>(w->end - w->start).count(), 24);
    EXPECT_EQ(w->explanation_url, "https://ca/why");
    EXPECT_FALSE(parse_renewal_info(
        R"({"suggestedWindow":{"start":"2025-01-03T04:00:00Z","end":"2025-01-02T04:00:00Z"}})"));
    EXPECT_FALSE(parse_renewal_info(R"({"suggestedWindow":{"start":"yesterday","end":"today"}})"));
    EXPECT_FALSE(parse_renewal_info(R"({})"));
}

TEST(Rfc3339, ParsesZonesAndFractions) {
    auto a = parse_rfc3339("2025-01-02T04:00:00Z");
    auto b = parse_rfc3339("2025-01-02T06:00:00.123+02:00");
    ASSERT_TRUE(a);
    ASSERT_TRUE(b);
    EXPECT_EQ(*a, *b);
    EXPECT_EQ(std::chrono::system_clock::to_time_t(*a), 1735790400);
    EXPECT_FALSE(parse_rfc3339("2025-01-02T04:00:00"));  // no zone
    EXPECT_FALSE(parse_rfc3339("2025-13-02T04:00:00Z"));
    EXPECT_FALSE(parse_rfc3339("2025-01-02T04:00:00Zjunk"));
}

TEST(RetryAfter, SecondsOrHttpDate) {
    auto now = std::chrono::system_clock::from_time_t(1735790400);  // 2025-01-02T04:00:00Z
    EXPECT_EQ(parse_retry_after("120", now), std::chrono::seconds(120));
    EXPECT_EQ(parse_retry_after("Thu, 02 Jan 2025 04:01:00 GMT", now), std::chrono::seconds(60));
    EXPECT_EQ(parse_retry_after("Thu, 02 Jan 2025 03:00:00 GMT", now), std::chrono::seconds(0));
    EXPECT_FALSE(parse_retry_after("soon", now));
    EXPECT_FALSE(parse_retry_after("", now));
}

TEST(Token, OnlyBase64UrlOfSaneLength) {
    EXPECT_TRUE(valid_token("LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"));
    EXPECT_FALSE(valid_token("short"));
    EXPECT_FALSE(valid_token("../../../../etc/passwd/aaaaaaaaaaaaaaaa"));
    EXPECT_FALSE(valid_token(std::string(300, 'a')));
}

}  // namespace
}  // namespace moat::acme
