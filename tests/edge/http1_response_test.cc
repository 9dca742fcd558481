// The HTTP/1.1 status line: one reason-phrase table for the edge's connections and the service
// connections, each with its own answer for a code the table lacks.
#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "edge/http1/response.h"
#include "edge/reason_phrase.h"

namespace moat::edge {
namespace {

TEST(ReasonPhrase, HasTheCodesOfBothWriters) {
    EXPECT_EQ(reason_phrase(200, ""), "OK");
    EXPECT_EQ(reason_phrase(201, ""), "Created");              // S3 and admin answers
    EXPECT_EQ(reason_phrase(417, ""), "Expectation Failed");   // service: unknown Expect
    EXPECT_EQ(reason_phrase(421, ""), "Misdirected Request");  // edge: Host not on this cert
    EXPECT_EQ(reason_phrase(431, ""), "Request Header Fields Too Large");
    EXPECT_EQ(reason_phrase(505, ""), "HTTP Version Not Supported");
}

TEST(ReasonPhrase, AnUnlistedCodeGetsTheCallersAnswer) {
    EXPECT_EQ(reason_phrase(599, "Unknown"), "Unknown");
    EXPECT_EQ(reason_phrase(599, ""), "");
    EXPECT_EQ(reason_phrase(418, "Unknown"), "Unknown");
}

// IMF-fixdate, RFC 9110 §5.6.7.
const std::string kDate = R"(Date: [A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT)";

TEST(Http1Response, HeadStartsWithStatusLineAndDate) {
    Response res;
    res.status = 201;
    res.body.length = 3;
    std::string out;
    http1::append_head(out, res, 10, true);
    EXPECT_TRUE(std::regex_search(
        out, std::regex("^HTTP/1\\.0 201 Created\r\n" + kDate +
                        "\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\n$")))
        << out;

    res.status = 599;
    out.clear();
    http1::append_head(out, res, 11, false);
    EXPECT_TRUE(std::regex_search(out, std::regex("^HTTP/1\\.1 599 Unknown\r\n" + kDate + "\r\n")))
        << out;
    EXPECT_NE(out.find("Connection: close\r\n\r\n"), std::string::npos) << out;
}

TEST(Http1Response, ErrorIsACompleteClosingResponse) {
    std::string out;
    http1::append_error(out, 431, "header too large");
    EXPECT_TRUE(std::regex_search(
        out, std::regex("^HTTP/1\\.1 431 Request Header Fields Too Large\r\n" + kDate +
                        "\r\nContent-Type: text/plain; charset=utf-8\r\n")))
        << out;
    EXPECT_NE(out.find("Connection: close\r\nContent-Length: 17\r\n\r\nheader too large\n"),
              std::string::npos)
        << out;
}

}  // namespace
}  // namespace moat::edge
