#pragma once
// Parsers for the small value syntaxes of moat.toml (durations, listen addresses, host names,
// header names). Pure functions with no I/O, shared by the loader and `moat serve --root`.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace moat::config {

// "500ms", "10s", "2m", "1h", "7d": a decimal integer and one unit, nothing else. Up to 3650d so
// that no later arithmetic on the value can overflow. Errors: kInvalidArgument with the reason.
Result<std::chrono::milliseconds> parse_duration(std::string_view text);

// "512", "64KiB", "1MiB", "256MiB", "2GiB", "1TiB": a decimal integer and an optional binary
// unit (B, KiB, MiB, GiB, TiB; powers of 1024), nothing else, at most 1PiB. Errors:
// kInvalidArgument with the reason.
Result<std::uint64_t> parse_size(std::string_view text);

// A listener address: "IPv4:port" or "[IPv6]:port", port 1-65535. Names ("localhost:443") are
// refused on purpose: a listener must not depend on DNS or /etc/hosts at start-up.
struct ListenAddress {
    std::string address;  // without brackets: "0.0.0.0", "::"
    bool ipv6 = false;
    std::uint16_t port = 0;

    bool is_loopback() const;  // 127.0.0.0/8 or ::1
};
Result<ListenAddress> parse_listen(std::string_view text);

// A site host: a DNS name of two or more labels (or "localhost"), or an IPv4/IPv6 literal
// (IPv6 without brackets). Returns it lower-cased. Errors: kInvalidArgument with the reason.
Result<std::string> normalize_host(std::string_view text);

// True for an IPv4 or IPv6 literal (IPv6 without brackets).
bool is_ip_literal(std::string_view text);

// RFC 9110 §5.6.2: token = 1*tchar.
bool is_http_token(std::string_view text);

}  // namespace moat::config
