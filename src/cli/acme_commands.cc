// The acme part's subcommands: `moat certs` lists the ACME-managed certificates from the state
// a server keeps under <data_dir>/acme (no running server needed).
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "acme/cert_status.h"
#include "acme/x509_tools.h"
#include "cli/commands.h"
#include "config/config.h"
#include "tls/cert_key.h"

namespace moat::cli {
namespace {

struct CertsOptions {
    std::string config_path;
    std::string data_dir;
};

std::string when(std::chrono::system_clock::time_point t) {
    if (t.time_since_epoch().count() == 0) return "-";
    std::time_t tt = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

int run_certs(const CertsOptions& o) {
    std::string data = o.data_dir;
    std::vector<std::string> configured;  // canonical hosts with tls = "acme"
    if (!o.config_path.empty()) {
        auto lr = config::load_file(o.config_path);
        if (!lr.config) {
            for (const auto& d : lr.diagnostics)
                std::fprintf(stderr, "%s\n", d.to_string().c_str());
            return 2;
        }
        data = lr.config->data_dir;
        for (const auto& c : lr.config->tls.certs)
            if (c.source == tls::CertSource::kAcme && !c.names.empty())
                configured.push_back(c.names[0]);
    }
    if (data.empty()) data = "moat-data";
    std::filesystem::path certs = std::filesystem::path(data) / "acme" / "certs";
    std::map<std::string, acme::CertStatus> rows;
    std::error_code ec;
    for (const auto& d : std::filesystem::directory_iterator(certs, ec)) {
        if (!d.is_directory()) continue;
        // key_type rsa2048: the RSA certificate's files sit beside the ECDSA one's, as a row
        // "<host> (rsa2048)".
        for (std::string suffix : {"", "-rsa"}) {
            if (!suffix.empty() && !std::filesystem::exists(d.path() / "status-rsa.json") &&
                !std::filesystem::exists(d.path() / "fullchain-rsa.pem"))
                continue;
            acme::CertStatus st;
            st.name = d.path().filename().string();
            if (auto j = acme::status_from_json(slurp(d.path() / ("status" + suffix + ".json"))); j)
                st = *j;
            // The files are the truth for what is served; the status file adds the history.
            auto ck =
                tls::load_cert_key_files((d.path() / ("fullchain" + suffix + ".pem")).string(),
                                         (d.path() / ("privkey" + suffix + ".pem")).string());
            if (ck) {
                auto f = acme::cert_facts(**ck);
                st.has_cert = true;
                st.issuer = f.issuer;
                st.not_after = f.not_after;
                if (st.names.empty()) st.names = f.names;
            } else {
                st.has_cert = false;
            }
            rows[suffix.empty() ? st.name : st.name + " (rsa2048)"] = st;
        }
    }
    for (const auto& n : configured)
        if (!rows.count(n)) {
            acme::CertStatus st;
            st.name = n;
            rows[n] = st;
        }
    if (rows.empty()) {
        std::printf("no ACME certificates under %s\n", certs.string().c_str());
        return 0;
    }
    auto now = std::chrono::system_clock::now();
    std::printf("%-32s %-9s %-28s %-21s %7s %-21s %s\n", "NAME", "STATUS", "ISSUER", "EXPIRES",
                "DAYS", "RENEW AT", "LAST ERROR");
    for (const auto& [name, st] : rows) {
        std::string names;
        for (const auto& n : st.names)
            if (n != st.name) names += (names.empty() ? "" : ",") + n;
        double days =
            st.has_cert ? std::chrono::duration<double>(st.not_after - now).count() / 86400 : 0;
        std::string err = st.last_error.substr(0, 200);
        if (st.failures > 0) err = "(" + std::to_string(st.failures) + " failures) " + err;
        std::printf("%-32s %-9s %-28s %-21s %7.1f %-21s %s\n", name.c_str(), st.state(now).c_str(),
                    (st.issuer.empty() ? "-" : st.issuer).substr(0, 28).c_str(),
                    when(st.has_cert ? st.not_after : decltype(now){}).c_str(), days,
                    when(st.renew_at).c_str(), err.empty() ? "-" : err.c_str());
        if (!names.empty()) std::printf("  also: %s\n", names.c_str());
    }
    return 0;
}

}  // namespace

void add_acme_commands(CLI::App& root, Commands& out) {
    auto opts = std::make_shared<CertsOptions>();
    auto* certs =
        root.add_subcommand("certs", "List ACME certificates: names, issuer, expiry, status");
    certs->add_option("--config,-c", opts->config_path, "moat.toml (finds data_dir and the hosts)");
    certs->add_option("--data", opts->data_dir, "Data folder (default ./moat-data)");
    out.push_back({certs, [opts] { return run_certs(*opts); }});
}

}  // namespace moat::cli
