// The acme part's subcommands.
#include "cli/commands.h"

namespace moat::cli {

void add_acme_commands(CLI::App& root, Commands& out) {
    (void)root;
    (void)out;
}

}  // namespace moat::cli
