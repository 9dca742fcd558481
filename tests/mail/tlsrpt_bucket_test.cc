// TlsRptBucket over a real LocalStore in a temp folder: the key layout, content type,
// deduplication (also between racing receivers), summaries, multi-domain reports, and the logs
// bucket's lifecycle rule reaching the reports.
#include "mail/tlsrpt_bucket.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "mail/tlsrpt_handler.h"
#include "mail/tlsrpt_report.h"
#include "store/memory_body.h"
#include "store/store.h"

namespace moat::mail {
namespace {

namespace fs = std::filesystem;
const fs::path kData = fs::path(__FILE__).parent_path().parent_path() / "data" / "mail" / "tlsrpt";
constexpr const char* kDomain = "company-y.example";

std::string read(const std::string& name) {
    std::ifstream in(kData / name, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

TlsRptReport parsed(const std::string& json) {
    auto r = parse_tlsrpt(json);
    EXPECT_TRUE(r) << (r ? "" : r.error().detail);
    return r ? *r : TlsRptReport{};
}

// One report for two policy domains: a.example 10 ok / 1 failed at mx.a.example, b.example
// 20 ok / 2 failed at mx.b.example.
std::string two_domain_report() {
    auto policy = [](const char* d, int ok, int failed) {
        return std::string(R"({"policy":{"policy-type":"sts","policy-domain":")") + d +
               R"("},"summary":{"total-successful-session-count":)" + std::to_string(ok) +
               R"(,"total-failure-session-count":)" + std::to_string(failed) +
               R"(},"failure-details":[{"result-type":"certificate-host-mismatch",)" +
               R"("receiving-mx-hostname":"mx.)" + d + R"(","failed-session-count":)" +
               std::to_string(failed) + "}]}";
    };
    return R"({"organization-name":"Example Mail","contact-info":"tls@example.net",)"
           R"("report-id":"two-1","date-range":{"start-datetime":"2026-11-20T00:00:00Z",)"
           R"("end-datetime":"2026-11-20T23:59:59Z"},"policies":[)" +
           policy("a.example", 10, 1) + "," + policy("b.example", 20, 2) + "]}";
}

class TlsRptBucketTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("moat-tlsrpt-bucket-" + std::to_string(::getpid()) + "-" +
                std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
        store::StoreSettings s;
        s.enabled = true;
        s.dir = (dir_ / "store").string();
        s.day = std::chrono::seconds(1);  // lifecycle "days" in seconds
        auto st = store::Store::open(s);
        ASSERT_TRUE(st) << st.error().detail;
        store_ = std::move(*st);
    }
    void TearDown() override {
        store_.reset();
        fs::remove_all(dir_);
    }
    std::vector<store::ObjectInfo> objects(const std::string& prefix) {
        store::ListQuery q;
        q.prefix = prefix;
        auto page = store_->list("logs", q);
        EXPECT_TRUE(page);
        return page ? page->objects : std::vector<store::ObjectInfo>{};
    }
    std::size_t versions(const std::string& key) {
        store::VersionQuery q;
        q.prefix = key;
        auto page = store_->list_versions("logs", q);
        EXPECT_TRUE(page);
        return page ? page->versions.size() : 0;
    }

    fs::path dir_;
    std::unique_ptr<store::Store> store_;
};

TEST_F(TlsRptBucketTest, StoresUnderLogsTlsrptOnceWithItsType) {
    TlsRptBucket sink(*store_);
    ASSERT_TRUE(TlsRptBucket::usable(*store_));
    std::string json = read("rfc8460.json");
    auto report = parsed(json);
    auto added = sink.add(report, json, {kDomain});
    ASSERT_TRUE(added) << added.error().detail;
    EXPECT_EQ(*added, TlsRptSink::Added::kNew);

    auto objs = objects("TLSRPT/");
    ASSERT_EQ(objs.size(), 1u);
    EXPECT_EQ(objs[0].key,
              "TLSRPT/company-y.example/2016-04-01/" + tlsrpt_report_hash(report) + ".json");
    EXPECT_EQ(objs[0].key, TlsRptBucket::key_for(kDomain, report));
    EXPECT_EQ(objs[0].size, json.size());
    auto head = store_->head("logs", objs[0].key);
    ASSERT_TRUE(head);
    EXPECT_EQ(head->attrs.content_type, "application/tlsrpt+json");

    // Sent again (senders retry, RFC 8460 §5.3): a duplicate, and no second version in the
    // versioned logs bucket.
    added = sink.add(report, json, {kDomain});
    ASSERT_TRUE(added);
    EXPECT_EQ(*added, TlsRptSink::Added::kDuplicate);
    EXPECT_EQ(versions(objs[0].key), 1u);
}

TEST_F(TlsRptBucketTest, SummarizesAcrossDaysOrganisationsAndMx) {
    TlsRptBucket sink(*store_);
    for (const char* f : {"rfc8460.json", "google.json", "microsoft.json"}) {
        std::string json = read(f);
        ASSERT_TRUE(sink.add(parsed(json), json, {kDomain}));
    }
    // Something under the prefix that is not a report any more is counted, not fatal.
    store::MemoryBody junk("{not json");
    ASSERT_TRUE(store_->put("logs", "TLSRPT/company-y.example/2026-11-28/junk.json", junk, {}));

    auto s = sink.summarize(kDomain);
    ASSERT_TRUE(s) << s.error().detail;
    EXPECT_EQ(s->total.reports, 3);
    EXPECT_EQ(s->total.success, 5326 + 42 + 7);
    EXPECT_EQ(s->total.failure, 303 + 0 + 2);
    EXPECT_EQ(s->unreadable, 1);
    ASSERT_EQ(s->by_day.size(), 2u);
    EXPECT_EQ(s->by_day["2016-04-01"].failure, 303);
    EXPECT_EQ(s->by_day["2026-11-27"].reports, 2);
    EXPECT_EQ(s->by_day["2026-11-27"].success, 49);
    EXPECT_EQ(s->by_organization.size(), 3u);
    EXPECT_EQ(s->by_organization["Google Inc."].success, 42);
    EXPECT_EQ(s->by_organization["Microsoft Corporation"].failure, 2);
    EXPECT_EQ(s->failures_by_type["certificate-expired"], 100);
    EXPECT_EQ(s->failures_by_type["sts-policy-fetch-error"], 2);
    EXPECT_EQ(s->failures_by_mx["mx1.mail.company-y.example"], 100);
    EXPECT_EQ(s->failures_by_mx["mx2.mail.company-y.example"], 200);
    EXPECT_EQ(s->failures_by_mx["(unspecified)"], 2);
    EXPECT_EQ(s->by_policy_type["no-policy-found"], 9);

    auto none = sink.summarize("elsewhere.example");
    ASSERT_TRUE(none);
    EXPECT_EQ(none->total.reports, 0);
    EXPECT_FALSE(sink.summarize("../logs"));
}

TEST_F(TlsRptBucketTest, ReportCoveringTwoDomainsIsStoredUnderBoth) {
    TlsRptBucket sink(*store_);
    std::string json = two_domain_report();
    auto report = parsed(json);
    // Only a.example first, then both: b.example is new, so the second add is not a duplicate.
    ASSERT_TRUE(sink.add(report, json, {"a.example"}));
    auto added = sink.add(report, json, {"a.example", "b.example"});
    ASSERT_TRUE(added);
    EXPECT_EQ(*added, TlsRptSink::Added::kNew);
    added = sink.add(report, json, {"a.example", "b.example"});
    ASSERT_TRUE(added);
    EXPECT_EQ(*added, TlsRptSink::Added::kDuplicate);
    EXPECT_EQ(objects("TLSRPT/a.example/2026-11-20/").size(), 1u);
    EXPECT_EQ(objects("TLSRPT/b.example/2026-11-20/").size(), 1u);

    // Each domain's summary counts the report once and only its own policy's sessions.
    auto a = sink.summarize("a.example");
    auto b = sink.summarize("b.example");
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->total.reports, 1);
    EXPECT_EQ(a->total.success, 10);
    EXPECT_EQ(a->total.failure, 1);
    EXPECT_EQ(a->failures_by_mx.count("mx.b.example"), 0u);
    EXPECT_EQ(b->total.reports, 1);
    EXPECT_EQ(b->total.success, 20);
    EXPECT_EQ(b->failures_by_mx["mx.b.example"], 2);
    EXPECT_EQ(b->failures_by_type["certificate-host-mismatch"], 2);
}

TEST_F(TlsRptBucketTest, RacingReceiversStoreOneReport) {
    TlsRptBucket sink(*store_);
    std::string json = read("google.json");
    auto report = parsed(json);
    std::atomic<int> fresh{0}, dup{0}, failed{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i)
        threads.emplace_back([&] {
            auto r = sink.add(report, json, {kDomain});
            if (!r)
                ++failed;
            else if (*r == TlsRptSink::Added::kNew)
                ++fresh;
            else
                ++dup;
        });
    for (auto& t : threads) t.join();
    EXPECT_EQ(failed.load(), 0);
    EXPECT_EQ(fresh.load(), 1);
    EXPECT_EQ(dup.load(), 7);
    EXPECT_EQ(versions(TlsRptBucket::key_for(kDomain, report)), 1u);
}

TEST_F(TlsRptBucketTest, LogsLifecycleExpiresReports) {
    TlsRptBucket sink(*store_);
    std::string json = read("google.json");
    auto report = parsed(json);
    ASSERT_TRUE(sink.add(report, json, {kDomain}));
    // The seed's rule on `logs`: current versions expire after 365 days (seconds here).
    ASSERT_TRUE(store_->apply_lifecycle(store::Clock::now() + std::chrono::seconds(400)));
    auto s = sink.summarize(kDomain);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->total.reports, 0);
    // Behind a delete marker the key is free again: a late resend is stored anew.
    auto added = sink.add(report, json, {kDomain});
    ASSERT_TRUE(added);
    EXPECT_EQ(*added, TlsRptSink::Added::kNew);
}

TEST_F(TlsRptBucketTest, ReceiverWritesThroughTheBucket) {
    MailSettings ms;
    MailDomain d;
    d.domain = kDomain;
    ms.domains.push_back(d);
    ms.tlsrpt_dir = (dir_ / "folder").string();
    TlsRptReceiver rx(ms, std::make_unique<TlsRptBucket>(*store_));
    EXPECT_EQ(rx.receive("application/tlsrpt+json", read("microsoft.json")).status, 201);
    EXPECT_EQ(rx.receive("application/tlsrpt+json", read("microsoft.json")).status, 200);
    EXPECT_EQ(objects("TLSRPT/company-y.example/").size(), 1u);
    EXPECT_FALSE(fs::exists(ms.tlsrpt_dir));
}

TEST_F(TlsRptBucketTest, WithoutTheLogsBucketAddFails) {
    // An operator emptied and deleted `logs`: the store is no place for reports any more.
    ASSERT_TRUE(store_->delete_bucket("logs"));
    EXPECT_FALSE(TlsRptBucket::usable(*store_));
    TlsRptBucket sink(*store_);
    std::string json = read("google.json");
    auto added = sink.add(parsed(json), json, {kDomain});
    ASSERT_FALSE(added);
    EXPECT_EQ(added.error().code, Errc::kNotFound);
    EXPECT_FALSE(sink.add(parsed(json), json, {"not a domain"}));
}

}  // namespace
}  // namespace moat::mail
