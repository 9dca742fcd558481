#pragma once
// A private certificate authority for hosts that need no public certificate (development,
// staging, internal names, IP addresses).

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "tls/cert_key.h"

namespace moat::tls {

// A self-signed ECDSA P-256 root kept in a directory, and the leaves it issues:
//   <dir>/root.crt            the root certificate; clients trust it (root_cert_path())
//   <dir>/root.key            its private key, mode 0600 (the directory is created 0700)
//   <dir>/leaves/<id>.crt/key issued leaves, reused while they have over a third of their life
// Blocks on disk I/O and key generation: use it at start-up, on reload or on a thread pool,
// never on a worker's event loop. Not thread-safe; one owner at a time. Two processes must not
// share a directory.
class InternalCa {
public:
    enum class LeafKey { kEcdsaP256, kRsa2048 };
    using Clock = std::function<std::chrono::system_clock::time_point()>;
    static constexpr std::chrono::hours kRootLifetime{24 * 3653};  // ~10 years
    static constexpr std::chrono::hours kLeafLifetime{24 * 90};    // like public CAs

    // Loads the CA from `dir`, or creates the directory, key and root on first use.
    // Errors: kIo for file system failures; kConflict if only one of root.crt/root.key exists
    // (never silently replaces a CA clients may trust); kDenied if root.key is readable by group
    // or others; kInvalidArgument if the files do not hold a matching CA key pair.
    // `clock` (tests) sets validity periods and the reuse decision.
    static Result<InternalCa> open_or_create(const std::string& dir, Clock clock = {});

    // A leaf for `names` (DNS names, "*.domain" wildcards, IP literals; order and case do not
    // matter): the cached one if it was issued by this root for exactly these names with this
    // key type and more than a third of its lifetime is left, otherwise a new one (ECDSA P-256
    // or RSA-2048 for old clients, serverAuth, kLeafLifetime; signed by the P-256 root either
    // way), saved for next time. The chain is the leaf alone: clients hold the root.
    // Errors: kInvalidArgument for an empty list or a malformed name; kIo when saving fails.
    Result<std::shared_ptr<const CertKey>> issue(const std::vector<std::string>& names,
                                                 LeafKey key = LeafKey::kEcdsaP256);

    std::string root_cert_path() const;
    // The root as a CertKey (for tests and `moat check`; never send it as a server cert).
    const std::shared_ptr<const CertKey>& root() const { return root_; }

private:
    InternalCa(std::string dir, std::shared_ptr<const CertKey> root, Clock clock)
        : dir_(std::move(dir)), root_(std::move(root)), clock_(std::move(clock)) {}
    Result<std::shared_ptr<const CertKey>> cached_leaf(const std::string& base,
                                                       const std::vector<std::string>& names,
                                                       LeafKey key);

    std::string dir_;
    std::shared_ptr<const CertKey> root_;
    Clock clock_;
};

}  // namespace moat::tls
