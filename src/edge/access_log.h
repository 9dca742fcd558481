#pragma once
// The access log in CloudFront's standard log format (33 tab-separated fields, hourly gzip files),
// so that tools written for CloudFront logs (goaccess, Athena tables, log shippers) read moat's
// logs unchanged. Workers format each finished request straight into a per-thread batch buffer
// (AccessLog::submit()); one writer thread compresses and appends whole batches, so no worker
// ever waits for a disk or a lock another worker holds.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/result.h"

namespace moat::edge {

// One finished request: the data of the 33 CloudFront fields plus where the line goes, owned
// (tests and tools; workers log an AccessView of their own data instead). Text fields are written
// URL-encoded (edge.md §4.1: bytes 0-32, 127+, and < > " # % { } | \ ^ ~ [ ] ` ' ); an empty
// text field is written "-".
struct AccessRecord {
    // Routing: the line goes to <dir>/CloudFront/<env>/<site>/.
    std::string site;
    std::string env;

    std::chrono::system_clock::time_point time;  // 1, 2: when the response finished (UTC hour
                                                 // picks the file)
    std::uint64_t sc_bytes = 0;                  // 4: bytes sent to the viewer, headers included
    std::string client_ip;                       // 5
    std::uint16_t client_port = 0;               // 27
    std::string method;                          // 6
    std::string cs_host;                         // 7: moat writes the site name here
    std::string uri_stem;                        // 8: path without '?'
    int status = 0;                              // 9: 0 = client left before the response: "000"
    std::string referer;                         // 10
    std::string user_agent;                      // 11
    std::string query;                           // 12: without the '?'
    std::string cookie;                          // 13
    std::string result_type;                     // 14: Hit, RefreshHit, Miss, Redirect, Error ...
    std::string request_id;                      // 15: see make_request_id()
    std::string host_header;                     // 16: the Host the viewer sent
    std::string protocol;                        // 17: "http" or "https"
    std::uint64_t cs_bytes = 0;                  // 18: bytes received, headers included
    std::chrono::microseconds time_taken{0};     // 19: written as seconds, "%.3f"
    std::string forwarded_for;                   // 20
    std::string ssl_protocol;                    // 21: OpenSSL name ("TLSv1.3"), empty for http
    std::string ssl_cipher;                      // 22: OpenSSL name, empty for http
    std::string response_result_type;            // 23
    std::string protocol_version;                // 24: "HTTP/1.1", "HTTP/2.0"
    // 25, 26 (field-level encryption) are always "-" in moat.
    std::chrono::microseconds time_to_first_byte{0};  // 28: written as seconds, "%.3f"
    std::string detailed_result_type;                 // 29: like 14, or the kind of Error
    std::string content_type;                         // 30
    std::int64_t content_len = -1;                    // 31: -1 = no Content-Length ("-")
    std::int64_t range_start = -1;                    // 32: -1 = not a range response ("-")
    std::int64_t range_end = -1;                      // 33: -1 = not a range response ("-")
};

// The same fields as AccessRecord, as views into data the caller owns (the worker's Request,
// Response and ConnInfo), so that logging a request copies each byte once, into the log line.
// Valid only during the call it is passed to; nothing keeps the views.
struct AccessView {
    std::string_view site;  // routing, as AccessRecord::site
    std::string_view env;
    std::chrono::system_clock::time_point time;
    std::uint64_t sc_bytes = 0;
    std::string_view client_ip;
    std::uint16_t client_port = 0;
    std::string_view method;
    std::string_view cs_host;
    std::string_view uri_stem;
    int status = 0;
    std::string_view referer;
    std::string_view user_agent;
    std::string_view query;
    std::string_view cookie;
    std::string_view result_type;
    std::string_view request_id;  // 15; ignored when new_request_id is set
    bool new_request_id = false;  // write a fresh make_request_id() (without building a string)
    std::string_view host_header;
    std::string_view protocol;
    std::uint64_t cs_bytes = 0;
    std::chrono::microseconds time_taken{0};
    std::string_view forwarded_for;
    std::string_view ssl_protocol;
    std::string_view ssl_cipher;
    std::string_view response_result_type;
    std::string_view protocol_version;
    std::chrono::microseconds time_to_first_byte{0};
    std::string_view detailed_result_type;
    std::string_view content_type;
    std::int64_t content_len = -1;
    std::int64_t range_start = -1;
    std::int64_t range_end = -1;
};

// Views of rec's fields; valid while rec lives unchanged.
AccessView view_of(const AccessRecord& rec);

// The two header lines every log file starts with (edge.md §4.1), each ending in '\n'.
extern const std::string_view kAccessLogHeader;

// The 33 tab-separated fields of one record plus '\n', appended to out. x_edge_location is the
// node id (field 3). Pure; exposed for tests and for tools that convert records.
void append_access_line(std::string& out, const AccessView& rec, std::string_view x_edge_location);
void append_access_line(std::string& out, const AccessRecord& rec,
                        std::string_view x_edge_location);

// Appends s URL-encoded as CloudFront does (see AccessRecord), or "-" when s is empty.
void append_log_escaped(std::string& out, std::string_view s);

// A stable CloudFront-style distribution id for a site: "E" + 13 characters of base32
// (A-Z, 2-7) of SHA-256(site). The same name gives the same id in every process and release.
std::string distribution_id(std::string_view site);

// A fresh x-edge-request-id (also sent as x-amz-cf-id): 56 characters like CloudFront's, 54 of
// base64url over 320 random bits plus "==". Uses a per-thread generator seeded from the OS: fast
// and unique, but not a secret (do not use it for tokens).
inline constexpr std::size_t kRequestIdLength = 56;
std::string make_request_id();
// The same, appended to out (kRequestIdLength bytes, none of which need escaping).
void append_request_id(std::string& out);

// Writes access records to <dir>/CloudFront/<env>/<site>/<dist-id>.YYYY-MM-DD-HH.<unique>.gz.
//
// One per process, created by app/ and shared by all workers; submit() is called from any
// thread and never blocks on I/O. Each thread formats its lines into its own batch buffer
// (guarded by a per-thread mutex that only the writer also takes, about once a second) and hands
// a full batch (64 KiB) to the writer through a bounded lock-free queue; when the queue is full
// the batch is dropped and its lines counted (dropped()), because a slow disk must not slow
// down serving. The writer thread gathers the queued batches, and at least once a second also
// the partial batch of every thread, and appends each file's pending lines as one complete gzip
// member (RFC 1952 §2.2 allows concatenated members; zcat reads them), so every file is valid
// gzip between writes and a line reaches its file within about a second. Lines of one thread
// stay in order. Records land in the file of the UTC hour in which they finished, even when
// they arrive late.
// File errors (disk full, permissions) never stop the server: the batch is lost, counted in
// write_failures() and logged at most once a minute.
class AccessLog {
public:
    // dir: base folder (created with mode 0750 if missing). node_id: field 3 (x-edge-location).
    // queue_capacity: full batches (up to 64 KiB of lines each) that may wait for the writer,
    // rounded up to a power of two; the default holds 16 MiB, several seconds of lines at full
    // speed, so only a stalled disk drops lines.
    // Errors: kIo when dir cannot be created or written to; kInvalidArgument for an empty dir.
    static Result<std::unique_ptr<AccessLog>> open(const std::string& dir,
                                                   const std::string& node_id,
                                                   std::size_t queue_capacity = 256);
    ~AccessLog();  // stop()
    AccessLog(const AccessLog&) = delete;
    AccessLog& operator=(const AccessLog&) = delete;

    // Formats the line into the calling thread's batch, or drops it (counted) when the log is
    // stopped; a full batch goes to the writer's queue, or is dropped with all its lines when
    // the queue is full. Thread-safe; never waits for I/O. The views in rec need only live
    // during the call.
    void submit(const AccessView& rec);
    // The same for an owned record (tests, tools): submit(view_of(rec)).
    void submit(AccessRecord&& rec);

    // Writes every record submitted before this call (by any thread, including lines still in a
    // thread's partial batch) to its file, then returns. Blocks the
    // caller until the writer has done so (not for use on a worker thread).
    void flush();

    // Drains the queue, writes everything, joins the writer. Idempotent; later submits drop.
    void stop();

    std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
    std::uint64_t write_failures() const { return write_failures_.load(std::memory_order_relaxed); }
    const std::string& unique_id() const { return unique_id_; }

private:
    struct Batch;     // formatted lines of one thread, with the file each run of lines goes to
    struct Producer;  // one thread's current batch and its mutex
    struct Slot {
        std::atomic<std::size_t> seq;
        Batch* batch;
    };
    struct Writer;  // files, pending buffers; touched by the writer thread only

    AccessLog(std::string dir, std::string node_id, std::size_t capacity);
    Producer& producer();
    void push(std::unique_ptr<Batch> b);  // called with the producer's mutex held
    bool pop(std::unique_ptr<Batch>& out);
    void collect();  // writer: takes every thread's partial batch, keeping each thread's order
    void run();

    const std::string dir_;
    const std::string node_id_;
    const std::uint64_t id_;  // unique per AccessLog in the process (keys the per-thread cache)
    std::string unique_id_;

    // Bounded MPSC ring (D. Vyukov's bounded queue): producers claim a slot with one CAS.
    std::unique_ptr<Slot[]> slots_;
    const std::size_t mask_;
    alignas(64) std::atomic<std::size_t> head_{0};  // next slot producers claim
    alignas(64) std::size_t tail_ = 0;              // next slot the writer reads (writer only)

    alignas(64) std::atomic<std::uint64_t> dropped_{0};
    std::atomic<std::uint64_t> write_failures_{0};
    std::atomic<bool> stopped_{false};

    std::mutex producers_mu_;  // guards producers_ (taken once per thread, and by collect())
    std::vector<std::unique_ptr<Producer>> producers_;

    std::mutex mu_;  // guards the fields below; never taken by submit()
    std::condition_variable wake_;
    std::condition_variable flushed_;
    std::uint64_t flush_requested_ = 0;
    std::uint64_t flush_done_ = 0;
    bool stopping_ = false;
    std::once_flag stop_once_;
    std::unique_ptr<Writer> writer_;
    std::thread thread_;
};

}  // namespace moat::edge
