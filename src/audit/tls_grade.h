#pragma once
// SSL Labs-style TLS rating (SSL Server Rating Guide 2009r as implemented by testssl.sh's
// run_rating(), reference/tls.md §1.1): category scores, the letter, then every cap and
// warning, each with its reason. The caps are a data table in tls_grade.cc. Pure function.

#include <string>
#include <vector>

#include "audit/tls_facts.h"

namespace moat::audit {

struct Cap {
    std::string id;      // stable: "tls10", "no-fs", "weak-key" ...
    std::string grade;   // the highest grade it allows: "F", "C", "B", "A", "T", "M"
    std::string reason;  // readable
};

struct TlsGrade {
    int protocol_score = 0;
    int key_exchange_score = 0;
    int cipher_score = 0;
    int score = 0;                          // 0.3 P + 0.3 KX + 0.4 C; 0 when a category is 0
    std::string score_grade;                // the letter from the score alone
    std::string grade;                      // after caps, trust (T/M) and warnings (A-) / A+
    std::string grade_if_trusted;           // as SSL Labs shows next to T and M
    std::vector<Cap> caps;                  // every cap that applied
    std::vector<std::string> warnings;      // each one turns A into A-
    std::vector<std::string> plus_missing;  // why an A is not A+ (besides caps and warnings)
};

TlsGrade grade_tls(const TlsFacts& facts);

// The rating guide's tables, exposed for tests and docs.
int protocol_points(const std::string& protocol);   // TLSv1.2 -> 100 ...
int key_points(const std::string& type, int bits);  // RSA/DH or EC bits -> 20..100
int cipher_points(int bits);                        // 256 -> 100, 128 -> 80 ...
std::string score_letter(int score);                // 80 -> A ...

}  // namespace moat::audit
