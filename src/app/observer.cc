#include "app/observer.h"

#include <string>
#include <string_view>

namespace moat::app {
namespace {

const char* result_name(edge::ResultType t) {
    switch (t) {
        case edge::ResultType::kHit:
            return "Hit";
        case edge::ResultType::kMiss:
            return "Miss";
        case edge::ResultType::kRedirect:
            return "Redirect";
        case edge::ResultType::kError:
            return "Error";
    }
    return "Error";
}

// Metrics::site() takes a lock; remember the last answer per thread, which is nearly always
// the next one too (a worker serves runs of requests for the same site).
edge::SiteCounters* counters_for(edge::Metrics& m, const edge::Response& res) {
    if (res.log_site.empty()) return m.other();
    thread_local edge::Metrics* last_metrics = nullptr;
    thread_local std::string last_site, last_env;
    thread_local edge::SiteCounters* last = nullptr;
    if (last_metrics != &m || last_site != res.log_site || last_env != res.log_env) {
        last = m.site(res.log_site, res.log_env);
        last_metrics = &m;
        last_site = res.log_site;
        last_env = res.log_env;
    }
    return last;
}

}  // namespace

void EdgeObserver::on_exchange(const edge::ConnInfo& conn, const edge::Request& req,
                               const edge::Response& res, std::uint64_t bytes_sent,
                               std::chrono::steady_clock::time_point start, bool completed) {
    counters_for(metrics_, res)->count_request(res.status, bytes_sent);
    if (res.result == edge::ResultType::kHit)
        metrics_.cache_hit();
    else if (res.result == edge::ResultType::kMiss)
        metrics_.cache_miss();
    if (!log_ || res.log_site.empty()) return;

    // Views into the request, response and connection: the log formats the line straight into
    // this thread's batch, so nothing here allocates.
    auto now = std::chrono::steady_clock::now();
    edge::AccessView r;
    r.site = res.log_site;
    r.env = res.log_env;
    r.time = std::chrono::system_clock::now();
    r.sc_bytes = bytes_sent;
    r.client_ip = conn.peer_ip;
    r.client_port = conn.peer_port;
    r.method = req.method_name;
    r.cs_host = res.log_site;
    r.uri_stem = req.path;
    r.status = res.status;
    // One pass over the headers for the four logged ones (the first of each, as
    // Request::header()) and the request size.
    bool referer = false, user_agent = false, cookie = false, forwarded_for = false;
    std::uint64_t cs_bytes = 0;
    for (const auto& h : req.headers) {
        cs_bytes += h.name.size() + h.value.size() + 4;
        const auto& n = h.name;
        if (!referer && n == "referer") {
            r.referer = h.value;
            referer = true;
        } else if (!user_agent && n == "user-agent") {
            r.user_agent = h.value;
            user_agent = true;
        } else if (!cookie && n == "cookie") {
            r.cookie = h.value;
            cookie = true;
        } else if (!forwarded_for && n == "x-forwarded-for") {
            r.forwarded_for = h.value;
            forwarded_for = true;
        }
    }
    r.query = req.query;
    std::string_view result = completed ? result_name(res.result) : "Error";
    r.result_type = result;
    r.response_result_type = result_name(res.result);
    r.detailed_result_type = completed ? result : "ClientCommError";
    r.new_request_id = true;
    r.host_header = req.host;
    r.protocol = conn.secure ? "https" : "http";
    r.cs_bytes = cs_bytes + req.method_name.size() + req.target.size() + 12;
    r.time_taken = std::chrono::duration_cast<std::chrono::microseconds>(now - start);
    r.time_to_first_byte = r.time_taken;
    r.ssl_protocol = conn.tls_protocol;
    r.ssl_cipher = conn.tls_cipher;
    r.protocol_version = req.version == 20   ? "HTTP/2.0"
                         : req.version == 10 ? "HTTP/1.0"
                                             : "HTTP/1.1";
    r.content_type = res.content_type;
    if (!res.no_body) r.content_len = static_cast<std::int64_t>(res.body.length);
    if (res.status == 206) {
        r.range_start = static_cast<std::int64_t>(res.range_start);
        r.range_end = static_cast<std::int64_t>(res.range_end);
    }
    log_->submit(r);
}

void EdgeObserver::on_connection(bool opened) {
    if (opened)
        metrics_.connection_opened();
    else
        metrics_.connection_closed();
}

void EdgeObserver::on_shed() { metrics_.connection_shed(); }

void EdgeObserver::on_handshake(bool ok, std::string_view reason) {
    if (ok) {
        metrics_.tls_handshake_ok();
        return;
    }
    edge::TlsFailure why = edge::TlsFailure::kOther;
    if (reason.find("timed out") != std::string_view::npos)
        why = edge::TlsFailure::kTimeout;
    else if (reason.find("unrecognized name") != std::string_view::npos ||
             reason.find("callback failed") != std::string_view::npos)
        why = edge::TlsFailure::kUnknownName;
    else if (reason.find("alert") != std::string_view::npos)
        why = edge::TlsFailure::kPeerAlert;
    else if (reason.find("version") != std::string_view::npos ||
             reason.find("cipher") != std::string_view::npos ||
             reason.find("protocol") != std::string_view::npos)
        why = edge::TlsFailure::kProtocol;
    metrics_.tls_handshake_failed(why);
}

}  // namespace moat::app
