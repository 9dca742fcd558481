#include "acme/caa.h"

#include <gtest/gtest.h>

namespace moat::acme {
namespace {

TEST(CaaIssuerDomain, KnownCasAndDirectoryHosts) {
    EXPECT_EQ(caa_issuer_domain("https://acme-v02.api.letsencrypt.org/directory"),
              "letsencrypt.org");
    EXPECT_EQ(caa_issuer_domain("https://acme-staging-v02.api.letsencrypt.org/directory"),
              "letsencrypt.org");
    EXPECT_EQ(caa_issuer_domain("https://acme.zerossl.com/v2/DV90"), "sectigo.com");
    EXPECT_EQ(caa_issuer_domain("https://dv.acme-v02.api.pki.goog/directory"), "pki.goog");
    EXPECT_EQ(caa_issuer_domain("https://CA.Example.COM:14000/dir"), "ca.example.com");
    EXPECT_EQ(caa_issuer_domain("https://[::1]:14000/dir"), "[::1]");
    EXPECT_EQ(caa_issuer_domain("https://notletsencrypt.org/dir"), "notletsencrypt.org");
    EXPECT_EQ(caa_issuer_domain(""), "");
}

}  // namespace
}  // namespace moat::acme
