#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "edge/http1/parser.h"

namespace moat::edge::http1 {
namespace {

using namespace std::string_literals;

constexpr int kOk = 0;         // expect kComplete
constexpr int kNeedMore = -1;  // expect kIncomplete

// One parse over a private copy of the input; the copy outlives the views in req.
struct Parsed {
    std::string buf;
    Request req;
    ParseResult res;
};

Parsed parse(std::string input, const Limits& limits = {}) {
    Parsed p;
    p.buf = std::move(input);
    p.res = parse_request(p.buf.data(), p.buf.size(), limits, p.req);
    return p;
}

int outcome(const ParseResult& r) {
    switch (r.status) {
        case ParseStatus::kIncomplete:
            return kNeedMore;
        case ParseStatus::kComplete:
            return kOk;
        case ParseStatus::kError:
            return r.error_status;
    }
    return -2;
}

struct Case {
    const char* name;
    std::string input;
    int expect;  // kOk, kNeedMore or an error status
};

const std::string kH = "Host: example.com\r\n";

std::vector<Case> cases() {
    return {
        // Well-formed requests.
        {"simple get", "GET / HTTP/1.1\r\n" + kH + "\r\n", kOk},
        {"head", "HEAD /index.html HTTP/1.1\r\n" + kH + "\r\n", kOk},
        {"http10 without host", "GET / HTTP/1.0\r\n\r\n", kOk},
        {"http10 with host", "GET / HTTP/1.0\r\n" + kH + "\r\n", kOk},
        {"other method parses for 405", "DELETE /x HTTP/1.1\r\n" + kH + "\r\n", kOk},
        {"lower-case method is just another token", "get / HTTP/1.1\r\n" + kH + "\r\n", kOk},
        {"absolute-form http", "GET http://example.com/a?b HTTP/1.1\r\n" + kH + "\r\n", kOk},
        {"absolute-form https upper-case",
         "GET HTTPS://EXAMPLE.com:8443/ HTTP/1.1\r\n" + kH + "\r\n", kOk},
        {"absolute-form empty path", "GET http://example.com HTTP/1.1\r\n" + kH + "\r\n", kOk},
        {"absolute-form empty path with query", "GET http://a.b?x=1 HTTP/1.1\r\n" + kH + "\r\n",
         kOk},
        {"one leading crlf", "\r\nGET / HTTP/1.1\r\n" + kH + "\r\n", kOk},
        {"two leading crlf", "\r\n\r\nGET / HTTP/1.1\r\n" + kH + "\r\n", kOk},
        {"ows around value", "GET / HTTP/1.1\r\nHost: \t example.com \t\r\nX-A:b\r\n\r\n", kOk},
        {"empty value", "GET / HTTP/1.1\r\n" + kH + "X-Empty:\r\nX-Sp:   \r\n\r\n", kOk},
        {"obs-text and htab in value", "GET / HTTP/1.1\r\n" + kH + "X-A: a\tb \xc3\xa9\r\n\r\n",
         kOk},
        {"host with port", "GET / HTTP/1.1\r\nHost: example.com:8080\r\n\r\n", kOk},
        {"host ipv4", "GET / HTTP/1.1\r\nHost: 192.0.2.1:443\r\n\r\n", kOk},
        {"host ipv6", "GET / HTTP/1.1\r\nHost: [2001:DB8::1]:443\r\n\r\n", kOk},
        {"host ipv6 v4 tail", "GET / HTTP/1.1\r\nHost: [::ffff:192.0.2.1]\r\n\r\n", kOk},
        {"host ipv6 full", "GET / HTTP/1.1\r\nHost: [1:2:3:4:5:6:7:8]\r\n\r\n", kOk},
        {"host trailing dot", "GET / HTTP/1.1\r\nHost: example.com.\r\n\r\n", kOk},
        {"content-length zero", "GET / HTTP/1.1\r\n" + kH + "Content-Length: 0\r\n\r\n", kOk},
        {"content-length body", "POST / HTTP/1.1\r\n" + kH + "Content-Length: 5\r\n\r\nhello", kOk},
        {"same content-length twice",
         "POST / HTTP/1.1\r\n" + kH + "Content-Length: 5\r\nContent-Length: 005\r\n\r\n", kOk},
        {"chunked", "POST / HTTP/1.1\r\n" + kH + "Transfer-Encoding: chunked\r\n\r\n", kOk},
        {"gzip then chunked",
         "POST / HTTP/1.1\r\n" + kH +
             "Transfer-Encoding: gzip\r\nTransfer-Encoding: Chunked\r\n\r\n",
         kOk},
        {"query", "GET /a/b?c=d&e HTTP/1.1\r\n" + kH + "\r\n", kOk},
        {"double slash path", "GET //a HTTP/1.1\r\n" + kH + "\r\n", kOk},
        {"percent-encoding", "GET /%41%7e%2F HTTP/1.1\r\n" + kH + "\r\n", kOk},
        {"connection list",
         "GET / HTTP/1.1\r\n" + kH + "Connection: ,keep-alive ,, Upgrade\r\n\r\n", kOk},

        // Incomplete heads.
        {"empty", "", kNeedMore},
        {"only crlf", "\r\n", kNeedMore},
        {"request line only", "GET / HTTP/1.1\r\n", kNeedMore},
        {"no final crlf", "GET / HTTP/1.1\r\n" + kH, kNeedMore},
        {"half final crlf", "GET / HTTP/1.1\r\n" + kH + "\r", kNeedMore},

        // Request line.
        {"empty method", " / HTTP/1.1\r\n" + kH + "\r\n", 400},
        {"method with non-token", "GE(T / HTTP/1.1\r\n" + kH + "\r\n", 400},
        {"two spaces after method", "GET  / HTTP/1.1\r\n" + kH + "\r\n", 400},
        {"two spaces before version", "GET /  HTTP/1.1\r\n" + kH + "\r\n", 400},
        {"trailing space after version", "GET / HTTP/1.1 \r\n" + kH + "\r\n", 400},
        {"tab separator", "GET\t/ HTTP/1.1\r\n" + kH + "\r\n", 400},
        {"lower-case http", "GET / http/1.1\r\n" + kH + "\r\n", 400},
        {"version without minor", "GET / HTTP/1\r\n" + kH + "\r\n", 400},
        {"version too long", "GET / HTTP/1.10\r\n" + kH + "\r\n", 400},
        {"version garbage", "GET / HTTX/1.1\r\n" + kH + "\r\n", 400},
        {"http 0.9 style", "GET /\r\n\r\n", 400},
        {"http2", "GET / HTTP/2.0\r\n" + kH + "\r\n", 505},
        {"http 1.2", "GET / HTTP/1.2\r\n" + kH + "\r\n", 505},
        {"http 0.9", "GET / HTTP/0.9\r\n" + kH + "\r\n", 505},
        // Cleartext HTTP/2 prior knowledge: the version is judged before the target form.
        {"h2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505},
        {"bare lf request line", "GET / HTTP/1.1\n" + kH + "\r\n", 400},
        {"bare cr request line", "GET / HTTP/1.1\rX" + kH + "\r\n", 400},
        {"bare lf leading", "\nGET / HTTP/1.1\r\n" + kH + "\r\n", 400},
        {"bare cr leading", "\rGET / HTTP/1.1\r\n" + kH + "\r\n", 400},

        // Request-target.
        {"asterisk-form", "OPTIONS * HTTP/1.1\r\n" + kH + "\r\n", 400},
        {"authority-form", "CONNECT example.com:443 HTTP/1.1\r\n" + kH + "\r\n", 400},
        {"relative target", "GET a/b HTTP/1.1\r\n" + kH + "\r\n", 400},
        {"ftp scheme", "GET ftp://example.com/ HTTP/1.1\r\n" + kH + "\r\n", 400},
        {"scheme without slashes", "GET http:example.com/ HTTP/1.1\r\n" + kH + "\r\n", 400},
        {"userinfo", "GET http://user@example.com/ HTTP/1.1\r\n" + kH + "\r\n", 400},
        {"empty authority", "GET http:///x HTTP/1.1\r\n" + kH + "\r\n", 400},
        {"bad authority port", "GET http://a.b:x/ HTTP/1.1\r\n" + kH + "\r\n", 400},
        {"control in target", "GET /a\x01 HTTP/1.1\r\n" + kH + "\r\n", 400},
        {"nul in target", "GET /a\0b HTTP/1.1\r\n"s + kH + "\r\n", 400},
        {"del in target", "GET /a\x7f HTTP/1.1\r\n" + kH + "\r\n", 400},
        {"high byte in target", "GET /\xc3\xa9 HTTP/1.1\r\n" + kH + "\r\n", 400},
        {"tab in target", "GET /a\tb HTTP/1.1\r\n" + kH + "\r\n", 400},
        {"fragment", "GET /a#b HTTP/1.1\r\n" + kH + "\r\n", 400},
        {"bad percent", "GET /%zz HTTP/1.1\r\n" + kH + "\r\n", 400},
        {"short percent", "GET /a%4 HTTP/1.1\r\n" + kH + "\r\n", 400},

        // Header fields.
        {"space before colon", "GET / HTTP/1.1\r\n" + kH + "X-A : b\r\n\r\n", 400},
        {"tab before colon", "GET / HTTP/1.1\r\n" + kH + "X-A\t: b\r\n\r\n", 400},
        {"empty name", "GET / HTTP/1.1\r\n" + kH + ": b\r\n\r\n", 400},
        {"no colon", "GET / HTTP/1.1\r\n" + kH + "X-A b\r\n\r\n", 400},
        {"non-token name", "GET / HTTP/1.1\r\n" + kH + "X(A): b\r\n\r\n", 400},
        {"obs-fold", "GET / HTTP/1.1\r\n" + kH + "X-A: b\r\n c\r\n\r\n", 400},
        {"obs-fold tab", "GET / HTTP/1.1\r\n" + kH + "X-A: b\r\n\tc\r\n\r\n", 400},
        {"space before first field", "GET / HTTP/1.1\r\n " + kH + "\r\n", 400},
        {"nul in value", "GET / HTTP/1.1\r\n"s + kH + "X-A: a\0b\r\n\r\n"s, 400},
        {"del in value", "GET / HTTP/1.1\r\n" + kH + "X-A: a\x7f\r\n\r\n", 400},
        {"control in value", "GET / HTTP/1.1\r\n" + kH + "X-A: a\x1b\r\n\r\n", 400},
        {"bare cr in value", "GET / HTTP/1.1\r\n" + kH + "X-A: a\rb\r\n\r\n", 400},
        {"bare lf in value", "GET / HTTP/1.1\r\n" + kH + "X-A: a\nb\r\n\r\n", 400},
        {"bare lf end of head", "GET / HTTP/1.1\r\n" + kH + "\n", 400},
        {"bare cr end of head", "GET / HTTP/1.1\r\n" + kH + "\rX", 400},

        // Host (RFC 9112 §3.2).
        {"missing host", "GET / HTTP/1.1\r\n\r\n", 400},
        {"missing host absolute-form", "GET http://a.b/ HTTP/1.1\r\n\r\n", 400},
        {"duplicate host", "GET / HTTP/1.1\r\n" + kH + kH + "\r\n", 400},
        {"duplicate host http10", "GET / HTTP/1.0\r\n" + kH + kH + "\r\n", 400},
        {"empty host", "GET / HTTP/1.1\r\nHost:\r\n\r\n", 400},
        {"host with space", "GET / HTTP/1.1\r\nHost: exa mple.com\r\n\r\n", 400},
        {"host empty port", "GET / HTTP/1.1\r\nHost: example.com:\r\n\r\n", 400},
        {"host alpha port", "GET / HTTP/1.1\r\nHost: example.com:https\r\n\r\n", 400},
        {"host port too big", "GET / HTTP/1.1\r\nHost: example.com:65536\r\n\r\n", 400},
        {"host port too long", "GET / HTTP/1.1\r\nHost: example.com:000080\r\n\r\n", 400},
        {"host two ports", "GET / HTTP/1.1\r\nHost: example.com:1:2\r\n\r\n", 400},
        {"host userinfo", "GET / HTTP/1.1\r\nHost: u@example.com\r\n\r\n", 400},
        {"host pct", "GET / HTTP/1.1\r\nHost: ex%41mple.com\r\n\r\n", 400},
        {"host short ipv4", "GET / HTTP/1.1\r\nHost: 1.2.3\r\n\r\n", 400},
        {"host ipv4 octet", "GET / HTTP/1.1\r\nHost: 256.1.1.1\r\n\r\n", 400},
        {"host ipv4 leading zero", "GET / HTTP/1.1\r\nHost: 01.1.1.1\r\n\r\n", 400},
        {"host ipv6 unbracketed", "GET / HTTP/1.1\r\nHost: ::1\r\n\r\n", 400},
        {"host ipv6 unclosed", "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", 400},
        {"host ipv6 bad hex", "GET / HTTP/1.1\r\nHost: [::g]\r\n\r\n", 400},
        {"host ipv6 two elisions", "GET / HTTP/1.1\r\nHost: [1::2::3]\r\n\r\n", 400},
        {"host ipv6 nine groups", "GET / HTTP/1.1\r\nHost: [1:2:3:4:5:6:7:8:9]\r\n\r\n", 400},
        {"host ipv6 seven groups", "GET / HTTP/1.1\r\nHost: [1:2:3:4:5:6:7]\r\n\r\n", 400},
        {"host ipv6 zone", "GET / HTTP/1.1\r\nHost: [fe80::1%25eth0]\r\n\r\n", 400},
        {"host ipv6 junk after", "GET / HTTP/1.1\r\nHost: [::1]x\r\n\r\n", 400},
        {"host ipvfuture", "GET / HTTP/1.1\r\nHost: [v1.x]\r\n\r\n", 400},

        // Message framing (RFC 9112 §6).
        {"cl and te",
         "POST / HTTP/1.1\r\n" + kH + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
         400},
        {"te and cl",
         "POST / HTTP/1.1\r\n" + kH + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
         400},
        {"different cl",
         "POST / HTTP/1.1\r\n" + kH + "Content-Length: 5\r\nContent-Length: 6\r\n\r\n", 400},
        {"cl list", "POST / HTTP/1.1\r\n" + kH + "Content-Length: 5, 5\r\n\r\n", 400},
        {"cl negative", "POST / HTTP/1.1\r\n" + kH + "Content-Length: -1\r\n\r\n", 400},
        {"cl plus", "POST / HTTP/1.1\r\n" + kH + "Content-Length: +1\r\n\r\n", 400},
        {"cl hex", "POST / HTTP/1.1\r\n" + kH + "Content-Length: 0x10\r\n\r\n", 400},
        {"cl empty", "POST / HTTP/1.1\r\n" + kH + "Content-Length:\r\n\r\n", 400},
        {"te not chunked last", "POST / HTTP/1.1\r\n" + kH + "Transfer-Encoding: gzip\r\n\r\n",
         400},
        {"te chunked twice",
         "POST / HTTP/1.1\r\n" + kH + "Transfer-Encoding: chunked, chunked\r\n\r\n", 400},
        {"te chunked then gzip",
         "POST / HTTP/1.1\r\n" + kH +
             "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n",
         400},
        {"te empty", "POST / HTTP/1.1\r\n" + kH + "Transfer-Encoding:\r\n\r\n", 400},
        {"te unknown", "POST / HTTP/1.1\r\n" + kH + "Transfer-Encoding: br, chunked\r\n\r\n", 501},
        {"te in http10", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
        {"bad connection token", "GET / HTTP/1.1\r\n" + kH + "Connection: close;x\r\n\r\n", 400},
    };
}

TEST(Http1Parser, TableOfRequests) {
    for (const Case& c : cases()) {
        const Parsed p = parse(c.input);
        EXPECT_EQ(outcome(p.res), c.expect) << c.name << ": " << p.res.error_reason;
        if (p.res.status == ParseStatus::kError) {
            EXPECT_STRNE(p.res.error_reason, "") << c.name;
            EXPECT_FALSE(p.res.keep_alive) << c.name;
        }
    }
}

// Every view lies in the head; nothing points outside the buffer.
TEST(Http1Parser, ViewsPointIntoTheHead) {
    for (const Case& c : cases()) {
        if (c.expect != kOk) continue;
        const Parsed p = parse(c.input);
        ASSERT_EQ(p.res.status, ParseStatus::kComplete) << c.name;
        const char* lo = p.buf.data();
        const char* hi = lo + p.res.consumed;
        auto inside = [&](std::string_view v) {
            return v.empty() || (v.data() >= lo && v.data() + v.size() <= hi);
        };
        EXPECT_TRUE(inside(p.req.method_name)) << c.name;
        EXPECT_TRUE(inside(p.req.target)) << c.name;
        EXPECT_TRUE(inside(p.req.path)) << c.name;
        EXPECT_TRUE(inside(p.req.query)) << c.name;
        EXPECT_TRUE(inside(p.req.host)) << c.name;
        EXPECT_FALSE(p.req.path.empty()) << c.name;
        EXPECT_EQ(p.req.path.front(), '/') << c.name;
        for (const auto& h : p.req.headers) {
            EXPECT_TRUE(inside(h.name) && inside(h.value)) << c.name;
            EXPECT_FALSE(h.name.empty()) << c.name;
            for (char ch : h.name) EXPECT_FALSE(ch >= 'A' && ch <= 'Z') << c.name;
        }
    }
}

// A prefix never gives an answer the whole request would not give, and a re-parse of the buffer
// (already lower-cased in place) gives the same answer: the parser is stateless.
TEST(Http1Parser, ByteByByteMatchesAllAtOnce) {
    for (const Case& c : cases()) {
        const Parsed whole = parse(c.input);
        std::string buf;
        Request req;
        ParseResult last;
        for (std::size_t k = 0; k <= c.input.size(); ++k) {
            if (k > 0) buf.push_back(c.input[k - 1]);
            last = parse_request(buf.data(), buf.size(), Limits{}, req);
            if (last.status == ParseStatus::kIncomplete) continue;
            ASSERT_EQ(outcome(last), outcome(whole.res)) << c.name << " at byte " << k;
            ASSERT_EQ(last.consumed, whole.res.consumed) << c.name << " at byte " << k;
            if (last.status == ParseStatus::kComplete) {
                // A complete head is recognised exactly when its last byte arrives.
                EXPECT_EQ(k, whole.res.consumed) << c.name;
            }
            break;
        }
        EXPECT_EQ(outcome(last), outcome(whole.res)) << c.name;
        EXPECT_EQ(last.keep_alive, whole.res.keep_alive) << c.name;
        EXPECT_EQ(last.has_body, whole.res.has_body) << c.name;
        if (last.status == ParseStatus::kComplete) {
            EXPECT_EQ(req.target, whole.req.target) << c.name;
            EXPECT_EQ(req.host, whole.req.host) << c.name;
            EXPECT_EQ(req.headers.size(), whole.req.headers.size()) << c.name;
        }
        // Parse the full (mutated) buffer again.
        Request again;
        std::string copy = c.input;
        ParseResult first = parse_request(copy.data(), copy.size(), Limits{}, again);
        ParseResult second = parse_request(copy.data(), copy.size(), Limits{}, again);
        EXPECT_EQ(outcome(first), outcome(second)) << c.name;
        EXPECT_EQ(first.consumed, second.consumed) << c.name;
    }
}

TEST(Http1Parser, ExtractsFields) {
    const Parsed p = parse(
        "\r\nGET /a/b%20c?x=1&y HTTP/1.1\r\nHOST: Example.COM:8443\r\nX-Multi:  v1 \r\n"
        "accept-ENCODING:gzip, br\r\nX-Multi: v2\r\nX-Empty:\r\n\r\nNEXT");
    ASSERT_EQ(p.res.status, ParseStatus::kComplete) << p.res.error_reason;
    EXPECT_EQ(p.res.consumed, p.buf.size() - 4);
    EXPECT_EQ(p.req.method, Method::kGet);
    EXPECT_EQ(p.req.method_name, "GET");
    EXPECT_EQ(p.req.target, "/a/b%20c?x=1&y");
    EXPECT_EQ(p.req.path, "/a/b%20c");
    EXPECT_EQ(p.req.query, "x=1&y");
    EXPECT_EQ(p.req.host, "example.com");
    EXPECT_EQ(p.req.version, 11);
    ASSERT_EQ(p.req.headers.size(), 5u);
    EXPECT_EQ(p.req.headers[0].name, "host");
    EXPECT_EQ(p.req.headers[0].value, "example.com:8443");
    EXPECT_EQ(p.req.headers[1].name, "x-multi");
    EXPECT_EQ(p.req.headers[1].value, "v1");
    EXPECT_EQ(p.req.headers[2].name, "accept-encoding");
    EXPECT_EQ(p.req.headers[2].value, "gzip, br");
    EXPECT_EQ(p.req.headers[3].value, "v2");
    EXPECT_EQ(p.req.headers[4].name, "x-empty");
    EXPECT_EQ(p.req.headers[4].value, "");
    EXPECT_EQ(p.req.header("x-multi"), "v1");
    EXPECT_TRUE(p.res.keep_alive);
    EXPECT_FALSE(p.res.has_body);
}

TEST(Http1Parser, MethodsAndVersions) {
    struct Row {
        std::string input;
        Method method;
        std::string_view name;
        int version;
    };
    const Row rows[] = {
        {"GET / HTTP/1.1\r\n" + kH + "\r\n", Method::kGet, "GET", 11},
        {"HEAD / HTTP/1.0\r\n\r\n", Method::kHead, "HEAD", 10},
        {"POST / HTTP/1.1\r\n" + kH + "\r\n", Method::kOther, "POST", 11},
        {"get / HTTP/1.1\r\n" + kH + "\r\n", Method::kOther, "get", 11},  // RFC 9110 §9.1
        {"GETX / HTTP/1.1\r\n" + kH + "\r\n", Method::kOther, "GETX", 11},
    };
    for (const Row& r : rows) {
        const Parsed p = parse(r.input);
        ASSERT_EQ(p.res.status, ParseStatus::kComplete) << r.input;
        EXPECT_EQ(p.req.method, r.method) << r.input;
        EXPECT_EQ(p.req.method_name, r.name) << r.input;
        EXPECT_EQ(p.req.version, r.version) << r.input;
    }
}

TEST(Http1Parser, HostAndTargetForms) {
    struct Row {
        std::string target;
        std::string host_field;  // without CRLF; empty: no Host field
        std::string_view host, path, query;
    };
    const Row rows[] = {
        {"/", "Example.com", "example.com", "/", ""},
        {"/p?q", "EXAMPLE.com:80", "example.com", "/p", "q"},
        {"/", "[2001:DB8::A]:443", "[2001:db8::a]", "/", ""},
        {"/", "192.0.2.1", "192.0.2.1", "/", ""},
        // RFC 9112 §3.2.2: the authority of an absolute-form target wins over Host.
        {"http://Other.Example/x?y", "example.com", "other.example", "/x", "y"},
        {"https://other.example:8443", "example.com", "other.example", "/", ""},
        {"http://other.example?a=b", "example.com", "other.example", "/", "a=b"},
        {"http://[::1]:8080/z", "example.com", "[::1]", "/z", ""},
    };
    for (const Row& r : rows) {
        const Parsed p =
            parse("GET " + r.target + " HTTP/1.1\r\nHost: " + r.host_field + "\r\n\r\n");
        ASSERT_EQ(p.res.status, ParseStatus::kComplete) << r.target << " " << p.res.error_reason;
        EXPECT_EQ(p.req.host, r.host) << r.target;
        EXPECT_EQ(p.req.path, r.path) << r.target;
        EXPECT_EQ(p.req.query, r.query) << r.target;
        EXPECT_EQ(p.req.target.size(), r.target.size()) << r.target;  // as sent
    }
    const Parsed old = parse("GET /x HTTP/1.0\r\n\r\n");
    ASSERT_EQ(old.res.status, ParseStatus::kComplete);
    EXPECT_EQ(old.req.host, "");
}

TEST(Http1Parser, KeepAliveAndBody) {
    struct Row {
        std::string input;
        bool keep_alive, has_body;
    };
    const Row rows[] = {
        {"GET / HTTP/1.1\r\n" + kH + "\r\n", true, false},
        {"GET / HTTP/1.1\r\n" + kH + "Connection: close\r\n\r\n", false, false},
        {"GET / HTTP/1.1\r\n" + kH + "Connection: Keep-Alive, CLOSE\r\n\r\n", false, false},
        {"GET / HTTP/1.1\r\n" + kH + "Connection: upgrade\r\nConnection: Close\r\n\r\n", false,
         false},
        {"GET / HTTP/1.1\r\n" + kH + "Connection: closed\r\n\r\n", true, false},
        {"GET / HTTP/1.0\r\n\r\n", false, false},
        {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true, false},
        {"GET / HTTP/1.0\r\nConnection: TE, Keep-Alive\r\n\r\n", true, false},
        {"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", false, false},
        {"GET / HTTP/1.1\r\n" + kH + "Content-Length: 0\r\n\r\n", true, false},
        {"GET / HTTP/1.1\r\n" + kH + "Content-Length: 000\r\n\r\n", true, false},
        {"POST / HTTP/1.1\r\n" + kH + "Content-Length: 1\r\n\r\n", false, true},
        {"POST / HTTP/1.1\r\n" + kH + "Content-Length: 99999999999999999999999\r\n\r\n", false,
         true},
        {"POST / HTTP/1.0\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\n", false, true},
        {"POST / HTTP/1.1\r\n" + kH + "Transfer-Encoding: chunked\r\n\r\n", false, true},
    };
    for (const Row& r : rows) {
        const Parsed p = parse(r.input);
        ASSERT_EQ(p.res.status, ParseStatus::kComplete) << r.input << p.res.error_reason;
        EXPECT_EQ(p.res.keep_alive, r.keep_alive) << r.input;
        EXPECT_EQ(p.res.has_body, r.has_body) << r.input;
    }
}

TEST(Http1Parser, PipelinedRequests) {
    std::string buf = "GET /one HTTP/1.1\r\n" + kH + "\r\nHEAD /two HTTP/1.1\r\n" + kH +
                      "Connection: close\r\n\r\n\r\nGET /three HTTP/1.0\r\n\r\nGET /fo";
    Request req;
    std::size_t at = 0;
    std::vector<std::string> paths;
    for (;;) {
        ParseResult r = parse_request(buf.data() + at, buf.size() - at, Limits{}, req);
        if (r.status != ParseStatus::kComplete) {
            EXPECT_EQ(r.status, ParseStatus::kIncomplete);
            break;
        }
        paths.emplace_back(req.path);
        at += r.consumed;
    }
    EXPECT_EQ(paths, (std::vector<std::string>{"/one", "/two", "/three"}));
    EXPECT_EQ(buf.substr(at), "GET /fo");
}

TEST(Http1Parser, ReusesHeaderCapacity) {
    std::string a = "GET / HTTP/1.1\r\n" + kH + "A: 1\r\nB: 2\r\nC: 3\r\n\r\n";
    std::string b = "GET / HTTP/1.1\r\n" + kH + "D: 4\r\n\r\n";
    Request req;
    ASSERT_EQ(parse_request(a.data(), a.size(), Limits{}, req).status, ParseStatus::kComplete);
    const auto* storage = req.headers.data();
    ASSERT_EQ(parse_request(b.data(), b.size(), Limits{}, req).status, ParseStatus::kComplete);
    EXPECT_EQ(req.headers.size(), 2u);
    EXPECT_EQ(req.headers.data(), storage);
}

TEST(Http1Parser, TargetLimit) {
    Limits lim;
    lim.max_target_bytes = 20;
    const std::string at_limit = "/" + std::string(19, 'a');
    const std::string over = at_limit + "a";
    EXPECT_EQ(outcome(parse("GET " + at_limit + " HTTP/1.1\r\n" + kH + "\r\n", lim).res), kOk);
    EXPECT_EQ(outcome(parse("GET " + over + " HTTP/1.1\r\n" + kH + "\r\n", lim).res), 414);
    // Known to be too long before the request line has ended.
    EXPECT_EQ(outcome(parse("GET " + over, lim).res), 414);
    EXPECT_EQ(outcome(parse("GET " + at_limit, lim).res), kNeedMore);
    EXPECT_EQ(outcome(parse("GET http://example.com/" + std::string(40, 'x'), lim).res), 414);
}

TEST(Http1Parser, HeadLimit) {
    const std::string head = "GET / HTTP/1.1\r\n" + kH + "X-Pad: 0123456789\r\n\r\n";
    Limits lim;
    lim.max_header_bytes = head.size();
    EXPECT_EQ(outcome(parse(head, lim).res), kOk);
    // The limit covers the head only: a body or the next request may follow.
    EXPECT_EQ(outcome(parse(head + "GET", lim).res), kOk);
    lim.max_header_bytes = head.size() - 1;
    EXPECT_EQ(outcome(parse(head, lim).res), 431);
    // Up to the limit an incomplete head waits for more; one byte beyond, it is too large.
    EXPECT_EQ(outcome(parse(head.substr(0, head.size() - 1), lim).res), kNeedMore);
    EXPECT_EQ(outcome(parse(head.substr(0, head.size() - 1) + "\r", lim).res), 431);
    lim.max_header_bytes = 30;
    EXPECT_EQ(outcome(parse("GET / HTTP/1.1\r\nX-Long: " + std::string(40, 'v'), lim).res), 431);
    EXPECT_EQ(outcome(parse(std::string(40, 'G'), lim).res), 431);
    EXPECT_EQ(outcome(parse(std::string(29, 'G'), lim).res), kNeedMore);
}

TEST(Http1Parser, HeaderCountLimit) {
    Limits lim;
    lim.max_headers = 3;
    EXPECT_EQ(outcome(parse("GET / HTTP/1.1\r\n" + kH + "A: 1\r\nB: 2\r\n\r\n", lim).res), kOk);
    EXPECT_EQ(outcome(parse("GET / HTTP/1.1\r\n" + kH + "A: 1\r\nB: 2\r\nC: 3\r\n\r\n", lim).res),
              431);
    // Known as soon as the fourth field starts.
    EXPECT_EQ(outcome(parse("GET / HTTP/1.1\r\n" + kH + "A: 1\r\nB: 2\r\nC", lim).res), 431);
}

}  // namespace
}  // namespace moat::edge::http1
