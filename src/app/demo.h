#pragma once
// `moat serve --demo`: a working setup with no configuration. Creates (once) a data folder with
// an example site (production and testing copies), and a moat.toml that serves it on loopback;
// the internal CA makes the certificates when the config loads.

#include <string>

#include "core/result.h"

namespace moat::app {

// Writes the demo files under data_dir unless they exist (a user's edits are kept).
// Returns the path of the demo config file.
Result<std::string> prepare_demo(const std::string& data_dir);

}  // namespace moat::app
