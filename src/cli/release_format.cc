#include "cli/release_format.h"

#include <algorithm>
#include <functional>
#include <nlohmann/json.hpp>
#include <vector>

#include "cli/progress.h"

namespace moat::cli {
namespace {

using nlohmann::json;
using Table = std::vector<std::vector<std::string>>;

// Parses `answer` and runs `f` on it; JSON errors (a missing field, a wrong type) become
// kInvalidArgument with nlohmann's description, which names the field's problem.
template <class T>
Result<T> with_json(std::string_view answer, const std::function<T(const json&)>& f) {
    try {
        return f(json::parse(answer));
    } catch (const json::exception& e) {
        return make_error(Errc::kInvalidArgument,
                          std::string("unexpected answer from the admin API: ") + e.what());
    }
}

std::string str(const json& j, const char* key) {
    if (!j.contains(key) || j[key].is_null()) return "";
    const json& v = j[key];
    return v.is_string() ? v.get<std::string>() : v.dump();
}

std::uint64_t num(const json& j, const char* key) {
    return j.contains(key) && j[key].is_number_unsigned() ? j[key].get<std::uint64_t>() : 0;
}

std::string joined(const json& arr, const char* sep = ",") {
    std::string s;
    if (!arr.is_array()) return s;
    for (const auto& v : arr) s += (s.empty() ? "" : sep) + v.get<std::string>();
    return s;
}

// Columns padded to their widest cell, two spaces apart; the last one not padded.
std::string render(const Table& t) {
    std::vector<std::size_t> w;
    for (const auto& row : t)
        for (std::size_t i = 0; i < row.size(); ++i) {
            if (w.size() <= i) w.push_back(0);
            w[i] = std::max(w[i], row[i].size());
        }
    std::string out;
    for (const auto& row : t) {
        std::string line;
        for (std::size_t i = 0; i < row.size(); ++i) {
            line += row[i];
            if (i + 1 < row.size()) line += std::string(w[i] - row[i].size() + 2, ' ');
        }
        out += line + "\n";
    }
    return out;
}

}  // namespace

Result<PromoteText> promote_text(std::string_view answer, std::string_view site) {
    return with_json<PromoteText>(answer, [&](const json& j) {
        std::string id = j.at("release").at("id").get<std::string>();
        if (j.at("promoted").get<bool>()) return PromoteText{"production now serves " + id, false};
        int left = std::max(0, j.value("required", 0) - j.value("approvals", 0));
        std::string text = "promotion of " + id + " to production is waiting for " +
                           std::to_string(left) + " approval(s): moat approve " +
                           std::string(site) + " " + id;
        return PromoteText{text, true};
    });
}

Result<std::string> releases_text(std::string_view answer) {
    return with_json<std::string>(answer, [](const json& j) {
        Table t{{"ID", "CREATED", "BY", "SOURCE", "FILES", "SIZE", "ENVIRONMENTS"}};
        for (const auto& r : j.at("releases"))
            t.push_back({str(r, "id"), str(r, "created"), str(r, "created_by"), str(r, "source"),
                         std::to_string(num(r, "files")), format_bytes(num(r, "bytes")),
                         joined(r.value("environments", json::array()))});
        std::string out = j.at("releases").empty() ? "no releases yet\n" : render(t);
        const json& hist = j.value("history", json::array());
        if (!hist.empty()) {
            Table h{{"AT", "ENV", "ACTION", "RELEASE", "PREVIOUS", "BY"}};
            for (const auto& m : hist) {
                std::string prev = str(m, "previous");
                h.push_back({str(m, "at"), str(m, "env"), str(m, "action"), str(m, "release"),
                             prev.empty() ? "-" : prev, str(m, "by")});
            }
            out += "\nhistory (newest first):\n" + render(h);
        }
        return out;
    });
}

Result<std::string> diff_text(std::string_view answer) {
    return with_json<std::string>(answer, [](const json& j) {
        std::string out;
        std::size_t n[3] = {0, 0, 0};
        const char* marks[3] = {"+ ", "- ", "~ "};
        const char* keys[3] = {"added", "removed", "changed"};
        for (int k = 0; k < 3; ++k)
            for (const auto& p : j.at(keys[k])) {
                out += marks[k] + p.get<std::string>() + "\n";
                ++n[k];
            }
        out += str(j, "from") + " -> " + str(j, "to") + ": " + std::to_string(n[0]) + " added, " +
               std::to_string(n[1]) + " removed, " + std::to_string(n[2]) + " changed\n";
        return out;
    });
}

Result<std::string> audit_records_text(std::string_view answer) {
    return with_json<std::string>(answer, [](const json& j) {
        Table t{{"SEQ", "TIME", "SOURCE", "PRINCIPAL", "ACTION", "TARGET", "OUTCOME"}};
        for (const auto& r : j.at("records"))
            t.push_back({str(r, "seq"), str(r, "time"), str(r, "source"), str(r, "principal"),
                         str(r, "action"), str(r, "target"), str(r, "outcome")});
        return j.at("records").empty() ? std::string("no records\n") : render(t);
    });
}

Result<VerifyText> audit_verify_text(std::string_view answer) {
    return with_json<VerifyText>(answer, [](const json& j) {
        VerifyText v;
        v.ok = j.at("ok").get<bool>();
        for (const auto& p : j.value("problems", json::array()))
            v.text += "problem: " + p.get<std::string>() + "\n";
        v.text += std::string(v.ok ? "audit log intact: " : "audit log DAMAGED: ") +
                  str(j, "records") + " records\n";
        return v;
    });
}

Result<std::string> rollback_text(std::string_view answer, std::string_view env) {
    return with_json<std::string>(answer, [&](const json& j) {
        return std::string(env) + " now serves " + j.at("id").get<std::string>() + "\n";
    });
}

Result<std::string> invalidation_text(std::string_view answer) {
    return with_json<std::string>(answer, [](const json& j) {
        return "invalidation " + str(j, "id") + " of " + str(j, "site") + " on " + str(j, "env") +
               ": " + str(j, "status") + " (" + joined(j.at("paths"), " ") + ")\n";
    });
}

Result<std::string> backup_text(std::string_view answer) {
    return with_json<std::string>(answer, [](const json& j) {
        return "backup written to " + str(j, "dest") +
               " (on the server): " + std::to_string(num(j, "objects")) + " objects, " +
               std::to_string(num(j, "blobs")) + " blobs, " + format_bytes(num(j, "bytes")) + "\n";
    });
}

}  // namespace moat::cli
