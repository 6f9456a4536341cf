#!/usr/bin/python3
# SPDX-License-Identifier: EUPL-1.2
"""The five-party Clara demo as processes: examples/clara/run.sh on free ports.

1. `run.sh --journey` (fresh DIR: setup makes the demo CA, keys, metadata and
   the aggregate signed by `interkonto metadata sign`): exit 0, every step
   printed, the last one the Bauvoranfrage form filled with Clara's data; no
   process of the run left afterwards (by the PIDs in DIR/run.pids).
2. run.sh in the foreground, stopped like Ctrl-C (SIGINT to its process
   group): all five stop, run.sh exits 130.
3. run.sh in the foreground, SIGTERM to run.sh alone: its trap stops the
   five, exit 143.
4. One party (the portal) with the metadata server down: without a backing
   file it starts anyway and answers 503 "federation unavailable", and once
   the metadata server is up it recovers by itself (retry); with the backing
   file of run 1 it works at once (302 to its Servicekonto).

Addresses 127.0.0.2-6 (Linux routes all of 127/8 to lo); one port free on all
five is picked. Exit 77 (skip) only when those addresses cannot be bound.
"""

import argparse
import os
import re
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

ADDRS = ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6"]

passed = 0
failed = 0


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print(f"ok: {name}", flush=True)
    else:
        failed += 1
        print(f"FAIL: {name}" + (f": {detail}" if detail else ""), flush=True)
    return cond


def free_port():
    """A port free on all five addresses (bounded number of tries)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind((ADDRS[0], 0))
            port = s.getsockname()[1]
        ok = True
        for a in ADDRS:
            with socket.socket() as s:
                try:
                    s.bind((a, port))
                except OSError:
                    ok = False
                    break
        if ok:
            return port
    return None


def read_pids(workdir):
    pids = {}
    try:
        with open(os.path.join(workdir, "run.pids"), encoding="utf-8") as f:
            for line in f:
                name, pid = line.split()
                pids[name] = int(pid)
    except FileNotFoundError:
        pass
    return pids


def alive(pid):
    """True if pid is a live (non-zombie) process of ours (interkonto binary)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z" and b"interkonto" in cmd


def check_none_left(label, workdir):
    logs = os.path.join(workdir, "logs")
    reports = []
    for name in sorted(os.listdir(logs)) if os.path.isdir(logs) else []:
        with open(os.path.join(logs, name), encoding="utf-8", errors="replace") as f:
            text = f.read()
        if "Sanitizer" in text or "runtime error:" in text:
            reports.append(f"{name}:\n{text[-3000:]}")
    check(f"{label}: no sanitizer report in the processes' logs", not reports, "\n".join(reports))
    pids = read_pids(workdir)
    check(f"{label}: run.pids lists the five processes", len(pids) == 5, str(pids))
    left = {n: p for n, p in pids.items() if alive(p)}
    check(f"{label}: no process of the run left", not left, str(left))
    for p in left.values():  # do not leak them into the next case
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass


def run_sh_cmd(args, workdir, port):
    return ["bash", args.run_sh, "--dir", workdir, "--build-dir", args.build_dir, "--port", str(port)]


def foreground_case(args, env, workdir, port, label, how):
    """Starts run.sh in the foreground, waits for its banner, stops it `how`."""
    p = subprocess.Popen(run_sh_cmd(args, workdir, port), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         env=env, start_new_session=True)
    out = b""
    deadline = time.monotonic() + args.start_timeout
    ready = False
    while time.monotonic() < deadline and p.poll() is None:
        r, _, _ = select.select([p.stdout], [], [], 0.5)
        if r:
            chunk = os.read(p.stdout.fileno(), 65536)
            if not chunk:
                break
            out += chunk
            if b"Ctrl-C stops all five" in out:
                ready = True
                break
    text = out.decode(errors="replace")
    check(f"{label}: banner with the portal URL and Clara's credentials",
          ready and f"https://127.0.0.6:{port}/bauvoranfrage" in text and "clara / clara-nrw" in text, text)
    if ready:
        # The portal answers through TLS with the demo CA: 302 to its Servicekonto.
        ctx = ssl.create_default_context(cafile=os.path.join(workdir, "ca", "ca.pem"))
        status, location = http_get2(f"https://127.0.0.6:{port}/bauvoranfrage", ctx)
        check(f"{label}: portal /bauvoranfrage redirects to Servicekonto Thüringen",
              status in (302, 303) and location.startswith(f"https://127.0.0.5:{port}/"), f"{status} {location}")
    if how == "ctrl-c":
        os.killpg(p.pid, signal.SIGINT)  # what the terminal does on Ctrl-C
        want = 130
    else:
        p.send_signal(signal.SIGTERM)  # run.sh alone: its trap must stop the five
        want = 143
    try:
        rest, _ = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        rest, _ = p.communicate()
    text += rest.decode(errors="replace")
    check(f"{label}: run.sh exits {want}", p.returncode == want, f"rc={p.returncode}\n{text}")
    check(f"{label}: run.sh says it stopped all five", "stopped all 5 processes" in text, text)
    check_none_left(label, workdir)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def http_get(url, ctx):
    opener = urllib.request.build_opener(NoRedirect, urllib.request.HTTPSHandler(context=ctx))
    try:
        with opener.open(url, timeout=20) as r:
            return r.status, r.headers.get("Location", "") or "", r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Location", "") or "", e.read().decode(errors="replace")
    except OSError as e:
        return 0, "", str(e)


def http_get2(url, ctx):
    status, location, _ = http_get(url, ctx)
    return status, location


def metadata_down_case(args, workdir, port):
    """The portal alone; the metadata server's port is closed."""
    ctx = ssl.create_default_context(cafile=os.path.join(workdir, "ca", "ca.pem"))
    base = f"https://127.0.0.6:{port}"
    dead_md = f"https://127.0.0.2:{port}/aggregate.xml"  # nothing listens there now
    for label, backing in (("no backing file", os.path.join(workdir, "state", "portal-fresh.backing.xml")),
                           ("backing file", os.path.join(workdir, "state", "portal.backing.xml"))):
        cmd = [args.clara, "--role", "portal", "--base-url", base,
               "--tls-cert", os.path.join(workdir, "tls", "portal.pem"),
               "--tls-key", os.path.join(workdir, "tls", "portal.key"),
               "--saml-key", os.path.join(workdir, "saml", "portal.key"),
               "--saml-cert", os.path.join(workdir, "saml", "portal.pem"),
               "--saml-enc-key", os.path.join(workdir, "saml", "portal-enc.key"),
               "--saml-enc-cert", os.path.join(workdir, "saml", "portal-enc.pem"),
               "--federation-url", dead_md,
               "--federation-cert", os.path.join(workdir, "federation", "signing.pem"),
               "--ca", os.path.join(workdir, "ca", "ca.pem"),
               "--backing-file", backing, "--servicekonto", f"https://127.0.0.5:{port}", "--retry", "PT2S"]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            r, _, _ = select.select([p.stdout], [], [], args.start_timeout)
            line = p.stdout.readline().decode(errors="replace") if r else ""
            if not check(f"metadata server down, {label}: the portal starts", line.startswith("listening on "),
                         line):
                continue
            status, location, body = http_get(base + "/bauvoranfrage", ctx)
            if label == "no backing file":
                check("metadata server down, no backing file: 503 federation unavailable page",
                      status == 503 and "<html" in body.lower() and ("föderation" in body.lower() or "federation" in body.lower()), f"{status} {body[:300]}")
                check("metadata server down, no backing file: the party keeps retrying and recovers once "
                      "the metadata server is up", recovers(args, workdir, port, base, ctx), "")
            else:
                check("metadata server down, backing file: the portal works (redirect to its Servicekonto)",
                      status in (302, 303) and location.startswith(f"https://127.0.0.5:{port}/"),
                      f"{status} {location} {body[:300]}")
        finally:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            check(f"metadata server down, {label}: SIGTERM stops it cleanly", p.returncode == 0,
                  f"rc={p.returncode}")


def recovers(args, workdir, port, base, ctx):
    """Starts the metadata server; the portal (--retry PT2S) must leave the 503 page (bounded)."""
    md = subprocess.Popen([args.metadata_server, "--listen", "127.0.0.2", "--port", str(port),
                           "--tls-cert", os.path.join(workdir, "tls", "metadata-server.pem"),
                           "--tls-key", os.path.join(workdir, "tls", "metadata-server.key"),
                           "--signed", os.path.join(workdir, "metadata", "aggregate.xml")],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        r, _, _ = select.select([md.stdout], [], [], args.start_timeout)
        if not r or not md.stdout.readline().startswith(b"listening on "):
            print("metadata server did not start")
            return False
        with open(os.path.join(workdir, "metadata", "aggregate.xml"), "rb") as f:
            signed = f.read()
        opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=ctx))
        try:
            with opener.open(f"https://127.0.0.2:{port}/aggregate.xml", timeout=20) as resp:
                served = resp.read()
        except OSError as e:
            served = str(e).encode()
        check("metadata server --signed serves the aggregate of `interkonto metadata sign` byte for byte",
              served == signed, f"{len(served)} vs {len(signed)} bytes")
        deadline = time.monotonic() + 60
        status = 0
        while time.monotonic() < deadline:
            status, _, _ = http_get(base + "/bauvoranfrage", ctx)
            if status in (302, 303):
                return True
            time.sleep(0.5)
        print(f"still {status} after 60 s")
        return False
    finally:
        md.send_signal(signal.SIGTERM)
        try:
            md.wait(timeout=30)
        except subprocess.TimeoutExpired:
            md.kill()
            md.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run-sh", required=True)
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--cli", required=True)
    ap.add_argument("--clara", required=True)
    ap.add_argument("--journey", required=True)
    ap.add_argument("--metadata-server", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--start-timeout", type=float, default=120)
    args = ap.parse_args()

    if shutil.which("openssl") is None:
        print("SKIP: the openssl command is missing")
        return 77
    port = None
    try:
        port = free_port()
    except OSError as e:
        print(f"SKIP: cannot bind the loopback addresses 127.0.0.2-6: {e}")
        return 77
    if port is None:
        print("FAIL: no port free on all of 127.0.0.2-6")
        return 1

    workdir = os.path.abspath(args.workdir)
    shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(workdir)
    env = dict(os.environ)
    env.update(INTERKONTO_CLI=args.cli, INTERKONTO_CLARA=args.clara, INTERKONTO_CLARA_JOURNEY=args.journey,
               INTERKONTO_METADATA_SERVER=args.metadata_server)
    print(f"port {port}, workdir {workdir}", flush=True)

    # 1. The journey, headless.
    t0 = time.monotonic()
    try:
        r = subprocess.run(run_sh_cmd(args, workdir, port) + ["--journey"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, env=env, timeout=900)
        out, rc = r.stdout.decode(errors="replace"), r.returncode
    except subprocess.TimeoutExpired as e:
        out, rc = (e.stdout or b"").decode(errors="replace"), -1
    print(out, flush=True)
    print(f"(run.sh --journey took {time.monotonic() - t0:.1f} s)", flush=True)
    check("journey: run.sh --journey exits 0", rc == 0, f"rc={rc}")
    for step in ("portal /bauvoranfrage", "proxy SSO", "discovery page", "choose Servicekonto.NRW",
                 "NRW SSO (login form)", "NRW login", "consent", "proxy ACS", "portal ACS"):
        check(f"journey: step '{step}' printed with a timing",
              re.search(r"^\s*\d+\s+" + re.escape(step) + r"\s.*\d+\.\d ms$", out, re.M) is not None)
    check("journey: the last step is the Bauvoranfrage form (200)",
          re.search(r"^\s*\d+\s+Bauvoranfrage form\s+GET\s+\S+/bauvoranfrage\s+200\s", out, re.M) is not None)
    check("journey: the form is filled with Clara's data",
          "form filled: Clara Schmidt, Königsallee 1, 40212 Düsseldorf" in out and "journey OK" in out)
    check("journey: the aggregate was signed and verified by the CLI",
          "interkonto metadata verify: OK" in out)
    check_none_left("journey", workdir)

    # 2./3. Foreground, stopped by Ctrl-C (process group) and by SIGTERM to run.sh.
    foreground_case(args, env, workdir, port, "Ctrl-C", "ctrl-c")
    foreground_case(args, env, workdir, port, "SIGTERM", "sigterm")

    # 4. Metadata server down at start.
    metadata_down_case(args, workdir, port)

    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
