#include "app/app.h"

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "app/demo.h"
#include "app/demo_releases.h"
#include "app/runtime.h"
#include "audit/headers_grade.h"
#include "config/config.h"
#include "core/log.h"
#include "edge/server.h"
#include "tls/init.h"

namespace moat::app {
namespace {

// Loads a config file, printing every diagnostic. Null when it has errors.
std::shared_ptr<const config::Config> load_and_report(const std::string& path) {
    auto lr = config::load_file(path);
    for (const auto& d : lr.diagnostics) std::fprintf(stderr, "%s\n", d.to_string().c_str());
    return lr.config;
}

// How the config is obtained: from a file (--config, --demo) or built for --root.
struct Source {
    std::string file;
    ServeOptions opts;
    std::shared_ptr<const config::Config> load() const {
        std::shared_ptr<const config::Config> cfg;
        if (!file.empty()) {
            cfg = load_and_report(file);
        } else {
            auto r = config::config_for_root(opts.root, opts.listen, opts.cert, opts.key);
            if (!r) {
                std::fprintf(stderr, "moat: %s\n", r.error().detail.c_str());
                return nullptr;
            }
            cfg = *r;
        }
        if (!cfg) return nullptr;
        auto c = std::make_shared<config::Config>(*cfg);
        if (file.empty()) c->edge.access_log_dir = opts.access_log;  // off unless asked
        if (!opts.data_dir.empty() && file.empty()) {
            c->data_dir = opts.data_dir;
            c->tls.internal_ca_dir = opts.data_dir + "/ca";
        }
        if (opts.workers >= 0) c->edge.workers = opts.workers;
        if (!opts.log_level.empty()) c->log_level = opts.log_level;
        return c;
    }
};

// ":PORT" of the first listener in the list, or "" when the port is the scheme's default or
// the list is empty (the demo's moat.toml may have been edited).
std::string port_suffix(const std::vector<std::string>& listen, std::uint16_t default_port) {
    for (const auto& l : listen)
        if (auto a = edge::parse_listen(l))
            return a->port == default_port ? std::string() : ":" + std::to_string(a->port);
    return std::string();
}

void print_demo_banner(const Runtime& rt) {
    const auto& cfg = rt.config();
    std::string ca = std::filesystem::absolute(rt.ca_root_path()).string();
    std::string https = port_suffix(cfg.edge.https_listen, 443);
    std::string http = port_suffix(cfg.edge.http_listen, 80);
    std::string out = "\nmoat demo is serving:\n";
    if (!cfg.edge.https_listen.empty()) {
        out += "  https://localhost" + https + "/        production (HTTP/2, TLS 1.3)\n";
        out += "  https://test.localhost" + https + "/   testing\n";
    }
    if (!cfg.edge.http_listen.empty())
        out += "  http://localhost" + http + "/         redirects / to HTTPS, 403 elsewhere\n";
    if (!cfg.edge.metrics_listen.empty())
        out += "  http://" + cfg.edge.metrics_listen + "/metrics  Prometheus metrics\n";
    for (const auto& d : cfg.mail.domains)
        out += "  https://mta-sts." + d.domain + https +
               "/.well-known/mta-sts.txt  MTA-STS policy (" +
               "name -> 127.0.0.1; records: moat dns " + d.domain + ")\n";
    out += "Its certificates come from moat's internal CA: " + ca + "\n";
    out += "  curl:    curl --cacert " + ca + " https://localhost" + https + "/\n";
    out += "  Debian:  sudo cp " + ca +
           " /usr/local/share/ca-certificates/moat-demo.crt && sudo update-ca-certificates\n";
    out += "  Chrome/Firefox: import it as an authority in the browser's certificate settings.\n";
    if (rt.s3() && !rt.s3()->ports().empty()) {
        std::string s3 = "https://localhost:" + std::to_string(rt.s3()->ports().front());
        std::string creds = std::filesystem::absolute(cfg.data_dir + "/demo-s3-credentials");
        out += "S3 API: " + s3 + " (bucket content: <env>/<site>/ like the seed; logs)\n";
        out += "  AWS_SHARED_CREDENTIALS_FILE=" + creds + " aws --profile moat-demo --region " +
               cfg.s3.region + " --endpoint-url " + s3 + " --ca-bundle " + ca +
               " s3 ls s3://content\n";
    }
    if (rt.control() && !rt.control()->admin_ports().empty()) {
        std::string creds = std::filesystem::absolute(cfg.data_dir + "/demo-principals");
        out +=
            "Admin API: https://localhost:" + std::to_string(rt.control()->admin_ports().front()) +
            " (principals demo-deployer and demo-approver in " + creds + ")\n";
        out +=
            "  moat releases localhost\n"
            "  moat deploy <folder> --site localhost\n"
            "  moat promote localhost\n"
            "  moat approve localhost <release> --profile demo-approver\n";
    }
    out += "Access logs: " + cfg.data_dir + "/logs/CloudFront/. Config: " + cfg.data_dir +
           "/moat.toml. Ctrl-C stops.\n\n";
    std::fputs(out.c_str(), stdout);
    std::fflush(stdout);
}

}  // namespace

int serve(const ServeOptions& opts) {
    tls::init_openssl();
    core::init_logging(opts.log_level.empty() ? "info" : opts.log_level);
    auto log = core::logger("app");
    Source src;
    src.opts = opts;
    if (opts.demo) {
        auto cfg = prepare_demo(opts.data_dir.empty() ? "moat-data" : opts.data_dir);
        if (!cfg) {
            std::fprintf(stderr, "moat: demo: %s\n", cfg.error().detail.c_str());
            return 1;
        }
        src.file = *cfg;
    } else if (!opts.config_path.empty()) {
        src.file = opts.config_path;
    }
    auto cfg = src.load();
    if (!cfg) return 2;
    core::init_logging(cfg->log_level);

    // Signals are handled on their own thread through Asio, never in a signal handler.
    sigset_t set;
    sigemptyset(&set);
    asio::io_context sig_io(1);
    asio::signal_set signals(sig_io, SIGINT, SIGTERM, SIGHUP);
    ::signal(SIGPIPE, SIG_IGN);

    auto rt = Runtime::start(cfg);
    if (!rt) {
        log->error("start failed: {}", rt.error().detail);
        return 1;
    }
    Runtime& runtime = **rt;
    log->info("serving sites={} workers={} https={} http={}", cfg->sites.size(), cfg->edge.workers,
              fmt::join(cfg->edge.https_listen, ","), fmt::join(cfg->edge.http_listen, ","));
    if (opts.demo && runtime.s3() && runtime.store()) {
        auto creds = ensure_demo_s3_credentials(cfg->data_dir, runtime.store()->store());
        if (!creds) log->warn("demo: s3 credentials: {}", creds.error().detail);
    }
    if (opts.demo && runtime.control()) {
        ControlPlane& cp = *runtime.control();
        for (const auto& s : cfg->sites) {
            bool from_store = false;
            for (const auto& e : s.environments) from_store = from_store || e.from_store;
            if (!from_store) continue;
            if (auto r = seed_demo_releases(cfg->data_dir, s.name, cp.releases()); !r)
                log->warn("demo: first releases of {}: {}", s.name, r.error().detail);
        }
        if (cp.principals() && !cp.admin_ports().empty()) {
            std::string url = "https://localhost:" + std::to_string(cp.admin_ports().front());
            std::string ca = std::filesystem::absolute(runtime.ca_root_path()).string();
            auto pr = ensure_demo_principals(cfg->data_dir, *cp.principals(), url, ca);
            if (!pr) log->warn("demo: principals: {}", pr.error().detail);
        }
    }
    if (opts.demo) print_demo_banner(runtime);

    std::function<void()> wait_signal = [&] {
        signals.async_wait([&](const asio::error_code& ec, int sig) {
            if (ec) return;
            if (sig == SIGHUP) {
                auto next = src.load();
                if (!next) {
                    log->error("reload refused: the config has errors; the old one keeps serving");
                } else if (auto r = runtime.reload(next); !r) {
                    log->error("reload refused: {}; the old config keeps serving",
                               r.error().detail);
                } else {
                    log->info("reloaded config");
                }
                wait_signal();
                return;
            }
            log->info("signal {}: draining connections", sig);
            runtime.stop();
        });
    };
    wait_signal();
    std::thread sig_thread([&] { sig_io.run(); });
    runtime.run();
    sig_io.stop();
    sig_thread.join();
    log->info("stopped");
    return 0;
}

int config_check(const std::string& path) {
    auto lr = config::load_file(path);
    int errors = 0, warnings = 0;
    for (const auto& d : lr.diagnostics) {
        std::printf("%s\n", d.to_string().c_str());
        (d.warning ? warnings : errors)++;
    }
    if (!lr.config) {
        std::printf("%s: %d error(s), %d warning(s)\n", path.c_str(), errors, warnings);
        return 2;
    }
    // Each site's expected header grade, offline (audit::grade_site_policy), and its
    // headers.min_grade enforced.
    for (const auto& site : lr.config->sites) {
        auto card = audit::grade_site_policy(site);
        std::printf("site %s: header grade %s (securityheaders %s, observatory %d %s)\n",
                    site.host.c_str(), card.grade().c_str(), card.sh_grade.c_str(), card.obs_score,
                    card.obs_grade.c_str());
        if (auto ok = audit::check_min_header_grade(site); !ok) {
            std::printf("%s: sites.\"%s\".%s\n", path.c_str(), site.host.c_str(),
                        ok.error().detail.c_str());
            ++errors;
        }
    }
    if (errors > 0) {
        std::printf("%s: %d error(s), %d warning(s)\n", path.c_str(), errors, warnings);
        return 2;
    }
    std::printf("%s: ok, %zu site(s), %d warning(s)\n", path.c_str(), lr.config->sites.size(),
                warnings);
    return 0;
}

}  // namespace moat::app
