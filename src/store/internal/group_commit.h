#pragma once
// Group commit: PUTs from many threads share one SQLite transaction, so one WAL fsync
// acknowledges several of them (SQLite itself commits one writer at a time, each commit paying
// its own fsync under synchronous=FULL). Leader/follower, no extra thread: the first caller
// becomes the leader, takes everything queued, runs each request inside its own SAVEPOINT (a
// failing request is rolled back alone), commits once, hands out the results and returns; a thread
// still waiting then leads the next batch, made of whatever queued up during this commit's fsync.
// Durability is unchanged: nobody returns before the COMMIT that holds their changes succeeded.
// Thread-safe.

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>

#include "core/result.h"
#include "store/internal/db.h"

namespace moat::store::internal {

class GroupCommit {
public:
    explicit GroupCommit(Pool& pool) : pool_(pool) {}

    // Runs `work` inside a write transaction on some thread's connection and returns once that
    // transaction committed (or failed). `work` must only touch the database through the Conn
    // it is given; everything it captures stays alive because the caller waits.
    Result<void> run(const std::function<Result<void>(Conn&)>& work);

private:
    struct Request {
        const std::function<Result<void>(Conn&)>* work;
        Result<void> result;
        bool done = false;
    };
    void lead(std::unique_lock<std::mutex>& lock);

    Pool& pool_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<Request*> queue_;
    bool leading_ = false;
};

}  // namespace moat::store::internal
