#include "admin/internal/rate_limit.h"

#include <algorithm>
#include <vector>

namespace moat::admin::internal {

std::optional<std::int64_t> FailureLimiter::locked(const std::string& key, TimePoint now) {
    std::lock_guard lock(mu_);
    auto it = keys_.find(key);
    if (it == keys_.end() || it->second.locked_until <= now) return std::nullopt;
    auto left = std::chrono::ceil<std::chrono::seconds>(it->second.locked_until - now).count();
    return std::max<std::int64_t>(left, 1);
}

void FailureLimiter::fail(const std::string& key, TimePoint now) {
    std::lock_guard lock(mu_);
    if (keys_.size() >= kMaxKeys) prune(now);
    Entry& e = keys_[key];
    e.touched = now;
    while (!e.failures.empty() && e.failures.front() <= now - window_) e.failures.pop_front();
    e.failures.push_back(now);
    if (static_cast<int>(e.failures.size()) >= max_) {
        e.locked_until = now + lockout_;
        e.failures.clear();  // the lockout is the penalty; afterwards the count starts again
    }
}

void FailureLimiter::clear(const std::string& key) {
    std::lock_guard lock(mu_);
    keys_.erase(key);
}

void FailureLimiter::prune(TimePoint now) {
    for (auto it = keys_.begin(); it != keys_.end();) {
        bool idle = it->second.locked_until <= now && it->second.touched <= now - window_;
        it = idle ? keys_.erase(it) : std::next(it);
    }
    if (keys_.size() < kMaxKeys) return;
    // Still full (an attacker with many addresses): drop the oldest-touched half.
    std::vector<TimePoint> times;
    times.reserve(keys_.size());
    for (const auto& [k, e] : keys_) times.push_back(e.touched);
    auto mid = times.begin() + static_cast<std::ptrdiff_t>(times.size() / 2);
    std::nth_element(times.begin(), mid, times.end());
    TimePoint cut = *mid;
    for (auto it = keys_.begin(); it != keys_.end();)
        it = it->second.touched <= cut ? keys_.erase(it) : std::next(it);
}

}  // namespace moat::admin::internal
