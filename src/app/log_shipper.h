#pragma once
// Moves the edge's finished CloudFront-format log files into the store's `logs` bucket under
// CloudFront/<env>/<site>/<file name>, where the bucket's lifecycle rules govern them (as the
// seed's CloudFront distribution logs to an S3 bucket with expiry). The edge keeps writing to the
// data folder (a worker never waits on the store); a file is shipped once its hour is over and
// it has not been written for `grace`: CloudFront names files by hour, and moat's writer never
// appends to a past hour's file after the last batch of that hour was written.
//
// Crash safety: the local file is removed only after the store acknowledged the object; a crash
// in between ships it again, and an identical object already stored is not written twice.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "core/result.h"
#include "store/store.h"

namespace moat::app {

struct LogShipperSettings {
    std::string log_dir;  // the edge's access_log_dir (holds CloudFront/)
    std::string bucket = "logs";
    std::chrono::seconds grace{120};    // untouched this long after its hour: finished
    std::chrono::seconds interval{60};  // between scans
};

struct ShipReport {
    std::uint64_t shipped = 0;
    std::uint64_t bytes = 0;
    std::uint64_t failed = 0;
};

class LogShipper {
public:
    LogShipper(store::Store& store, LogShipperSettings settings);
    ~LogShipper();
    LogShipper(const LogShipper&) = delete;
    LogShipper& operator=(const LogShipper&) = delete;

    // Ships every finished file once (the thread calls it; tests call it with a chosen now).
    ShipReport ship_once(std::chrono::system_clock::time_point now);

    void start();
    void stop();  // stops the thread; files not yet shipped stay on disk for the next start

private:
    Result<void> ship_file(const std::string& path, const std::string& key);

    store::Store& store_;
    LogShipperSettings settings_;
    std::mutex mu_;
    std::condition_variable cv_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace moat::app
