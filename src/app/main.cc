// moat: one binary for secure static websites. See README.md.
#include "cli/cli.h"

int main(int argc, char** argv) { return moat::cli::run(argc, argv); }
