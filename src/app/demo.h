#pragma once
// `moat serve --demo`: a working setup with no configuration. Creates (once) a data folder with
// an example site (production and testing copies), and a moat.toml that serves it on loopback;
// the internal CA makes the certificates when the config loads.

#include <string>

#include "core/result.h"
#include "store/store.h"

namespace moat::app {

// Writes the demo files under data_dir unless they exist (a user's edits are kept).
// Returns the path of the demo config file.
Result<std::string> prepare_demo(const std::string& data_dir);

// Writes `text` to `path` with mode 0600 (a private temp file renamed over it): for files
// holding secrets.
Result<void> write_private_file(const std::string& path, const std::string& text);

// The demo deployer's S3 key as an aws-cli credentials file, <data_dir>/demo-s3-credentials
// (mode 0600, profile "moat-demo"; grants: content read/write/list, logs read/list). Made once
// and kept across restarts; made again only when the store no longer knows the key. Returns
// the file's path.
Result<std::string> ensure_demo_s3_credentials(const std::string& data_dir, store::Store& store);

}  // namespace moat::app
