#pragma once
// Letter grades shared by every card of `moat audit` (SSL Labs A+..F plus T and M,
// securityheaders.com A+..F, Observatory A+..F with +/- steps) and how they compare.

#include <optional>
#include <string>
#include <string_view>

namespace moat::audit {

// Rank of a grade: higher is better. A+ > A > A- > B+ > B > B- > ... > F. SSL Labs' T
// (untrusted) and M (name mismatch) rank below F: a browser refuses such a site outright.
// nullopt for anything that is not a grade ("a", "G", "A++"). Case-sensitive like the cards.
std::optional<int> grade_rank(std::string_view grade);

// True when `grade` is at least `minimum`. Unknown grades never pass.
bool grade_at_least(std::string_view grade, std::string_view minimum);

// The worse of two grades (the first one when both are unknown or equal).
std::string worse_grade(const std::string& a, const std::string& b);

}  // namespace moat::audit
