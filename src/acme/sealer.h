#pragma once
// Encryption at rest for ACME secrets (the account key) in the folder state (state_store.h),
// for moat without a store. With a store the account key is an object there, encrypted by the
// store under its master key, and no Sealer is used.

#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"

namespace moat::acme {

class Sealer {
public:
    virtual ~Sealer() = default;
    // Encrypts and authenticates `plain`; `label` is bound as associated data, so a sealed
    // blob cannot be replayed as another kind of secret.
    virtual Result<std::string> seal(std::string_view plain, std::string_view label) const = 0;
    // Errors: kInvalidArgument when the blob is malformed, was sealed with another key or label,
    // or was altered. The message never includes plaintext.
    virtual Result<std::string> open(std::string_view sealed, std::string_view label) const = 0;
};

// AES-256-GCM under a 32-byte key kept in a file of its own (mode 0600, created with random
// bytes on first use). Blob: "MSL1" | 12-byte random nonce | ciphertext | 16-byte tag.
class FileKeySealer : public Sealer {
public:
    // Errors: kIo (file system), kDenied when the key file is readable by group or others,
    // kInvalidArgument when it does not hold exactly 32 bytes.
    static Result<std::unique_ptr<FileKeySealer>> open_or_create(const std::string& key_path);
    Result<std::string> seal(std::string_view plain, std::string_view label) const override;
    Result<std::string> open(std::string_view sealed, std::string_view label) const override;
    ~FileKeySealer() override;

private:
    explicit FileKeySealer(std::string key) : key_(std::move(key)) {}
    std::string key_;
};

}  // namespace moat::acme
