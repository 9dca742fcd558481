#pragma once
// One-time OpenSSL initialisation with moat's policy.

namespace moat::tls {

// Initialises libssl/libcrypto WITHOUT reading the system openssl.cnf
// (OPENSSL_INIT_NO_LOAD_CONFIG), so a distribution or admin config cannot lower moat's fixed
// TLS policy (protocols, ciphers, security level). OpenSSL honours only its first
// initialisation, so main() must call this before any other code touches OpenSSL; every tls
// entry point also calls it. Idempotent and thread-safe. Aborts if OpenSSL cannot start.
void init_openssl();

}  // namespace moat::tls
