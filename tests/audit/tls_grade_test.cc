#include "audit/tls_grade.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace moat::audit {
namespace {

SuiteInfo suite(std::string name, std::string proto, int bits, bool fs, bool aead,
                std::string kx = "ECDHE", int kx_bits = 253) {
    SuiteInfo s;
    s.name = std::move(name);
    s.protocol = std::move(proto);
    s.bits = bits;
    s.forward_secret = fs;
    s.aead = aead;
    s.cbc = !aead;
    s.kx = std::move(kx);
    s.kx_bits = fs ? kx_bits : 0;
    return s;
}

// moat's own policy: TLS 1.2 + 1.3, ECDHE + AEAD, ECDSA P-256, HSTS two years.
TlsFacts good() {
    TlsFacts f;
    f.protocols = {"TLSv1.2", "TLSv1.3"};
    f.suites = {suite("TLS_AES_256_GCM_SHA384", "TLSv1.3", 256, true, true),
                suite("TLS_AES_128_GCM_SHA256", "TLSv1.3", 128, true, true),
                suite("ECDHE-ECDSA-AES128-GCM-SHA256", "TLSv1.2", 128, true, true)};
    f.cert.present = true;
    f.cert.key_type = "EC";
    f.cert.key_bits = 256;
    f.cert.signature = "ecdsa-with-SHA256";
    f.cert.days_left = 80;
    f.cert.trusted = true;
    f.cert.name_match = true;
    f.secure_renegotiation = true;
    f.hsts = parse_hsts("max-age=63072000");
    f.hsts_checked = true;
    return f;
}

bool has_cap(const TlsGrade& g, const std::string& id) {
    return std::any_of(g.caps.begin(), g.caps.end(), [&](const Cap& c) { return c.id == id; });
}

TEST(TlsTables, RatingGuidePoints) {
    EXPECT_EQ(protocol_points("TLSv1.3"), 100);
    EXPECT_EQ(protocol_points("TLSv1.1"), 95);
    EXPECT_EQ(protocol_points("TLSv1"), 90);
    EXPECT_EQ(protocol_points("SSLv3"), 80);
    EXPECT_EQ(protocol_points("SSLv2"), 0);
    EXPECT_EQ(key_points("RSA", 1024), 80);
    EXPECT_EQ(key_points("RSA", 2048), 90);
    EXPECT_EQ(key_points("RSA", 4096), 100);
    EXPECT_EQ(key_points("RSA", 512), 40);
    EXPECT_EQ(key_points("RSA", 384), 20);
    EXPECT_EQ(key_points("EC", 256), 100);
    EXPECT_EQ(key_points("EC", 253), 100);
    EXPECT_EQ(key_points("EC", 160), 80);
    EXPECT_EQ(cipher_points(256), 100);
    EXPECT_EQ(cipher_points(128), 80);
    EXPECT_EQ(cipher_points(112), 20);
    EXPECT_EQ(cipher_points(0), 0);
    EXPECT_EQ(score_letter(80), "A");
    EXPECT_EQ(score_letter(79), "B");
    EXPECT_EQ(score_letter(50), "C");
    EXPECT_EQ(score_letter(35), "D");
    EXPECT_EQ(score_letter(20), "E");
    EXPECT_EQ(score_letter(19), "F");
}

TEST(TlsGrade, MoatPolicyIsAPlus) {
    TlsGrade g = grade_tls(good());
    EXPECT_EQ(g.protocol_score, 100);
    EXPECT_EQ(g.key_exchange_score, 100);
    EXPECT_EQ(g.cipher_score, 90);
    EXPECT_EQ(g.score, 96);  // reference/tls.md §1.1: 100/100/90 -> 96
    EXPECT_TRUE(g.caps.empty());
    EXPECT_TRUE(g.warnings.empty());
    EXPECT_EQ(g.grade, "A+");
}

TEST(TlsGrade, Rsa2048ScoresNinetyKeyExchange) {
    TlsFacts f = good();
    f.cert.key_type = "RSA";
    f.cert.key_bits = 2048;
    TlsGrade g = grade_tls(f);
    EXPECT_EQ(g.key_exchange_score, 90);
    EXPECT_EQ(g.grade, "A+");
}

TEST(TlsGrade, NoHstsIsAButNotAPlus) {
    TlsFacts f = good();
    f.hsts.reset();
    TlsGrade g = grade_tls(f);
    EXPECT_EQ(g.grade, "A");
    EXPECT_FALSE(g.plus_missing.empty());
}

TEST(TlsGrade, WarningsGiveAMinus) {
    TlsFacts f = good();
    f.protocols = {"TLSv1.2"};
    f.suites.erase(f.suites.begin(), f.suites.begin() + 2);
    EXPECT_EQ(grade_tls(f).grade, "A-");  // no TLS 1.3
    f = good();
    f.secure_renegotiation = false;
    EXPECT_EQ(grade_tls(f).grade, "A-");
    f = good();
    f.hsts = parse_hsts("max-age=600");
    EXPECT_EQ(grade_tls(f).grade, "A-");
}

TEST(TlsGrade, Tls10CapsAtB) {
    TlsFacts f = good();
    f.protocols = {"TLSv1", "TLSv1.2", "TLSv1.3"};
    f.suites.push_back(suite("ECDHE-RSA-AES128-SHA", "TLSv1", 128, true, false));
    TlsGrade g = grade_tls(f);
    EXPECT_EQ(g.protocol_score, 95);
    EXPECT_TRUE(has_cap(g, "tls10"));
    EXPECT_EQ(g.grade, "B");
}

TEST(TlsGrade, NoForwardSecrecyNoAeadCapB) {
    TlsFacts f = good();
    f.protocols = {"TLSv1.2"};
    f.suites = {suite("AES128-SHA", "TLSv1.2", 128, false, false, "RSA")};
    TlsGrade g = grade_tls(f);
    EXPECT_TRUE(has_cap(g, "no-fs"));
    EXPECT_TRUE(has_cap(g, "no-aead"));
    EXPECT_EQ(g.grade, "B");
}

TEST(TlsGrade, WeakAndTinyKeys) {
    TlsFacts f = good();
    f.cert.key_type = "RSA";
    f.cert.key_bits = 1024;
    TlsGrade g = grade_tls(f);
    EXPECT_TRUE(has_cap(g, "weak-key"));
    EXPECT_EQ(g.key_exchange_score, 80);
    EXPECT_EQ(g.grade, "B");
    f.cert.key_bits = 512;
    g = grade_tls(f);
    EXPECT_TRUE(has_cap(g, "key-under-1024"));
    EXPECT_EQ(g.grade, "F");
}

TEST(TlsGrade, DhParameters) {
    TlsFacts f = good();
    f.suites.push_back(suite("DHE-RSA-AES128-GCM-SHA256", "TLSv1.2", 128, true, true, "DHE", 1024));
    TlsGrade g = grade_tls(f);
    EXPECT_TRUE(has_cap(g, "weak-dh"));
    EXPECT_EQ(g.key_exchange_score, 80);
    EXPECT_EQ(g.grade, "B");
}

TEST(TlsGrade, Sweet32AndRc4) {
    TlsFacts f = good();
    SuiteInfo des = suite("ECDHE-RSA-DES-CBC3-SHA", "TLSv1.2", 112, true, false);
    des.block64 = true;
    f.suites.push_back(des);
    TlsGrade g = grade_tls(f);
    EXPECT_TRUE(has_cap(g, "sweet32"));
    EXPECT_EQ(g.cipher_score, 60);  // (100 + 20) / 2
    EXPECT_EQ(g.grade, "C");
    f = good();
    SuiteInfo rc4 = suite("RC4-SHA", "TLSv1.2", 128, false, false, "RSA");
    rc4.rc4 = true;
    f.suites.push_back(rc4);
    g = grade_tls(f);
    EXPECT_TRUE(has_cap(g, "rc4"));
    EXPECT_EQ(g.grade, "C");
}

TEST(TlsGrade, WeakCiphersExportNullAndSsl) {
    TlsFacts f = good();
    f.suites.push_back(suite("DES-CBC-SHA", "TLSv1.2", 56, false, false, "RSA"));
    EXPECT_TRUE(has_cap(grade_tls(f), "weak-cipher"));
    EXPECT_EQ(grade_tls(f).grade, "F");
    f = good();
    SuiteInfo exp = suite("EXP-RC4-MD5", "TLSv1.2", 40, false, false, "RSA");
    exp.exportable = true;
    f.suites.push_back(exp);
    EXPECT_TRUE(has_cap(grade_tls(f), "export"));
    f = good();
    SuiteInfo null = suite("NULL-SHA", "TLSv1.2", 0, false, false, "RSA");
    null.null_cipher = true;
    f.suites.push_back(null);
    TlsGrade g = grade_tls(f);
    EXPECT_EQ(g.cipher_score, 50);  // (100 + 0) / 2: the cap, not the score, makes it F
    EXPECT_TRUE(has_cap(g, "null"));
    EXPECT_EQ(g.grade, "F");
    f = good();
    f.protocols.insert(f.protocols.begin(), "SSLv3");
    EXPECT_TRUE(has_cap(grade_tls(f), "sslv3"));
    EXPECT_EQ(grade_tls(f).grade, "C");
    f.protocols.insert(f.protocols.begin(), "SSLv2");
    EXPECT_EQ(grade_tls(f).grade, "F");
}

TEST(TlsGrade, NoModernProtocolCapsC) {
    TlsFacts f = good();
    f.protocols = {"TLSv1", "TLSv1.1"};
    f.suites = {suite("ECDHE-RSA-AES256-SHA", "TLSv1", 256, true, false)};
    TlsGrade g = grade_tls(f);
    EXPECT_TRUE(has_cap(g, "no-tls12"));
    EXPECT_TRUE(has_cap(g, "no-aead"));
    EXPECT_EQ(g.grade, "C");
}

TEST(TlsGrade, CrimeCapsC) {
    TlsFacts f = good();
    f.tls_compression = true;
    EXPECT_EQ(grade_tls(f).grade, "C");
}

TEST(TlsGrade, IncompleteChainCapsB) {
    TlsFacts f = good();
    f.cert.chain_complete = false;
    EXPECT_EQ(grade_tls(f).grade, "B");
}

TEST(TlsGrade, TrustProblemsGiveTAndKeepTheOtherGrade) {
    TlsFacts f = good();
    f.cert.expired = true;
    f.cert.trusted = false;
    TlsGrade g = grade_tls(f);
    EXPECT_EQ(g.grade, "T");
    EXPECT_EQ(g.grade_if_trusted, "A+");
    f = good();
    f.cert.trusted = false;
    f.cert.trust_error = "unable to get local issuer certificate";
    EXPECT_EQ(grade_tls(f).grade, "T");
    f = good();
    f.cert.signature = "sha1WithRSAEncryption";
    EXPECT_EQ(grade_tls(f).grade, "T");
    f = good();
    f.cert.signature = "md5WithRSAEncryption";
    EXPECT_EQ(grade_tls(f).grade_if_trusted, "F");
}

TEST(TlsGrade, NameMismatchGivesM) {
    TlsFacts f = good();
    f.cert.name_match = false;
    TlsGrade g = grade_tls(f);
    EXPECT_EQ(g.grade, "M");
    EXPECT_TRUE(has_cap(g, "name-mismatch"));
}

TEST(TlsGrade, NothingOfferedIsF) {
    TlsFacts f;
    TlsGrade g = grade_tls(f);
    EXPECT_EQ(g.score, 0);
    EXPECT_EQ(g.grade, "F");
}

}  // namespace
}  // namespace moat::audit
