#pragma once
// What the TLS probes found about one server: the input of tls_grade. Plain data, filled by
// tls_probe from live handshakes or by tests by hand.

#include <optional>
#include <string>
#include <vector>

#include "audit/hsts.h"

namespace moat::audit {

// One cipher suite the server accepted, with the properties the rating guide looks at.
struct SuiteInfo {
    std::string name;      // OpenSSL name: ECDHE-RSA-AES128-GCM-SHA256, TLS_AES_128_GCM_SHA256
    std::string protocol;  // "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"
    int bits = 0;          // symmetric strength (3DES counts as 112)
    std::string kx;        // "ECDHE", "DHE", "RSA", "any" (TLS 1.3), ...
    bool forward_secret = false;
    bool aead = false;
    bool cbc = false;
    bool rc4 = false;
    bool block64 = false;  // 3DES/IDEA/DES: 64-bit block (SWEET32)
    bool exportable = false;
    bool null_cipher = false;
    std::string kx_group;  // the ephemeral key the server sent: "X25519", "P-256", "DH 1024"
    int kx_bits = 0;       // its size in bits (EC: curve bits; DH: modulus bits), 0 if none
};

struct CertFacts {
    bool present = false;
    std::string subject;
    std::string issuer;
    std::vector<std::string> names;  // subjectAltName DNS/IP entries
    std::string key_type;            // "RSA", "EC", "Ed25519", "DSA"
    int key_bits = 0;
    std::string signature;  // e.g. "sha256WithRSAEncryption"
    long days_left = 0;     // until notAfter (negative: expired)
    bool not_yet_valid = false;
    bool expired = false;
    bool self_signed = false;
    bool trusted = false;        // chain verifies against the trust store (system + --ca)
    std::string trust_error;     // X509 verify error text when not trusted
    bool name_match = false;     // RFC 6125 host match (X509_check_host / _ip)
    bool chain_complete = true;  // false: trusted only after adding intermediates from --ca
    int chain_length = 0;        // certificates the server sent
};

struct TlsFacts {
    // Offered protocol versions, oldest first: "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3".
    std::vector<std::string> protocols;
    // SSLv2/SSLv3 cannot be offered by Debian's OpenSSL 3 client; when false the report says
    // they were not probed.
    bool ssl_probed = false;
    std::vector<SuiteInfo> suites;  // per protocol, server order
    CertFacts cert;
    std::optional<bool> secure_renegotiation;  // RFC 5746 support, TLS <= 1.2 only
    bool tls_compression = false;              // CRIME
    std::optional<Hsts> hsts;                  // from the HTTPS response, when fetched
    bool hsts_checked = false;

    bool offers(const std::string& protocol) const;
};

}  // namespace moat::audit
