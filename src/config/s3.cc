// Reads the [s3] section of moat.toml into Config::s3.
#include "config/internal/reader.h"

namespace moat::config::internal {

void read_s3(TableReader& top, const std::filesystem::path& base, Config& cfg) {
    (void)top;
    (void)base;
    (void)cfg;
}

}  // namespace moat::config::internal
