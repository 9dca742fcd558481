#pragma once
// DNS lookups for `moat check mail` and `moat dns --check`, through libunbound: a forwarder
// given on the command line (tests point it at a loopback unbound/knot) or /etc/resolv.conf,
// and DNSSEC validation when a trust anchor is given. Every query is bounded by a deadline
// (asynchronous query + poll + cancel), so a silent server never hangs the checker.
// Not thread-safe: one Resolver per thread. Blocks the calling thread.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"

struct ub_ctx;

namespace moat::mail {

enum class RrType : int {
    kA = 1,
    kCname = 5,
    kMx = 15,
    kTxt = 16,
    kAaaa = 28,
    kTlsa = 52,
    kCaa = 257
};

struct DnsAnswer {
    enum class Status { kOk, kNoData, kNxDomain, kServFail, kTimeout };
    Status status = Status::kServFail;
    int rcode = 0;
    bool secure = false;  // DNSSEC-validated (only with a trust anchor)
    bool bogus = false;   // validation failed
    std::string why_bogus;
    std::uint32_t ttl = 0;
    std::string canonical;           // final name after CNAMEs (no trailing dot)
    std::vector<std::string> rdata;  // wire-format rdata of each record

    bool ok() const { return status == Status::kOk; }
    bool absent() const { return status == Status::kNoData || status == Status::kNxDomain; }
    std::string describe() const;  // "NOERROR", "NXDOMAIN", "no records", "SERVFAIL", "timeout"
};

struct ResolverOptions {
    std::string forwarder;  // "127.0.0.1", "127.0.0.1:5353", "[::1]:5353"; empty: resolv.conf
    std::string trust_anchor_file;  // DS/DNSKEY lines (zone file format); empty: no DNSSEC
    std::chrono::milliseconds timeout{5000};  // per query
};

class Resolver {
public:
    static Result<std::unique_ptr<Resolver>> create(const ResolverOptions& options);
    ~Resolver();
    Resolver(const Resolver&) = delete;
    Resolver& operator=(const Resolver&) = delete;

    DnsAnswer query(const std::string& name, RrType type);
    bool validating() const { return validating_; }

private:
    Resolver() = default;
    ub_ctx* ctx_ = nullptr;
    std::chrono::milliseconds timeout_{5000};
    bool validating_ = false;
};

// Record decoders (wire rdata -> text); malformed rdata gives an empty/false result.
// TXT: the character-strings of one record, in order (RFC 1035 §3.3.14).
std::vector<std::string> txt_strings(const std::string& rdata);
struct MxRecord {
    int preference = 0;
    std::string host;  // lower-case, no trailing dot; "" for the null MX "." (RFC 7505)
};
bool decode_mx(const std::string& rdata, MxRecord& out);
std::string decode_address(const std::string& rdata);  // A or AAAA -> text
struct TlsaRecord {
    int usage = 0, selector = 0, mtype = 0;
    std::string data;  // raw bytes
};
bool decode_tlsa(const std::string& rdata, TlsaRecord& out);
struct CaaRecord {
    int flags = 0;
    std::string tag, value;
};
bool decode_caa(const std::string& rdata, CaaRecord& out);

}  // namespace moat::mail
