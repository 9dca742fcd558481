#include "tls/init.h"

#include <openssl/ssl.h>

#include <mutex>

#include "core/assert.h"

namespace moat::tls {

void init_openssl() {
    static std::once_flag once;
    std::call_once(once, [] {
        MOAT_CHECK(OPENSSL_init_ssl(OPENSSL_INIT_NO_LOAD_CONFIG, nullptr) == 1,
                   "OpenSSL initialisation failed");
    });
}

}  // namespace moat::tls
