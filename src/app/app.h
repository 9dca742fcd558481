#pragma once
// Wiring: builds every part from a Config, runs the edge, handles signals (SIGHUP reload,
// SIGTERM/SIGINT drain and exit). The CLI calls these; each returns a process exit code.

#include <string>
#include <vector>

namespace moat::app {

struct ServeOptions {
    bool demo = false;
    std::string config_path;          // --config
    std::string root;                 // --root: one folder, one site, every default
    std::vector<std::string> listen;  // --listen for --root (default 127.0.0.1:8443 and [::1]:8443)
    std::string cert, key;            // --cert/--key for --root (internal CA otherwise)
    std::string data_dir;             // --data (default ./moat-data)
    std::string access_log;           // --access-log DIR for --root (off by default there)
    std::string log_level;            // overrides the config's
    int workers = -1;                 // overrides the config's when >= 0
};

int serve(const ServeOptions& opts);

// `moat config check FILE`: prints every error and warning; 0 when valid, 2 otherwise.
int config_check(const std::string& path);

}  // namespace moat::app
