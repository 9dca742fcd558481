#include "mail/dns_plan.h"

#include <fmt/format.h>

#include <algorithm>

#include "mail/grammar.h"

namespace moat::mail {
namespace {

bool is_v6(const std::string& a) { return a.find(':') != std::string::npos; }

void add_addresses(DnsPlan& p, const std::string& host, const PlanInputs& in,
                   const std::string& why) {
    if (in.addresses.empty()) {
        p.records.push_back({host, 3600, "A", "<public IPv4 of this server>", why, true});
        p.records.push_back(
            {host, 3600, "AAAA", "<public IPv6 of this server, if any>", why, true});
        return;
    }
    for (const auto& a : in.addresses)
        p.records.push_back({host, 3600, is_v6(a) ? "AAAA" : "A", a, why, false});
}

void add_caa(DnsPlan& p, const std::string& host, const PlanInputs& in) {
    for (const auto& issuer : in.caa_issuers)
        p.records.push_back({host, 3600, "CAA", "0 issue \"" + issuer + "\"",
                             "only this CA may issue certificates for the name (RFC 8659)", false});
}

std::string quote_txt(const std::string& v) {
    // One character-string holds at most 255 octets (RFC 1035 §3.3.14); split longer values.
    std::string out;
    for (std::size_t i = 0; i < v.size(); i += 255) {
        if (i) out += ' ';
        std::string part = v.substr(i, 255);
        std::string esc;
        for (char c : part) {
            if (c == '"' || c == '\\') esc += '\\';
            esc += c;
        }
        out += "\"" + esc + "\"";
    }
    return out;
}

std::string joined_txt(const std::string& rdata) {
    std::string out;
    for (const auto& s : txt_strings(rdata)) out += s;  // RFC 8461 §3.1: no spaces added
    return out;
}

}  // namespace

DnsPlan plan_mail(const MailDomain& d, const std::string& id, const PlanInputs& in) {
    DnsPlan p;
    const std::string host = "mta-sts." + d.domain;
    // A short TTL lets a new id reach senders quickly (RFC 8461 §8.1).
    p.records.push_back({"_mta-sts." + d.domain, 300, "TXT", grammar::sts_txt(id),
                         "MTA-STS: the id changes whenever the policy does (RFC 8461 §3.1)",
                         false});
    if (!d.tlsrpt_rua.empty()) {
        p.records.push_back({"_smtp._tls." + d.domain, 3600, "TXT", grammar::tlsrpt_txt(d),
                             "TLS-RPT: where senders report TLS failures (RFC 8460 §3)", false});
    } else {
        p.notes.push_back(
            "no tlsrpt addresses configured: no _smtp._tls record (RFC 8460); "
            "failures will go unseen");
    }
    add_addresses(p, host, in, "the policy host; moat serves the policy there (RFC 8461 §3.2)");
    add_caa(p, host, in);
    if (in.caa_issuers.empty() && !in.caa_note.empty()) p.notes.push_back(in.caa_note);
    if (d.mode != StsMode::kNone) {
        std::string pats;
        for (const auto& m : d.mx) pats += (pats.empty() ? "" : ", ") + m;
        p.notes.push_back("every MX record of " + d.domain + " must match one of: " + pats +
                          " (RFC 8461 §4.1); `moat check mail " + d.domain + "` verifies it");
    }
    p.notes.push_back("publish the TXT id only after moat serves the new policy (RFC 8461 §8.1)");
    return p;
}

DnsPlan plan_site(const std::vector<std::string>& hosts, const PlanInputs& in) {
    DnsPlan p;
    for (const auto& h : hosts) {
        add_addresses(p, h, in, "the site's address");
        add_caa(p, h, in);
    }
    if (in.caa_issuers.empty() && !in.caa_note.empty()) p.notes.push_back(in.caa_note);
    return p;
}

std::string format_plan(const DnsPlan& plan) {
    std::string out;
    for (const auto& r : plan.records) {
        std::string value = r.type == "TXT" ? quote_txt(r.value) : r.value;
        out += fmt::format("{}. {} IN {} {}    ; {}\n", r.name, r.ttl, r.type, value, r.why);
    }
    for (const auto& n : plan.notes) out += "; note: " + n + "\n";
    return out;
}

const char* state_name(RecordCheck::State s) {
    switch (s) {
        case RecordCheck::State::kOk:
            return "ok";
        case RecordCheck::State::kMissing:
            return "MISSING";
        case RecordCheck::State::kDifferent:
            return "DIFFERENT";
        case RecordCheck::State::kStale:
            return "STALE";
        case RecordCheck::State::kError:
            return "ERROR";
    }
    return "?";
}

std::vector<RecordCheck> check_plan(const DnsPlan& plan, Resolver& resolver) {
    std::vector<RecordCheck> out;
    for (const auto& r : plan.records) {
        RecordCheck c;
        c.record = &r;
        RrType type = r.type == "A"      ? RrType::kA
                      : r.type == "AAAA" ? RrType::kAaaa
                      : r.type == "TXT"  ? RrType::kTxt
                                         : RrType::kCaa;
        DnsAnswer a = resolver.query(r.name, type);
        std::vector<std::string> live;
        for (const auto& rd : a.rdata) {
            if (type == RrType::kTxt) {
                live.push_back(joined_txt(rd));
            } else if (type == RrType::kCaa) {
                CaaRecord caa;
                if (decode_caa(rd, caa))
                    live.push_back(fmt::format("{} {} \"{}\"", caa.flags, caa.tag, caa.value));
            } else {
                live.push_back(decode_address(rd));
            }
        }
        if (!a.ok() && !a.absent()) {
            c.state = RecordCheck::State::kError;
            c.detail = a.describe();
        } else if (r.type == "TXT") {
            // Compare only the records of the same kind (v=STSv1 / v=TLSRPTv1).
            std::string prefix = r.value.substr(0, r.value.find(';'));
            std::vector<std::string> same;
            for (const auto& v : live)
                if (v.rfind(prefix, 0) == 0) same.push_back(v);
            if (same.empty()) {
                c.state = RecordCheck::State::kMissing;
                c.detail = a.absent() ? a.describe() : "no " + prefix + " record";
            } else if (same.size() > 1) {
                c.state = RecordCheck::State::kDifferent;
                c.detail = fmt::format("{} {} records: senders ignore them all (RFC 8461 §3.1)",
                                       same.size(), prefix);
            } else if (same[0] == r.value) {
                c.detail = same[0];
            } else if (prefix == "v=STSv1") {
                c.state = RecordCheck::State::kStale;
                c.detail = "published \"" + same[0] +
                           "\": the id is stale, senders keep their cached policy";
            } else {
                c.state = RecordCheck::State::kDifferent;
                c.detail = "published \"" + same[0] + "\"";
            }
        } else if (r.placeholder) {
            c.state = a.ok() ? RecordCheck::State::kOk : RecordCheck::State::kMissing;
            c.detail = a.ok() ? fmt::format("{}", fmt::join(live, ", ")) : a.describe();
        } else if (std::find(live.begin(), live.end(), r.value) != live.end()) {
            c.detail = r.value;
        } else {
            c.state = live.empty() ? RecordCheck::State::kMissing : RecordCheck::State::kDifferent;
            c.detail = live.empty() ? a.describe() : fmt::format("{}", fmt::join(live, ", "));
        }
        out.push_back(std::move(c));
    }
    return out;
}

}  // namespace moat::mail
