#include "audit/internal/resolve.h"

#include <arpa/inet.h>
#include <netdb.h>

#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>

namespace moat::audit::internal {
namespace {

std::string endpoint_text(const sockaddr* sa) {
    char buf[INET6_ADDRSTRLEN] = {};
    if (sa->sa_family == AF_INET6) {
        auto* s6 = reinterpret_cast<const sockaddr_in6*>(sa);
        inet_ntop(AF_INET6, &s6->sin6_addr, buf, sizeof buf);
        return "[" + std::string(buf) + "]:" + std::to_string(ntohs(s6->sin6_port));
    }
    auto* s4 = reinterpret_cast<const sockaddr_in*>(sa);
    inet_ntop(AF_INET, &s4->sin_addr, buf, sizeof buf);
    return std::string(buf) + ":" + std::to_string(ntohs(s4->sin_port));
}

// "5s", "1.5s", "200 ms": the timeout as the user gave it.
std::string duration_text(std::chrono::milliseconds d) {
    auto ms = d.count();
    if (ms < 1000) return std::to_string(ms) + " ms";
    std::string s = std::to_string(ms / 1000);
    if (ms % 1000 != 0) {
        std::string frac = std::to_string(1000 + ms % 1000).substr(1);  // "050"
        while (frac.back() == '0') frac.pop_back();
        s += "." + frac;
    }
    return s + "s";
}

// What the caller and the helper thread share; the last of them frees it.
struct Pending {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<Result<std::vector<Endpoint>>> answer;
};

}  // namespace

Result<std::vector<Endpoint>> lookup_blocking(const std::string& host, int port, int family) {
    addrinfo hints{};
    hints.ai_family = family;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* res = nullptr;
    std::string h = host;
    if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
    int rc = ::getaddrinfo(h.c_str(), std::to_string(port).c_str(), &hints, &res);
    if (rc != 0)
        return make_error(Errc::kNotFound, "cannot resolve " + host + ": " + gai_strerror(rc));
    std::vector<Endpoint> out;
    for (addrinfo* a = res; a; a = a->ai_next) {
        Endpoint e;
        std::memcpy(&e.addr, a->ai_addr, a->ai_addrlen);
        e.len = static_cast<socklen_t>(a->ai_addrlen);
        e.text = endpoint_text(a->ai_addr);
        bool dup = false;
        for (const auto& o : out) dup = dup || o.text == e.text;
        if (!dup) out.push_back(std::move(e));
    }
    ::freeaddrinfo(res);
    if (out.empty()) return make_error(Errc::kNotFound, "no address for " + host);
    return out;
}

Result<std::vector<Endpoint>> resolve(const std::string& host, int port,
                                      std::chrono::milliseconds timeout, int family,
                                      const Lookup& lookup) {
    Lookup fn = lookup ? lookup : Lookup(lookup_blocking);
    if (is_ip_literal(host)) return fn(host, port, family);
    auto pending = std::make_shared<Pending>();
    try {
        // Everything by value: the thread may outlive this call (and its caller's objects).
        std::thread([pending, fn, host, port, family] {
            auto r = fn(host, port, family);
            std::lock_guard lock(pending->mu);
            pending->answer.emplace(std::move(r));
            pending->cv.notify_one();
        }).detach();
    } catch (const std::system_error& e) {
        return make_error(Errc::kUnavailable,
                          "name resolution of " + host + ": no thread for it: " + e.what());
    }
    std::unique_lock lock(pending->mu);
    if (!pending->cv.wait_for(lock, timeout, [&] { return pending->answer.has_value(); }))
        return make_error(Errc::kUnavailable, "name resolution of " + host + " timed out after " +
                                                  duration_text(timeout));
    return std::move(*pending->answer);
}

}  // namespace moat::audit::internal
