#pragma once
// The moat command line: subcommands and their flags. Returns the process exit code
// (0 ok, 1 runtime failure, 2 usage or configuration error).

namespace moat::cli {

int run(int argc, char** argv);

}  // namespace moat::cli
