// The mail part's subcommands: `moat dns <name>` (records to publish, --check against live
// DNS), `moat check mail <domain>` (the MTA-STS / TLS-RPT / STARTTLS / DANE checklist) and
// `moat mail reports <domain>` (summary of received TLS-RPT reports, from the store's `logs`
// bucket when the config has a store, else from <data_dir>/tlsrpt; --dir names a folder).
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "acme/caa.h"
#include "app/store_service.h"
#include "cli/commands.h"
#include "config/config.h"
#include "config/values.h"
#include "mail/check_format.h"
#include "mail/checker.h"
#include "mail/dns_plan.h"
#include "mail/grammar.h"
#include "mail/policy_id.h"
#include "mail/tlsrpt_bucket.h"
#include "mail/tlsrpt_store.h"
#include "store/store.h"
#include "tls/init.h"

namespace moat::cli {
namespace {

// --config, else ./moat.toml, else the demo's ./moat-data/moat.toml.
std::string default_config(const std::string& given) {
    if (!given.empty()) return given;
    std::error_code ec;
    if (std::filesystem::is_regular_file("moat.toml", ec)) return "moat.toml";
    if (std::filesystem::is_regular_file("moat-data/moat.toml", ec)) return "moat-data/moat.toml";
    return "moat.toml";
}

std::shared_ptr<const config::Config> load(const std::string& given) {
    std::string path = default_config(given);
    auto lr = config::load_file(path);
    for (const auto& d : lr.diagnostics)
        if (!d.warning || !lr.config) std::fprintf(stderr, "%s\n", d.to_string().c_str());
    return lr.config;
}

// Public addresses from the listeners: explicit, neither loopback nor the wildcard.
std::vector<std::string> listener_addresses(const config::Config& cfg) {
    std::vector<std::string> out;
    for (const auto& l : cfg.edge.https_listen) {
        auto a = config::parse_listen(l);
        if (!a || a->is_loopback() || a->address == "0.0.0.0" || a->address == "::") continue;
        if (std::find(out.begin(), out.end(), a->address) == out.end()) out.push_back(a->address);
    }
    return out;
}

// CAA issuers for the certificate covering `name`, or a note why there are none.
void caa_for(const config::Config& cfg, const std::string& name, mail::PlanInputs& in) {
    for (const auto& c : cfg.tls.certs) {
        if (std::find(c.names.begin(), c.names.end(), name) == c.names.end()) continue;
        switch (c.source) {
            case tls::CertSource::kAcme:
                in.caa_issuers.push_back(acme::caa_issuer_domain(cfg.acme.directory_url));
                return;
            case tls::CertSource::kInternal:
                in.caa_note = "the certificate of " + name +
                              " comes from moat's internal CA, which public senders and browsers "
                              "do not trust: no CAA record (use tls = \"acme\" in production)";
                return;
            case tls::CertSource::kFiles:
                in.caa_note = "the certificate of " + name +
                              " comes from files: publish a CAA record naming the CA that issued "
                              "it";
                return;
        }
    }
}

struct DnsOptions {
    std::string name, config;
    std::vector<std::string> addresses;
    bool check = false;
    std::string resolver, trust_anchor;
    int timeout_ms = 5000;
};

int run_dns(const DnsOptions& o) {
    auto cfg = load(o.config);
    if (!cfg) return 2;
    std::string name = mail::grammar::to_lower(o.name);
    if (!name.empty() && name.back() == '.') name.pop_back();
    mail::PlanInputs in;
    in.addresses = o.addresses.empty() ? listener_addresses(*cfg) : o.addresses;
    mail::DnsPlan plan;
    std::string header;
    const mail::MailDomain* md = nullptr;
    for (const auto& d : cfg->mail.domains)
        if (d.domain == name) md = &d;
    if (md) {
        auto id = mail::current_policy_id(cfg->mail.state_dir, md->domain,
                                          mail::grammar::render_policy(*md),
                                          std::chrono::system_clock::now());
        if (!id) {
            std::fprintf(stderr, "moat dns: %s\n", id.error().detail.c_str());
            return 1;
        }
        caa_for(*cfg, "mta-sts." + md->domain, in);
        plan = mail::plan_mail(*md, id->id, in);
        header = "; MTA-STS policy domain " + md->domain + " (mode " +
                 mail::grammar::mode_name(md->mode) + ", policy id " + id->id + ")\n";
        if (id->bumped && !id->previous_id.empty())
            plan.notes.push_back("the policy changed since id " + id->previous_id +
                                 ": reload moat (SIGHUP) so it serves the new policy, then "
                                 "publish the new id");
    } else {
        const site::SiteSettings* site = nullptr;
        for (const auto& s : cfg->sites) {
            bool match = s.host == name;
            for (const auto& a : s.aliases) match = match || a == name;
            for (const auto& e : s.environments) match = match || e.host == name;
            if (match) site = &s;
        }
        if (!site) {
            std::fprintf(stderr,
                         "moat dns: \"%s\" is neither a site nor a [mail.\"<domain>\"] of %s\n",
                         name.c_str(), cfg->source.c_str());
            return 2;
        }
        std::vector<std::string> hosts{site->host};
        for (const auto& a : site->aliases) hosts.push_back(a);
        for (const auto& e : site->environments)
            if (e.host != site->host) hosts.push_back(e.host);
        std::vector<std::string> names;
        for (const auto& h : hosts)
            if (!config::is_ip_literal(h)) names.push_back(h);
        caa_for(*cfg, site->host, in);
        plan = mail::plan_site(names, in);
        header = "; site " + site->host + "\n";
    }
    std::fputs(header.c_str(), stdout);
    std::fputs(mail::format_plan(plan).c_str(), stdout);
    if (!o.check) return 0;

    mail::ResolverOptions ro;
    ro.forwarder = o.resolver;
    ro.trust_anchor_file = o.trust_anchor;
    ro.timeout = std::chrono::milliseconds(o.timeout_ms);
    auto resolver = mail::Resolver::create(ro);
    if (!resolver) {
        std::fprintf(stderr, "moat dns: %s\n", resolver.error().detail.c_str());
        return 2;
    }
    int bad = 0;
    std::printf("\n; live DNS:\n");
    for (const auto& c : mail::check_plan(plan, **resolver)) {
        std::printf("%-9s %s %s: %s\n", mail::state_name(c.state), c.record->name.c_str(),
                    c.record->type.c_str(), c.detail.c_str());
        if (c.state != mail::RecordCheck::State::kOk) ++bad;
        if (c.state == mail::RecordCheck::State::kStale)
            std::fprintf(stderr, "warning: _mta-sts.%s publishes a stale id: update it to \"%s\"\n",
                         name.c_str(), c.record->value.c_str());
    }
    return bad ? 1 : 0;
}

int run_check_mail(const mail::CheckOptions& o, bool json) {
    tls::init_openssl();
    auto report = mail::check_mail(o);
    if (!report) {
        std::fprintf(stderr, "moat check mail: %s\n", report.error().detail.c_str());
        return 2;
    }
    std::string out = json ? mail::format_json(*report) : mail::format_table(*report);
    std::fputs(out.c_str(), stdout);
    return mail::exit_code(*report);
}

// The store the server keeps reports in, or null for the folder: only when the config has a
// store that exists (a read command never creates one) and still has its `logs` bucket, the
// rule app::Runtime follows. The store's shared flock and SQLite's WAL let this reader open it
// beside the running server; only `moat store rotate-key` (exclusive) makes it fail.
Result<std::unique_ptr<store::Store>> report_store(const config::Config& cfg) {
    if (!app::StoreService::needed(cfg)) return std::unique_ptr<store::Store>();
    store::StoreSettings ss = app::StoreService::settings(cfg);
    ss.default_buckets = false;  // reading: never recreate a bucket the operator deleted
    std::error_code ec;
    if (!std::filesystem::exists(std::filesystem::path(ss.dir) / "meta.db", ec))
        return std::unique_ptr<store::Store>();
    auto st = store::Store::open(ss);
    if (!st) return make_error(st.error().code, "store " + ss.dir + ": " + st.error().detail);
    if (!mail::TlsRptBucket::usable(**st)) return std::unique_ptr<store::Store>();
    return std::move(*st);
}

int run_reports(const std::string& config_path, const std::string& domain, const std::string& dir,
                bool json) {
    std::unique_ptr<store::Store> st;  // outlives the sink that refers to it
    std::unique_ptr<mail::TlsRptSink> sink;
    if (!dir.empty()) {
        sink = std::make_unique<mail::TlsRptStore>(dir);
    } else {
        auto cfg = load(config_path);
        if (!cfg) return 2;
        auto opened = report_store(*cfg);
        if (!opened) {
            std::fprintf(stderr, "moat mail reports: %s (--dir reads a report folder instead)\n",
                         opened.error().detail.c_str());
            return 1;
        }
        st = std::move(*opened);
        if (st) {
            sink = std::make_unique<mail::TlsRptBucket>(*st);
            // Reports received before the server had a store stay in the folder.
            std::error_code ec;
            auto old =
                std::filesystem::path(cfg->mail.tlsrpt_dir) / mail::grammar::to_lower(domain);
            if (std::filesystem::is_directory(old, ec))
                std::fprintf(stderr, "moat mail reports: older reports are in %s (--dir %s)\n",
                             old.c_str(), cfg->mail.tlsrpt_dir.c_str());
        } else {
            sink = std::make_unique<mail::TlsRptStore>(cfg->mail.tlsrpt_dir);
        }
    }
    auto s = sink->summarize(mail::grammar::to_lower(domain));
    if (!s) {
        std::fprintf(stderr, "moat mail reports: %s\n", s.error().detail.c_str());
        return 1;
    }
    std::string out = json ? mail::summary_json(*s) : mail::summary_text(*s);
    std::fputs(out.c_str(), stdout);
    return 0;
}

}  // namespace

void add_mail_commands(CLI::App& root, Commands& out) {
    auto dns = std::make_shared<DnsOptions>();
    auto* d = root.add_subcommand("dns",
                                  "Print the DNS records to publish for a site or mail "
                                  "domain (--check: compare with live DNS)");
    d->add_option("name", dns->name, "site host or [mail.\"<domain>\"] domain")->required();
    d->add_option("--config,-c", dns->config, "moat.toml (default ./moat.toml, ./moat-data/)");
    d->add_option("--address", dns->addresses, "public IP of this server (repeatable)");
    d->add_flag("--check", dns->check, "compare with live DNS; warn on a stale MTA-STS id");
    d->add_option("--resolver", dns->resolver, "DNS server ADDR[:PORT] (default resolv.conf)");
    d->add_option("--trust-anchor", dns->trust_anchor, "DNSSEC trust anchor file");
    out.push_back({d, [dns] { return run_dns(*dns); }});

    auto chk = std::make_shared<mail::CheckOptions>();
    auto json = std::make_shared<bool>(false);
    auto* check = root.add_subcommand("check", "Check a deployment from outside");
    check->require_subcommand(1);
    auto* m = check->add_subcommand("mail", "MTA-STS, TLS-RPT, STARTTLS and DANE of a mail domain");
    m->add_option("domain", chk->domain, "the mail domain")->required();
    m->add_flag("--json", *json, "machine-readable output");
    m->add_option("--resolver", chk->resolver, "DNS server ADDR[:PORT] (default resolv.conf)");
    m->add_option("--trust-anchor", chk->trust_anchor, "DNSSEC trust anchor file (enables D1)");
    m->add_option("--ca-file", chk->ca_file, "PEM bundle to trust instead of the system roots");
    m->add_option("--smtp-port", chk->smtp_port, "SMTP port of the MX hosts (default 25)");
    m->add_option("--https-port", chk->https_port, "HTTPS port of the policy host (default 443)");
    m->add_option("--timeout", chk->timeout_ms, "per-step timeout in ms (default 10000)");
    m->add_option("--expected-id", chk->expected_id, "the id the _mta-sts record should carry");
    m->add_option("--state", chk->state_dir, "moat's mail state folder (M4: id not bumped)");
    out.push_back({m, [chk, json] { return run_check_mail(*chk, *json); }});

    struct ReportOpts {
        std::string config, domain, dir;
        bool json = false;
    };
    auto ro = std::make_shared<ReportOpts>();
    auto* mail_cmd = root.add_subcommand("mail", "Mail domains: TLS-RPT reports");
    mail_cmd->require_subcommand(1);
    auto* rep = mail_cmd->add_subcommand("reports", "Summarise received TLS-RPT reports");
    rep->add_option("domain", ro->domain, "policy domain")->required();
    rep->add_option("--config,-c", ro->config, "moat.toml (default ./moat.toml, ./moat-data/)");
    rep->add_option("--dir", ro->dir,
                    "report folder instead of the store's logs/TLSRPT/ or <data_dir>/tlsrpt");
    rep->add_flag("--json", ro->json, "machine-readable output");
    out.push_back({rep, [ro] { return run_reports(ro->config, ro->domain, ro->dir, ro->json); }});
}

}  // namespace moat::cli
