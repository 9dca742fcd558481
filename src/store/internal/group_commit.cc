#include "store/internal/group_commit.h"

#include <vector>

namespace moat::store::internal {
namespace {
constexpr std::size_t kMaxBatch = 64;
}

Result<void> GroupCommit::run(const std::function<Result<void>(Conn&)>& work) {
    Request req{&work, Result<void>(), false};
    std::unique_lock lock(mu_);
    queue_.push_back(&req);
    while (!req.done) {
        if (!leading_) {
            lead(lock);
        } else {
            cv_.wait(lock);
        }
    }
    return req.result;
}

void GroupCommit::lead(std::unique_lock<std::mutex>& lock) {
    // One batch, then leadership passes to a waiting thread: a leader that kept leading while
    // requests arrive would hold back its own caller's answer.
    leading_ = true;
    if (!queue_.empty()) {
        std::vector<Request*> batch;
        while (!queue_.empty() && batch.size() < kMaxBatch) {
            batch.push_back(queue_.front());
            queue_.pop_front();
        }
        lock.unlock();
        auto finish_all = [&](const Result<void>& r) {
            for (auto* q : batch) q->result = r;
        };
        auto c = pool_.lease();
        if (!c) {
            finish_all(c.error());
        } else {
            Txn t(**c);
            if (auto r = t.begin(); !r) {
                finish_all(r);
            } else {
                bool any = false;
                for (auto* q : batch) {
                    auto sp = (*c)->prepare("SAVEPOINT req").run();
                    if (!sp) {
                        q->result = sp;
                        continue;
                    }
                    q->result = (*q->work)(**c);
                    if (!q->result) (void)(*c)->prepare("ROLLBACK TO req").run();
                    (void)(*c)->prepare("RELEASE req").run();
                    any = any || static_cast<bool>(q->result);
                }
                if (any) {
                    if (auto r = t.commit(); !r) {
                        for (auto* q : batch)
                            if (q->result) q->result = r;
                    }
                }
            }
        }
        lock.lock();
        for (auto* q : batch) q->done = true;
        cv_.notify_all();
    }
    leading_ = false;
    cv_.notify_all();
}

}  // namespace moat::store::internal
