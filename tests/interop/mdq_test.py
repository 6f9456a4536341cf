#!/usr/bin/python3
# SPDX-License-Identifier: EUPL-1.2
"""MDQ and aggregate serving against the real metadata server example.

Starts interkonto-metadata-server on 127.0.0.1 (port 0, the bound port read
from its stdout) with a signing key made by the openssl CLI and a few
EntityDescriptor inputs; checks the aggregate's ETag / Last-Modified / 304
and the MDQ endpoints with curl; runs mdq_client_check (interkonto's
MdqClient: lookups by entityID and {sha1}, signature verified with the pinned
certificate, negative cache, cacheDuration with an injected clock, wrong
pinned key); reloads on SIGHUP; checks HTTPS; stops the server with SIGTERM.
Prints one line per case and "N passed, M failed"; exit 1 when any failed.
"""

import argparse
import atexit
import hashlib
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse

CONTENT_TYPE = "application/samlmetadata+xml"
CACHE_SECONDS = 600  # --cache-duration PT10M

IDP_NRW = "https://idp.servicekonto.nrw.example/idp/shibboleth"
SP_TH = "https://sk.thueringen.example/saml/sp?tenant=bau&lang=de"
IDP_TH = "urn:fink:idp:thueringen"
NEW_ENTITY = "https://idp.servicekonto.bayern.example/idp"
UNKNOWN = "https://unknown.example/idp"

passed = 0
failed = 0
processes = []


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print(f"ok: {name}", flush=True)
    else:
        failed += 1
        print(f"FAIL: {name}" + (f": {detail}" if detail else ""), flush=True)
    return cond


def run(cmd, timeout=60, **kw):
    return subprocess.run(cmd, capture_output=True, timeout=timeout, **kw)


def kill_all():
    for p in processes:
        if p.poll() is None:
            p.kill()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass


atexit.register(kill_all)


def openssl_cert(workdir, name, extra=()):
    key = os.path.join(workdir, name + ".key")
    crt = os.path.join(workdir, name + ".crt")
    r = run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", crt,
             "-days", "3", "-subj", "/CN=" + name, *extra])
    if r.returncode != 0:
        sys.exit(f"openssl failed: {r.stderr.decode(errors='replace')}")
    return key, crt


def cert_base64(crt):
    with open(crt) as f:
        return "".join(l.strip() for l in f if "-----" not in l)


def entity_xml(entity_id, role, cert_b64, ns_decl=True):
    esc = entity_id.replace("&", "&amp;")
    ns = ' xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#"' \
        if ns_decl else ""
    key = (f'<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert_b64}'
           f'</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>')
    if role == "idp":
        body = (f'<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">{key}'
                f'<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" '
                f'Location="https://sso.example/{len(entity_id)}"/></md:IDPSSODescriptor>')
    else:
        body = (f'<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" '
                f'AuthnRequestsSigned="true" WantAssertionsSigned="true">{key}'
                f'<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" '
                f'Location="https://sk.thueringen.example/saml/acs" index="0"/></md:SPSSODescriptor>')
    return f'<md:EntityDescriptor{ns} entityID="{esc}">{body}</md:EntityDescriptor>'


def entities_xml(children, cert_b64):
    inner = "".join(entity_xml(e, r, cert_b64, ns_decl=False) for e, r in children)
    return ('<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
            f'xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Name="urn:fink:land:th">{inner}</md:EntitiesDescriptor>')


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def curl(url, headers=(), method=None, cacert=None):
    """Returns (status, headers dict lower-case, body bytes)."""
    cmd = ["curl", "-sS", "-g", "--max-time", "10", "-D", "-", "-o", "-"]
    if method:
        cmd += ["-X", method]
    if cacert:
        cmd += ["--cacert", cacert]
    for h in headers:
        cmd += ["-H", h]
    r = run(cmd + [url], timeout=20)
    if r.returncode != 0:
        return 0, {}, r.stderr
    raw = r.stdout
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return status, hdrs, body


def start_server(server, args, log_path, timeout=30):
    log = open(log_path, "ab")
    p = subprocess.Popen([server, *args], stdout=subprocess.PIPE, stderr=log)
    processes.append(p)
    deadline = time.monotonic() + timeout
    line = b""
    while time.monotonic() < deadline and not line.endswith(b"\n"):
        ready, _, _ = select.select([p.stdout], [], [], 0.5)
        if ready:
            chunk = os.read(p.stdout.fileno(), 256)
            if not chunk:
                break
            line += chunk
        if p.poll() is not None and not ready:
            break
    m = re.match(rb"listening on (https?://127\.0\.0\.1:(\d+)/)\n", line)
    if not m:
        p.kill()
        p.wait(timeout=10)
        with open(log_path, "rb") as f:
            sys.stderr.write(f.read().decode(errors="replace"))
        return None, None
    return p, m.group(1).decode()


def stop(p, sig=signal.SIGTERM, timeout=15):
    p.send_signal(sig)
    try:
        return p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(timeout=10)
        return None


def enc(entity_id):
    return urllib.parse.quote(entity_id, safe="")


def sha1_path(entity_id):
    return "%7Bsha1%7D" + hashlib.sha1(entity_id.encode()).hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--client", required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()

    shutil.rmtree(a.workdir, ignore_errors=True)
    os.makedirs(a.workdir)
    w = a.workdir
    sign_key, sign_crt = openssl_cert(w, "fink-signer")
    _, wrong_crt = openssl_cert(w, "someone-else")
    _, entity_crt = openssl_cert(w, "entity")
    tls_key, tls_crt = openssl_cert(w, "tls", ["-addext", "subjectAltName=IP:127.0.0.1"])
    b64 = cert_base64(entity_crt)

    nrw = os.path.join(w, "nrw.xml")
    th = os.path.join(w, "thueringen.xml")
    write(nrw, entity_xml(IDP_NRW, "idp", b64))
    write(th, entities_xml([(SP_TH, "sp"), (IDP_TH, "idp")], b64))
    known = [IDP_NRW, SP_TH, IDP_TH]
    log_path = os.path.join(w, "server.log")

    # Refuses duplicate entityIDs at start (exit 2, no port opened).
    r = run([a.server, "--port", "0", "--key", sign_key, "--cert", sign_crt, nrw, nrw], timeout=30)
    check("duplicate entityIDs refused at start (exit 2)", r.returncode == 2 and b"listening" not in r.stdout,
          f"rc {r.returncode}")

    p, base = start_server(a.server, ["--listen", "127.0.0.1", "--port", "0", "--key", sign_key, "--cert",
                                      sign_crt, "--valid-for", "P2D", "--cache-duration", "PT10M", "--name",
                                      "urn:fink:test", nrw, th], log_path)
    if not check("server starts and prints its port", p is not None):
        print(f"{passed} passed, {failed} failed")
        return 1

    # ---- aggregate: ETag, Last-Modified, 304
    st, h, body = curl(base)
    etag = h.get("etag", "")
    check("GET / is 200 with the metadata media type", st == 200 and h.get("content-type") == CONTENT_TYPE,
          f"{st} {h.get('content-type')}")
    check("aggregate ETag is the quoted SHA-256 of the body",
          etag == '"' + hashlib.sha256(body).hexdigest() + '"', etag)
    check("aggregate is a signed EntitiesDescriptor with validUntil and cacheDuration",
          b"EntitiesDescriptor" in body and b"<ds:Signature" in body and b'validUntil="' in body
          and b'cacheDuration="PT10M"' in body and b'Name="urn:fink:test"' in body)
    check("Cache-Control max-age from --cache-duration", h.get("cache-control") == f"max-age={CACHE_SECONDS}",
          h.get("cache-control", ""))
    last_modified = h.get("last-modified", "")
    check("Last-Modified present", re.match(r"^\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT$", last_modified),
          last_modified)
    for path in ("aggregate.xml", "entities"):
        st2, h2, body2 = curl(base + path)
        check(f"/{path} serves the same aggregate", st2 == 200 and body2 == body and h2.get("etag") == etag)
    st, h, b = curl(base, [f"If-None-Match: {etag}"])
    check("If-None-Match with the current ETag: 304, no body", st == 304 and b == b"" and h.get("etag") == etag,
          f"{st} {len(b)}")
    st, h, b = curl(base, [f"If-None-Match: \"x\", W/{etag}"])
    check("If-None-Match list with the weak form of the ETag: 304", st == 304, str(st))
    st, h, b = curl(base, ['If-None-Match: "0000"'])
    check("If-None-Match with another ETag: 200 with body", st == 200 and b == body, str(st))
    st, h, b = curl(base, [f"If-Modified-Since: {last_modified}"])
    check("If-Modified-Since = Last-Modified: 304", st == 304, str(st))
    st, h, b = curl(base, ["If-Modified-Since: Mon, 01 Jan 2001 00:00:00 GMT"])
    check("If-Modified-Since in the past: 200", st == 200 and b == body, str(st))
    st, h, b = curl(base, ['If-None-Match: "0000"', f"If-Modified-Since: {last_modified}"])
    check("If-None-Match takes precedence over If-Modified-Since", st == 200, str(st))
    st, h, b = curl(base, method="POST")
    check("POST: 405", st == 405, str(st))
    st, h, b = curl(base + "nothing-here")
    check("unknown path: 404", st == 404, str(st))

    # ---- MDQ with curl
    for eid in known:
        st, h, b = curl(base + "entities/" + enc(eid))
        ok = (st == 200 and h.get("content-type") == CONTENT_TYPE and b.count(b"<md:EntityDescriptor") == 1
              and b"EntitiesDescriptor" not in b and eid.replace("&", "&amp;").encode() in b
              and b"<ds:Signature" in b and h.get("etag") == '"' + hashlib.sha256(b).hexdigest() + '"')
        check(f"MDQ by entityID {eid}: one signed EntityDescriptor", ok, f"{st} {h.get('content-type')}")
        st2, h2, b2 = curl(base + "entities/" + sha1_path(eid))
        check(f"MDQ by {{sha1}} {eid}: the same answer", st2 == 200 and b2 == b and h2.get("etag") == h.get("etag"),
              str(st2))
        st3, _, _ = curl(base + "entities/{sha1}" + hashlib.sha1(eid.encode()).hexdigest().upper())
        check(f"MDQ by raw {{SHA1}} (upper-case hex) {eid}", st3 == 200, str(st3))
        st4, h4, b4 = curl(base + "entities/" + enc(eid), [f"If-None-Match: {h.get('etag')}"])
        check(f"MDQ If-None-Match {eid}: 304", st4 == 304 and b4 == b"", str(st4))
    st, _, _ = curl(base + "entities/" + enc(UNKNOWN))
    check("MDQ unknown entityID: 404", st == 404, str(st))
    st, _, _ = curl(base + "entities/" + sha1_path(UNKNOWN))
    check("MDQ unknown {sha1}: 404", st == 404, str(st))

    # ---- the library's MdqClient against the server
    cmd = [a.client, "--base", base, "--cert", sign_crt, "--wrong-cert", wrong_crt, "--cache-duration",
           str(CACHE_SECONDS), "--unknown", UNKNOWN]
    for eid in known:
        cmd += ["--known", eid]
    try:
        r = run(cmd, timeout=120)
        out = r.stdout.decode(errors="replace")
        for line in out.splitlines():
            if line.startswith("ok: "):
                check("MdqClient: " + line[4:], True)
            elif line.startswith("FAIL: "):
                check("MdqClient: " + line[6:], False)
        check("mdq_client_check exits 0", r.returncode == 0,
              f"rc {r.returncode} {r.stderr.decode(errors='replace')[-500:]}")
    except subprocess.TimeoutExpired:
        check("mdq_client_check finishes", False, "timeout")

    # ---- SIGHUP: re-read inputs and re-sign
    write(th, entities_xml([(SP_TH, "sp"), (IDP_TH, "idp"), (NEW_ENTITY, "idp")], b64))
    p.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 30
    new_etag = etag
    while time.monotonic() < deadline and new_etag == etag:
        time.sleep(0.2)
        _, h, _ = curl(base)
        new_etag = h.get("etag", etag)
    check("SIGHUP re-signs: the aggregate ETag changes", new_etag != etag)
    st, _, b = curl(base + "entities/" + enc(NEW_ENTITY))
    check("SIGHUP re-reads inputs: the new entity is served", st == 200 and NEW_ENTITY.encode() in b, str(st))
    st, _, _ = curl(base, [f"If-None-Match: {etag}"])
    check("the old ETag no longer gives 304", st == 200, str(st))
    write(th, "<not-metadata")
    p.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 30
    reload_failed = False
    while time.monotonic() < deadline and not reload_failed:
        time.sleep(0.2)
        with open(log_path, "rb") as f:
            reload_failed = b"reload failed" in f.read()
    check("a broken input makes the reload fail (logged)", reload_failed)
    st, h, _ = curl(base)
    check("a failed reload keeps serving the last good aggregate", st == 200 and h.get("etag") == new_etag
          and p.poll() is None, str(st))

    rc = stop(p)
    check("SIGTERM: clean shutdown, exit 0", rc == 0, f"rc {rc}")

    # ---- HTTPS
    write(th, entities_xml([(SP_TH, "sp"), (IDP_TH, "idp")], b64))
    p, tbase = start_server(a.server, ["--listen", "127.0.0.1", "--port", "0", "--tls-cert", tls_crt, "--tls-key",
                                       tls_key, "--key", sign_key, "--cert", sign_crt, nrw, th], log_path)
    if check("HTTPS server starts", p is not None and tbase.startswith("https://")):
        st, h, b = curl(tbase + "entities/" + enc(IDP_NRW), cacert=tls_crt)
        check("HTTPS MDQ lookup with the server's CA", st == 200 and IDP_NRW.encode() in b, str(st))
        st, _, _ = curl(tbase)
        check("HTTPS without the CA is refused by the client", st == 0, str(st))
        rc = stop(p, signal.SIGINT)
        check("SIGINT: clean shutdown, exit 0", rc == 0, f"rc {rc}")

    print(f"{passed} passed, {failed} failed", flush=True)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
