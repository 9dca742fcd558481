#pragma once
// The whole moat configuration: an immutable snapshot built from moat.toml (the only reader of
// the file) after every key was validated. Each part receives its own settings struct from it.

#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "edge/settings.h"
#include "site/settings.h"
#include "tls/settings.h"

namespace moat::config {

struct Config {
    std::string source;                 // file it came from
    std::string data_dir = "moat-data";  // CA, logs, state; relative to the working directory
    std::string log_level = "info";
    edge::EdgeSettings edge;
    tls::TlsSettings tls;
    std::vector<site::SiteSettings> sites;
};

// One finding of the loader: an error makes the file unusable, a warning names a weak choice.
struct Diagnostic {
    bool warning = false;
    std::string file;
    int line = 0;    // 1-based; 0 when not tied to a place
    int column = 0;  // 1-based
    std::string key;  // dotted path, e.g. sites."example.com".headers.hsts_max_age
    std::string message;
    std::string to_string() const;  // "file:line:col: key: message" (prefixed "warning: " if so)
};

struct LoadResult {
    std::shared_ptr<const Config> config;  // null when any error was found
    std::vector<Diagnostic> diagnostics;   // every error and warning, in file order
};

LoadResult load_file(const std::string& path);
LoadResult load_string(std::string_view text, const std::string& name);

}  // namespace moat::config
