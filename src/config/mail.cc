// Reads the [mail] section of moat.toml into Config::mail: one [mail."<domain>"] table per
// MTA-STS policy domain, validated against the RFC 8461 grammar (mail/grammar.h, header-only so
// this file links without the mail library), plus the TLS-RPT receiver's keys. Each policy
// domain adds a certificate for its policy host mta-sts.<domain> to cfg.tls.certs.
#include <fmt/format.h>

#include <set>

#include "config/internal/reader.h"
#include "config/values.h"
#include "mail/grammar.h"

namespace moat::config::internal {
namespace {

namespace g = mail::grammar;

bool read_cert_source(TableReader& r, const toml::table& t, const std::filesystem::path& base,
                      tls::CertSpec& cert) {
    std::string source = "internal";
    r.read_choice("tls", source, {"internal", "files", "acme"});
    cert.source = source == "files"  ? tls::CertSource::kFiles
                  : source == "acme" ? tls::CertSource::kAcme
                                     : tls::CertSource::kInternal;
    bool ok = true;
    for (std::string_view k : {"cert", "key"}) {
        std::string& dst = k == "cert" ? cert.cert_file : cert.key_file;
        if (source != "files") {
            if (r.get(k)) r.error(k, "is only used with tls = \"files\"");
            continue;
        }
        std::string file;
        if (!t.get(k)) {
            r.sink().error(t.source(), r.key_path(k), "is required when tls = \"files\"");
            r.allow(k);
            ok = false;
            continue;
        }
        if (!r.read_string(k, file)) continue;
        dst = resolve_path(base, file);
        std::error_code ec;
        if (file.empty() || !std::filesystem::is_regular_file(dst, ec)) {
            r.error(k, fmt::format("\"{}\" is not an existing file", file));
            ok = false;
        }
    }
    return ok;
}

void read_domain(TableReader& mail, const toml::key& key, const toml::table& t,
                 const std::filesystem::path& base, Config& cfg,
                 const std::set<std::string>& site_hosts) {
    TableReader r(mail.sink(), t, mail.key_path(key.str()));
    mail::MailDomain d;
    d.domain = g::to_lower(key.str());
    if (auto why = g::domain_error(d.domain); !why.empty()) {
        r.sink().error(
            key.source(), r.path(),
            fmt::format("the policy domain {} (RFC 8461 §3.2: a Domain of RFC 5321)", why));
        d.domain.clear();
    }

    std::string mode = "testing";
    if (const toml::node* n = t.get("mode"); n && n->is_string()) {
        // Listed by hand rather than read_choice so the message cites the RFC rule.
        r.read_string("mode", mode);
        if (mode != "enforce" && mode != "testing" && mode != "none") {
            r.error("mode", fmt::format("\"{}\" is not one of enforce, testing, none (RFC 8461 "
                                        "§3.2: sts-policy-mode-value, case-sensitive)",
                                        mode));
            mode = "testing";
        }
    } else {
        r.read_string("mode", mode);  // reports a wrong type
    }
    d.mode = mode == "enforce" ? mail::StsMode::kEnforce
             : mode == "none"  ? mail::StsMode::kNone
                               : mail::StsMode::kTesting;

    std::vector<TableReader::Item> mx;
    bool mx_read = r.read_string_list("mx", mx);
    if (mx_read) {
        std::set<std::string> seen;
        for (const auto& item : mx) {
            std::string p = g::to_lower(item.value);
            if (auto why = g::mx_pattern_error(p); !why.empty()) {
                r.sink().error(item.node->source(), item.path,
                               fmt::format("\"{}\" {} (RFC 8461 §3.2: mx = [\"*.\"] Domain)",
                                           item.value, why));
                continue;
            }
            if (!seen.insert(p).second) {
                r.sink().warning(item.node->source(), item.path,
                                 fmt::format("\"{}\" is listed twice", item.value));
                continue;
            }
            if (!d.domain.empty() && p == "*." + d.domain) {
                r.sink().warning(item.node->source(), item.path,
                                 "\"*.<domain>\" lets any host with a certificate under the "
                                 "domain receive mail (RFC 8461 §10.4)");
            }
            d.mx.push_back(std::move(p));
        }
    }
    if (d.mx.empty() && d.mode != mail::StsMode::kNone) {
        if (!t.get("mx")) {
            r.sink().error(t.source(), r.key_path("mx"),
                           "is required unless mode = \"none\" (RFC 8461 §3.2: at least one mx)");
        } else if (mx_read && mx.empty()) {
            r.error("mx", "must list at least one pattern unless mode = \"none\" (RFC 8461 §3.2)");
        }
    }

    if (const toml::node* n = t.get("max_age"); n && n->is_integer()) {
        std::int64_t v = n->as_integer()->get();
        r.allow("max_age");
        if (v < 0 || v > g::kMaxMaxAge) {
            r.error("max_age", fmt::format("{} is outside 0..{} seconds (RFC 8461 §3.2: max_age "
                                           "is at most one year)",
                                           v, g::kMaxMaxAge));
        } else {
            d.max_age = v;
            if (v < 86400) {
                r.warning("max_age",
                          "under one day: senders re-fetch often and forget the "
                          "policy quickly (RFC 8461 §3.2 expects weeks)");
            } else if (v < 604800 && d.mode == mail::StsMode::kEnforce) {
                r.warning("max_age",
                          "under a week for mode = \"enforce\" (RFC 8461 §3.2, §10.2: "
                          "as long as is practical)");
            }
        }
    } else {
        std::int64_t ignored = 0;
        r.read_int("max_age", ignored, 0, g::kMaxMaxAge);  // reports a wrong type
    }

    std::vector<TableReader::Item> rua;
    if (r.read_string_list("tlsrpt", rua)) {
        for (const auto& item : rua) {
            if (auto why = g::rua_error(item.value); !why.empty()) {
                r.sink().error(item.node->source(), item.path,
                               fmt::format("\"{}\" {} (RFC 8460 §3: tlsrpt-uri)", item.value, why));
                continue;
            }
            d.tlsrpt_rua.push_back(item.value);
        }
    }
    if (d.mode == mail::StsMode::kEnforce && !t.get("tlsrpt")) {
        r.sink().warning(t.source(), r.key_path("tlsrpt"),
                         "mode = \"enforce\" without TLS-RPT addresses: delivery failures go "
                         "unseen (RFC 8460)");
    }

    tls::CertSpec cert;
    read_cert_source(r, t, base, cert);
    r.finish();
    if (d.domain.empty()) return;

    std::string host = "mta-sts." + d.domain;
    if (auto why = g::domain_error(host); !why.empty()) {
        r.sink().error(key.source(), r.path(), fmt::format("the policy host {} {}", host, why));
        return;
    }
    if (site_hosts.count(host)) {
        r.sink().error(key.source(), r.path(),
                       fmt::format("the policy host \"{}\" is also a site's host: moat serves "
                                   "the policy there itself",
                                   host));
        return;
    }
    for (const auto& prev : cfg.mail.domains) {
        if (prev.domain == d.domain) {
            r.sink().error(key.source(), r.path(), "is configured twice");
            return;
        }
    }
    cert.names = {host};
    cfg.tls.certs.push_back(std::move(cert));
    cfg.mail.domains.push_back(std::move(d));
}

}  // namespace

void read_mail(TableReader& top, const std::filesystem::path& base, Config& cfg) {
    cfg.mail.state_dir = cfg.data_dir + "/mail";
    cfg.mail.tlsrpt_dir = cfg.data_dir + "/tlsrpt";
    const toml::table* t = top.read_table("mail");
    if (!t) return;
    TableReader r(top.sink(), *t, top.key_path("mail"));

    std::set<std::string> site_hosts;
    for (const auto& c : cfg.tls.certs)
        for (const auto& n : c.names) site_hosts.insert(n);

    if (const toml::node* n = t->get("tlsrpt_listen"); n && n->is_string()) {
        std::string one;
        r.read_string("tlsrpt_listen", one);
        if (!one.empty()) cfg.mail.tlsrpt_listen.push_back(one);
    } else {
        std::vector<TableReader::Item> items;
        if (r.read_string_list("tlsrpt_listen", items))
            for (const auto& i : items) cfg.mail.tlsrpt_listen.push_back(i.value);
    }
    for (const auto& l : cfg.mail.tlsrpt_listen) {
        if (auto a = parse_listen(l); !a)
            r.error("tlsrpt_listen", fmt::format("\"{}\": {}", l, a.error().detail));
    }
    r.read_int_as("tlsrpt_max_body", cfg.mail.tlsrpt_max_body, 1024, 1ll << 30);
    r.read_int_as("tlsrpt_max_inflated", cfg.mail.tlsrpt_max_inflated, 1024, 1ll << 32);

    for (auto&& [k, v] : *t) {
        std::string_view name = k.str();
        if (name == "tlsrpt_listen" || name == "tlsrpt_max_body" || name == "tlsrpt_max_inflated")
            continue;
        if (!v.is_table()) {
            // Unknown scalar keys are reported by finish().
            if (name.find('.') == std::string_view::npos) continue;
            r.allow(name);
            r.error(name, fmt::format("expected a table [mail.\"{}\"], got {}", name,
                                      type_name(v.type())));
            continue;
        }
        r.allow(name);
        read_domain(r, k, *v.as_table(), base, cfg, site_hosts);
    }
    r.finish();
}

}  // namespace moat::config::internal
