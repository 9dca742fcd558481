#include "s3/server_access_log.h"

#include <gtest/gtest.h>

#include <sstream>

namespace moat::s3 {
namespace {

std::vector<std::string> fields_of(const std::string& line) {
    // Splits on spaces, keeping [..] and "..." groups whole, as log readers do.
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '\n') {
        char close = line[i] == '[' ? ']' : line[i] == '"' ? '"' : ' ';
        std::size_t start = i;
        std::size_t end = line.find(close, close == ' ' ? i : i + 1);
        if (close != ' ') ++end;
        if (end == std::string::npos || end > line.size()) end = line.find('\n');
        out.push_back(line.substr(start, end - start));
        i = end;
        while (i < line.size() && line[i] == ' ') ++i;
    }
    return out;
}

ServerAccessRecord sample() {
    ServerAccessRecord r;
    r.bucket = "content";
    r.time = std::chrono::system_clock::from_time_t(1549411238);  // 2019-02-06 00:00:38 UTC
    r.remote_ip = "192.0.2.3";
    r.requester = "deployer";
    r.request_id = "3E57427F3EXAMPLE";
    r.operation = operation_name("PUT", "object");
    r.key = "testing/example.com/a b.html";
    r.method = "PUT";
    r.target = "/content/testing/example.com/a%20b.html";
    r.status = 200;
    r.bytes_sent = 0;
    r.object_size = 1234;
    r.total_time = std::chrono::milliseconds(7);
    r.turn_around_time = std::chrono::milliseconds(5);
    r.user_agent = "aws-cli/2.9.19 \"quoted\"";
    r.version_id = "3HL4kqtJlcpXroDTDmJ";
    r.signature_version = "SigV4";
    r.cipher_suite = "TLS_AES_128_GCM_SHA256";
    r.auth_type = "AuthHeader";
    r.host_header = "localhost";
    r.tls_version = "TLSv1.3";
    return r;
}

TEST(ServerAccessLog, FormatsTheAwsFieldsInOrder) {
    std::string line = format_server_access_record(sample());
    ASSERT_EQ(line.back(), '\n');
    auto f = fields_of(line);
    ASSERT_EQ(f.size(), 26u) << line;
    EXPECT_EQ(f[0], "moat");
    EXPECT_EQ(f[1], "content");
    EXPECT_EQ(f[2], "[06/Feb/2019:00:00:38 +0000]");
    EXPECT_EQ(f[3], "192.0.2.3");
    EXPECT_EQ(f[4], "deployer");
    EXPECT_EQ(f[5], "3E57427F3EXAMPLE");
    EXPECT_EQ(f[6], "REST.PUT.OBJECT");
    EXPECT_EQ(f[7], "testing/example.com/a%20b.html");
    EXPECT_EQ(f[8], "\"PUT /content/testing/example.com/a%20b.html HTTP/1.1\"");
    EXPECT_EQ(f[9], "200");
    EXPECT_EQ(f[10], "-");  // no error
    EXPECT_EQ(f[11], "-");  // no bytes sent is "-"
    EXPECT_EQ(f[12], "1234");
    EXPECT_EQ(f[13], "7");
    EXPECT_EQ(f[14], "5");
    EXPECT_EQ(f[15], "\"-\"");
    EXPECT_EQ(f[16], "\"aws-cli/2.9.19 %22quoted%22\"");
    EXPECT_EQ(f[17], "3HL4kqtJlcpXroDTDmJ");
    EXPECT_EQ(f[19], "SigV4");
    EXPECT_EQ(f[21], "AuthHeader");
    EXPECT_EQ(f[22], "localhost");
    EXPECT_EQ(f[23], "TLSv1.3");
    EXPECT_EQ(f[24], "-");
    EXPECT_EQ(f[25], "-");
}

TEST(ServerAccessLog, AnonymousAndKeylessRequestsUseDashes) {
    ServerAccessRecord r = sample();
    r.requester.clear();
    r.key.clear();
    r.object_size.reset();
    r.signature_version.clear();
    r.auth_type.clear();
    r.status = 403;
    r.error_code = "AccessDenied";
    r.bytes_sent = 243;
    auto f = fields_of(format_server_access_record(r));
    ASSERT_EQ(f.size(), 26u);
    EXPECT_EQ(f[4], "-");
    EXPECT_EQ(f[7], "-");
    EXPECT_EQ(f[10], "AccessDenied");
    EXPECT_EQ(f[11], "243");
    EXPECT_EQ(f[12], "-");
    EXPECT_EQ(f[19], "-");
}

TEST(ServerAccessLog, KeysWithSpacesAndNewlinesStayOneField) {
    ServerAccessRecord r = sample();
    r.key = "evil\nkey with \"quotes\"";
    r.target = "/content/x\r\ny";
    std::string line = format_server_access_record(r);
    EXPECT_EQ(line.find('\n'), line.size() - 1);
    EXPECT_EQ(fields_of(line).size(), 26u);
    EXPECT_NE(line.find("evil%0Akey%20with%20%22quotes%22"), std::string::npos);
}

TEST(ServerAccessLog, OperationNames) {
    EXPECT_EQ(operation_name("GET", "versioning"), "REST.GET.VERSIONING");
    EXPECT_EQ(operation_name("POST", "uploads"), "REST.POST.UPLOADS");
    EXPECT_EQ(operation_name("DELETE", "OBJECT"), "REST.DELETE.OBJECT");
}

}  // namespace
}  // namespace moat::s3
