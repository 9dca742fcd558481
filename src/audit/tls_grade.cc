#include "audit/tls_grade.h"

#include <algorithm>
#include <array>

#include "audit/grade.h"

namespace moat::audit {

bool TlsFacts::offers(const std::string& p) const {
    return std::find(protocols.begin(), protocols.end(), p) != protocols.end();
}

int protocol_points(const std::string& p) {
    if (p == "TLSv1.3" || p == "TLSv1.2") return 100;
    if (p == "TLSv1.1") return 95;
    if (p == "TLSv1") return 90;
    if (p == "SSLv3") return 80;
    return 0;  // SSLv2
}

int key_points(const std::string& type, int bits) {
    if (type == "EC" || type == "Ed25519" || type == "Ed448" || type == "ECDH") {
        if (bits < 110) return 20;
        if (bits < 123) return 40;
        if (bits < 163) return 80;
        if (bits < 225) return 90;
        return 100;
    }
    if (bits < 512) return 20;
    if (bits < 1024) return 40;
    if (bits < 2048) return 80;
    if (bits < 4096) return 90;
    return 100;
}

int cipher_points(int bits) {
    if (bits <= 0) return 0;
    if (bits < 128) return 20;
    if (bits < 256) return 80;
    return 100;
}

std::string score_letter(int s) {
    if (s >= 80) return "A";
    if (s >= 65) return "B";
    if (s >= 50) return "C";
    if (s >= 35) return "D";
    if (s >= 20) return "E";
    return "F";
}

namespace {

bool any_suite(const TlsFacts& f, bool (*pred)(const SuiteInfo&)) {
    return std::any_of(f.suites.begin(), f.suites.end(), pred);
}

bool rsa_family(const std::string& t) { return t == "RSA" || t == "DSA" || t == "RSA-PSS"; }

// Smallest DH (finite-field) parameter seen, 0 if none.
int min_dh_bits(const TlsFacts& f) {
    int m = 0;
    for (const auto& s : f.suites)
        if (s.kx == "DHE" && s.kx_bits > 0 && (m == 0 || s.kx_bits < m)) m = s.kx_bits;
    return m;
}

// One cap of the rating guide (2009r, as testssl.sh 3.2+ implements it).
struct CapRule {
    const char* id;
    const char* grade;
    bool (*applies)(const TlsFacts&);
    const char* reason;
};

const std::array<CapRule, 19> kCaps{{
    {"ssl2", "F", [](const TlsFacts& f) { return f.offers("SSLv2"); }, "SSLv2 offered"},
    {"export", "F",
     [](const TlsFacts& f) {
         return any_suite(f, [](const SuiteInfo& s) { return s.exportable; });
     },
     "export cipher suites offered"},
    {"null", "F",
     [](const TlsFacts& f) {
         return any_suite(f, [](const SuiteInfo& s) { return s.null_cipher; });
     },
     "NULL (unencrypted) cipher suites offered"},
    {"weak-cipher", "F",
     [](const TlsFacts& f) {
         return any_suite(f, [](const SuiteInfo& s) { return !s.null_cipher && s.bits < 112; });
     },
     "cipher suites under 112 bits offered"},
    {"key-under-1024", "F",
     [](const TlsFacts& f) {
         return f.cert.present && rsa_family(f.cert.key_type) && f.cert.key_bits < 1024;
     },
     "certificate RSA/DSA key under 1024 bits"},
    {"dh-under-1024", "F",
     [](const TlsFacts& f) {
         int d = min_dh_bits(f);
         return d > 0 && d < 1024;
     },
     "DH parameters under 1024 bits (Logjam)"},
    {"md5-signature", "F",
     [](const TlsFacts& f) {
         return f.cert.signature.find("md5") != std::string::npos ||
                f.cert.signature.find("md2") != std::string::npos;
     },
     "certificate signed with MD2/MD5"},
    {"no-tls12", "C",
     [](const TlsFacts& f) {
         return !f.protocols.empty() && !f.offers("TLSv1.2") && !f.offers("TLSv1.3");
     },
     "neither TLS 1.2 nor TLS 1.3 offered"},
    {"crime", "C", [](const TlsFacts& f) { return f.tls_compression; },
     "TLS compression enabled (CRIME)"},
    {"sslv3", "C", [](const TlsFacts& f) { return f.offers("SSLv3"); }, "SSLv3 offered (POODLE)"},
    {"sweet32", "C",
     [](const TlsFacts& f) {
         return any_suite(f, [](const SuiteInfo& s) {
             return (s.rc4 || s.block64) && s.protocol != "TLSv1" && s.protocol != "SSLv3";
         });
     },
     "RC4 or 64-bit block cipher (3DES) with TLS 1.1 or later (SWEET32)"},
    {"tls10", "B", [](const TlsFacts& f) { return f.offers("TLSv1"); },
     "TLS 1.0 offered (capped at B since 2020-01)"},
    {"tls11", "B", [](const TlsFacts& f) { return f.offers("TLSv1.1"); },
     "TLS 1.1 offered (capped at B since 2020-01)"},
    {"no-fs", "B",
     [](const TlsFacts& f) {
         return !f.suites.empty() &&
                !any_suite(f, [](const SuiteInfo& s) { return s.forward_secret; });
     },
     "no forward secrecy"},
    {"no-aead", "B",
     [](const TlsFacts& f) {
         return !f.suites.empty() && !any_suite(f, [](const SuiteInfo& s) { return s.aead; });
     },
     "no AEAD cipher suite"},
    {"rc4", "B",
     [](const TlsFacts& f) { return any_suite(f, [](const SuiteInfo& s) { return s.rc4; }); },
     "RC4 offered"},
    {"incomplete-chain", "B",
     [](const TlsFacts& f) { return f.cert.present && !f.cert.chain_complete; },
     "incomplete certificate chain (intermediate not sent)"},
    {"weak-key", "B",
     [](const TlsFacts& f) {
         return f.cert.present && rsa_family(f.cert.key_type) && f.cert.key_bits >= 1024 &&
                f.cert.key_bits < 2048;
     },
     "certificate RSA key under 2048 bits"},
    {"weak-dh", "B",
     [](const TlsFacts& f) {
         int d = min_dh_bits(f);
         return d >= 1024 && d < 2048;
     },
     "DH parameters under 2048 bits"},
}};

}  // namespace

TlsGrade grade_tls(const TlsFacts& f) {
    TlsGrade g;
    // Protocol: (best + worst) / 2.
    int best = 0, worst = 100;
    for (const auto& p : f.protocols) {
        best = std::max(best, protocol_points(p));
        worst = std::min(worst, protocol_points(p));
    }
    g.protocol_score = f.protocols.empty() ? 0 : (best + worst) / 2;
    // Key exchange: the weakest of the certificate key and the ephemeral parameters.
    int kx = f.cert.present ? key_points(f.cert.key_type, f.cert.key_bits) : 0;
    for (const auto& s : f.suites) {
        if (s.kx_bits <= 0) continue;
        kx = std::min(kx, key_points(s.kx == "DHE" ? "DH" : "EC", s.kx_bits));
    }
    g.key_exchange_score = kx;
    // Cipher strength: (strongest + weakest) / 2.
    int strong = 0, weak = 100;
    for (const auto& s : f.suites) {
        int p = s.null_cipher ? 0 : cipher_points(s.bits);
        strong = std::max(strong, p);
        weak = std::min(weak, p);
    }
    g.cipher_score = f.suites.empty() ? 0 : (strong + weak) / 2;
    if (g.protocol_score && g.key_exchange_score && g.cipher_score) {
        // Integer arithmetic in tenths keeps 0.3/0.4 exact.
        g.score = (3 * g.protocol_score + 3 * g.key_exchange_score + 4 * g.cipher_score) / 10;
    }
    g.score_grade = score_letter(g.score);

    std::string grade = g.score_grade;
    for (const auto& c : kCaps) {
        if (!c.applies(f)) continue;
        g.caps.push_back({c.id, c.grade, c.reason});
        grade = worse_grade(grade, c.grade);
    }
    // Warnings (A -> A-) and the A+ requirement (long HSTS), rating guide 2009q/r.
    if (!f.offers("TLSv1.3")) g.warnings.emplace_back("TLS 1.3 not offered");
    if (f.secure_renegotiation && !*f.secure_renegotiation)
        g.warnings.emplace_back("no secure renegotiation (RFC 5746)");
    if (f.hsts && !f.hsts->valid)
        g.warnings.push_back("HSTS header malformed: " + f.hsts->error);
    else if (f.hsts && f.hsts->max_age < 15552000)
        g.warnings.emplace_back("HSTS max-age under 180 days (15552000)");
    if (!f.hsts_checked)
        g.plus_missing.emplace_back("HSTS not checked (no HTTP response)");
    else if (!f.hsts)
        g.plus_missing.emplace_back("no HSTS header (A+ needs max-age >= 15552000)");
    if (!g.caps.empty()) g.plus_missing.emplace_back("a cap applied");

    if (grade == "A") {
        if (!g.warnings.empty())
            grade = "A-";
        else if (g.plus_missing.empty())
            grade = "A+";
    }
    g.grade_if_trusted = grade;
    // Trust problems replace the grade (M for a name mismatch, T for the rest); SSL Labs shows
    // the grade "if trust issues are ignored" beside it.
    if (f.cert.present && !f.cert.name_match) {
        g.caps.push_back({"name-mismatch", "M", "certificate does not name the host"});
        grade = "M";
    }
    std::vector<std::string> trust;
    if (f.cert.expired) trust.emplace_back("certificate expired");
    if (f.cert.not_yet_valid) trust.emplace_back("certificate not yet valid");
    if (f.cert.self_signed) trust.emplace_back("self-signed certificate");
    if (f.cert.signature.find("sha1") != std::string::npos ||
        f.cert.signature.find("SHA1") != std::string::npos)
        trust.emplace_back("certificate signed with SHA-1");
    if (f.cert.present && !f.cert.trusted && trust.empty())
        trust.push_back("certificate not trusted: " + f.cert.trust_error);
    if (!f.cert.present && !f.protocols.empty()) trust.emplace_back("no certificate seen");
    for (const auto& t : trust) g.caps.push_back({"trust", "T", t});
    if (!trust.empty()) grade = "T";
    if (f.protocols.empty()) grade = "F";
    g.grade = grade;
    return g;
}

}  // namespace moat::audit
