#pragma once
// HOTP (RFC 4226 §5) with the digit count as a parameter: users get 6 digits (totp.h), the
// RFC 6238 Appendix B test vectors need 8. Private to admin/.

#include <cstdint>
#include <string>
#include <string_view>

namespace moat::admin::internal {

// The code for `counter` under the raw key bytes, zero-padded to `digits` (1-9).
std::string hotp(std::string_view key, std::uint64_t counter, int digits);

}  // namespace moat::admin::internal
