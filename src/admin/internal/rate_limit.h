#pragma once
// Failed-authentication limiting (docs/admin-api.md "Rate limit"): per key ("peer:<ip>",
// "principal:<name>"), max_failures failures within failure_window lock the key out for
// lockout. Keys are independent: clearing one leaves the others' counts. Bounded memory: old
// entries are dropped, and past kMaxKeys the oldest-touched keys go first. Thread-safe.

#include <chrono>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace moat::admin::internal {

class FailureLimiter {
public:
    using TimePoint = std::chrono::system_clock::time_point;
    FailureLimiter(int max_failures, std::chrono::seconds window, std::chrono::seconds lockout)
        : max_(max_failures), window_(window), lockout_(lockout) {}

    // Seconds until the key may try again (at least 1), or nullopt when it is not locked out.
    std::optional<std::int64_t> locked(const std::string& key, TimePoint now);
    // Counts one failure; the one that reaches max_failures starts the lockout.
    void fail(const std::string& key, TimePoint now);
    void clear(const std::string& key);

private:
    struct Entry {
        std::deque<TimePoint> failures;  // within the window, oldest first
        TimePoint locked_until{};
        TimePoint touched{};
    };
    static constexpr std::size_t kMaxKeys = 100000;
    void prune(TimePoint now);

    int max_;
    std::chrono::seconds window_, lockout_;
    std::mutex mu_;
    std::unordered_map<std::string, Entry> keys_;
};

}  // namespace moat::admin::internal
