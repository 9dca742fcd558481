// The folder StateStore (state_store.h): files under <state_dir>, the account key sealed by a
// FileKeySealer, the order lock a LeaseLock.

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "acme/internal/crypto.h"
#include "acme/lease_lock.h"
#include "acme/sealer.h"
#include "acme/state_store.h"

namespace moat::acme {
namespace {

constexpr char kAccountLabel[] = "moat-acme-account-key";

std::string dir_of(const std::string& path) {
    auto slash = path.rfind('/');
    return slash == std::string::npos ? "." : path.substr(0, slash);
}

class FileLease : public Lease {
public:
    explicit FileLease(LeaseLock lock) : lock_(std::move(lock)) {}
    Result<void> refresh(TimePoint now) override { return lock_.refresh(now); }
    void release() override { lock_.release(); }

private:
    LeaseLock lock_;
};

class FolderState : public StateStore {
public:
    FolderState(std::string dir, std::unique_ptr<Sealer> sealer)
        : dir_(std::move(dir)), sealer_(std::move(sealer)) {}

    std::string where() const override { return "folder " + dir_; }

    Result<std::string> account_key() override {
        const std::string path = dir_ + "/account.key.sealed";
        auto sealed = internal::read_file(path);
        if (!sealed) return sealed.error();
        auto pem = sealer_->open(*sealed, kAccountLabel);
        if (!pem) return make_error(pem.error().code, path + ": " + pem.error().detail);
        return pem;
    }

    Result<void> save_account_key(std::string_view pem) override {
        auto blob = sealer_->seal(pem, kAccountLabel);
        if (!blob) return blob.error();
        return internal::write_file_atomic(dir_ + "/account.key.sealed", *blob, 0600);
    }

    Result<LoadedCert> load_cert(const CertSlot& slot) override {
        auto chain = internal::read_file(slot.cert_file);
        if (!chain) return chain.error();
        auto key = internal::read_file(slot.key_file);
        if (!key) return key.error();
        return LoadedCert{CertPems{std::move(*chain), std::move(*key)}, false};
    }

    Result<void> save_cert(const CertSlot& slot, const CertPems& pems) override {
        MOAT_TRY(internal::make_dirs(dir_of(slot.cert_file), 0700));
        MOAT_TRY(internal::make_dirs(dir_of(slot.key_file), 0700));
        // Key first: a reader that sees the new chain must find its key (the loader checks).
        MOAT_TRY(internal::write_file_atomic(slot.key_file, pems.key_pem, 0600));
        return internal::write_file_atomic(slot.cert_file, pems.chain_pem, 0644);
    }

    Result<OrderBackoff> order_backoff(const CertSlot& slot) override {
        auto text = internal::read_file(backoff_path(slot));
        if (!text && text.error().code == Errc::kNotFound) return OrderBackoff{};
        if (!text) return text.error();
        return backoff_from_json(*text);
    }

    Result<void> save_order_backoff(const CertSlot& slot, const OrderBackoff& b) override {
        const std::string path = backoff_path(slot);
        if (b.failures == 0) {
            if (::unlink(path.c_str()) != 0 && errno != ENOENT)
                return make_error(Errc::kIo, "remove " + path + ": " + std::strerror(errno));
            return {};
        }
        MOAT_TRY(internal::make_dirs(dir_of(path), 0700));
        return internal::write_file_atomic(path, backoff_to_json(b), 0600);
    }

    Result<std::unique_ptr<Lease>> lock(const std::string& owner, std::chrono::seconds ttl,
                                        TimePoint now) override {
        auto l = LeaseLock::acquire(dir_ + "/order.lock", owner, ttl, now);
        if (!l) return l.error();
        return std::unique_ptr<Lease>(new FileLease(std::move(*l)));
    }

private:
    std::string backoff_path(const CertSlot& slot) const {
        return dir_ + "/certs/" + slot.host + (slot.rsa ? "/backoff-rsa.json" : "/backoff.json");
    }

    std::string dir_;
    std::unique_ptr<Sealer> sealer_;
};

}  // namespace

Result<std::unique_ptr<StateStore>> open_folder_state(const std::string& dir) {
    MOAT_TRY(internal::make_dirs(dir, 0700));
    auto sealer = FileKeySealer::open_or_create(dir + "/seal.key");
    if (!sealer) return sealer.error();
    return std::unique_ptr<StateStore>(new FolderState(dir, std::move(*sealer)));
}

}  // namespace moat::acme
