#pragma once
// S3 server access logs in AWS's format (space-separated fields, one line per request, written
// as objects named "<TargetPrefix>YYYY-mm-DD-HH-MM-SS-<UniqueString>" into the target bucket),
// so tools that read S3 access logs (Athena tables, goaccess's AWS formats, log shippers) read
// moat's unchanged. Field list and rules: docs.aws.amazon.com/AmazonS3/latest/userguide/
// LogFormat.html. Requests are buffered per source bucket and written by flush(), which the
// background thread calls every flush_interval; a log object is an ordinary object of the
// target bucket, so that bucket's lifecycle rules govern it.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/result.h"
#include "store/store.h"

namespace moat::s3 {

// One request against a bucket. Empty strings are written as "-".
struct ServerAccessRecord {
    std::string bucket;
    std::chrono::system_clock::time_point time;  // when the request was received
    std::string remote_ip;
    std::string requester;   // principal name; empty: anonymous
    std::string request_id;  // the x-amz-request-id sent
    std::string operation;   // "REST.PUT.OBJECT" (see operation_name())
    std::string key;         // written URL-encoded
    std::string method;      // with target and version, makes the quoted Request-URI field
    std::string target;
    std::string http_version = "HTTP/1.1";
    int status = 0;
    std::string error_code;        // S3 error code name
    std::uint64_t bytes_sent = 0;  // body bytes; 0 is written "-"
    std::optional<std::uint64_t> object_size;
    std::chrono::milliseconds total_time{0};
    std::chrono::milliseconds turn_around_time{0};
    std::string referer;
    std::string user_agent;
    std::string version_id;
    std::string signature_version;  // "SigV4", empty when anonymous
    std::string cipher_suite;       // OpenSSL name
    std::string auth_type;          // "AuthHeader" or "QueryString"
    std::string host_header;
    std::string tls_version;  // "TLSv1.3"
};

// "REST.<METHOD>.<RESOURCE>": the resource is OBJECT for object requests, or the sub-resource
// in upper case (VERSIONING, LIFECYCLE, UPLOADS, UPLOAD, ...) or BUCKET for bucket requests.
std::string operation_name(std::string_view method, std::string_view resource);

// One log line with its trailing '\n'.
std::string format_server_access_record(const ServerAccessRecord& r);

// Where a source bucket's access logs go (AWS PutBucketLogging's TargetBucket/TargetPrefix).
struct LoggingTarget {
    std::string source_bucket;
    std::string target_bucket;
    std::string prefix;  // e.g. "S3/content/"
};

struct ServerAccessLogSettings {
    std::vector<LoggingTarget> targets;
    std::chrono::milliseconds flush_interval{std::chrono::minutes(5)};
    std::size_t max_buffered_bytes = 8u << 20;  // per source bucket; beyond, flush early
};

class ServerAccessLog {
public:
    ServerAccessLog(store::Store& store, ServerAccessLogSettings settings);
    ~ServerAccessLog();
    ServerAccessLog(const ServerAccessLog&) = delete;
    ServerAccessLog& operator=(const ServerAccessLog&) = delete;

    // Buffers the record when its bucket is logged; requests against the target buckets
    // themselves are never logged (a log of the log would feed itself). Thread-safe, no I/O.
    void record(const ServerAccessRecord& r);
    // Writes every buffered line as one object per source bucket. Lines of a failed write stay
    // buffered for the next try (up to max_buffered_bytes, then the oldest are dropped and
    // counted).
    Result<void> flush(std::chrono::system_clock::time_point now);
    std::uint64_t dropped() const;

    void start();  // background flushing every flush_interval
    void stop();   // stops it and flushes what is left

private:
    void run();

    store::Store& store_;
    ServerAccessLogSettings settings_;
    mutable std::mutex mu_;
    std::map<std::string, std::string, std::less<>> pending_;  // source bucket -> lines
    std::uint64_t dropped_ = 0;
    std::uint64_t sequence_ = 0;
    std::condition_variable cv_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace moat::s3
