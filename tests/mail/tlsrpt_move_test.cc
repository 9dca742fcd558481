// move_folder_reports over a real LocalStore: reports a store-less server kept in its folder
// (written by the real TlsRptStore) become TlsRptBucket objects under the same keys, each file
// goes only once its object exists, a second run moves nothing twice, and malformed or
// misplaced files stay where they are.
#include "mail/tlsrpt_move.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "mail/tlsrpt_bucket.h"
#include "mail/tlsrpt_store.h"
#include "store/store.h"

namespace moat::mail {
namespace {

namespace fs = std::filesystem;
const fs::path kData = fs::path(__FILE__).parent_path().parent_path() / "data" / "mail" / "tlsrpt";
constexpr const char* kDomain = "company-y.example";

std::string read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

std::size_t files_under(const fs::path& dir) {
    std::size_t n = 0;
    std::error_code ec;
    for (const auto& e : fs::recursive_directory_iterator(dir, ec))
        if (e.is_regular_file()) ++n;
    return n;
}

class TlsRptMoveTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("moat-tlsrpt-move-" + std::to_string(::getpid()) + "-" +
                std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
        store::StoreSettings s;
        s.enabled = true;
        s.dir = (dir_ / "store").string();
        auto st = store::Store::open(s);
        ASSERT_TRUE(st) << st.error().detail;
        store_ = std::move(*st);
        folder_ = (dir_ / "tlsrpt").string();
    }
    void TearDown() override {
        store_.reset();
        fs::remove_all(dir_);
    }
    // Receives `name` (tests/data/mail/tlsrpt) the way a store-less server does.
    TlsRptReport receive(const std::string& name, const std::string& domain = kDomain) {
        std::string json = read(kData / name);
        auto r = parse_tlsrpt(json);
        EXPECT_TRUE(r);
        TlsRptStore folder(folder_);
        EXPECT_TRUE(folder.add(*r, json, {domain}));
        return *r;
    }
    std::size_t versions(const std::string& key) {
        store::VersionQuery q;
        q.prefix = key;
        auto page = store_->list_versions("logs", q);
        EXPECT_TRUE(page);
        return page ? page->versions.size() : 0;
    }
    std::string object(const std::string& key) {
        auto reader = store_->open_object("logs", key);
        if (!reader) return "";
        std::string out((*reader)->info().size, '\0');
        auto n = (*reader)->read_at(0, out.data(), out.size());
        return n ? out.substr(0, *n) : "";
    }

    fs::path dir_;
    std::string folder_;
    std::unique_ptr<store::Store> store_;
};

TEST_F(TlsRptMoveTest, FolderReportsBecomeObjectsAndTheFilesGo) {
    auto rfc = receive("rfc8460.json");
    auto google = receive("google.json");
    ASSERT_EQ(files_under(folder_), 2u);

    TlsRptBucket bucket(*store_);
    auto moved = move_folder_reports(folder_, bucket);
    ASSERT_TRUE(moved) << moved.error().detail;
    EXPECT_EQ(moved->moved, 2);
    EXPECT_EQ(moved->duplicates + moved->left + moved->failed, 0);
    EXPECT_EQ(files_under(folder_), 0u);
    EXPECT_FALSE(fs::exists(fs::path(folder_) / kDomain));  // the emptied domain folder too

    // Same layout as reports the receiver puts into the bucket, with the text as received.
    EXPECT_EQ(object(TlsRptBucket::key_for(kDomain, rfc)), read(kData / "rfc8460.json"));
    EXPECT_EQ(object(TlsRptBucket::key_for(kDomain, google)), read(kData / "google.json"));
    auto head = store_->head("logs", TlsRptBucket::key_for(kDomain, rfc));
    ASSERT_TRUE(head);
    EXPECT_EQ(head->attrs.content_type, "application/tlsrpt+json");
    auto sum = bucket.summarize(kDomain);
    ASSERT_TRUE(sum);
    EXPECT_EQ(sum->total.reports, 2);

    // A second start: nothing left to move, still one version each.
    moved = move_folder_reports(folder_, bucket);
    ASSERT_TRUE(moved);
    EXPECT_EQ(moved->moved + moved->duplicates, 0);
    EXPECT_EQ(versions(TlsRptBucket::key_for(kDomain, rfc)), 1u);
}

TEST_F(TlsRptMoveTest, AReportAlreadyInTheBucketIsADuplicateNotASecondVersion) {
    // An earlier start stored the object and died before removing the file.
    auto rfc = receive("rfc8460.json");
    std::string json = read(kData / "rfc8460.json");
    TlsRptBucket bucket(*store_);
    ASSERT_TRUE(bucket.add(rfc, json, {kDomain}));

    auto moved = move_folder_reports(folder_, bucket);
    ASSERT_TRUE(moved);
    EXPECT_EQ(moved->moved, 0);
    EXPECT_EQ(moved->duplicates, 1);
    EXPECT_EQ(files_under(folder_), 0u);
    EXPECT_EQ(versions(TlsRptBucket::key_for(kDomain, rfc)), 1u);
}

TEST_F(TlsRptMoveTest, MalformedAndMisplacedFilesStayWhereTheyAre) {
    receive("microsoft.json");
    fs::path domain_dir = fs::path(folder_) / kDomain;
    std::ofstream(domain_dir / "2026-11-01_broken.json") << R"({"organization-name": "x", )";
    fs::create_directories(fs::path(folder_) / "Not A Domain");
    std::ofstream(fs::path(folder_) / "Not A Domain" / "x.json") << read(kData / "google.json");
    std::ofstream(domain_dir / "2026-11-01_abc.json.tmp.1.2") << "half written";

    TlsRptBucket bucket(*store_);
    auto moved = move_folder_reports(folder_, bucket);
    ASSERT_TRUE(moved);
    EXPECT_EQ(moved->moved, 1);
    EXPECT_EQ(moved->left, 2);
    EXPECT_TRUE(fs::exists(domain_dir / "2026-11-01_broken.json"));
    EXPECT_TRUE(fs::exists(fs::path(folder_) / "Not A Domain" / "x.json"));
    EXPECT_TRUE(fs::exists(domain_dir / "2026-11-01_abc.json.tmp.1.2"));
    EXPECT_EQ(files_under(folder_), 3u);
}

TEST_F(TlsRptMoveTest, AStoreThatRefusesKeepsTheFile) {
    receive("rfc8460.json");
    // The bucket is gone (an operator deleted it): put fails, the report must survive.
    TlsRptBucket nowhere(*store_, "no-such-bucket");
    auto moved = move_folder_reports(folder_, nowhere);
    ASSERT_TRUE(moved);
    EXPECT_EQ(moved->failed, 1);
    EXPECT_EQ(moved->moved, 0);
    EXPECT_EQ(files_under(folder_), 1u);
}

TEST_F(TlsRptMoveTest, NoFolderMovesNothing) {
    TlsRptBucket bucket(*store_);
    auto moved = move_folder_reports((dir_ / "absent").string(), bucket);
    ASSERT_TRUE(moved);
    EXPECT_EQ(moved->moved + moved->duplicates + moved->left + moved->failed, 0);
}

}  // namespace
}  // namespace moat::mail
