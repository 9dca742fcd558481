#include "audit/report.h"

#include <gtest/gtest.h>

namespace moat::audit {
namespace {

AuditReport sample() {
    AuditReport r;
    r.target = {"example.test", 443, "/"};
    r.address = "127.0.0.1:443";
    TlsProbeResult t;
    t.facts.protocols = {"TLSv1.2"};
    SuiteInfo s;
    s.name = "ECDHE-ECDSA-AES128-GCM-SHA256";
    s.protocol = "TLSv1.2";
    s.bits = 128;
    s.aead = s.forward_secret = true;
    s.kx = "ECDHE";
    t.facts.suites = {s};
    t.protocols = {{"TLSv1.2", true, "", {s}, true}};
    t.facts.cert.present = true;
    r.tls = t;
    r.tls_grade = grade_tls(t.facts);
    HttpResponse h;
    h.status = 200;
    h.status_line = "HTTP/1.1 200 OK";
    h.headers = {{"Server", std::string("caf\xe9 \xff", 6)}};  // not UTF-8
    r.http = h;
    r.headers = grade_headers(h.headers, HeaderContext{});
    return r;
}

TEST(Report, JsonSurvivesInvalidUtf8AndCarriesTheGrades) {
    AuditReport r = sample();
    std::string j;
    ASSERT_NO_THROW(j = report_json(r));
    EXPECT_NE(j.find("\"grade\": \"T\""), std::string::npos);  // untrusted certificate
    EXPECT_NE(j.find("\"securityheaders\""), std::string::npos);
    EXPECT_NE(j.find("ECDHE-ECDSA-AES128-GCM-SHA256"), std::string::npos);
}

TEST(Report, TextNamesCapsAndOverallGrade) {
    std::string t = report_text(sample());
    EXPECT_NE(t.find("cap T: "), std::string::npos);
    EXPECT_NE(t.find("MISSING: Strict-Transport-Security"), std::string::npos);
    EXPECT_NE(t.find("Overall grade: T"), std::string::npos);
}

TEST(Report, FailedProbeIsOneClearLine) {
    AuditReport r;
    r.target = {"example.test", 443, "/"};
    r.tls_error = "connect 127.0.0.1:443: Connection refused";
    std::string t = report_text(r);
    EXPECT_NE(t.find("TLS: FAILED: connect 127.0.0.1:443: Connection refused"), std::string::npos);
    EXPECT_EQ(r.overall_grade(), "F");
    EXPECT_NE(report_json(r).find("Connection refused"), std::string::npos);
}

}  // namespace
}  // namespace moat::audit
