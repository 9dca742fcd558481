#!/usr/bin/env python3
"""Broken MX hosts for `moat check mail` fixtures.

usage: stub_smtp.py PLAIN_PORT TLS_PORT CERT KEY
PLAIN_PORT: an SMTP server that does not offer STARTTLS.
TLS_PORT:   an SMTP server offering STARTTLS with the given (e.g. expired) certificate.
Both on 127.0.0.1; each connection is handled in a thread and closed after QUIT or 30 s.
"""
import socket
import socketserver
import ssl
import sys

plain_port, tls_port, cert, key = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)


def make(offer_tls):
    class H(socketserver.StreamRequestHandler):
        timeout = 30

        def handle(self):
            self.wfile.write(b"220 stub.test ESMTP\r\n")
            while True:
                line = self.rfile.readline(1000)
                if not line:
                    return
                cmd = line.strip().upper()
                if cmd.startswith(b"EHLO"):
                    ext = b"250-stub.test\r\n250-PIPELINING\r\n"
                    ext += (b"250-STARTTLS\r\n" if offer_tls else b"") + b"250 8BITMIME\r\n"
                    self.wfile.write(ext)
                elif cmd == b"STARTTLS" and offer_tls:
                    self.wfile.write(b"220 go ahead\r\n")
                    self.wfile.flush()
                    try:
                        s = ctx.wrap_socket(self.connection, server_side=True)
                        s.recv(100)
                        s.close()
                    except (ssl.SSLError, OSError):
                        pass
                    return
                elif cmd == b"QUIT":
                    self.wfile.write(b"221 bye\r\n")
                    return
                else:
                    self.wfile.write(b"502 no\r\n")
    return H


class S(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


a = S(("127.0.0.1", plain_port), make(False))
b = S(("127.0.0.1", tls_port), make(True))
import threading
threading.Thread(target=a.serve_forever, daemon=True).start()
print("ready", flush=True)
b.serve_forever()
