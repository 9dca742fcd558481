#pragma once
// DANE for SMTP (RFC 7672) as `moat check mail` judges it, kept free of I/O so it can be tested
// table-driven: where the TLSA records of an MX host live when its name is an alias (RFC 7671
// §7, RFC 7672 §2.2.2), and whether a certificate chain matches them (RFC 7672 §3).

#include <functional>
#include <string>
#include <vector>

#include "mail/resolver.h"

namespace moat::mail {

// The TLSA base domain of one MX host and the TLSA answer found there.
struct TlsaBase {
    std::string original;  // the MX host name as the MX record gives it
    std::string target;    // its name after CNAME expansion (== original when not an alias)
    bool alias = false;
    bool secure_alias = false;  // the CNAME chain and the final address records validated
    // Where the TLSA answer below was found, or the last name asked when none was found.
    std::string base;
    DnsAnswer tlsa;
    // The names a DANE-TA(2) certificate must carry one of (RFC 7672 §3.2.2): the base and,
    // behind a secure alias, the other name of the pair too.
    std::vector<std::string> reference_ids;

    std::string owner() const { return "_25._tcp." + base; }
    bool at_target() const { return alias && base == target; }
};

// Answers the TLSA query for an owner name ("_25._tcp.<name>").
using TlsaLookup = std::function<DnsAnswer(const std::string& owner)>;

// `address`: the A (or AAAA) answer for `mx_host`, whose canonical name tells whether the host
// is an alias and whose `secure` flag covers the whole CNAME chain. A secure alias is looked up
// at the expanded name first and, when that has no TLSA records, at the original name (RFC 7671
// §7); an insecure alias must not lend its target as base, so only the original name is asked.
// A lookup that fails (SERVFAIL, timeout) stops the search: senders defer (RFC 7672 §2.1.1).
TlsaBase find_tlsa_base(const std::string& mx_host, const DnsAnswer& address,
                        const TlsaLookup& lookup);

struct TlsaMatch {
    bool matched = false;
    int usage = -1;  // of the record that matched: 3 DANE-EE, 2 DANE-TA
    // A DANE-TA record matched the chain but the leaf names none of the reference identifiers.
    bool ta_name_mismatch = false;
};

// Whether one of `records` (usable ones: usage 2 or 3, selector 0/1, mtype 0-2) matches `chain`
// (DER, leaf first). DANE-EE(3) matches the leaf and ignores its names (RFC 7672 §3.1.1);
// DANE-TA(2) matches a certificate above the leaf, and then the leaf must name one of
// `reference_ids` (RFC 7672 §3.2.2, wildcards as RFC 6125).
TlsaMatch match_tlsa(const std::vector<TlsaRecord>& records, const std::vector<std::string>& chain,
                     const std::vector<std::string>& reference_ids);

}  // namespace moat::mail
