#pragma once
// The whole moat configuration: an immutable snapshot built from moat.toml (the only reader of
// the file) after every key was validated. Each part receives its own settings struct from it.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "acme/settings.h"
#include "admin/settings.h"
#include "core/result.h"
#include "edge/settings.h"
#include "mail/settings.h"
#include "release/settings.h"
#include "s3/settings.h"
#include "site/settings.h"
#include "store/settings.h"
#include "tls/settings.h"

namespace moat::config {

struct Config {
    std::string source;                  // file it came from
    std::string data_dir = "moat-data";  // CA, logs, state; absolute once loaded
    std::string log_level = "info";
    edge::EdgeSettings edge;
    tls::TlsSettings tls;
    std::vector<site::SiteSettings> sites;
    store::StoreSettings store;
    s3::S3Settings s3;
    acme::AcmeSettings acme;
    mail::MailSettings mail;
    release::ReleaseSettings release;
    admin::AdminSettings admin;
};

// One finding of the loader: an error makes the file unusable, a warning names a weak choice.
struct Diagnostic {
    bool warning = false;
    std::string file;
    int line = 0;     // 1-based; 0 when not tied to a place
    int column = 0;   // 1-based
    std::string key;  // dotted path, e.g. sites."example.com".headers.hsts_max_age
    std::string message;
    std::string to_string() const;  // "file:line:col: key: message" (prefixed "warning: " if so)
};

struct LoadResult {
    std::shared_ptr<const Config> config;  // null when any error was found
    std::vector<Diagnostic> diagnostics;   // every error and warning, in file order
};

// Reads and validates a moat.toml. Never throws; a missing or unreadable file is one error
// without a position. Relative paths in the file (data_dir, root, cert, key) are resolved
// against the file's directory; roots and cert/key files must exist at load time.
LoadResult load_file(const std::string& path);

// As load_file, for text already in memory. `name` is used in diagnostics and as the file's
// path: relative paths resolve against its directory (the working directory if it has none).
LoadResult load_string(std::string_view text, const std::string& name);

// The Config of `moat serve --root DIR [--listen ADDR:PORT]...`: one site "localhost" serving
// DIR as production, default_host "localhost" so any SNI (or none) is answered, HTTPS only
// (no port-80 or metrics listener), data under ./moat-data. `listen` empty: the default HTTPS
// listeners. Certificate from `cert`/`key` (PEM files, both or neither) or the internal CA.
// Errors: kInvalidArgument naming the bad option.
Result<std::shared_ptr<const Config>> config_for_root(const std::string& root,
                                                      const std::vector<std::string>& listen,
                                                      const std::string& cert,
                                                      const std::string& key);

}  // namespace moat::config
