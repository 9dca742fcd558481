#pragma once
// Result<T>: a value or an Error. A small stand-in for std::expected<T, Error> (g++ 12 needs
// -std=c++2b for that, and clang-tidy 14 cannot parse it); same method names, so switching later
// is a rename. Errors caused by peers, disks and libraries travel as values (STYLE.md §4).

#include <string>
#include <utility>
#include <variant>

namespace moat {

enum class Errc {
    kInvalidArgument,  // the caller's input is wrong (bad request, bad config)
    kNotFound,
    kConflict,
    kDenied,
    kUnavailable,  // try again later (peer away, limit reached)
    kTooLarge,     // a size limit was reached
    kIo,           // the OS said no
    kInternal,
};

struct Error {
    Errc code = Errc::kInternal;
    std::string detail;
    // A part's own refinement of `code` (store::Reason, ...), 0 when none: lets one surface map
    // errors to protocol answers (S3's NoSuchKey vs NoSuchBucket) without parsing `detail`.
    int reason = 0;
};

inline Error make_error(Errc code, std::string detail) { return Error{code, std::move(detail)}; }
const char* errc_name(Errc code);

template <class T>
class [[nodiscard]] Result {
public:
    Result(T v) : v_(std::in_place_index<0>, std::move(v)) {}      // NOLINT: implicit by design
    Result(Error e) : v_(std::in_place_index<1>, std::move(e)) {}  // NOLINT
    bool has_value() const { return v_.index() == 0; }
    explicit operator bool() const { return has_value(); }
    T& operator*() & { return std::get<0>(v_); }
    const T& operator*() const& { return std::get<0>(v_); }
    T&& operator*() && { return std::get<0>(std::move(v_)); }
    T* operator->() { return &std::get<0>(v_); }
    const T* operator->() const { return &std::get<0>(v_); }
    T& value() & { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    const Error& error() const { return std::get<1>(v_); }
    T value_or(T other) const { return has_value() ? std::get<0>(v_) : std::move(other); }

private:
    std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error e) : err_(std::move(e)), ok_(false) {}  // NOLINT
    bool has_value() const { return ok_; }
    explicit operator bool() const { return ok_; }
    const Error& error() const { return err_; }

private:
    Error err_;
    bool ok_ = true;
};

}  // namespace moat

// Returns the error of a Result-valued expression from the enclosing function.
#define MOAT_TRY(expr)                                \
    do {                                              \
        if (auto r_ = (expr); !r_) return r_.error(); \
    } while (0)
