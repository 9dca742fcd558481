#!/usr/bin/env python3
# ACME Renewal Information (RFC 9773) in front of pebble 2.4, which has none, for
# tests/integration/test_acme_ari.sh. Only the directory goes through the stub: it is pebble's
# directory plus "renewalInfo": "<stub>/renewal-info/", so every other URL stays pebble's and
# the client talks to pebble directly for accounts, orders and challenges.
#
# GET /renewal-info/<certID> appends "<certID>" to CTRL/requests.log and answers 200 with the
# bytes of CTRL/window-<certID>.json if present, else CTRL/window.json (the test writes either,
# garbage included), with Retry-After: 21600; 404 when neither exists.
# usage: ari_stub.py PORT CERT KEY PEBBLE_DIRECTORY_URL CA_FILE CTRL
import http.server, json, os, re, ssl, sys, urllib.request

port, cert, key, pebble_dir, ca_file, ctrl = sys.argv[1:7]
port = int(port)
base = f"https://127.0.0.1:{port}"
client_ctx = ssl.create_default_context(cafile=ca_file)
# RFC 9773 §4.1: certID is base64url(AKI keyIdentifier) "." base64url(serial), unpadded.
cert_id_re = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")


class H(http.server.BaseHTTPRequestHandler):
    def answer(self, status, body, extra=()):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/dir":
            with urllib.request.urlopen(pebble_dir, context=client_ctx, timeout=10) as r:
                d = json.load(r)
            d["renewalInfo"] = base + "/renewal-info/"
            self.answer(200, json.dumps(d).encode())
            return
        if self.path.startswith("/renewal-info/"):
            cert_id = self.path[len("/renewal-info/"):]
            with open(os.path.join(ctrl, "requests.log"), "a") as log:
                log.write(cert_id + "\n")
            if not cert_id_re.match(cert_id):
                self.answer(400, b'{"type":"urn:ietf:params:acme:error:malformed"}')
                return
            for name in (f"window-{cert_id}.json", "window.json"):
                path = os.path.join(ctrl, name)
                if os.path.exists(path):
                    with open(path, "rb") as f:
                        self.answer(200, f.read(), [("Retry-After", "21600")])
                    return
        self.answer(404, b'{"type":"urn:ietf:params:acme:error:malformed"}')

    def log_message(self, *a):
        pass


srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
