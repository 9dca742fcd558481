// Entry points of a connection: TLS handshake and ALPN dispatch, or clear-text HTTP/1.1.

#include "edge/http1/connection.h"

#include <openssl/ssl.h>

#include <string_view>

#include "core/log.h"
#include "edge/http2/connection.h"
#include "edge/internal/connection.h"
#include "edge/stream.h"
#include "tls/server_context.h"

namespace moat::edge {
namespace {

ConnInfo describe(asio::ip::tcp::socket& sock, WorkerState* w, bool secure) {
    ConnInfo info;
    asio::error_code ec;
    auto peer = sock.remote_endpoint(ec);
    if (!ec) {
        auto a = peer.address();
        // Report IPv4-mapped peers as plain IPv4 (not expected: v6 listeners are v6-only).
        info.peer_ip = a.is_v6() && a.to_v6().is_v4_mapped()
                           ? asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).to_string()
                           : a.to_string();
        info.peer_port = peer.port();
    }
    auto local = sock.local_endpoint(ec);
    if (!ec) info.local_port = local.port();
    info.secure = secure;
    info.worker = w->index;
    return info;
}

}  // namespace

asio::awaitable<void> serve_tls_connection(asio::ip::tcp::socket sock, WorkerState* w) {
    Shared& sh = *w->shared;
    auto tls = sh.tls.load(std::memory_order_acquire);
    SSL* ssl = SSL_new(tls->native());
    if (!ssl) co_return;
    asio::error_code ec;
    auto local = sock.local_endpoint(ec);
    // Clients send no SNI for IP addresses: the local address picks an IP certificate then.
    if (!ec) tls::set_local_address(ssl, local.address().to_string());
    TlsStream s(std::move(sock), ssl);
    ConnControl ctl;
    ctl.sock = &s.socket();
    ConnGuard guard(*w, ctl);
    ConnInfo info = describe(s.socket(), w, true);
    Deadline dl(s.socket());
    dl.set(sh.settings.handshake_timeout);
    auto hs = co_await s.handshake();
    s.extend_on_progress(&dl, sh.settings.write_timeout);
    if (sh.observer) sh.observer->on_handshake(static_cast<bool>(hs), hs ? "" : hs.error().detail);
    if (!hs) {
        auto log = core::logger("tls");
        if (log->should_log(spdlog::level::debug))
            log->debug("handshake failed peer={} err={}", info.peer_ip, hs.error().detail);
        co_return;
    }
    info.tls_protocol = tls::protocol_name(ssl);
    info.tls_cipher = tls::cipher_name(ssl);
    if (const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) info.sni = sni;
    std::string_view chosen = tls::server_name(ssl);
    info.tls_host = chosen.find(':') == std::string_view::npos ? std::string(chosen)
                                                               : "[" + std::string(chosen) + "]";
    const unsigned char* alpn = nullptr;
    unsigned alpn_len = 0;
    SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
    if (std::string_view(reinterpret_cast<const char*>(alpn), alpn_len) == "h2")
        co_await http2::serve(s, ctl, dl, info, w);
    else
        co_await http1::serve(s, ctl, dl, info, w);
}

asio::awaitable<void> serve_plain_connection(asio::ip::tcp::socket sock, WorkerState* w) {
    PlainStream s(std::move(sock));
    ConnControl ctl;
    ctl.sock = &s.socket();
    ConnGuard guard(*w, ctl);
    ConnInfo info = describe(s.socket(), w, false);
    Deadline dl(s.socket());
    s.extend_on_progress(&dl, w->shared->settings.write_timeout);
    co_await http1::serve(s, ctl, dl, info, w);
}

}  // namespace moat::edge
