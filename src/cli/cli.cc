#include "cli/cli.h"

#include <CLI/CLI.hpp>
#include <cstdio>

#include "app/app.h"
#include "cli/commands.h"

namespace moat::cli {

int run(int argc, char** argv) {
    CLI::App app{"moat: secure static websites and MTA-STS policy sites, in one binary"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "moat 0.1.0");

    app::ServeOptions so;
    auto* serve = app.add_subcommand("serve", "Serve sites over HTTPS");
    serve->add_flag("--demo", so.demo, "Create ./moat-data with an example site and serve it");
    serve->add_option("--config,-c", so.config_path, "moat.toml to serve");
    serve->add_option("--root", so.root, "Serve one folder as one site with every default");
    serve->add_option("--listen", so.listen, "ADDR:PORT for --root (repeatable)");
    serve->add_option("--cert", so.cert, "PEM certificate chain for --root");
    serve->add_option("--key", so.key, "PEM private key for --root");
    serve->add_option("--data", so.data_dir, "Data folder (default ./moat-data)");
    serve->add_option("--access-log", so.access_log, "Write access logs under DIR (--root)");
    serve->add_option("--log-level", so.log_level, "trace, debug, info, warn, error, off");
    serve->add_option("--workers", so.workers, "Event-loop threads (0 = one per core)");

    std::string check_path;
    auto* config = app.add_subcommand("config", "Work with configuration files");
    config->require_subcommand(1);
    auto* check = config->add_subcommand("check", "Validate a config file");
    check->add_option("file", check_path, "moat.toml")->required();

    Commands commands;
    add_store_commands(app, commands);
    add_acme_commands(app, commands);
    add_mail_commands(app, commands);
    add_audit_commands(app, commands);
    add_release_commands(app, commands);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;
    }
    if (serve->parsed()) {
        int modes =
            (so.demo ? 1 : 0) + (so.config_path.empty() ? 0 : 1) + (so.root.empty() ? 0 : 1);
        if (modes != 1) {
            std::fprintf(stderr,
                         "moat serve: give exactly one of --demo, --config FILE, --root DIR\n");
            return 2;
        }
        if (so.root.empty() && (!so.listen.empty() || !so.cert.empty() || !so.key.empty())) {
            std::fprintf(stderr, "moat serve: --listen, --cert and --key go with --root\n");
            return 2;
        }
        if (so.cert.empty() != so.key.empty()) {
            std::fprintf(stderr, "moat serve: --cert and --key go together\n");
            return 2;
        }
        return app::serve(so);
    }
    if (check->parsed()) return app::config_check(check_path);
    for (const auto& c : commands)
        if (c.app->parsed()) return c.run();
    return 2;
}

}  // namespace moat::cli
