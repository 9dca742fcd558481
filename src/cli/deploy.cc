#include "cli/deploy.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/admin_client.h"
#include "cli/progress.h"
#include "content/mime.h"

namespace moat::cli {
namespace {

using nlohmann::json;

constexpr int kMaxJobs = 64;
constexpr int kAttempts = 3;  // per file, for a dropped connection or a 5xx

// MOAT_DEPLOY_TIMINGS=1: each phase's wall time on stderr, for bench/release/deploy_bench.sh
// and for finding where a slow deploy spends its time (docs/benchmarks.md, releases).
class PhaseTimer {
public:
    PhaseTimer() : on_(std::getenv("MOAT_DEPLOY_TIMINGS") != nullptr) {}
    void lap(const char* phase, const std::string& detail = "") {
        auto now = std::chrono::steady_clock::now();
        if (on_)
            std::fprintf(stderr, "moat deploy: timing %-8s %8.3f s%s%s\n", phase,
                         std::chrono::duration<double>(now - last_).count(),
                         detail.empty() ? "" : "  ", detail.c_str());
        last_ = now;
    }

private:
    bool on_;
    std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

bool is_hex64(const std::string& s) {
    return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

std::string env_path(const DeployOptions& o) {
    return "/v1/sites/" + percent_encode_segment(o.site) + "/envs/" + percent_encode_segment(o.env);
}

// A failure worth another attempt: the network, or the server briefly unable.
bool transient(const Result<ApiResponse>& r) {
    if (!r) return r.error().code == Errc::kUnavailable;
    return r->status >= 500;
}

struct UploadRun {
    UploadRun(const AdminClient& c, const DeployOptions& o, const std::vector<LocalFile>& f,
              const std::vector<std::size_t>& p, Progress& pr)
        : client(c), opts(o), files(f), plan(p), progress(pr) {}

    const AdminClient& client;
    const DeployOptions& opts;
    const std::vector<LocalFile>& files;
    const std::vector<std::size_t>& plan;
    Progress& progress;
    std::atomic<std::size_t> next{0};
    std::atomic<bool> failed{false};
    std::mutex mu;
    std::string error;
    int exit_code = 0;

    void fail(std::string why, int code) {
        std::lock_guard lock(mu);
        if (failed.exchange(true)) return;
        error = std::move(why);
        exit_code = code;
    }

    void worker() {
        for (;;) {
            if (failed.load()) return;
            std::size_t i = next.fetch_add(1);
            if (i >= plan.size()) return;
            const LocalFile& f = files[plan[i]];
            std::string path = env_path(opts) + "/files/" + percent_encode_path(f.path);
            std::string type(content::content_type_for(f.path));
            Result<ApiResponse> r = make_error(Errc::kInternal, "not attempted");
            for (int attempt = 1; attempt <= kAttempts && !failed.load(); ++attempt) {
                std::int64_t sent = 0;
                r = client.put_file(path, f.abs, f.size, f.sha256, type, [&](std::uint64_t n) {
                    sent += static_cast<std::int64_t>(n);
                    progress.add_bytes(static_cast<std::int64_t>(n));
                });
                if (r && r->ok()) break;
                progress.add_bytes(-sent);  // this attempt's bytes count again next time
                if (!transient(r) || attempt == kAttempts) break;
                std::this_thread::sleep_for(std::chrono::seconds(attempt));
            }
            if (!r) {
                fail(f.path + ": " + r.error().detail, 1);
                return;
            }
            if (!r->ok()) {
                fail(f.path + ": " + r->error_text(), exit_code_for(*r));
                return;
            }
            progress.file_done(f.path, f.size);
        }
    }
};

// --force is an admin's: a principal the server names as something else is told so before
// anything is uploaded. 0 to go on (also when whoami cannot say: the deploy call decides).
int check_admin(const AdminClient& client) {
    auto who = client.call("GET", "/v1/whoami");
    if (!who || !who->ok()) return 0;
    std::string name, role;
    try {
        auto j = json::parse(who->body);
        name = j.value("principal", "?");
        role = j.value("role", "");
    } catch (const json::exception&) {
        return 0;
    }
    if (role.empty() || role == "admin") return 0;
    std::fprintf(stderr, "moat deploy: --force needs the admin role (%s is %s)\n", name.c_str(),
                 role.c_str());
    return 1;
}

// Step 4, with the TOTP code a forced deploy needs (asked for now, after the uploads). A code
// the server calls used or wrong is followed by another while the source has one.
Result<ApiResponse> final_call(const AdminClient& client, const DeployOptions& o,
                               const std::string& body) {
    Result<ApiResponse> r = make_error(Errc::kInvalidArgument, "--force needs a TOTP code");
    for (int attempt = 0; attempt < 4; ++attempt) {
        std::string code;
        if (o.force) {
            if (!o.otp) return r;
            auto c = o.otp(client.profile());
            if (!c) return attempt == 0 ? Result<ApiResponse>(c.error()) : r;
            code = std::move(*c);
        }
        r = client.call("POST", env_path(o) + "/deploy", body, code);
        if (!o.force || !r || r->status != 401 || r->code != "OtpInvalid") break;
    }
    return r;
}

}  // namespace

std::string deploy_files_json(const std::vector<LocalFile>& files, bool force) {
    json arr = json::array();
    for (const auto& f : files)
        arr.push_back(
            {{"path", f.path}, {"sha256", f.sha256}, {"size", f.size}, {"content_type", ""}});
    // Paths are bytes from the file system; ones that are not UTF-8 are replaced rather than
    // thrown about (the server then refuses the path, naming it).
    json body{{"files", std::move(arr)}};
    if (force) body["force"] = true;
    return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<std::vector<std::string>> parse_missing(std::string_view body) {
    try {
        auto j = json::parse(body);
        std::vector<std::string> out;
        for (const auto& d : j.at("missing")) {
            auto s = d.get<std::string>();
            if (!is_hex64(s))
                return make_error(Errc::kInvalidArgument, "missing: \"" + s + "\" is no sha256");
            out.push_back(std::move(s));
        }
        return out;
    } catch (const json::exception& e) {
        return make_error(Errc::kInvalidArgument,
                          std::string("unexpected answer to missing: ") + e.what());
    }
}

Result<std::vector<std::size_t>> plan_uploads(const std::vector<LocalFile>& files,
                                              const std::vector<std::string>& missing) {
    std::map<std::string, std::size_t> first;  // sha256 -> first file having it
    for (std::size_t i = 0; i < files.size(); ++i) first.emplace(files[i].sha256, i);
    std::vector<std::size_t> out;
    for (const auto& d : missing) {
        auto it = first.find(d);
        if (it == first.end())
            return make_error(Errc::kInvalidArgument,
                              "the server lacks " + d + ", which no file of the folder has");
        out.push_back(it->second);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

std::string deploy_summary(std::string_view answer, std::string_view site, std::string_view env,
                           std::size_t files, std::size_t uploaded, std::uint64_t uploaded_bytes) {
    std::string id = "?", url;
    try {
        auto j = json::parse(answer);
        id = j.value("id", "?");
        url = j.value("url", "");
    } catch (const json::exception&) {
        // The release was made (2xx); print what is known.
    }
    std::string s = "release " + id + " of " + std::string(site) + " is live on " +
                    std::string(env) + (url.empty() ? "" : ": " + url) + "\n";
    s += std::to_string(files) + (files == 1 ? " file" : " files") + ": uploaded " +
         std::to_string(uploaded) + " (" + format_bytes(uploaded_bytes) + "), reused " +
         std::to_string(files - std::min(files, uploaded)) + "\n";
    return s;
}

int run_deploy(const DeployOptions& o, const ConnectionFlags& flags) {
    if (o.jobs < 1 || o.jobs > kMaxJobs) {
        std::fprintf(stderr, "moat deploy: --jobs must be between 1 and %d\n", kMaxJobs);
        return 2;
    }
    PhaseTimer timer;
    // Everything local is checked before the first byte goes out.
    auto files = walk_folder(o.dir);
    if (!files) {
        std::fprintf(stderr, "moat deploy: %s\n", files.error().detail.c_str());
        return 2;
    }
    auto profile = resolve_profile(flags, CredentialsEnv::from_process());
    if (!profile) {
        std::fprintf(stderr, "moat deploy: %s\n", profile.error().detail.c_str());
        return 2;
    }
    if (auto h = hash_files(*files, std::max(o.jobs, 2)); !h) {
        std::fprintf(stderr, "moat deploy: %s\n", h.error().detail.c_str());
        return 1;
    }
    timer.lap("walk+hash", std::to_string(files->size()) + " files");
    AdminClient client(std::move(*profile));
    if (o.force) {
        if (int rc = check_admin(client); rc != 0) return rc;
    }
    std::string body = deploy_files_json(*files);

    auto missing = client.call("POST", env_path(o) + "/missing", body);
    if (!missing) {
        std::fprintf(stderr, "moat deploy: %s\n", missing.error().detail.c_str());
        return 1;
    }
    if (!missing->ok()) {
        std::fprintf(stderr, "moat deploy: %s\n", missing->error_text().c_str());
        return exit_code_for(*missing);
    }
    auto digests = parse_missing(missing->body);
    if (!digests) {
        std::fprintf(stderr, "moat deploy: %s\n", digests.error().detail.c_str());
        return 1;
    }
    auto plan = plan_uploads(*files, *digests);
    if (!plan) {
        std::fprintf(stderr, "moat deploy: %s\n", plan.error().detail.c_str());
        return 1;
    }
    std::uint64_t up_bytes = 0;
    for (auto i : *plan) up_bytes += (*files)[i].size;
    timer.lap("missing", std::to_string(plan->size()) + " to upload");

    if (!plan->empty()) {
        Progress progress(plan->size(), up_bytes, ::isatty(STDERR_FILENO) == 1, stderr);
        UploadRun run(client, o, *files, *plan, progress);
        std::size_t n = std::min<std::size_t>(static_cast<std::size_t>(o.jobs), plan->size());
        std::vector<std::thread> threads;
        for (std::size_t t = 1; t < n; ++t) threads.emplace_back([&run] { run.worker(); });
        run.worker();
        for (auto& t : threads) t.join();
        progress.finish();
        if (run.failed) {
            std::fprintf(stderr,
                         "moat deploy: upload failed: %s\n(nothing changed for visitors; run "
                         "the same deploy again to upload only what is still missing)\n",
                         run.error.c_str());
            return run.exit_code;
        }
    }
    timer.lap("upload", format_bytes(up_bytes));

    auto deployed = final_call(client, o, deploy_files_json(*files, o.force));
    if (!deployed) {
        std::fprintf(stderr, "moat deploy: %s\n", deployed.error().detail.c_str());
        return exit_code_for(deployed.error());
    }
    if (!deployed->ok()) {
        std::fprintf(stderr, "moat deploy: %s\n", deployed->error_text().c_str());
        return exit_code_for(*deployed);
    }
    timer.lap("deploy");
    std::string out = o.json ? deployed->body + "\n"
                             : deploy_summary(deployed->body, o.site, o.env, files->size(),
                                              plan->size(), up_bytes);
    std::fwrite(out.data(), 1, out.size(), stdout);
    return 0;
}

}  // namespace moat::cli
