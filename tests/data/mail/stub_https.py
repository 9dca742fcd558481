#!/usr/bin/env python3
"""Misbehaving MTA-STS policy hosts for `moat check mail` fixtures.

usage: stub_https.py PORT CERT KEY WRONGCERT WRONGKEY POLICYDIR
Serves https://mta-sts.<domain>/.well-known/mta-sts.txt on 127.0.0.1:PORT. The domain's first
label picks the misbehaviour; the body is POLICYDIR/<domain>.txt (re-read on every request).
  ctype.*     Content-Type: text/html
  redirect.*  301 to the same path on another host
  notfound.*  404
  wrongcert.* a certificate that does not name mta-sts.<domain> (chosen by SNI)
  anything else: 200 text/plain
"""
import http.server
import os
import ssl
import sys

port, cert, key, wcert, wkey, pdir = sys.argv[1:7]


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        host = (self.headers.get("Host") or "").split(":")[0].lower()
        domain = host[len("mta-sts."):] if host.startswith("mta-sts.") else host
        kind = domain.split(".")[0]
        try:
            with open(os.path.join(pdir, domain + ".txt"), "rb") as f:
                body = f.read()
        except OSError:
            body = b"version: STSv1\nmode: enforce\nmx: mx." + domain.encode() + b"\nmax_age: 604800\n"
        if self.path != "/.well-known/mta-sts.txt" or kind == "notfound":
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if kind == "redirect":
            self.send_response(301)
            self.send_header("Location", "https://www." + domain + "/.well-known/mta-sts.txt")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html" if kind == "ctype" else "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def context(c, k):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(c, k)
    return ctx


good = context(cert, key)
wrong = context(wcert, wkey)


def pick(sock, name, _ctx):
    if name and name.startswith("mta-sts.wrongcert."):
        sock.context = wrong


good.sni_callback = pick
srv = http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), Handler)
srv.socket = good.wrap_socket(srv.socket, server_side=True)
print("ready", flush=True)
srv.serve_forever()
