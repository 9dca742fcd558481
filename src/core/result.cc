#include "core/result.h"

namespace moat {

const char* errc_name(Errc code) {
    switch (code) {
        case Errc::kInvalidArgument:
            return "invalid argument";
        case Errc::kNotFound:
            return "not found";
        case Errc::kConflict:
            return "conflict";
        case Errc::kDenied:
            return "denied";
        case Errc::kUnavailable:
            return "unavailable";
        case Errc::kTooLarge:
            return "too large";
        case Errc::kIo:
            return "i/o error";
        case Errc::kInternal:
            return "internal error";
    }
    return "unknown";
}

}  // namespace moat
