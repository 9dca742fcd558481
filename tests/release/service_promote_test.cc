// ReleaseService: promotion with approvals, rejection, rollback, retention.
#include "service_fixture.h"

namespace moat::release::testing {
namespace {

using PromoteTest = ServiceTest;

TEST_F(PromoteTest, OneApprovalFromSomeoneElse) {
    auto r1 = deploy({{"index.html", "<p>one</p>"}, {"a.txt", "A"}});
    ASSERT_TRUE(r1);
    auto p = svc_->promote(kSite, "testing", "", "alice");
    ASSERT_TRUE(p) << p.error().detail;
    EXPECT_FALSE(p->promoted);
    EXPECT_EQ(p->required, 1);
    EXPECT_EQ(p->approvals, 0);
    EXPECT_EQ(p->requested_by, "alice");
    EXPECT_EQ(p->release.id, "r1");
    EXPECT_EQ(served("production", "index.html"), "<none>");
    auto st = svc_->status(kSite);
    ASSERT_TRUE(st && st->pending);
    EXPECT_EQ(st->pending->release.id, "r1");

    auto self = svc_->approve(kSite, "r1", "alice");
    ASSERT_FALSE(self);
    EXPECT_EQ(reason_of(self.error()), Reason::kSelfApproval);
    auto wrong = svc_->approve(kSite, "r9", "bob");
    ASSERT_FALSE(wrong);
    EXPECT_EQ(reason_of(wrong.error()), Reason::kNotPending);

    auto ok = svc_->approve(kSite, "r1", "bob");
    ASSERT_TRUE(ok) << ok.error().detail;
    EXPECT_TRUE(ok->promoted);
    EXPECT_EQ(ok->approvals, 1);
    EXPECT_EQ(ok->approvers, std::vector<std::string>{"bob"});
    EXPECT_EQ(served("production", "index.html"), "<p>one</p>");
    EXPECT_EQ(catalog_->serving(kSite, "production"), "r1");
    // The S3 view of production shows the release's objects.
    auto m = svc_->manifest(kSite, "r1");
    ASSERT_TRUE(m);
    for (const auto& e : m->entries) {
        auto h = store_->head("content", "production/example.com/" + e.path);
        ASSERT_TRUE(h) << e.path;
        EXPECT_EQ(h->sha256, e.sha256);
    }
    st = svc_->status(kSite);
    ASSERT_TRUE(st);
    EXPECT_FALSE(st->pending);
    EXPECT_EQ(st->environments[0].release, "r1");
    auto h = svc_->history(kSite);
    ASSERT_TRUE(h);
    ASSERT_EQ(h->size(), 2u);
    EXPECT_EQ((*h)[0].env, "production");
    EXPECT_EQ((*h)[0].action, "promote");
    EXPECT_EQ((*h)[0].by, "bob");
    auto info = svc_->release(kSite, "r1");
    ASSERT_TRUE(info);
    EXPECT_EQ(info->environments, (std::vector<std::string>{"production", "testing"}));
    // Approving again: nothing pending any more.
    auto late = svc_->approve(kSite, "r1", "carol");
    ASSERT_FALSE(late);
    EXPECT_EQ(reason_of(late.error()), Reason::kNotPending);

    // A changed release needs its own approval: bob's approval of r1 does not carry over.
    ASSERT_TRUE(deploy({{"index.html", "<p>two</p>"}, {"a.txt", "A"}}));
    auto p2 = svc_->promote(kSite, "testing", "", "alice");
    ASSERT_TRUE(p2);
    EXPECT_FALSE(p2->promoted);
    EXPECT_EQ(p2->release.id, "r2");
    EXPECT_EQ(p2->approvals, 0);
    EXPECT_EQ(served("production", "index.html"), "<p>one</p>");
    // r1 itself keeps its approval (same release, same manifest hash): promoting it again
    // happens at once.
    auto again = svc_->promote(kSite, "testing", "r1", "alice");
    ASSERT_TRUE(again);
    EXPECT_TRUE(again->promoted);
    EXPECT_EQ(again->approvers, std::vector<std::string>{"bob"});
}

TEST_F(PromoteTest, ApprovalIsBoundToTheRelease) {
    ASSERT_TRUE(deploy({{"index.html", "one"}}));
    ASSERT_TRUE(svc_->promote(kSite, "testing", "", "alice"));
    ASSERT_TRUE(deploy({{"index.html", "two"}}));
    // A new request (r2) replaces the pending one; bob's approval of r1 is refused and would
    // not count for r2.
    auto p2 = svc_->promote(kSite, "testing", "", "alice");
    ASSERT_TRUE(p2);
    EXPECT_FALSE(p2->promoted);
    EXPECT_EQ(p2->release.id, "r2");
    auto stale = svc_->approve(kSite, "r1", "bob");
    ASSERT_FALSE(stale);
    EXPECT_EQ(reason_of(stale.error()), Reason::kNotPending);
    EXPECT_EQ(served("production", "index.html"), "<none>");
    auto ok = svc_->approve(kSite, "r2", "bob");
    ASSERT_TRUE(ok);
    EXPECT_TRUE(ok->promoted);
    EXPECT_EQ(served("production", "index.html"), "two");
    // A second approval by the same principal counts once.
    close_all();
    site_.approvals = 2;
    open_all();
    ASSERT_TRUE(deploy({{"index.html", "three"}}));
    ASSERT_TRUE(svc_->promote(kSite, "testing", "", "alice"));
    auto a1 = svc_->approve(kSite, "r3", "bob");
    ASSERT_TRUE(a1);
    EXPECT_FALSE(a1->promoted);
    auto a2 = svc_->approve(kSite, "r3", "bob");
    ASSERT_TRUE(a2);
    EXPECT_FALSE(a2->promoted);
    EXPECT_EQ(a2->approvals, 1);
    auto a3 = svc_->approve(kSite, "r3", "carol");
    ASSERT_TRUE(a3);
    EXPECT_TRUE(a3->promoted);
    EXPECT_EQ(a3->approvals, 2);
    EXPECT_EQ(served("production", "index.html"), "three");
}

TEST_F(PromoteTest, NoApprovalsNeeded) {
    close_all();
    site_.approvals = 0;
    open_all();
    auto none = svc_->promote(kSite, "testing", "", "alice");
    ASSERT_FALSE(none);
    EXPECT_EQ(reason_of(none.error()), Reason::kNoRelease);
    ASSERT_TRUE(deploy({{"index.html", "now"}}));
    auto p = svc_->promote(kSite, "testing", "", "alice");
    ASSERT_TRUE(p);
    EXPECT_TRUE(p->promoted);
    EXPECT_EQ(served("production", "index.html"), "now");
    auto unknown = svc_->promote(kSite, "testing", "r42", "alice");
    ASSERT_FALSE(unknown);
    EXPECT_EQ(reason_of(unknown.error()), Reason::kUnknownRelease);
}

TEST_F(PromoteTest, RejectEndsTheRequest) {
    ASSERT_TRUE(deploy({{"index.html", "one"}}));
    ASSERT_TRUE(svc_->promote(kSite, "testing", "", "alice"));
    EXPECT_FALSE(svc_->reject(kSite, "r2", "bob", "wrong one"));
    ASSERT_TRUE(svc_->reject(kSite, "r1", "bob", "typo on the page"));
    auto st = svc_->status(kSite);
    ASSERT_TRUE(st);
    EXPECT_FALSE(st->pending);
    auto late = svc_->approve(kSite, "r1", "carol");
    ASSERT_FALSE(late);
    EXPECT_EQ(reason_of(late.error()), Reason::kNotPending);
    EXPECT_EQ(served("production", "index.html"), "<none>");
}

TEST_F(PromoteTest, PolicyCheckRefusesPromotion) {
    close_all();
    site_.approvals = 0;
    bool fail = false;
    opts_.policy_check = [&fail](const site::SiteSettings&) {
        return fail ? std::string("header grade C") : std::string();
    };
    open_all();
    ASSERT_TRUE(deploy({{"index.html", "x"}}));
    fail = true;
    auto p = svc_->promote(kSite, "testing", "", "alice");
    ASSERT_FALSE(p);
    EXPECT_EQ(reason_of(p.error()), Reason::kPolicy);
    EXPECT_EQ(served("production", "index.html"), "<none>");
}

TEST_F(PromoteTest, ForceOverridesPolicyCheckOnPromoteAndApprove) {
    close_all();
    bool fail = false;
    opts_.policy_check = [&fail](const site::SiteSettings&) {
        return fail ? std::string("header grade C") : std::string();
    };
    open_all();
    ASSERT_TRUE(deploy({{"index.html", "x"}}));
    fail = true;
    auto p = svc_->promote(kSite, "testing", "", "alice", true);
    ASSERT_TRUE(p) << p.error().detail;
    EXPECT_FALSE(p->promoted);  // forced past the policy, still waiting for an approval
    // The approval that completes the promotion meets the policy again.
    auto refused = svc_->approve(kSite, "r1", "bob");
    ASSERT_FALSE(refused);
    EXPECT_EQ(reason_of(refused.error()), Reason::kPolicy);
    EXPECT_EQ(served("production", "index.html"), "<none>");
    auto forced = svc_->approve(kSite, "r1", "bob", true);
    ASSERT_TRUE(forced) << forced.error().detail;
    EXPECT_TRUE(forced->promoted);
    EXPECT_EQ(forced->approvers, std::vector<std::string>{"bob"});
    EXPECT_EQ(served("production", "index.html"), "x");
}

TEST_F(PromoteTest, RollbackTestingAndProduction) {
    close_all();
    site_.approvals = 0;
    open_all();
    ASSERT_TRUE(deploy({{"index.html", "one"}}));
    ASSERT_TRUE(svc_->promote(kSite, "testing", "", "alice"));
    ASSERT_TRUE(deploy({{"index.html", "two"}, {"new.txt", "n"}}));
    ASSERT_TRUE(svc_->promote(kSite, "testing", "", "alice"));
    ASSERT_TRUE(deploy({{"index.html", "three"}}));
    EXPECT_EQ(served("testing", "index.html"), "three");

    // Testing: back one step, then to any kept release.
    auto back = svc_->rollback(kSite, "testing", "", "alice");
    ASSERT_TRUE(back) << back.error().detail;
    EXPECT_EQ(back->id, "r2");
    EXPECT_EQ(served("testing", "index.html"), "two");
    auto h = store_->head("content", "testing/example.com/index.html");
    ASSERT_TRUE(h);
    EXPECT_EQ(h->sha256, sha("two"));  // the S3 view follows
    ASSERT_TRUE(store_->head("content", "testing/example.com/new.txt"));
    auto to1 = svc_->rollback(kSite, "testing", "r1", "alice");
    ASSERT_TRUE(to1);
    EXPECT_EQ(served("testing", "index.html"), "one");
    EXPECT_FALSE(store_->head("content", "testing/example.com/new.txt"));
    // A deploy of r1's files now is r1 again, not a new release.
    auto same = deploy({{"index.html", "one"}});
    ASSERT_TRUE(same);
    EXPECT_EQ(same->id, "r1");

    // Production: only to releases that were live there.
    auto never = svc_->rollback(kSite, "production", "r3", "carol");
    ASSERT_FALSE(never);
    EXPECT_EQ(reason_of(never.error()), Reason::kNeverLive);
    EXPECT_EQ(served("production", "index.html"), "two");
    auto prod = svc_->rollback(kSite, "production", "", "carol");
    ASSERT_TRUE(prod);
    EXPECT_EQ(prod->id, "r1");
    EXPECT_EQ(served("production", "index.html"), "one");
    auto ph = store_->head("content", "production/example.com/index.html");
    ASSERT_TRUE(ph);
    EXPECT_EQ(ph->sha256, sha("one"));
    EXPECT_FALSE(store_->head("content", "production/example.com/new.txt"));
    auto hist = svc_->history(kSite);
    ASSERT_TRUE(hist);
    EXPECT_EQ((*hist)[0].action, "rollback");
    EXPECT_EQ((*hist)[0].previous, "r2");
    EXPECT_EQ((*hist)[0].release_id, "r1");
}

class RetentionTest : public ServiceTest {
protected:
    void tune(ReleaseSettings& s) override { s.keep = 2; }
};

TEST_F(RetentionTest, OldReleasesArePrunedAndTheirVersionsExpire) {
    for (int i = 1; i <= 4; ++i)
        ASSERT_TRUE(deploy({{"index.html", "version " + std::to_string(i)}}));
    auto all = svc_->releases(kSite);
    ASSERT_TRUE(all);
    std::vector<std::string> ids;
    for (const auto& r : *all) ids.push_back(r.id);
    EXPECT_EQ(ids, (std::vector<std::string>{"r4", "r3"}));
    EXPECT_FALSE(svc_->release(kSite, "r1"));
    EXPECT_EQ(reason_of(svc_->release(kSite, "r2").error()), Reason::kUnknownRelease);

    // Versions of kept releases are held; those of pruned ones no longer are.
    store::VersionQuery q;
    q.prefix = "testing/example.com/index.html";
    auto vs = store_->list_versions("content", q);
    ASSERT_TRUE(vs);
    ASSERT_EQ(vs->versions.size(), 4u);  // newest first: r4, r3, r2, r1
    for (int i = 0; i < 4; ++i) {
        auto held = store_->is_held({"content", vs->versions[i].key, vs->versions[i].version_id});
        ASSERT_TRUE(held);
        EXPECT_EQ(*held, i < 2) << i;
    }
    // The content bucket expires noncurrent versions after 7 "days" (1 s here): the pruned
    // releases' versions go, the kept r3 (noncurrent too) stays.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_TRUE(store_->apply_lifecycle(store::Clock::now() + std::chrono::seconds(8)));
    vs = store_->list_versions("content", q);
    ASSERT_TRUE(vs);
    ASSERT_EQ(vs->versions.size(), 2u);
    auto m3 = svc_->manifest(kSite, "r3");
    ASSERT_TRUE(m3);
    EXPECT_EQ(vs->versions[1].version_id, m3->entries[0].version_id);
    // Rolling testing back to the kept r3 still works (its bytes survived).
    auto back = svc_->rollback(kSite, "testing", "r3", "alice");
    ASSERT_TRUE(back) << back.error().detail;
    EXPECT_EQ(served("testing", "index.html"), "version 3");
}

TEST_F(RetentionTest, PendingAndLiveReleasesAreKept) {
    ASSERT_TRUE(deploy({{"index.html", "one"}}));
    auto p = svc_->promote(kSite, "testing", "", "alice");
    ASSERT_TRUE(p);
    for (int i = 2; i <= 4; ++i) ASSERT_TRUE(deploy({{"index.html", "v" + std::to_string(i)}}));
    EXPECT_TRUE(svc_->release(kSite, "r1"));  // pending promotion names it
    EXPECT_FALSE(svc_->release(kSite, "r2"));
    ASSERT_TRUE(svc_->approve(kSite, "r1", "bob"));
    for (int i = 5; i <= 7; ++i) ASSERT_TRUE(deploy({{"index.html", "v" + std::to_string(i)}}));
    EXPECT_TRUE(svc_->release(kSite, "r1"));  // production serves it
    EXPECT_EQ(served("production", "index.html"), "one");
    auto n = svc_->prune(kSite);
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, 0);
}

}  // namespace
}  // namespace moat::release::testing

namespace moat::release::testing {
namespace {

TEST_F(RetentionTest, VariantDeletedAfterPruneIsMadeAgain) {
    const std::string page = "<html>" + std::string(3000, 'p') + "</html>";
    ASSERT_TRUE(deploy({{"index.html", page}}));
    auto m1 = svc_->manifest(kSite, "r1");
    ASSERT_TRUE(m1);
    ASSERT_FALSE(m1->entries[0].variants.empty());
    const Variant v = m1->entries[0].variants[0];
    ASSERT_TRUE(deploy({{"index.html", "two"}}));
    ASSERT_TRUE(deploy({{"index.html", "three"}}));
    EXPECT_FALSE(svc_->release(kSite, "r1"));  // pruned: its variants are no longer held
    auto rm = store_->remove(rs_.variants_bucket, v.key, v.version_id);
    ASSERT_TRUE(rm) << rm.error().detail;
    ASSERT_FALSE(store_->head(rs_.variants_bucket, v.key));
    auto r4 = deploy({{"index.html", page}});
    ASSERT_TRUE(r4) << r4.error().detail;
    EXPECT_EQ(served("testing", "index.html"), page);
    auto h = store_->head(rs_.variants_bucket, v.key);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->size, v.size);
}

}  // namespace
}  // namespace moat::release::testing
