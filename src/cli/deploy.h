#pragma once
// `moat deploy DIR --site X`: the deploy algorithm of docs/admin-api.md. Walk and hash the
// folder (refusing what cannot be published before anything is sent), ask the server which
// contents it lacks, PUT one file of each missing content `jobs` at a time, then POST the
// deploy that makes the release. Re-running after an interruption uploads only what is
// still missing, because step 2 asks again.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/credentials.h"
#include "cli/deploy_walk.h"
#include "core/result.h"

namespace moat::cli {

struct DeployOptions {
    std::string dir;
    std::string site;
    std::string env = "testing";
    int jobs = 4;
    bool json = false;  // print the deploy call's JSON answer instead of the summary
    // "force": true on the deploy call: an admin's override of the site's header policy
    // (docs/admin-api.md "Forcing past the header policy"). Needs `otp`.
    bool force = false;
    // A TOTP code for the forced deploy call, asked for just before it (a code taken before
    // the uploads could be stale by then), and again while the server calls the last one used
    // or wrong (OtpInvalid). An error: no (further) code; the deploy ends.
    std::function<Result<std::string>(const Profile&)> otp;
};

// {"files":[DeployFile...]} for the missing and deploy calls (content_type left to the
// server, which picks it by extension as the PUT did), with "force": true when `force`.
std::string deploy_files_json(const std::vector<LocalFile>& files, bool force = false);

// The "missing" answer's list of hex digests. kInvalidArgument when it is not that shape.
Result<std::vector<std::string>> parse_missing(std::string_view body);

// Which files to PUT: for each content the server lacks, the first file (in `files` order)
// that has it; the result is indexes into `files`, ascending. A digest the folder does not
// have means the server answered about another request: kInvalidArgument.
Result<std::vector<std::size_t>> plan_uploads(const std::vector<LocalFile>& files,
                                              const std::vector<std::string>& missing);

// "release r7 of example.com is live on testing: https://test.example.com/" and the counts.
std::string deploy_summary(std::string_view deploy_answer, std::string_view site,
                           std::string_view env, std::size_t files, std::size_t uploaded,
                           std::uint64_t uploaded_bytes);

// The whole command; returns the exit code (0 live, 1 failed, 2 bad folder or input). With
// `force`, a principal the server names as no admin (GET /v1/whoami) is refused before any
// upload.
int run_deploy(const DeployOptions& opts, const ConnectionFlags& flags);

}  // namespace moat::cli
