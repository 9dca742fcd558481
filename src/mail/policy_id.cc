#include "mail/policy_id.h"

#include <openssl/evp.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/files.h"
#include "mail/grammar.h"

namespace moat::mail {
namespace {

namespace fs = std::filesystem;

std::string state_path(const std::string& dir, const std::string& domain) {
    return (fs::path(dir) / (domain + ".sts")).string();
}

}  // namespace

std::string sha256_hex(std::string_view data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(data.data(), data.size(), md, &n, EVP_sha256(), nullptr);
    static const char* kHex = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < n; ++i) {
        out += kHex[md[i] >> 4];
        out += kHex[md[i] & 15];
    }
    return out;
}

Result<PolicyId> stored_policy_id(const std::string& state_dir, const std::string& domain) {
    if (!grammar::domain_error(domain).empty() || domain.find('/') != std::string::npos)
        return make_error(Errc::kInvalidArgument, "bad policy domain \"" + domain + "\"");
    std::ifstream in(state_path(state_dir, domain));
    if (!in) return make_error(Errc::kNotFound, "no stored MTA-STS id for " + domain);
    PolicyId out;
    std::string key, value;
    while (in >> key >> value) {
        if (key == "id") out.id = value;
        if (key == "sha256") out.sha256 = value;
    }
    if (!grammar::valid_sts_id(out.id) || out.sha256.size() != 64)
        return make_error(Errc::kNotFound, "corrupt MTA-STS state for " + domain);
    return out;
}

Result<PolicyId> current_policy_id(const std::string& state_dir, const std::string& domain,
                                   std::string_view policy,
                                   std::chrono::system_clock::time_point now) {
    std::string hash = sha256_hex(policy);
    auto stored = stored_policy_id(state_dir, domain);
    if (!stored && stored.error().code == Errc::kInvalidArgument) return stored.error();
    if (stored && stored->sha256 == hash) return *stored;

    std::error_code ec;
    fs::create_directories(state_dir, ec);
    if (ec) return make_error(Errc::kIo, "create " + state_dir + ": " + ec.message());
    std::time_t t = std::chrono::system_clock::to_time_t(now);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y%m%d%H%M%S", &tm);
    PolicyId out;
    out.id = std::string(stamp) + hash.substr(0, 8);
    // Same second and same hash prefix as the stored id: cannot happen for different texts
    // unless the 32-bit prefixes collide; then take more of the hash (still <= 32 characters).
    if (stored && stored->id == out.id) out.id = std::string(stamp) + hash.substr(0, 18);
    out.sha256 = hash;
    out.bumped = true;
    if (stored) out.previous_id = stored->id;
    std::ostringstream text;
    text << "id " << out.id << "\nsha256 " << out.sha256 << "\n";
    if (out.previous_id.size()) text << "previous " << out.previous_id << "\n";
    MOAT_TRY(core::write_file_atomic(state_path(state_dir, domain), text.str(), 0640));
    return out;
}

}  // namespace moat::mail
