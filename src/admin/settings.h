#pragma once
// Settings of the admin part: a plain struct filled by config/ (STYLE.md §2), no logic.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace moat::admin {

struct AdminSettings {
    bool enabled = false;  // on whenever the store is (config sets it); [admin] enabled = false
    // Loopback by default: exposing the admin API is a decision the operator writes down.
    std::vector<std::string> listen{"127.0.0.1:9001"};
    std::vector<std::string> hosts{"localhost"};  // names on the listener's certificate
    int max_connections = 32;
    std::string db_path;        // principals: <store dir>/admin.db
    std::string audit_db_path;  // audit log: <store dir>/audit.db
    std::string key_file;       // 0600, seals TOTP secrets and keys the audit chain:
                                // <store dir>/admin.key
    // Failed-auth rate limiting: after max_failures failures within failure_window from one
    // peer address (or against one principal), that peer (principal) gets 429 with Retry-After
    // for lockout; a success does not reset the count of the other key.
    int max_failures = 5;
    std::chrono::seconds failure_window{300};
    std::chrono::seconds lockout{300};
    std::uint64_t max_json = 8ull << 20;    // request bodies of JSON calls
    std::uint64_t max_upload = 5ull << 30;  // one file of a deploy
    std::string totp_issuer = "moat";       // in the otpauth:// URI
};

}  // namespace moat::admin
