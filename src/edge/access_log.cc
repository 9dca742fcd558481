#include "edge/access_log.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <map>
#include <random>
#include <unordered_map>
#include <utility>

#include "core/assert.h"
#include "core/log.h"

namespace moat::edge {

const std::string_view kAccessLogHeader =
    "#Version: 1.0\n"
    "#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status "
    "cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id "
    "x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher "
    "x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields c-port "
    "time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len sc-range-start "
    "sc-range-end\n";

namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kPollInterval = std::chrono::milliseconds(50);
constexpr auto kWriteInterval = std::chrono::seconds(1);
constexpr std::size_t kMaxPendingBytes = 1 << 20;  // per file; bigger batches are written early
// A thread hands its batch to the writer when it reaches this size: big enough that the queue
// operation and the allocation of the next batch are rare (once per ~250 lines), small enough
// that a worker keeps little memory and a full queue drops little at a time.
constexpr std::size_t kBatchBytes = 64 * 1024;
constexpr auto kErrorLogInterval = std::chrono::seconds(60);
// One writer thread compresses everything: level 1 is about 1.4x faster than the default 6 here
// and the files are barely larger (the random request ids dominate what is left).
constexpr int kGzipLevel = 1;

// edge.md §4.1 (RFC 1738 unsafe characters): bytes 0-32, 127-255 and < > " # % { } | \ ^ ~ [ ] `
// ' are written %XX. This also keeps tabs and newlines from breaking a line apart.
constexpr std::array<bool, 256> make_escape_table() {
    std::array<bool, 256> t{};
    for (int c = 0; c < 256; ++c) t[c] = c <= 32 || c >= 127;
    for (unsigned char c : std::string_view("<>\"#%{}|\\^~[]`'")) t[c] = true;
    return t;
}
constexpr auto kEscape = make_escape_table();

void append_uint(std::string& out, std::uint64_t v) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

void append_optional(std::string& out, std::int64_t v) {
    if (v < 0) {
        out.push_back('-');
        return;
    }
    append_uint(out, static_cast<std::uint64_t>(v));
}

// Seconds with millisecond precision ("0.082"), rounded to the nearest millisecond. Integer
// arithmetic: the same digits as printf("%.3f") without locale or float surprises.
void append_seconds(std::string& out, std::chrono::microseconds d) {
    std::int64_t us = d.count() < 0 ? 0 : d.count();
    std::uint64_t ms = static_cast<std::uint64_t>((us + 500) / 1000);
    append_uint(out, ms / 1000);
    char frac[4] = {'.', static_cast<char>('0' + ms / 100 % 10),
                    static_cast<char>('0' + ms / 10 % 10), static_cast<char>('0' + ms % 10)};
    out.append(frac, 4);
}

void append_status(std::string& out, int status) {
    if (status < 0 || status > 999) status = 0;
    char s[3] = {static_cast<char>('0' + status / 100), static_cast<char>('0' + status / 10 % 10),
                 static_cast<char>('0' + status % 10)};
    out.append(s, 3);
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
    std::int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

// "YYYY-MM-DD\tHH:MM:SS"; gmtime_r runs once per distinct second per thread, not per line.
void append_date_time(std::string& out, std::chrono::system_clock::time_point tp) {
    thread_local std::int64_t cached_sec = INT64_MIN;
    thread_local char buf[24];
    thread_local std::size_t len = 0;
    std::int64_t sec = floor_div(
        std::chrono::duration_cast<std::chrono::microseconds>(tp.time_since_epoch()).count(),
        1'000'000);
    if (sec != cached_sec) {
        std::time_t t = static_cast<std::time_t>(sec);
        std::tm tm{};
        gmtime_r(&t, &tm);
        len = std::strftime(buf, sizeof buf, "%Y-%m-%d\t%H:%M:%S", &tm);
        cached_sec = sec;
    }
    out.append(buf, len);
}

std::int64_t hour_of(std::chrono::system_clock::time_point tp) {
    auto sec = std::chrono::duration_cast<std::chrono::seconds>(tp.time_since_epoch()).count();
    return floor_div(sec, 3600);
}

std::string hour_name(std::int64_t hour) {
    std::time_t t = static_cast<std::time_t>(hour * 3600);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[24];
    std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%d-%H", &tm);
    return std::string(buf, n);
}

std::uint64_t next_log_id() {
    static std::atomic<std::uint64_t> next{1};
    return next.fetch_add(1, std::memory_order_relaxed);
}

// Site and environment names come from the config, but they become folder names here: anything
// outside [A-Za-z0-9._-] and a leading '.' become '_' (so "..", "a/b" and hidden folders cannot
// happen), and "" becomes "_".
std::string path_component(std::string_view s) {
    if (s.empty()) return "_";
    std::string out(s);
    for (char& c : out) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok) c = '_';
    }
    if (out[0] == '.') out[0] = '_';
    return out;
}

Error errno_error(std::string what) {
    return make_error(Errc::kIo, std::move(what) + ": " + std::strerror(errno));
}

// mkdir -p with mode 0750 for every folder it creates (logs may hold client IPs and cookies).
Result<void> make_dirs(const std::string& path) {
    for (std::size_t i = 1; i <= path.size(); ++i) {
        if (i != path.size() && path[i] != '/') continue;
        std::string part = path.substr(0, i);
        if (::mkdir(part.c_str(), 0750) != 0 && errno != EEXIST)
            return errno_error("mkdir " + part);
    }
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return errno_error("stat " + path);
    if (!S_ISDIR(st.st_mode)) return make_error(Errc::kIo, path + " is not a directory");
    return {};
}

Result<void> write_fully(int fd, const char* p, std::size_t n) {
    while (n > 0) {
        ssize_t w = ::write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return errno_error("write");
        }
        p += w;
        n -= static_cast<std::size_t>(w);
    }
    return {};
}

// xoshiro256** (Blackman, Vigna): a few ns per 64 bits; seeded per thread from the OS.
struct Xoshiro {
    std::uint64_t s[4];
    Xoshiro() {
        std::random_device rd;
        for (auto& w : s) w = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
        if ((s[0] | s[1] | s[2] | s[3]) == 0) s[0] = 1;  // the all-zero state is a fixed point
    }
    std::uint64_t next() {
        std::uint64_t result = std::rotl(s[1] * 5, 7) * 9;
        std::uint64_t t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = std::rotl(s[3], 45);
        return result;
    }
};

}  // namespace

void append_log_escaped(std::string& out, std::string_view s) {
    if (s.empty()) {
        out.push_back('-');
        return;
    }
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::size_t start = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        if (!kEscape[c]) continue;
        out.append(s.data() + start, i - start);
        char esc[3] = {'%', kHex[c >> 4], kHex[c & 15]};
        out.append(esc, 3);
        start = i + 1;
    }
    out.append(s.data() + start, s.size() - start);
}

AccessView view_of(const AccessRecord& r) {
    AccessView v;
    v.site = r.site;
    v.env = r.env;
    v.time = r.time;
    v.sc_bytes = r.sc_bytes;
    v.client_ip = r.client_ip;
    v.client_port = r.client_port;
    v.method = r.method;
    v.cs_host = r.cs_host;
    v.uri_stem = r.uri_stem;
    v.status = r.status;
    v.referer = r.referer;
    v.user_agent = r.user_agent;
    v.query = r.query;
    v.cookie = r.cookie;
    v.result_type = r.result_type;
    v.request_id = r.request_id;
    v.host_header = r.host_header;
    v.protocol = r.protocol;
    v.cs_bytes = r.cs_bytes;
    v.time_taken = r.time_taken;
    v.forwarded_for = r.forwarded_for;
    v.ssl_protocol = r.ssl_protocol;
    v.ssl_cipher = r.ssl_cipher;
    v.response_result_type = r.response_result_type;
    v.protocol_version = r.protocol_version;
    v.time_to_first_byte = r.time_to_first_byte;
    v.detailed_result_type = r.detailed_result_type;
    v.content_type = r.content_type;
    v.content_len = r.content_len;
    v.range_start = r.range_start;
    v.range_end = r.range_end;
    return v;
}

void append_access_line(std::string& out, const AccessRecord& r, std::string_view location) {
    append_access_line(out, view_of(r), location);
}

void append_access_line(std::string& out, const AccessView& r, std::string_view location) {
    auto tab = [&out] { out.push_back('\t'); };
    auto text = [&](std::string_view s) {
        append_log_escaped(out, s);
        tab();
    };
    append_date_time(out, r.time);  // fields 1 and 2
    tab();
    text(location);
    append_uint(out, r.sc_bytes);
    tab();
    text(r.client_ip);
    text(r.method);
    text(r.cs_host);
    text(r.uri_stem);
    append_status(out, r.status);
    tab();
    text(r.referer);
    text(r.user_agent);
    text(r.query);
    text(r.cookie);
    text(r.result_type);
    if (r.new_request_id) {
        append_request_id(out);  // base64url and '=': nothing to escape
        tab();
    } else {
        text(r.request_id);
    }
    text(r.host_header);
    text(r.protocol);
    append_uint(out, r.cs_bytes);
    tab();
    append_seconds(out, r.time_taken);
    tab();
    text(r.forwarded_for);
    text(r.ssl_protocol);
    text(r.ssl_cipher);
    text(r.response_result_type);
    text(r.protocol_version);
    out.append("-\t-\t");  // fle-status, fle-encrypted-fields: no field-level encryption
    append_uint(out, r.client_port);
    tab();
    append_seconds(out, r.time_to_first_byte);
    tab();
    text(r.detailed_result_type);
    text(r.content_type);
    append_optional(out, r.content_len);
    tab();
    append_optional(out, r.range_start);
    tab();
    append_optional(out, r.range_end);
    out.push_back('\n');
}

std::string distribution_id(std::string_view site) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    int ok = EVP_Digest(site.data(), site.size(), md, &md_len, EVP_sha256(), nullptr);
    MOAT_CHECK(ok == 1 && md_len >= 9, "sha-256 failed");
    std::uint64_t hi = 0;  // the first 64 bits, then one more from md[8]: 13 * 5 = 65 bits
    for (int i = 0; i < 8; ++i) hi = (hi << 8) | md[i];
    static constexpr char kB32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    std::string id = "E";
    for (int i = 0; i < 12; ++i) id.push_back(kB32[(hi >> (59 - 5 * i)) & 31]);
    id.push_back(kB32[((hi & 15) << 1) | (md[8] >> 7)]);
    return id;
}

namespace {

// kRequestIdLength characters at o.
void write_request_id(char* o) {
    thread_local Xoshiro rng;
    static constexpr char kB64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char raw[40];
    for (int i = 0; i < 5; ++i) {
        std::uint64_t v = rng.next();
        std::memcpy(raw + 8 * i, &v, 8);
    }
    int i = 0;
    for (; i + 3 <= 40; i += 3) {  // 13 groups of 3 bytes -> 52 characters
        std::uint32_t v = (raw[i] << 16) | (raw[i + 1] << 8) | raw[i + 2];
        *o++ = kB64[v >> 18];
        *o++ = kB64[(v >> 12) & 63];
        *o++ = kB64[(v >> 6) & 63];
        *o++ = kB64[v & 63];
    }
    *o++ = kB64[raw[39] >> 2];  // the 40th byte, then "==" as in standard base64
    *o++ = kB64[(raw[39] & 3) << 4];
    *o++ = '=';
    *o++ = '=';
}

}  // namespace

std::string make_request_id() {
    std::string id(kRequestIdLength, '=');
    write_request_id(id.data());
    return id;
}

void append_request_id(std::string& out) {
    std::size_t n = out.size();
    out.resize(n + kRequestIdLength);
    write_request_id(out.data() + n);
}

// ---------------------------------------------------------------------------------------------
// Batches: filled by one thread under its Producer's mutex, then owned by the queue, then by the
// writer.

struct AccessLog::Batch {
    // Consecutive lines for one file: text[previous run's end, end).
    struct Run {
        std::uint32_t key;  // index into keys
        std::int64_t hour;  // UTC hour since the epoch
        std::size_t end;
        std::uint64_t lines;
    };
    std::string text;
    std::vector<std::pair<std::string, std::string>> keys;  // (site, env) of the runs
    std::vector<Run> runs;
    std::uint64_t lines = 0;

    Batch() { text.reserve(kBatchBytes + 4096); }

    // Records that the line just appended to text goes to (site, env, hour). A worker mostly
    // serves runs of one site in one hour, so this is nearly always a compare and two adds.
    void note_line(std::string_view site, std::string_view env, std::int64_t hour) {
        ++lines;
        if (!runs.empty()) {
            Run& last = runs.back();
            const auto& k = keys[last.key];
            if (last.hour == hour && k.first == site && k.second == env) {
                last.end = text.size();
                ++last.lines;
                return;
            }
        }
        std::uint32_t key = 0;
        while (key < keys.size() && (keys[key].first != site || keys[key].second != env)) ++key;
        if (key == keys.size()) keys.emplace_back(site, env);
        runs.push_back(Run{key, hour, text.size(), 1});
    }
};

// Cache-line aligned: each is written by its own thread for every line.
struct alignas(64) AccessLog::Producer {
    // Taken by the owner for every line, and by the writer about once a second (collect()).
    std::mutex mu;
    std::unique_ptr<Batch> batch;  // guarded by mu; null until the next line
    std::thread::id owner;         // set once, under producers_mu_
};

// ---------------------------------------------------------------------------------------------
// Writer: everything below runs on the writer thread only.

struct AccessLog::Writer {
    struct SiteDir {
        std::string path;         // <dir>/CloudFront/<env>/<site>
        std::string file_prefix;  // <path>/<dist-id>.
        bool created = false;
    };
    struct Pending {
        std::string text;
        std::uint64_t records = 0;
    };

    const std::string& dir;
    const std::string& node_id;
    const std::string& unique_id;
    std::atomic<std::uint64_t>& failures;

    std::unordered_map<std::string, SiteDir> sites;                // key: env + '\n' + site
    std::map<std::pair<SiteDir*, std::int64_t>, Pending> pending;  // (site, UTC hour)
    std::vector<SiteDir*> resolved;  // add(): the batch's keys, reused between batches
    z_stream zs{};
    bool zs_ready = false;
    std::string gz;  // compressed member, reused between writes
    Clock::time_point last_error_log{};
    std::uint64_t errors_since_log = 0;

    Writer(const std::string& d, const std::string& n, const std::string& u,
           std::atomic<std::uint64_t>& f)
        : dir(d), node_id(n), unique_id(u), failures(f) {
        // windowBits 15 + 16: a gzip wrapper (RFC 1952), so every write is a complete member.
        zs_ready =
            deflateInit2(&zs, kGzipLevel, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK;
    }
    ~Writer() {
        if (zs_ready) deflateEnd(&zs);
    }

    SiteDir* site_dir(const std::string& site, const std::string& env) {
        std::string key = env + '\n' + site;
        auto it = sites.find(key);
        if (it != sites.end()) return &it->second;
        SiteDir sd;
        sd.path = dir + "/CloudFront/" + path_component(env) + "/" + path_component(site);
        sd.file_prefix = sd.path + "/" + distribution_id(site) + ".";
        return &sites.emplace(std::move(key), std::move(sd)).first->second;
    }

    void add(const Batch& b) {
        resolved.clear();
        for (const auto& [site, env] : b.keys) resolved.push_back(site_dir(site, env));
        std::size_t begin = 0;
        for (const auto& run : b.runs) {
            auto key = std::make_pair(resolved[run.key], run.hour);
            Pending& p = pending[key];
            p.text.append(b.text, begin, run.end - begin);
            p.records += run.lines;
            begin = run.end;
            if (p.text.size() >= kMaxPendingBytes) write(key, p);
        }
    }

    void write_all() {
        for (auto& [key, p] : pending) write(key, p);
        pending.clear();  // releases the buffers of quiet files and past hours
    }

    void write(const std::pair<SiteDir*, std::int64_t>& key, Pending& p) {
        if (p.records == 0) return;
        auto r = append_member(*key.first, key.second, p.text);
        if (!r) {
            failures.fetch_add(p.records, std::memory_order_relaxed);
            report(r.error(), p.records);
        }
        p.text.clear();
        p.records = 0;
    }

    Result<void> append_member(SiteDir& sd, std::int64_t hour, const std::string& text) {
        if (!zs_ready) return make_error(Errc::kInternal, "zlib deflateInit2 failed");
        if (!sd.created) {
            MOAT_TRY(make_dirs(sd.path));
            sd.created = true;
        }
        std::string path = sd.file_prefix + hour_name(hour) + "." + unique_id + ".gz";
        int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
        if (fd < 0 && errno == ENOENT) {  // someone removed the folder (log rotation, cleanup)
            sd.created = false;
            MOAT_TRY(make_dirs(sd.path));
            sd.created = true;
            fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
        }
        if (fd < 0) return errno_error("open " + path);
        struct stat st {};
        if (::fstat(fd, &st) != 0) {
            auto e = errno_error("fstat " + path);
            ::close(fd);
            return e;
        }
        // A new file starts with the header lines, inside its first member.
        std::string_view header = st.st_size == 0 ? kAccessLogHeader : std::string_view();
        auto r = compress(header, text);
        if (r) r = write_fully(fd, gz.data(), gz.size());
        if (!r) {
            // Cut off a partial member: the file must stay readable gzip up to its last byte.
            // If this fails too, the write error is still the one worth reporting.
            [[maybe_unused]] int rc = ::ftruncate(fd, st.st_size);
        }
        ::close(fd);
        return r;
    }

    // One gzip member holding header + text, into gz.
    Result<void> compress(std::string_view header, const std::string& text) {
        deflateReset(&zs);
        gz.resize(deflateBound(&zs, header.size() + text.size()) + 64);
        zs.next_out = reinterpret_cast<Bytef*>(gz.data());
        zs.avail_out = static_cast<uInt>(gz.size());
        if (!header.empty()) {
            zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(header.data()));
            zs.avail_in = static_cast<uInt>(header.size());
            if (deflate(&zs, Z_NO_FLUSH) != Z_OK)
                return make_error(Errc::kInternal, "zlib deflate failed");
        }
        zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
        zs.avail_in = static_cast<uInt>(text.size());
        if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
            return make_error(Errc::kInternal, "zlib deflate did not finish");
        gz.resize(gz.size() - zs.avail_out);
        return {};
    }

    // The writer is where file errors are handled (STYLE.md §4): count, and warn at most once a
    // minute so a full disk does not also flood the server log.
    void report(const Error& e, std::uint64_t lost) {
        ++errors_since_log;
        auto now = Clock::now();
        if (last_error_log != Clock::time_point{} && now - last_error_log < kErrorLogInterval)
            return;
        core::logger("edge")->warn("access log write failed err={} lost_records={} errors={}",
                                   e.detail, lost, errors_since_log);
        last_error_log = now;
        errors_since_log = 0;
    }
};

// ---------------------------------------------------------------------------------------------

AccessLog::AccessLog(std::string dir, std::string node_id, std::size_t capacity)
    : dir_(std::move(dir)),
      node_id_(std::move(node_id)),
      id_(next_log_id()),
      slots_(new Slot[capacity]),
      mask_(capacity - 1) {
    for (std::size_t i = 0; i < capacity; ++i) {
        slots_[i].seq.store(i, std::memory_order_relaxed);
        slots_[i].batch = nullptr;
    }
    std::random_device rd;
    char buf[9];
    std::snprintf(buf, sizeof buf, "%08x", static_cast<unsigned>(rd()));
    unique_id_ = buf;
}

Result<std::unique_ptr<AccessLog>> AccessLog::open(const std::string& dir,
                                                   const std::string& node_id,
                                                   std::size_t queue_capacity) {
    if (dir.empty()) return make_error(Errc::kInvalidArgument, "access log dir is empty");
    std::string base = dir;
    while (base.size() > 1 && base.back() == '/') base.pop_back();
    MOAT_TRY(make_dirs(base + "/CloudFront"));
    if (::access((base + "/CloudFront").c_str(), W_OK | X_OK) != 0)
        return errno_error("access log dir " + base + "/CloudFront");
    std::size_t cap = std::bit_ceil(std::max<std::size_t>(queue_capacity, 4));
    std::unique_ptr<AccessLog> log(new AccessLog(base, node_id.empty() ? "-" : node_id, cap));
    log->writer_ =
        std::make_unique<Writer>(log->dir_, log->node_id_, log->unique_id_, log->write_failures_);
    log->thread_ = std::thread([p = log.get()] { p->run(); });
    return log;
}

AccessLog::~AccessLog() {
    stop();
    // stop() collected every batch; this only frees what a caller racing with it left behind.
    std::unique_ptr<Batch> b;
    while (pop(b)) dropped_.fetch_add(b->lines, std::memory_order_relaxed);
}

AccessLog::Producer& AccessLog::producer() {
    // The last log this thread wrote to; ids are never reused, so a stale pointer is never
    // followed.
    thread_local std::uint64_t cached_id = 0;
    thread_local Producer* cached = nullptr;
    if (cached_id == id_) return *cached;
    std::lock_guard lock(producers_mu_);
    auto me = std::this_thread::get_id();
    Producer* p = nullptr;
    for (const auto& q : producers_) {
        if (q->owner == me) {
            p = q.get();
            break;
        }
    }
    if (!p) {
        producers_.push_back(std::make_unique<Producer>());
        p = producers_.back().get();
        p->owner = me;
    }
    cached_id = id_;
    cached = p;
    return *p;
}

void AccessLog::submit(AccessRecord&& rec) { submit(view_of(rec)); }

void AccessLog::submit(const AccessView& rec) {
    if (stopped_.load(std::memory_order_relaxed)) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    Producer& p = producer();
    std::lock_guard lock(p.mu);
    // Checked again under the lock: stop() sets stopped_ before collect() takes each thread's
    // mutex, so a line is either collected or counted here, never left behind.
    if (stopped_.load(std::memory_order_relaxed)) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    if (!p.batch) p.batch = std::make_unique<Batch>();
    Batch& b = *p.batch;
    append_access_line(b.text, rec, node_id_);
    b.note_line(rec.site, rec.env, hour_of(rec.time));
    if (b.text.size() >= kBatchBytes) push(std::move(p.batch));
}

void AccessLog::push(std::unique_ptr<Batch> b) {
    std::size_t pos = head_.load(std::memory_order_relaxed);
    Slot* slot;
    for (;;) {
        slot = &slots_[pos & mask_];
        std::size_t seq = slot->seq.load(std::memory_order_acquire);
        auto diff = static_cast<std::intptr_t>(seq) - static_cast<std::intptr_t>(pos);
        if (diff == 0) {
            if (head_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) break;
        } else if (diff < 0) {  // the writer has not freed this slot yet: full
            dropped_.fetch_add(b->lines, std::memory_order_relaxed);
            return;
        } else {
            pos = head_.load(std::memory_order_relaxed);
        }
    }
    slot->batch = b.release();
    slot->seq.store(pos + 1, std::memory_order_release);
    // Wake the writer early when a quarter of the queue has filled since it last looked, rather
    // than let a burst overflow the queue before the next poll. Without the mutex the writer may
    // miss this hint; then the poll interval bounds the delay.
    if ((pos & ((mask_ + 1) / 4 - 1)) == 0) wake_.notify_one();
}

bool AccessLog::pop(std::unique_ptr<Batch>& out) {
    Slot& slot = slots_[tail_ & mask_];
    if (slot.seq.load(std::memory_order_acquire) != tail_ + 1) return false;
    out.reset(slot.batch);
    slot.batch = nullptr;
    slot.seq.store(tail_ + mask_ + 1, std::memory_order_release);
    ++tail_;
    return true;
}

void AccessLog::collect() {
    std::vector<Producer*> producers;
    {
        std::lock_guard lock(producers_mu_);
        for (const auto& p : producers_) producers.push_back(p.get());
    }
    std::vector<std::unique_ptr<Batch>> queued;
    for (Producer* p : producers) {
        std::unique_ptr<Batch> partial;
        {
            std::lock_guard lock(p->mu);
            if (!p->batch) continue;
            // The thread's full batches went into the queue (under this mutex) before its
            // partial one: take every slot claimed so far, waiting for other threads' claims
            // that are a few instructions from being published, so its lines stay in order.
            std::size_t until = head_.load(std::memory_order_acquire);
            while (tail_ < until) {
                std::unique_ptr<Batch> b;
                if (pop(b))
                    queued.push_back(std::move(b));
                else
                    std::this_thread::yield();
            }
            partial = std::move(p->batch);
        }
        // Compression and file I/O happen outside the thread's mutex.
        for (const auto& b : queued) writer_->add(*b);
        queued.clear();
        writer_->add(*partial);
    }
    std::unique_ptr<Batch> b;
    while (pop(b)) writer_->add(*b);
}

void AccessLog::flush() {
    std::unique_lock lock(mu_);
    if (!thread_.joinable() || stopping_) return;
    std::uint64_t ticket = ++flush_requested_;
    wake_.notify_one();
    flushed_.wait(lock, [&] { return flush_done_ >= ticket || stopping_; });
}

void AccessLog::stop() {
    std::call_once(stop_once_, [this] {
        stopped_.store(true, std::memory_order_relaxed);
        {
            std::lock_guard lock(mu_);
            stopping_ = true;
        }
        wake_.notify_one();
        flushed_.notify_all();
        if (thread_.joinable()) thread_.join();
        writer_.reset();
    });
}

void AccessLog::run() {
    auto last_write = Clock::now();
    std::unique_ptr<Batch> b;
    bool busy = false;
    for (;;) {
        std::uint64_t want;
        bool stop;
        {
            std::unique_lock lock(mu_);
            // Under heavy load go round again at once rather than let the queue fill up.
            if (!busy) {
                wake_.wait_for(lock, kPollInterval, [&] {
                    return stopping_ || flush_requested_ != flush_done_ ||
                           head_.load(std::memory_order_relaxed) - tail_ > mask_ / 4;
                });
            }
            want = flush_requested_;
            stop = stopping_;
        }
        bool must_write = stop || want != flush_done_;
        std::size_t drained = 0;
        while (pop(b)) {
            writer_->add(*b);
            ++drained;
        }
        auto now = Clock::now();
        if (must_write || now - last_write >= kWriteInterval) {
            // Every line submitted before this point is in a queued or a partial batch.
            collect();
            writer_->write_all();
            last_write = now;
        }
        if (want != flush_done_) {
            std::lock_guard lock(mu_);
            flush_done_ = want;
            flushed_.notify_all();
        }
        if (stop) return;
        busy = drained > mask_ / 4;
    }
}

}  // namespace moat::edge
