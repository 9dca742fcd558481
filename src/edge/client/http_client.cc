#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <mutex>

#include "edge/client.h"

namespace moat::edge {
namespace {

struct CurlFree {
    void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistFree {
    void operator()(curl_slist* s) const { curl_slist_free_all(s); }
};

void global_init() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Sink {
    ClientResponse* res;
    std::size_t max_body;
    bool too_large = false;
};

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
    auto* s = static_cast<Sink*>(user);
    std::size_t len = size * n;
    if (s->res->body.size() + len > s->max_body) {
        s->too_large = true;
        return 0;  // aborts the transfer with CURLE_WRITE_ERROR
    }
    s->res->body.append(data, len);
    return len;
}

std::string trim(std::string_view v) {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() &&
           (v.back() == ' ' || v.back() == '\t' || v.back() == '\r' || v.back() == '\n'))
        v.remove_suffix(1);
    return std::string(v);
}

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
    auto* s = static_cast<Sink*>(user);
    std::size_t len = size * n;
    std::string_view line(data, len);
    // A status line starts a new response (1xx interim answers come first): keep the last.
    if (line.starts_with("HTTP/")) {
        s->res->headers.clear();
        return len;
    }
    auto colon = line.find(':');
    if (colon == std::string_view::npos) return len;
    if (s->res->headers.size() >= 200) return len;  // bounded; ACME needs a handful
    std::string name(line.substr(0, colon));
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    s->res->headers.emplace_back(std::move(name), trim(line.substr(colon + 1)));
    return len;
}

}  // namespace

std::string_view ClientResponse::header(std::string_view lower_name) const {
    for (const auto& [k, v] : headers)
        if (k == lower_name) return v;
    return {};
}

std::vector<std::string_view> ClientResponse::headers_named(std::string_view lower_name) const {
    std::vector<std::string_view> out;
    for (const auto& [k, v] : headers)
        if (k == lower_name) out.emplace_back(v);
    return out;
}

HttpClient::HttpClient(ClientOptions opts) : opts_(std::move(opts)) { global_init(); }

Result<ClientResponse> HttpClient::fetch(const ClientRequest& req) const {
    bool https = req.url.starts_with("https://");
    if (!https && !(opts_.allow_http && req.url.starts_with("http://")))
        return make_error(Errc::kInvalidArgument, "refusing non-https URL " + req.url);
    if (req.method != "GET" && req.method != "HEAD" && req.method != "POST")
        return make_error(Errc::kInvalidArgument, "unsupported method " + req.method);

    std::unique_ptr<CURL, CurlFree> c(curl_easy_init());
    if (!c) return make_error(Errc::kInternal, "curl_easy_init failed");
    CURL* h = c.get();
    ClientResponse res;
    Sink sink{&res, opts_.max_body};
    char errbuf[CURL_ERROR_SIZE] = {0};

    curl_easy_setopt(h, CURLOPT_URL, req.url.c_str());
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM for DNS timeouts
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, opts_.allow_http ? "https,http" : "https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(opts_.connect_timeout.count()));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(opts_.timeout.count()));
    // The TLS floor for every outbound connection (STYLE.md, tls.md §5).
    curl_easy_setopt(h, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!opts_.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, opts_.ca_file.c_str());
    curl_easy_setopt(h, CURLOPT_USERAGENT, opts_.user_agent.c_str());
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(opts_.max_body));
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &sink);

    std::unique_ptr<curl_slist, SlistFree> resolve;
    for (const auto& r : opts_.resolve) {
        curl_slist* next = curl_slist_append(resolve.get(), r.c_str());
        if (next == nullptr) return make_error(Errc::kInternal, "curl_slist_append failed");
        (void)resolve.release();
        resolve.reset(next);
    }
    if (resolve) curl_easy_setopt(h, CURLOPT_RESOLVE, resolve.get());

    std::unique_ptr<curl_slist, SlistFree> headers;
    // No "Expect: 100-continue" round trip on POST bodies.
    std::vector<std::string> lines{"Expect:"};
    for (const auto& [k, v] : req.headers) lines.push_back(k + ": " + v);
    for (const auto& l : lines) {
        curl_slist* next = curl_slist_append(headers.get(), l.c_str());
        if (next == nullptr) return make_error(Errc::kInternal, "curl_slist_append failed");
        (void)headers.release();
        headers.reset(next);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());

    if (req.method == "HEAD") {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (req.method == "POST") {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.body.data());
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    }

    CURLcode rc = curl_easy_perform(h);
    if (sink.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
        return make_error(Errc::kTooLarge, req.url + ": response body larger than " +
                                               std::to_string(opts_.max_body) + " bytes");
    }
    if (rc != CURLE_OK) {
        std::string why = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
        Errc code = rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL
                        ? Errc::kInvalidArgument
                        : Errc::kUnavailable;
        return make_error(code, req.url + ": " + why);
    }
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    res.status = static_cast<int>(status);
    return res;
}

Result<ClientResponse> HttpClient::get(std::string url) const {
    ClientRequest r;
    r.url = std::move(url);
    return fetch(r);
}

Result<ClientResponse> HttpClient::head(std::string url) const {
    ClientRequest r;
    r.method = "HEAD";
    r.url = std::move(url);
    return fetch(r);
}

Result<ClientResponse> HttpClient::post(std::string url, std::string body,
                                        std::string content_type) const {
    ClientRequest r;
    r.method = "POST";
    r.url = std::move(url);
    r.body = std::move(body);
    r.headers.emplace_back("Content-Type", std::move(content_type));
    return fetch(r);
}

}  // namespace moat::edge
