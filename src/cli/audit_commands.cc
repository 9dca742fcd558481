// The audit part's subcommands: `moat audit https://host[:port]`.
#include <cstdio>

#include "audit/audit.h"
#include "audit/grade.h"
#include "audit/report.h"
#include "cli/commands.h"

namespace moat::cli {
namespace {

struct AuditArgs {
    audit::AuditOptions opts;
    bool json = false;
    std::string min_grade;
    double timeout_s = 5;
};

int run_audit(const AuditArgs& a) {
    if (!a.min_grade.empty() && !audit::grade_rank(a.min_grade)) {
        std::fprintf(stderr,
                     "moat audit: --min-grade: \"%s\" is not a grade (A+, A, A-, B ... F)\n",
                     a.min_grade.c_str());
        return 2;
    }
    if (a.timeout_s <= 0 || a.timeout_s > 120) {
        std::fprintf(stderr, "moat audit: --timeout must be between 0 and 120 seconds\n");
        return 2;
    }
    audit::AuditOptions o = a.opts;
    o.timeout = std::chrono::milliseconds(static_cast<long>(a.timeout_s * 1000));
    auto r = audit::run_audit(o);
    if (!r) {
        std::fprintf(stderr, "moat audit: %s\n", r.error().detail.c_str());
        return 2;
    }
    std::string out = a.json ? audit::report_json(*r) : audit::report_text(*r);
    std::fwrite(out.data(), 1, out.size(), stdout);
    if (!r->tls) return 1;
    if (!a.min_grade.empty()) {
        std::string g = r->overall_grade();
        if (!audit::grade_at_least(g, a.min_grade)) {
            std::fprintf(stderr, "moat audit: grade %s is below --min-grade %s\n", g.c_str(),
                         a.min_grade.c_str());
            return 1;
        }
    }
    return 0;
}

}  // namespace

void add_audit_commands(CLI::App& root, Commands& out) {
    auto args = std::make_shared<AuditArgs>();
    auto* cmd = root.add_subcommand(
        "audit",
        "Grade an HTTPS site's TLS (SSL Labs rules) and headers (securityheaders, "
        "Observatory)");
    cmd->add_option("url", args->opts.url, "https://host[:port][/path]")->required();
    cmd->add_option("--resolve", args->opts.resolve, "HOST:ADDRESS: connect there instead of DNS");
    cmd->add_option("--ca", args->opts.ca_file, "Extra trusted CA certificates (PEM)");
    cmd->add_flag("--json", args->json, "Print JSON instead of the report card");
    cmd->add_option("--min-grade", args->min_grade, "Exit 1 when the overall grade is lower");
    cmd->add_option("--timeout", args->timeout_s, "Seconds per connection/handshake (default 5)");
    cmd->add_option("--http-port", args->opts.http_port, "Port probed for plain HTTP (default 80)")
        ->check(CLI::Range(1, 65535));
    out.push_back({cmd, [args] { return run_audit(*args); }});
}

}  // namespace moat::cli
