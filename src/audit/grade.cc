#include "audit/grade.h"

#include <array>

namespace moat::audit {

std::optional<int> grade_rank(std::string_view grade) {
    // Best first; the index counted from the end is the rank.
    static constexpr std::array<std::string_view, 16> kOrder{
        "A+", "A", "A-", "B+", "B", "B-", "C+", "C", "C-", "D+", "D", "D-", "E", "F", "T", "M"};
    for (std::size_t i = 0; i < kOrder.size(); ++i)
        if (kOrder[i] == grade) return static_cast<int>(kOrder.size() - i);
    return std::nullopt;
}

bool grade_at_least(std::string_view grade, std::string_view minimum) {
    auto g = grade_rank(grade);
    auto m = grade_rank(minimum);
    return g && m && *g >= *m;
}

std::string worse_grade(const std::string& a, const std::string& b) {
    auto ra = grade_rank(a);
    auto rb = grade_rank(b);
    if (!rb) return a;
    if (!ra) return b;
    return *rb < *ra ? b : a;
}

}  // namespace moat::audit
