// Deploy steps 2-4 without a server: the request body, the "missing" answer, which files are
// uploaded (one per missing content), and the summary line.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli/deploy.h"

namespace moat::cli {
namespace {

const std::string kA(64, 'a'), kB(64, 'b'), kC(64, 'c');

std::vector<LocalFile> files() {
    return {{"a.html", "/x/a.html", 1, kA},
            {"copy-of-a.html", "/x/copy-of-a.html", 1, kA},
            {"b.css", "/x/b.css", 2, kB},
            {"c.js", "/x/c.js", 3, kC}};
}

TEST(DeployPlan, OneUploadPerMissingContent) {
    auto p = plan_uploads(files(), {kC, kA});
    ASSERT_TRUE(p) << p.error().detail;
    EXPECT_EQ(*p, (std::vector<std::size_t>{0, 3}));  // a.html carries kA; its copy is reused
}

TEST(DeployPlan, NothingMissingUploadsNothing) {
    // A re-run after an interrupted deploy: the server has everything, nothing is sent again.
    auto p = plan_uploads(files(), {});
    ASSERT_TRUE(p);
    EXPECT_TRUE(p->empty());
}

TEST(DeployPlan, DuplicateDigestsInTheAnswerUploadOnce) {
    auto p = plan_uploads(files(), {kB, kB});
    ASSERT_TRUE(p);
    EXPECT_EQ(*p, (std::vector<std::size_t>{2}));
}

TEST(DeployPlan, RefusesADigestTheFolderDoesNotHave) {
    auto p = plan_uploads(files(), {std::string(64, 'd')});
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().code, Errc::kInvalidArgument);
}

TEST(DeployPlan, ParsesTheMissingAnswer) {
    auto m = parse_missing("{\"missing\":[\"" + kA + "\",\"" + kB + "\"]}");
    ASSERT_TRUE(m) << m.error().detail;
    EXPECT_EQ(*m, (std::vector<std::string>{kA, kB}));
    EXPECT_FALSE(parse_missing("{\"missing\":[\"zz\"]}"));
    EXPECT_FALSE(parse_missing("{\"missing\":[\"" + std::string(64, 'A') + "\"]}"));
    EXPECT_FALSE(parse_missing("{}"));
    EXPECT_FALSE(parse_missing("<html>"));
    EXPECT_FALSE(parse_missing("{\"missing\":[1]}"));
}

TEST(DeployPlan, FilesJsonCarriesPathHashSize) {
    auto j = nlohmann::json::parse(deploy_files_json(files()));
    ASSERT_EQ(j["files"].size(), 4u);
    EXPECT_EQ(j["files"][2]["path"], "b.css");
    EXPECT_EQ(j["files"][2]["sha256"], kB);
    EXPECT_EQ(j["files"][2]["size"], 2);
    EXPECT_EQ(j["files"][2]["content_type"], "");
    // Bytes that are not UTF-8 do not throw; the server gets a replacement and refuses it.
    std::vector<LocalFile> odd{{"bad\xff.html", "/x", 1, kA}};
    EXPECT_NO_THROW(nlohmann::json::parse(deploy_files_json(odd)));
}

TEST(DeployPlan, SummaryNamesReleaseUrlAndCounts) {
    std::string s = deploy_summary(
        R"({"id":"r7","site":"example.com","url":"https://test.example.com/","files":4})",
        "example.com", "testing", 4, 2, 4200);
    EXPECT_EQ(s,
              "release r7 of example.com is live on testing: https://test.example.com/\n"
              "4 files: uploaded 2 (4.2 kB), reused 2\n");
}

}  // namespace
}  // namespace moat::cli
