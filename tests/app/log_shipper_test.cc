#include "app/log_shipper.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

namespace moat::app {
namespace {

namespace fs = std::filesystem;
using std::chrono::hours;
using std::chrono::seconds;
using std::chrono::system_clock;

class LogShipperTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("moat-shipper-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_ / "logs/CloudFront/production/example.com");
        store::StoreSettings ss;
        ss.dir = (dir_ / "store").string();
        auto st = store::Store::open(ss);
        ASSERT_TRUE(st) << st.error().detail;
        store_ = std::move(*st);
    }
    void TearDown() override { fs::remove_all(dir_); }

    // Writes a log file named for `hour` and dates its mtime `age` back from `now`.
    fs::path write_log(system_clock::time_point hour, std::string_view body,
                       system_clock::time_point mtime) {
        std::time_t t = system_clock::to_time_t(hour);
        std::tm tm{};
        gmtime_r(&t, &tm);
        char name[64];
        std::strftime(name, sizeof name, "E2EXAMPLE.%Y-%m-%d-%H.0a1b2c3d.gz", &tm);
        fs::path p = dir_ / "logs/CloudFront/production/example.com" / name;
        std::ofstream(p, std::ios::binary) << body;
        auto ft = std::chrono::file_clock::from_sys(
            std::chrono::time_point_cast<std::chrono::file_clock::duration>(
                std::chrono::time_point_cast<system_clock::duration>(mtime)));
        fs::last_write_time(p, ft);
        return p;
    }

    std::string read_object(const std::string& key) {
        auto r = store_->open_object("logs", key);
        if (!r) return "<" + r.error().detail + ">";
        std::string out(64 * 1024, '\0');
        auto n = (*r)->read_at(0, out.data(), out.size());
        if (!n) return "<" + n.error().detail + ">";
        out.resize(*n);
        return out;
    }

    LogShipperSettings settings() {
        LogShipperSettings s;
        s.log_dir = (dir_ / "logs").string();
        s.grace = seconds(120);
        return s;
    }

    fs::path dir_;
    std::unique_ptr<store::Store> store_;
};

TEST_F(LogShipperTest, ShipsFinishedHoursAndKeepsTheCurrentOne) {
    auto now = system_clock::from_time_t(1700000000);  // 2023-11-14 22:13:20 UTC
    auto this_hour = std::chrono::floor<hours>(now);
    fs::path old = write_log(this_hour - hours(2), "old hour", now - hours(1));
    fs::path current = write_log(this_hour, "current hour", now);
    LogShipper shipper(*store_, settings());
    ShipReport r = shipper.ship_once(now);
    EXPECT_EQ(r.shipped, 1u);
    EXPECT_EQ(r.failed, 0u);
    EXPECT_FALSE(fs::exists(old));
    EXPECT_TRUE(fs::exists(current));
    EXPECT_EQ(read_object("CloudFront/production/example.com/" + old.filename().string()),
              "old hour");
}

TEST_F(LogShipperTest, WaitsForTheGraceAfterTheHourEnds) {
    auto now = system_clock::from_time_t(1700000000);
    auto this_hour = std::chrono::floor<hours>(now);
    // The previous hour ended 13 minutes ago, but the file was written 30 s ago (a late batch).
    fs::path late = write_log(this_hour - hours(1), "late", now - seconds(30));
    LogShipper shipper(*store_, settings());
    EXPECT_EQ(shipper.ship_once(now).shipped, 0u);
    EXPECT_TRUE(fs::exists(late));
    EXPECT_EQ(shipper.ship_once(now + seconds(121)).shipped, 1u);
    EXPECT_FALSE(fs::exists(late));
}

TEST_F(LogShipperTest, AnIdenticalObjectAlreadyStoredIsNotWrittenTwice) {
    auto now = system_clock::from_time_t(1700000000);
    auto this_hour = std::chrono::floor<hours>(now);
    fs::path p = write_log(this_hour - hours(3), "same bytes", now - hours(2));
    std::string name = p.filename().string();
    LogShipper shipper(*store_, settings());
    ASSERT_EQ(shipper.ship_once(now).shipped, 1u);
    // A crash after the put and before the unlink brings the file back.
    p = write_log(this_hour - hours(3), "same bytes", now - hours(2));
    ASSERT_EQ(shipper.ship_once(now).shipped, 1u);
    EXPECT_FALSE(fs::exists(p));
    store::VersionQuery q;
    q.prefix = "CloudFront/";
    auto versions = store_->list_versions("logs", q);
    ASSERT_TRUE(versions) << versions.error().detail;
    EXPECT_EQ(versions->versions.size(), 1u);
}

TEST_F(LogShipperTest, IgnoresFilesThatAreNotHourlyLogs) {
    auto now = system_clock::from_time_t(1700000000);
    fs::path odd = dir_ / "logs/CloudFront/production/example.com/notes.txt";
    std::ofstream(odd) << "x";
    fs::path partial = dir_ / "logs/CloudFront/production/example.com/E2.2023-11-14.x.gz";
    std::ofstream(partial) << "x";
    LogShipper shipper(*store_, settings());
    EXPECT_EQ(shipper.ship_once(now).shipped, 0u);
    EXPECT_TRUE(fs::exists(odd));
    EXPECT_TRUE(fs::exists(partial));
}

}  // namespace
}  // namespace moat::app
