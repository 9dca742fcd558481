#!/usr/bin/env python3
# A tiny ACME CA stand-in for tests/integration/test_acme_failures.sh and test_acme_backoff.sh:
# serves a directory, nonces and a new account, and answers every newOrder with 429
# rateLimited + Retry-After, after DELAY seconds (default 0), and counts the orders it refused
# in COUNT_FILE when given.
# usage: ratelimit_stub.py PORT CERT KEY [DELAY [COUNT_FILE]]
import http.server, json, ssl, sys, time

port, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
delay = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
count_file = sys.argv[5] if len(sys.argv) > 5 else None
orders = [0]
base = f"https://127.0.0.1:{port}"
n = [0]

class H(http.server.BaseHTTPRequestHandler):
    def send(self, status, body, extra=()):
        data = json.dumps(body).encode()
        n[0] += 1
        self.send_response(status)
        self.send_header("Replay-Nonce", f"stub-nonce-{n[0]}")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_GET(self):
        self.send(200, {"newNonce": base + "/nonce", "newAccount": base + "/acct",
                        "newOrder": base + "/order"})

    def do_HEAD(self):
        self.send(200, {})

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path == "/acct":
            self.send(201, {"status": "valid"}, [("Location", base + "/acct/1")])
        else:
            time.sleep(delay)
            orders[0] += 1
            if count_file:
                with open(count_file, "w") as f:
                    f.write(str(orders[0]))
            self.send(429, {"type": "urn:ietf:params:acme:error:rateLimited",
                            "detail": "too many new orders recently"}, [("Retry-After", "3600")])

    def log_message(self, *a):
        pass

srv = http.server.HTTPServer(("127.0.0.1", port), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
