// Reads the [mail] section of moat.toml into Config::mail.
#include "config/internal/reader.h"

namespace moat::config::internal {

void read_mail(TableReader& top, const std::filesystem::path& base, Config& cfg) {
    (void)top;
    (void)base;
    (void)cfg;
}

}  // namespace moat::config::internal
