#include "content/encoding.h"

#include "core/text.h"

namespace moat::content {
namespace {

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

// qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ) (RFC 9110 §12.4.2), as an integer
// in thousandths. Returns -1 when malformed.
int parse_qvalue(std::string_view v) {
    if (v.empty() || (v[0] != '0' && v[0] != '1')) return -1;
    int q = (v[0] - '0') * 1000;
    if (v.size() == 1) return q;
    if (v[1] != '.' || v.size() > 5) return -1;
    int scale = 100;
    for (char c : v.substr(2)) {
        if (c < '0' || c > '9') return -1;
        q += (c - '0') * scale;
        scale /= 10;
    }
    return q > 1000 ? -1 : q;
}

constexpr int kUnset = -1;
constexpr int kStar = kEncodingCount;  // slot for "*"

// Parses one list element "coding *( OWS ";" OWS param )". Returns the slot (an Encoding, kStar,
// or -1 for a coding moat does not produce) and its q in thousandths, or false when malformed.
bool parse_element(std::string_view elem, int& slot, int& q) {
    std::size_t semi = elem.find(';');
    std::string_view name = core::trim_ows(elem.substr(0, semi));
    if (name.empty()) return false;
    q = 1000;
    while (semi != std::string_view::npos) {
        std::string_view rest = elem.substr(semi + 1);
        semi = rest.find(';');
        std::string_view param = core::trim_ows(rest.substr(0, semi));
        elem = rest;
        std::size_t eq = param.find('=');
        if (eq == std::string_view::npos) return false;
        std::string_view key = core::trim_ows(param.substr(0, eq));
        if (!iequals(key, "q")) continue;  // other parameters carry no meaning here
        q = parse_qvalue(core::trim_ows(param.substr(eq + 1)));
        if (q < 0) return false;
    }
    if (name == "*") {
        slot = kStar;
    } else if (iequals(name, "br")) {
        slot = static_cast<int>(Encoding::kBrotli);
    } else if (iequals(name, "zstd")) {
        slot = static_cast<int>(Encoding::kZstd);
    } else if (iequals(name, "gzip") || iequals(name, "x-gzip")) {
        // §8.4.1.3: a recipient SHOULD consider "x-gzip" to be equivalent to "gzip".
        slot = static_cast<int>(Encoding::kGzip);
    } else if (iequals(name, "identity")) {
        slot = static_cast<int>(Encoding::kIdentity);
    } else {
        slot = -1;
    }
    return true;
}

}  // namespace

std::string_view encoding_name(Encoding e) {
    switch (e) {
        case Encoding::kBrotli:
            return "br";
        case Encoding::kZstd:
            return "zstd";
        case Encoding::kGzip:
            return "gzip";
        case Encoding::kIdentity:
            break;
    }
    return "";
}

std::string_view encoding_suffix(Encoding e) {
    switch (e) {
        case Encoding::kBrotli:
            return ".br";
        case Encoding::kZstd:
            return ".zst";
        case Encoding::kGzip:
            return ".gz";
        case Encoding::kIdentity:
            break;
    }
    return "";
}

Encoding choose_encoding(std::string_view accept_encoding, EncodingSet available) {
    int q[kEncodingCount + 1];
    for (int& v : q) v = kUnset;

    // 1#( codings [ weight ] ), empty elements allowed (§5.6.1). A malformed element (bad
    // qvalue, parameter without "=") is skipped: guessing q=1 for "br;q=x" could pick a coding
    // the client meant to refuse. The same coding listed twice keeps its highest q.
    std::string_view s = accept_encoding;
    while (!s.empty()) {
        std::size_t comma = s.find(',');
        std::string_view elem = core::trim_ows(s.substr(0, comma));
        s = comma == std::string_view::npos ? std::string_view{} : s.substr(comma + 1);
        if (elem.empty()) continue;
        int slot = -1, qv = 0;
        if (!parse_element(elem, slot, qv) || slot < 0) continue;
        if (qv > q[slot]) q[slot] = qv;
    }

    // §12.5.3: a coding not listed takes the q of "*" when present, else it is not acceptable.
    // Identity is acceptable unless "identity;q=0", or "*;q=0" without an identity entry; when
    // only implied, it ranks below every listed coding (q=0.001) so "gzip;q=0.5" still gets gzip.
    auto effective = [&](Encoding e) {
        int i = static_cast<int>(e);
        if (q[i] != kUnset) return q[i];
        if (q[kStar] != kUnset) return q[kStar];
        return e == Encoding::kIdentity ? 1 : 0;
    };

    static constexpr Encoding kOrder[] = {Encoding::kBrotli, Encoding::kZstd, Encoding::kGzip};
    Encoding best = Encoding::kIdentity;
    int best_q = effective(Encoding::kIdentity);
    // Strictly greater wins, scanning from the least preferred: equal q keeps the server order
    // br > zstd > gzip > identity.
    for (int i = kEncodingCount - 2; i >= 0; --i) {
        Encoding e = kOrder[i];
        if (!(available & encoding_bit(e))) continue;
        int v = effective(e);
        if (v > 0 && v >= best_q) {
            best = e;
            best_q = v;
        }
    }
    return best;
}

}  // namespace moat::content
