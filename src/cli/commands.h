#pragma once
// Subcommands beyond serve and config check. Each part's commands live in their own file of
// cli/ (store_commands.cc, acme_commands.cc ...) and add themselves to the root app here; run()
// calls the `run` of the one that was parsed. Exit codes: 0 fine, 1 the work failed, 2 usage or
// config error.

#include <CLI/CLI.hpp>
#include <functional>
#include <vector>

namespace moat::cli {

struct Command {
    CLI::App* app = nullptr;   // the (deepest) subcommand
    std::function<int()> run;  // called when `app` was parsed
};
using Commands = std::vector<Command>;

void add_store_commands(CLI::App& root, Commands& out);  // store scrub/rotate-key, keys
void add_acme_commands(CLI::App& root, Commands& out);   // certs
void add_mail_commands(CLI::App& root, Commands& out);   // dns, check mail, mail reports
void add_audit_commands(CLI::App& root, Commands& out);  // audit
// deploy, promote, approve, reject, rollback, releases, diff, invalidate, audit-log, backup,
// restore, principals
void add_release_commands(CLI::App& root, Commands& out);

}  // namespace moat::cli
