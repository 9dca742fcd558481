#include "s3/server_access_log.h"

#include <openssl/rand.h>

#include <ctime>

#include "core/log.h"

namespace moat::s3 {
namespace {

void append_field(std::string& out, std::string_view v) {
    out += ' ';
    if (v.empty()) {
        out += '-';
        return;
    }
    out.append(v);
}

// A quoted field ("Request-URI", "Referer", "User-Agent"): AWS writes the value between double
// quotes; a quote or control byte inside would split the record, so those are %-escaped.
void append_quoted(std::string& out, std::string_view v) {
    out += " \"";
    if (v.empty()) out += '-';
    for (unsigned char c : v) {
        if (c == '"' || c == '\\' || c < 0x20 || c == 0x7f) {
            static const char* hex = "0123456789ABCDEF";
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        } else {
            out += static_cast<char>(c);
        }
    }
    out += '"';
}

// The Key field is URL-encoded (RFC 3986 unreserved bytes and '/' stay as they are), so a key
// with spaces or newlines stays one field.
std::string url_encode_key(std::string_view key) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    out.reserve(key.size());
    for (unsigned char c : key) {
        bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.' || c == '~' || c == '/';
        if (keep) {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

std::tm utc(std::chrono::system_clock::time_point t) {
    std::time_t s = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&s, &tm);
    return tm;
}

std::string unique_string() {
    unsigned char b[8];
    if (RAND_bytes(b, sizeof b) != 1) return "0000000000000000";
    static const char* hex = "0123456789ABCDEF";
    std::string s;
    for (unsigned char c : b) {
        s += hex[c >> 4];
        s += hex[c & 15];
    }
    return s;
}

}  // namespace

std::string operation_name(std::string_view method, std::string_view resource) {
    std::string out = "REST.";
    out.append(method);
    out += '.';
    for (char c : resource) out += (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c;
    return out;
}

std::string format_server_access_record(const ServerAccessRecord& r) {
    std::string out;
    out.reserve(512);
    // Bucket owner: moat has one owner; AWS writes its canonical id, moat the fixed "moat".
    out += "moat";
    append_field(out, r.bucket);
    std::tm tm = utc(r.time);
    char when[40];
    std::strftime(when, sizeof when, "[%d/%b/%Y:%H:%M:%S +0000]", &tm);
    append_field(out, when);
    append_field(out, r.remote_ip);
    append_field(out, r.requester);
    append_field(out, r.request_id);
    append_field(out, r.operation);
    append_field(out, r.key.empty() ? std::string() : url_encode_key(r.key));
    std::string uri = r.method;
    if (!uri.empty()) uri += ' ' + r.target + ' ' + r.http_version;
    append_quoted(out, uri);
    append_field(out, std::to_string(r.status));
    append_field(out, r.error_code);
    append_field(out, r.bytes_sent ? std::to_string(r.bytes_sent) : std::string());
    append_field(out, r.object_size ? std::to_string(*r.object_size) : std::string());
    append_field(out, std::to_string(r.total_time.count()));
    append_field(out, std::to_string(r.turn_around_time.count()));
    append_quoted(out, r.referer);
    append_quoted(out, r.user_agent);
    append_field(out, r.version_id);
    append_field(out, r.request_id);  // Host Id: moat has no second id; repeat the request id
    append_field(out, r.signature_version);
    append_field(out, r.cipher_suite);
    append_field(out, r.auth_type);
    append_field(out, r.host_header);
    append_field(out, r.tls_version);
    append_field(out, "");  // Access point ARN: none
    append_field(out, "");  // aclRequired: moat has no ACLs
    out += '\n';
    return out;
}

ServerAccessLog::ServerAccessLog(store::Store& store, ServerAccessLogSettings settings)
    : store_(store), settings_(std::move(settings)) {}

ServerAccessLog::~ServerAccessLog() { stop(); }

void ServerAccessLog::record(const ServerAccessRecord& r) {
    const LoggingTarget* target = nullptr;
    for (const auto& t : settings_.targets) {
        if (t.target_bucket == r.bucket) return;
        if (t.source_bucket == r.bucket) target = &t;
    }
    if (!target) return;
    std::string line = format_server_access_record(r);
    bool full = false;
    {
        std::lock_guard lock(mu_);
        std::string& buf = pending_[r.bucket];
        if (buf.size() + line.size() > settings_.max_buffered_bytes * 2) {
            ++dropped_;  // the target has been failing for a long time: shed, count it
            return;
        }
        buf += line;
        full = buf.size() >= settings_.max_buffered_bytes;
    }
    if (full) cv_.notify_one();
}

namespace {

// A whole log object as the store pulls it.
class StringSource : public store::BodySource {
public:
    explicit StringSource(const std::string& s) : s_(s) {}
    Result<std::size_t> read(char* buf, std::size_t n) override {
        std::size_t k = std::min(n, s_.size() - at_);
        std::copy_n(s_.data() + at_, k, buf);
        at_ += k;
        return k;
    }

private:
    const std::string& s_;
    std::size_t at_ = 0;
};

}  // namespace

Result<void> ServerAccessLog::flush(std::chrono::system_clock::time_point now) {
    std::map<std::string, std::string, std::less<>> batch;
    {
        std::lock_guard lock(mu_);
        batch.swap(pending_);
    }
    Result<void> result;
    std::tm tm = utc(now);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%d-%H-%M-%S-", &tm);
    for (auto& [bucket, lines] : batch) {
        if (lines.empty()) continue;
        const LoggingTarget* target = nullptr;
        for (const auto& t : settings_.targets)
            if (t.source_bucket == bucket) target = &t;
        if (!target) continue;
        std::string key = target->prefix + stamp + unique_string();
        store::PutOptions opts;
        opts.attrs.content_type = "text/plain";
        opts.expected_size = lines.size();
        StringSource src(lines);
        auto put = store_.put(target->target_bucket, key, src, opts);
        if (put) continue;
        result = put.error();
        // Keep the lines for the next flush, ahead of what arrived meanwhile.
        std::lock_guard lock(mu_);
        std::string& buf = pending_[bucket];
        if (lines.size() + buf.size() <= settings_.max_buffered_bytes * 2) {
            buf.insert(0, lines);
        } else {
            ++dropped_;
        }
    }
    return result;
}

std::uint64_t ServerAccessLog::dropped() const {
    std::lock_guard lock(mu_);
    return dropped_;
}

void ServerAccessLog::start() {
    std::lock_guard lock(mu_);
    if (thread_.joinable()) return;
    stopping_ = false;
    thread_ = std::thread([this] { run(); });
}

void ServerAccessLog::stop() {
    {
        std::lock_guard lock(mu_);
        if (!thread_.joinable()) return;
        stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
    if (auto r = flush(std::chrono::system_clock::now()); !r)
        core::logger("s3")->warn("server access log: last flush failed: {}", r.error().detail);
}

void ServerAccessLog::run() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
        cv_.wait_for(lock, settings_.flush_interval, [this] {
            if (stopping_) return true;
            for (const auto& [b, lines] : pending_)
                if (lines.size() >= settings_.max_buffered_bytes) return true;
            return false;
        });
        if (stopping_) break;
        lock.unlock();
        if (auto r = flush(std::chrono::system_clock::now()); !r)
            core::logger("s3")->warn("server access log: flush failed, will retry: {}",
                                     r.error().detail);
        lock.lock();
    }
}

}  // namespace moat::s3
