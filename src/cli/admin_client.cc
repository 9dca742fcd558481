#include "cli/admin_client.h"

#include <curl/curl.h>

#include <cctype>
#include <cstdio>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <vector>

namespace moat::cli {
namespace {

constexpr std::size_t kMaxAnswer = 64u << 20;  // a big manifest or 1000 audit records fit
constexpr long kConnectTimeoutMs = 10'000;
constexpr long kCallTimeoutMs = 600'000;  // a deploy of many files compresses server-side
// Uploads have no total limit (large files on slow links); a stalled one ends instead.
constexpr long kStallSeconds = 120;

struct CurlFree {
    void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistFree {
    void operator()(curl_slist* s) const { curl_slist_free_all(s); }
};
struct FileClose {
    void operator()(std::FILE* f) const { std::fclose(f); }
};

void global_init() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Sink {
    ApiResponse* res;
    bool too_large = false;
};

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
    auto* s = static_cast<Sink*>(user);
    std::size_t len = size * n;
    if (s->res->body.size() + len > kMaxAnswer) {
        s->too_large = true;
        return 0;  // aborts the transfer with CURLE_WRITE_ERROR
    }
    s->res->body.append(data, len);
    return len;
}

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
    auto* s = static_cast<Sink*>(user);
    std::size_t len = size * n;
    std::string_view line(data, len);
    constexpr std::string_view kName = "retry-after:";
    if (line.size() > kName.size()) {
        bool match = true;
        for (std::size_t i = 0; i < kName.size() && match; ++i)
            match = std::tolower(static_cast<unsigned char>(line[i])) == kName[i];
        if (match) {
            std::string v(line.substr(kName.size()));
            while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.pop_back();
            while (!v.empty() && std::isspace(static_cast<unsigned char>(v.front()))) v.erase(0, 1);
            s->res->retry_after = v;
        }
    }
    return len;
}

struct Upload {
    std::FILE* f;
    const std::function<void(std::uint64_t)>* on_bytes;
};

std::size_t on_read(char* buf, std::size_t size, std::size_t n, void* user) {
    auto* u = static_cast<Upload*>(user);
    std::size_t got = std::fread(buf, 1, size * n, u->f);
    if (got == 0 && std::ferror(u->f)) return CURL_READFUNC_ABORT;
    if (got > 0 && *u->on_bytes) (*u->on_bytes)(got);
    return got;
}

// The error object of an error answer, when the body is one.
void read_error(ApiResponse& r) {
    if (r.ok()) return;
    try {
        auto j = nlohmann::json::parse(r.body);
        const auto& e = j.at("error");
        r.code = e.value("code", "");
        r.message = e.value("message", "");
    } catch (const nlohmann::json::exception&) {
        // Not JSON (a proxy's page, an empty 401): error_text() falls back to the status.
    }
}

bool unreserved(unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

void append_escaped(std::string& out, unsigned char c) {
    static const char* kHex = "0123456789ABCDEF";
    out += '%';
    out += kHex[c >> 4];
    out += kHex[c & 15];
}

}  // namespace

std::string ApiResponse::error_text() const {
    std::string s = code.empty() ? "HTTP " + std::to_string(status) : code;
    if (!message.empty()) s += ": " + message;
    if (!code.empty()) s += " (" + std::to_string(status) + ")";
    if (!retry_after.empty()) s += "; retry after " + retry_after + " s";
    return s;
}

int exit_code_for(const ApiResponse& r) { return r.status == 400 || r.status == 404 ? 2 : 1; }

int exit_code_for(const Error& e) {
    return e.code == Errc::kInvalidArgument || e.code == Errc::kNotFound ? 2 : 1;
}

std::string percent_encode_segment(std::string_view s) {
    std::string out;
    for (unsigned char c : s) {
        if (unreserved(c))
            out += static_cast<char>(c);
        else
            append_escaped(out, c);
    }
    return out;
}

std::string percent_encode_path(std::string_view s) {
    std::string out;
    for (unsigned char c : s) {
        if (unreserved(c) || c == '/')
            out += static_cast<char>(c);
        else
            append_escaped(out, c);
    }
    return out;
}

AdminClient::AdminClient(Profile profile) : profile_(std::move(profile)) { global_init(); }

namespace {

// The parts every request shares: URL, TLS floor, timeouts, headers, answer sink.
struct Request {
    CURL* handle = nullptr;  // this thread's (see thread_handle)
    std::unique_ptr<curl_slist, SlistFree> headers;
    char errbuf[CURL_ERROR_SIZE] = {0};
};

// One handle per thread, reset between requests: curl_easy_reset keeps the handle's open
// connection and TLS session, so a deploy's uploads (four threads, hundreds of files each) reuse
// four connections instead of a TCP and TLS handshake per file.
CURL* thread_handle() {
    thread_local std::unique_ptr<CURL, CurlFree> handle(curl_easy_init());
    if (handle) curl_easy_reset(handle.get());
    return handle.get();
}

Result<void> add_header(Request& r, const std::string& line) {
    curl_slist* next = curl_slist_append(r.headers.get(), line.c_str());
    if (next == nullptr) return make_error(Errc::kInternal, "curl_slist_append failed");
    (void)r.headers.release();
    r.headers.reset(next);
    return {};
}

Result<void> prepare(Request& r, const Profile& p, const std::string& path, Sink& sink,
                     const std::string& otp) {
    if (!p.url.starts_with("https://"))
        return make_error(Errc::kInvalidArgument,
                          "admin API URL " + p.url + ": only https:// is allowed");
    r.handle = thread_handle();
    if (!r.handle) return make_error(Errc::kInternal, "curl_easy_init failed");
    CURL* h = r.handle;
    std::string url = p.url + path;
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());  // libcurl copies strings it is given
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, r.errbuf);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    // docs/admin-api.md: the admin API speaks HTTP/1.1 only.
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, kConnectTimeoutMs);
    // The TLS floor of every outbound connection (edge/client.h).
    curl_easy_setopt(h, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!p.ca.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, p.ca.c_str());
    curl_easy_setopt(h, CURLOPT_USERAGENT, "moat-cli/0.1");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &sink);
    MOAT_TRY(add_header(r, "Authorization: Bearer " + p.token));
    MOAT_TRY(add_header(r, "Accept: application/json"));
    // No "Expect: 100-continue" round trip before bodies.
    MOAT_TRY(add_header(r, "Expect:"));
    if (!otp.empty()) MOAT_TRY(add_header(r, "X-Moat-OTP: " + otp));
    return {};
}

// Runs the prepared request; never names the token (libcurl's messages do not carry headers).
Result<ApiResponse> perform(Request& r, Sink& sink, const std::string& what) {
    CURL* h = r.handle;
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, r.headers.get());
    CURLcode rc = curl_easy_perform(h);
    if (sink.too_large)
        return make_error(Errc::kTooLarge,
                          what + ": answer larger than " + std::to_string(kMaxAnswer) + " bytes");
    if (rc != CURLE_OK) {
        std::string why = r.errbuf[0] != '\0' ? r.errbuf : curl_easy_strerror(rc);
        Errc code = rc == CURLE_URL_MALFORMAT ? Errc::kInvalidArgument : Errc::kUnavailable;
        return make_error(code, what + ": " + why);
    }
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    ApiResponse& res = *sink.res;
    res.status = static_cast<int>(status);
    read_error(res);
    return std::move(res);
}

}  // namespace

Result<ApiResponse> AdminClient::call(std::string_view method, const std::string& path,
                                      const std::string& json, const std::string& otp) const {
    if (method != "GET" && method != "POST" && method != "DELETE")
        return make_error(Errc::kInvalidArgument, "unsupported method " + std::string(method));
    ApiResponse res;
    Sink sink{&res};
    Request r;
    MOAT_TRY(prepare(r, profile_, path, sink, otp));
    CURL* h = r.handle;
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, kCallTimeoutMs);
    if (method == "POST") {
        MOAT_TRY(add_header(r, "Content-Type: application/json; charset=utf-8"));
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, json.data());
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(json.size()));
    } else if (method == "DELETE") {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
    }
    std::string what = std::string(method) + " " + profile_.url + path;
    auto out = perform(r, sink, what);
    return out;
}

Result<ApiResponse> AdminClient::put_file(
    const std::string& path, const std::string& file, std::uint64_t size, const std::string& sha256,
    const std::string& content_type, const std::function<void(std::uint64_t)>& on_bytes) const {
    std::unique_ptr<std::FILE, FileClose> f(std::fopen(file.c_str(), "rb"));
    if (!f) return make_error(Errc::kIo, "cannot open " + file);
    ApiResponse res;
    Sink sink{&res};
    Request r;
    MOAT_TRY(prepare(r, profile_, path, sink, ""));
    MOAT_TRY(add_header(r, "X-Moat-Sha256: " + sha256));
    MOAT_TRY(add_header(r, "Content-Type: " + content_type));
    CURL* h = r.handle;
    Upload up{f.get(), &on_bytes};
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);  // PUT
    curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(h, CURLOPT_READDATA, &up);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(size));
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, kStallSeconds);
    return perform(r, sink, "PUT " + profile_.url + path);
}

}  // namespace moat::cli
