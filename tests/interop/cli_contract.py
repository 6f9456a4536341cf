#!/usr/bin/python3
# SPDX-License-Identifier: EUPL-1.2
"""The contract of `interkonto verify-response`, checked to the letter.

  interkonto verify-response --sp-entity-id URI --acs-url URL --idp-metadata FILE
      [--sp-key FILE]... [--in-response-to ID] [--allow-unsolicited]
      [--now RFC3339-UTC] [--clock-skew SECONDS] RESPONSE_FILE

Keys, IdP metadata and SAML Responses are made here with exactly the
features each case needs, signed and encrypted by independent_signer.py
(lxml exclusive c14n and OpenSSL through python-cryptography; no interkonto
code). Every case runs the CLI as a process and asserts:

* the exit code (0 accepted, 1 rejected, 2 bad flags or unusable files);
* on exit 0, stdout is exactly one line holding one JSON object with the
  contract's keys and values;
* on exit 1 and 2, stdout is empty; on exit 1, stderr is exactly one line
  `<code>: <detail>` with the expected code.

  cli_contract.py --cli <build>/tools/interkonto/interkonto --workdir DIR [--only NAME]...

Prints "ok <case>" or "FAIL <case>: why" per case and "N passed, M failed";
exits 1 when anything failed.
"""

import argparse
import base64
import datetime
import itertools
import json
import os
import re
import shutil
import subprocess
import sys

from lxml import etree

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import independent_signer as s  # noqa: E402

# --------------------------------------------------------------------------
# Parties and fixed values

NOW = "2026-05-04T10:00:00Z"
SP_ENTITY_ID = "https://portal.thueringen.example/saml/sp"
ACS_URL = "https://portal.thueringen.example/saml/acs"
OTHER_SP = "https://portal.sachsen.example/saml/sp"
IDP_ENTITY_ID = "https://servicekonto.nrw.example/idp"
OTHER_IDP = "https://servicekonto.bayern.example/idp"
REQUEST_ID = "_7f3c2a91d0e84b6f9a5c1e2d3b4a5c6d"
OTHER_REQUEST_ID = "_0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e"

TRANSIENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
ENTITY_FMT = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"
URI_FMT = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"
BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
SENDER_VOUCHES = "urn:oasis:names:tc:SAML:2.0:cm:sender-vouches"
SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
RESPONDER = "urn:oasis:names:tc:SAML:2.0:status:Responder"
AUTHN_FAILED = "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed"
POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
CLASS_REF = "STORK-QAA-Level-3"
DECL_REF = "https://servicekonto.nrw.example/authn/decl/eid"

GIVEN_NAME = "urn:oid:2.5.4.42"
SURNAME = "urn:oid:2.5.4.4"
MAIL = "urn:oid:0.9.2342.19200300.100.1.3"
POSTAL = "urn:oid:2.5.4.16"
LOCALITY = "urn:oid:2.5.4.7"

NAME_ID = "_5d0e2f7c1a9b4c3d8e6f0a1b2c3d4e5f"
SESSION_INDEX = "_s8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f"

DEFAULT_STATEMENTS = [[
    (GIVEN_NAME, ["CLARA"]),
    (SURNAME, ["MÜLLER-LÜDENSCHEIDT"]),
    (MAIL, ["clara.mueller@example.org", "c.mueller@example.net"]),
]]
DEFAULT_ATTRIBUTES = {
    GIVEN_NAME: ["CLARA"],
    SURNAME: ["MÜLLER-LÜDENSCHEIDT"],
    MAIL: ["clara.mueller@example.org", "c.mueller@example.net"],
}

ERROR_CODES = {
    "malformed", "dtd_forbidden", "too_large", "schema_invalid", "signature_missing",
    "signature_invalid", "wrapping", "untrusted_key", "algorithm_refused", "unknown_issuer",
    "issuer_mismatch", "destination_mismatch", "recipient_mismatch", "audience_mismatch",
    "in_response_to_mismatch", "unsolicited", "not_yet_valid", "expired",
    "subject_confirmation_invalid", "status_not_success", "replayed",
    "authn_context_insufficient", "decryption_failed", "untrusted_metadata",
}
JSON_KEYS = ["issuer", "nameId", "nameIdFormat", "sessionIndex", "authnContextClassRef",
             "notOnOrAfter", "attributes"]
RFC3339_UTC = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?Z$")

# --------------------------------------------------------------------------
# Time


def parse_utc(text):
    """An RFC 3339 UTC string -> (aware datetime, extra nanoseconds beyond
    the microsecond) so instants can be compared exactly; None if `text` is
    not RFC 3339 with a `Z` suffix."""
    m = RFC3339_UTC.match(text or "")
    if not m:
        return None
    y, mo, d, h, mi, sec = (int(x) for x in m.groups()[:6])
    frac = (m.group(7) or "").ljust(9, "0")
    dt = datetime.datetime(y, mo, d, h, mi, sec, int(frac[:6]), tzinfo=datetime.timezone.utc)
    return dt, int(frac[6:9])


def utc(dt):
    """Aware datetime -> RFC 3339 UTC, milliseconds only when non-zero."""
    dt = dt.astimezone(datetime.timezone.utc)
    out = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if dt.microsecond:
        out += ".%03d" % (dt.microsecond // 1000)
    return out + "Z"


def at(base, seconds):
    """`base` (RFC 3339 UTC) shifted by `seconds` (may be fractional)."""
    dt, _ = parse_utc(base)
    return utc(dt + datetime.timedelta(seconds=seconds))


def standard_times(now):
    """A usual response around `now`: issued 2 s before, Conditions
    [now-30s, now+5min), bearer data until now+4min30s (the earlier one)."""
    return dict(issue=at(now, -2), authn=at(now, -19), not_before=at(now, -30),
                cond_noa=at(now, 300), scd_noa=at(now, 270), session_noa=at(now, 8 * 3600))


# --------------------------------------------------------------------------
# Building responses


class Raw(str):
    """Element content given as an XML fragment (comments, CDATA, character
    references), kept as such in the serialised response."""


_ids = itertools.count(1)


def fresh_id(kind):
    return "_%s%030x" % (kind, next(_ids))


def sub(parent, ns, local, text=None, **attrs):
    e = etree.SubElement(parent, s.q(ns, local), **{k: v for k, v in attrs.items() if v is not None})
    if text is not None:
        e.text = text
    return e


def content_child(parent, ns, local, value, **attrs):
    """A child element whose content is `value`: plain text, or a Raw fragment."""
    if not isinstance(value, Raw):
        return sub(parent, ns, local, value, **attrs)
    prefix = {s.SAML: "saml", s.SAMLP: "samlp"}[ns]
    parser = etree.XMLParser(strip_cdata=False, resolve_entities=False, no_network=True)
    e = etree.fromstring('<%s:%s xmlns:%s="%s">%s</%s:%s>' % (prefix, local, prefix, ns, value,
                                                              prefix, local), parser)
    for k, v in attrs.items():
        if v is not None:
            e.set(k, v)
    parent.append(e)
    return e


def response_options(now=NOW, **over):
    o = dict(
        issuer=IDP_ENTITY_ID,            # Assertion Issuer
        response_issuer=IDP_ENTITY_ID,   # Response Issuer (None: absent)
        destination=ACS_URL,             # None: absent
        response_irt=REQUEST_ID,         # Response InResponseTo (None: absent)
        scd_irt=REQUEST_ID,              # bearer SubjectConfirmationData InResponseTo
        recipient=ACS_URL,               # bearer SubjectConfirmationData Recipient
        confirmations=None,              # list of dicts (method, recipient, noa, irt) or default
        conditions=True,
        audiences=[[SP_ENTITY_ID]],      # one list of Audience values per AudienceRestriction
        status=SUCCESS, status_sub=None, status_message=None,
        name_id=NAME_ID, name_id_format=TRANSIENT,
        authn_statement=True, session_index=SESSION_INDEX, class_ref=CLASS_REF,
        statements=DEFAULT_STATEMENTS,
        include_assertion=True,
        sign_assertion=True, sign_response=False,
        signer="idp",                    # key that signs (KEYS entry)
        encrypt=False,                   # encrypt the assertion for the SP key
        tamper_response=False,           # change signed Response content after signing
    )
    o.update(standard_times(now))
    o.update(over)
    return o


def build_response(env, **over):
    """Serialised samlp:Response bytes (UTF-8, with XML declaration)."""
    o = response_options(**over)
    key, cert = env.keys[o["signer"]], env.certs[o["signer"]]

    a = etree.Element(s.q(s.SAML, "Assertion"), nsmap={"saml": s.SAML}, ID=fresh_id("a"),
                      Version="2.0", IssueInstant=o["issue"])
    sub(a, s.SAML, "Issuer", o["issuer"], Format=ENTITY_FMT)
    subject = sub(a, s.SAML, "Subject")
    content_child(subject, s.SAML, "NameID", o["name_id"], Format=o["name_id_format"])
    confirmations = o["confirmations"]
    if confirmations is None:
        confirmations = [dict(method=BEARER, recipient=o["recipient"], noa=o["scd_noa"],
                              irt=o["scd_irt"])]
    for c in confirmations:
        sc = sub(subject, s.SAML, "SubjectConfirmation", Method=c.get("method", BEARER))
        sub(sc, s.SAML, "SubjectConfirmationData", NotOnOrAfter=c.get("noa"),
            Recipient=c.get("recipient"), InResponseTo=c.get("irt"))
    if o["conditions"]:
        cond = sub(a, s.SAML, "Conditions", NotBefore=o["not_before"], NotOnOrAfter=o["cond_noa"])
        for audiences in o["audiences"]:
            ar = sub(cond, s.SAML, "AudienceRestriction")
            for aud in audiences:
                sub(ar, s.SAML, "Audience", aud)
    if o["authn_statement"]:
        st = sub(a, s.SAML, "AuthnStatement", AuthnInstant=o["authn"],
                 SessionIndex=o["session_index"], SessionNotOnOrAfter=o["session_noa"])
        ctx = sub(st, s.SAML, "AuthnContext")
        if o["class_ref"]:
            sub(ctx, s.SAML, "AuthnContextClassRef", o["class_ref"])
        else:
            sub(ctx, s.SAML, "AuthnContextDeclRef", DECL_REF)
    for statement in o["statements"]:
        ats = sub(a, s.SAML, "AttributeStatement")
        for name, values in statement:
            attr = sub(ats, s.SAML, "Attribute", Name=name, NameFormat=URI_FMT)
            for value in values:
                content_child(attr, s.SAML, "AttributeValue", value)
    if o["sign_assertion"]:
        s.sign_enveloped(a, key, cert, s.SIG_RSA_SHA256, level=2)

    payload = a
    if o["encrypt"]:
        plaintext = etree.tostring(a, encoding="UTF-8", xml_declaration=False)
        payload = s.encrypt_element(plaintext, s.q(s.SAML, "EncryptedAssertion"),
                                    env.keys["sp"].public_key(), s.ENC_AES256_GCM,
                                    s.KT_RSA_OAEP11, digest=s.DIGEST_SHA256, mgf=s.MGF1_SHA256,
                                    ids=(fresh_id("ed"), fresh_id("ek")))

    r = etree.Element(s.q(s.SAMLP, "Response"), nsmap={"samlp": s.SAMLP, "saml": s.SAML},
                      ID=fresh_id("r"), Version="2.0", IssueInstant=o["issue"])
    if o["destination"] is not None:
        r.set("Destination", o["destination"])
    if o["response_irt"] is not None:
        r.set("InResponseTo", o["response_irt"])
    if o["response_issuer"] is not None:
        sub(r, s.SAML, "Issuer", o["response_issuer"], Format=ENTITY_FMT)
    status = sub(r, s.SAMLP, "Status")
    code = sub(status, s.SAMLP, "StatusCode", Value=o["status"])
    if o["status_sub"]:
        sub(code, s.SAMLP, "StatusCode", Value=o["status_sub"])
    if o["status_message"]:
        sub(status, s.SAMLP, "StatusMessage", o["status_message"])
    if o["include_assertion"]:
        r.append(payload)
    if o["sign_response"]:
        s.sign_enveloped(r, key, cert, s.SIG_RSA_SHA256, level=1)
    if o["tamper_response"]:
        r.set("IssueInstant", at(o["issue"], -1))  # covered by the Response signature
    return etree.tostring(r, encoding="UTF-8", xml_declaration=True), o


def self_check(env, data, o):
    """The response is what the case means it to be: schema-valid, and every
    signature that is not broken on purpose verifies with the signer's own
    reader. Returns an error string or None."""
    try:
        root = s.parse(data)
        if env.schema is not None and not env.schema.validate(root):
            return "schema: %s" % env.schema.error_log.last_error
        enc = root.find(s.q(s.SAML, "EncryptedAssertion"))
        if enc is not None:
            assertion = s.parse(s.decrypt(enc, env.keys["sp"]))
            if env.schema is not None and not env.schema.validate(assertion):
                return "decrypted assertion schema: %s" % env.schema.error_log.last_error
            enc.getparent().replace(enc, assertion)
        pub = env.certs[o["signer"]].public_key()
        for sig in root.iter(s.q(s.DS, "Signature")):
            try:
                s.verify_signature(sig, pub)
                broken = False
            except s.CheckError:
                broken = True
            want_broken = o["tamper_response"] and sig.getparent() is root
            if broken != want_broken:
                return "signature of %s %s" % (etree.QName(sig.getparent()).localname,
                                               "does not verify" if broken else "verifies")
        return None
    except Exception as e:  # noqa: BLE001 -- report, do not crash the run
        return "self-check crashed: %r" % e


# --------------------------------------------------------------------------
# Keys and metadata


def idp_entity(entity_id, cert, valid_until=None, nsmap=None):
    md = etree.Element(s.q(s.MD, "EntityDescriptor"), nsmap=nsmap or {"md": s.MD, "ds": s.DS},
                       entityID=entity_id)
    if valid_until:
        md.set("validUntil", valid_until)
    idp = sub(md, s.MD, "IDPSSODescriptor",
              protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol")
    kd = sub(idp, s.MD, "KeyDescriptor", use="signing")
    x5 = sub(sub(kd, s.DS, "KeyInfo"), s.DS, "X509Data")
    sub(x5, s.DS, "X509Certificate", s.cert_b64(cert, 64))
    sub(idp, s.MD, "NameIDFormat", TRANSIENT)
    sub(idp, s.MD, "SingleSignOnService", Binding=POST, Location=entity_id + "/sso/post")
    return md


def metadata_bytes(md):
    etree.indent(md, space="  ")
    return etree.tostring(md, encoding="UTF-8", xml_declaration=True)


def sp_only_metadata(cert):
    md = etree.Element(s.q(s.MD, "EntityDescriptor"), nsmap={"md": s.MD, "ds": s.DS},
                       entityID=OTHER_SP)
    sp = sub(md, s.MD, "SPSSODescriptor",
             protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol")
    kd = sub(sp, s.MD, "KeyDescriptor", use="encryption")
    x5 = sub(sub(kd, s.DS, "KeyInfo"), s.DS, "X509Data")
    sub(x5, s.DS, "X509Certificate", s.cert_b64(cert, 64))
    sub(sp, s.MD, "AssertionConsumerService", Binding=POST, Location=ACS_URL, index="0")
    return metadata_bytes(md)


class Env:
    def __init__(self, cli, workdir):
        self.cli = cli
        self.workdir = workdir
        self.keys, self.certs = {}, {}
        for name in ("idp", "rogue", "sp", "sp_old"):
            self.keys[name] = s.generate_key("rsa2048")
            self.certs[name] = s.self_signed_cert(self.keys[name], "cli contract " + name)
            self.write("keys/%s.key.pem" % name, s.key_pem(self.keys[name]))
            self.write("keys/%s.crt.pem" % name, s.cert_pem(self.certs[name]))
        self.schema = s.load_schema(workdir)
        self.metadata = {}
        self.add_metadata("idp", metadata_bytes(idp_entity(IDP_ENTITY_ID, self.certs["idp"])))
        self.problems = []

    def path(self, rel):
        return os.path.join(self.workdir, rel)

    def write(self, rel, data):
        p = self.path(rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb" if isinstance(data, bytes) else "w") as f:
            f.write(data)
        return p

    def add_metadata(self, name, data, check_schema=True):
        if check_schema and self.schema is not None:
            if not self.schema.validate(etree.fromstring(data)):
                raise SystemExit("metadata %s: %s" % (name, self.schema.error_log.last_error))
        self.metadata[name] = self.write("metadata/%s.xml" % name, data)
        return self.metadata[name]

    def response(self, name, check=True, **over):
        """Writes responses/<name>.xml; returns (path, bytes). A response the
        self-check rejects is recorded and fails its case."""
        data, o = build_response(self, **over)
        if check:
            err = self_check(self, data, o)
            if err:
                self.problems.append((name, err))
                raise BrokenVector(err)
        return self.write("responses/%s.xml" % name, data), data


class BrokenVector(Exception):
    pass


# --------------------------------------------------------------------------
# Running the CLI and judging the outcome


class Run:
    def __init__(self, argv, p):
        self.argv = argv
        self.rc = p.returncode
        self.out = p.stdout.decode("utf-8", "replace")
        self.err = p.stderr.decode("utf-8", "replace")

    def show(self):
        return "exit %d; stdout %r; stderr %r" % (self.rc, self.out[:300], self.err[:300])


def run_cli(env, args, stdin=None):
    argv = [env.cli] + args
    try:
        p = subprocess.run(argv, input=stdin, capture_output=True, timeout=60,
                           stdin=None if stdin is not None else subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise CaseFailure("CLI timed out after 60 s: %s" % " ".join(argv))
    return Run(argv, p)


def verify_args(response, now=NOW, irt=REQUEST_ID, unsolicited=False, metadata=None,
                keys=("sp",), skew=None, env=None, extra=()):
    args = ["verify-response", "--sp-entity-id", SP_ENTITY_ID, "--acs-url", ACS_URL,
            "--idp-metadata", metadata or env.metadata["idp"]]
    for k in keys:
        args += ["--sp-key", k if os.path.sep in k else env.path("keys/%s.key.pem" % k)]
    if irt is not None:
        args += ["--in-response-to", irt]
    if unsolicited:
        args.append("--allow-unsolicited")
    if now is not None:
        args += ["--now", now]
    if skew is not None:
        args += ["--clock-skew", str(skew)]
    return args + list(extra) + [response]


def verify(env, response, stdin=None, **kw):
    return run_cli(env, verify_args(response, env=env, **kw), stdin)


class CaseFailure(Exception):
    pass


def expect_accept(r, want=None):
    """Exit 0, stdout exactly one line with one JSON object of the contract's
    shape; `want` (dict) entries must match (notOnOrAfter as an instant)."""
    if r.rc != 0:
        raise CaseFailure("want exit 0, got " + r.show())
    lines = r.out.split("\n")
    if r.out.endswith("\n"):
        lines.pop()
    if len(lines) != 1 or "\r" in r.out:
        raise CaseFailure("stdout is not exactly one line: %r" % r.out[:400])
    try:
        got = json.loads(lines[0])
    except ValueError as e:
        raise CaseFailure("stdout is not JSON (%s): %r" % (e, lines[0][:300]))
    if not isinstance(got, dict):
        raise CaseFailure("stdout is not a JSON object: %r" % lines[0][:300])
    if sorted(got) != sorted(JSON_KEYS):
        raise CaseFailure("JSON keys %s, want %s" % (sorted(got), sorted(JSON_KEYS)))
    for k in ("issuer", "nameId", "notOnOrAfter"):
        if not isinstance(got[k], str):
            raise CaseFailure("%s is not a string: %r" % (k, got[k]))
    for k in ("nameIdFormat", "sessionIndex", "authnContextClassRef"):
        if got[k] is not None and not isinstance(got[k], str):
            raise CaseFailure("%s is neither string nor null: %r" % (k, got[k]))
    if parse_utc(got["notOnOrAfter"]) is None:
        raise CaseFailure("notOnOrAfter %r is not RFC 3339 UTC (...Z)" % got["notOnOrAfter"])
    attrs = got["attributes"]
    if not isinstance(attrs, dict) or not all(
            isinstance(v, list) and all(isinstance(x, str) for x in v) for v in attrs.values()):
        raise CaseFailure("attributes is not {Name: [str, ...]}: %r" % attrs)
    diffs = []
    for k, w in (want or {}).items():
        g = got[k]
        same = parse_utc(g) == parse_utc(w) if k == "notOnOrAfter" else g == w
        if not same:
            diffs.append("%s: want %s, got %s" % (k, json.dumps(w, ensure_ascii=False),
                                                  json.dumps(g, ensure_ascii=False)))
    if diffs:
        raise CaseFailure("; ".join(diffs))
    return got


def expect_reject(r, *codes):
    """Exit 1, stdout empty, stderr exactly one line `<code>: <detail>` with
    <code> one of `codes` (all from the contract's list)."""
    assert codes and all(c in ERROR_CODES for c in codes), codes
    want = codes[0] if len(codes) == 1 else "one of " + "/".join(codes)
    if r.rc != 1:
        raise CaseFailure("want exit 1 (%s), got %s" % (want, r.show()))
    if r.out:
        raise CaseFailure("stdout not empty on rejection: %r" % r.out[:300])
    lines = r.err.split("\n")
    if r.err.endswith("\n"):
        lines.pop()
    if len(lines) != 1:
        raise CaseFailure("stderr is not exactly one line: %r" % r.err[:400])
    m = re.match(r"^([a-z_]+): ", lines[0])
    if not m:
        raise CaseFailure("stderr is not '<code>: <detail>': %r" % lines[0][:300])
    if m.group(1) not in codes:
        raise CaseFailure("want %s, got %r" % (want, lines[0][:300]))


def expect_usage(r):
    """Exit 2 (bad flags, unusable files), nothing on stdout."""
    if r.rc != 2:
        raise CaseFailure("want exit 2, got " + r.show())
    if r.out:
        raise CaseFailure("stdout not empty on exit 2: %r" % r.out[:300])


def default_result(**over):
    want = dict(issuer=IDP_ENTITY_ID, nameId=NAME_ID, nameIdFormat=TRANSIENT,
                sessionIndex=SESSION_INDEX, authnContextClassRef=CLASS_REF,
                notOnOrAfter=standard_times(NOW)["scd_noa"], attributes=DEFAULT_ATTRIBUTES)
    want.update(over)
    return want


# --------------------------------------------------------------------------
# The cases. Each is a function (env) -> None that raises CaseFailure.

CASES = []


def case(name):
    def register(fn):
        CASES.append((name, fn))
        return fn
    return register


# ---- flags and files: exit 0 for --help, exit 2 otherwise -----------------

@case("help")
def _(env):
    for args in (["--help"], ["verify-response", "--help"]):
        r = run_cli(env, args)
        if r.rc != 0:
            raise CaseFailure("%s: want exit 0, got %s" % (" ".join(args), r.show()))
        if "verify-response" in args and "--sp-entity-id" not in r.out:
            raise CaseFailure("verify-response --help does not list --sp-entity-id: %r" % r.out[:300])


@case("usage_no_args")
def _(env):
    expect_usage(run_cli(env, []))


@case("usage_verify_response_no_args")
def _(env):
    expect_usage(run_cli(env, ["verify-response"]))


@case("usage_missing_required_flag")
def _(env):
    path, _ = env.response("usage_base")
    full = verify_args(path, env=env)
    expect_accept(run_cli(env, full))  # the full command line is fine ...
    for flag in ("--sp-entity-id", "--acs-url", "--idp-metadata"):
        i = full.index(flag)
        r = run_cli(env, full[:i] + full[i + 2:])  # ... each required flag left out is not
        try:
            expect_usage(r)
        except CaseFailure as e:
            raise CaseFailure("without %s: %s" % (flag, e))


@case("usage_missing_response_file")
def _(env):
    path, _ = env.response("usage_base2")
    expect_usage(run_cli(env, verify_args(path, env=env)[:-1]))


@case("usage_unknown_flag")
def _(env):
    path, _ = env.response("usage_base3")
    expect_usage(verify(env, path, extra=["--frobnicate"]))


@case("usage_clock_skew_abc")
def _(env):
    path, _ = env.response("usage_base4")
    expect_usage(verify(env, path, extra=["--clock-skew", "abc"]))


@case("usage_metadata_missing_file")
def _(env):
    path, _ = env.response("usage_base5")
    expect_usage(verify(env, path, metadata=env.path("metadata/does-not-exist.xml")))


@case("usage_metadata_is_directory")
def _(env):
    path, _ = env.response("usage_base6")
    expect_usage(verify(env, path, metadata=env.path("metadata")))


@case("usage_metadata_not_xml")
def _(env):
    path, _ = env.response("usage_base7")
    md = env.write("metadata/not-xml.xml", "this is not XML at all\n")
    expect_usage(verify(env, path, metadata=md))


@case("usage_metadata_not_saml")
def _(env):
    path, _ = env.response("usage_base15")
    md = env.write("metadata/not-saml.xml", '<?xml version="1.0"?>\n<config><idp/></config>\n')
    expect_usage(verify(env, path, metadata=md))


@case("usage_metadata_without_idp")
def _(env):
    path, _ = env.response("usage_base8")
    md = env.add_metadata("sp-only", sp_only_metadata(env.certs["sp"]))
    expect_usage(verify(env, path, metadata=md))


@case("usage_key_missing_file")
def _(env):
    path, _ = env.response("usage_base9")
    expect_usage(verify(env, path, keys=(env.path("keys/does-not-exist.pem"),)))


@case("usage_key_not_a_key")
def _(env):
    path, _ = env.response("usage_base10")
    junk = env.write("keys/junk.pem", "not a key\n")
    expect_usage(verify(env, path, keys=(junk,)))


@case("usage_key_is_directory")
def _(env):
    path, _ = env.response("usage_base16")
    expect_usage(verify(env, path, keys=(env.path("keys"),)))


@case("usage_key_is_a_certificate")
def _(env):
    path, _ = env.response("usage_base11")
    expect_usage(verify(env, path, keys=(env.path("keys/sp.crt.pem"),)))


@case("usage_now_with_offset")
def _(env):
    path, _ = env.response("usage_base12")
    expect_usage(verify(env, path, now="2026-05-04T10:00:00+01:00"))


@case("usage_now_yesterday")
def _(env):
    path, _ = env.response("usage_base13")
    expect_usage(verify(env, path, now="yesterday"))


@case("usage_now_without_zone")
def _(env):
    path, _ = env.response("usage_base14")
    expect_usage(verify(env, path, now="2026-05-04T10:00:00"))


@case("usage_response_file_missing")
def _(env):
    expect_usage(verify(env, env.path("responses/does-not-exist.xml")))


@case("usage_response_file_is_directory")
def _(env):
    expect_usage(verify(env, env.path("responses")))


# ---- --now and the system clock -------------------------------------------

@case("now_fraction_half_second")
def _(env):
    path, _ = env.response("now_fraction")
    expect_accept(verify(env, path, now="2026-05-04T10:00:00.5Z"), default_result())


@case("now_fraction_nanoseconds")
def _(env):
    path, _ = env.response("now_fraction_ns")
    expect_accept(verify(env, path, now="2026-05-04T10:00:00.123456789Z"), default_result())


@case("now_default_is_system_clock")
def _(env):
    real = utc(datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0))
    path, _ = env.response("now_system_clock", now=real)
    got = expect_accept(verify(env, path, now=None))
    if parse_utc(got["notOnOrAfter"]) != parse_utc(at(real, 270)):
        raise CaseFailure("notOnOrAfter %s, want %s" % (got["notOnOrAfter"], at(real, 270)))
    # the fixed-instant response has long expired by the system clock
    old, _ = env.response("now_system_clock_old", now=at(real, -2 * 86400))
    expect_reject(verify(env, old, now=None), "expired")


# ---- input forms ------------------------------------------------------------

@case("input_stdin_xml")
def _(env):
    _, data = env.response("stdin_xml")
    expect_accept(verify(env, "-", stdin=data), default_result())


@case("input_stdin_base64")
def _(env):
    _, data = env.response("stdin_b64")
    expect_accept(verify(env, "-", stdin=base64.encodebytes(data)), default_result())


@case("input_xml_with_bom")
def _(env):
    _, data = env.response("bom")
    path = env.write("responses/bom-input.xml", b"\xef\xbb\xbf" + data)
    expect_accept(verify(env, path), default_result())


@case("input_xml_with_bom_and_leading_blanks")
def _(env):
    _, data = env.response("bom_blanks")
    body = data[data.index(b"?>") + 2:].lstrip()
    path = env.write("responses/bom-blanks-input.xml", b"\xef\xbb\xbf \r\n\t\n" + body)
    expect_accept(verify(env, path), default_result())


@case("input_base64_line_breaks_and_blanks")
def _(env):
    _, data = env.response("b64_blanks")
    text = base64.b64encode(data).decode("ascii")
    chunks = [text[i:i + 61] for i in range(0, len(text), 61)]
    seps = ["\r\n", " ", "\n\t", "  \n  ", "\t"]
    wrapped = "\n \t" + "".join(c + seps[i % len(seps)] for i, c in enumerate(chunks)) + "\n\n"
    path = env.write("responses/b64-blanks-input.b64", wrapped)
    expect_accept(verify(env, path), default_result())


@case("input_base64_single_line")
def _(env):
    _, data = env.response("b64_line")
    path = env.write("responses/b64-line-input.b64", base64.b64encode(data))
    expect_accept(verify(env, path), default_result())


@case("input_bad_base64")
def _(env):
    path = env.write("responses/bad-base64.b64", "PHNhbWxwOlJlc3BvbnNl*%$#not-base64!!\n")
    expect_reject(verify(env, path), "malformed")


@case("input_base64_of_non_xml")
def _(env):
    path = env.write("responses/b64-non-xml.b64", base64.b64encode(b"hello, this is no XML"))
    expect_reject(verify(env, path), "malformed")


@case("input_empty")
def _(env):
    path = env.write("responses/empty.xml", b"")
    expect_reject(verify(env, path), "malformed")


@case("input_malformed_xml")
def _(env):
    _, data = env.response("malformed_src")
    path = env.write("responses/malformed.xml", data[:len(data) // 2])
    expect_reject(verify(env, path), "malformed")


@case("input_malformed_xml_base64")
def _(env):
    path = env.write("responses/malformed.b64",
                     base64.b64encode(b"<samlp:Response xmlns:samlp='%s'><unclosed>" %
                                      s.SAMLP.encode()))
    expect_reject(verify(env, path), "malformed")


@case("input_doctype")
def _(env):
    _, data = env.response("doctype_src")
    body = data[data.index(b"?>") + 2:].lstrip()
    path = env.write("responses/doctype.xml",
                     b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE samlp:Response>\n' + body)
    expect_reject(verify(env, path), "dtd_forbidden")


@case("input_doctype_internal_entity")
def _(env):
    _, data = env.response("doctype_entity_src")
    body = data[data.index(b"?>") + 2:].lstrip()
    doc = (b'<?xml version="1.0" encoding="UTF-8"?>\n'
           b'<!DOCTYPE samlp:Response [<!ENTITY who "' + IDP_ENTITY_ID.encode() + b'">]>\n' + body)
    path = env.write("responses/doctype-entity.xml", doc)
    expect_reject(verify(env, path), "dtd_forbidden")


@case("input_doctype_base64")
def _(env):
    _, data = env.response("doctype_b64_src")
    body = data[data.index(b"?>") + 2:].lstrip()
    path = env.write("responses/doctype.b64",
                     base64.encodebytes(b"<!DOCTYPE samlp:Response>\n" + body))
    expect_reject(verify(env, path), "dtd_forbidden")


@case("input_oversize_xml_5mb")
def _(env):
    _, data = env.response("oversize_src")
    body = data[data.index(b"?>") + 2:].lstrip()
    pad = b"<!--" + b"x" * (5 * 1024 * 1024) + b"-->\n"
    path = env.write("responses/oversize.xml", b'<?xml version="1.0" encoding="UTF-8"?>\n' + pad + body)
    expect_reject(verify(env, path), "too_large")


@case("input_oversize_base64_5mb")
def _(env):
    _, data = env.response("oversize_b64_src")
    body = data[data.index(b"?>") + 2:].lstrip()
    pad = b"<!--" + b"x" * (5 * 1024 * 1024) + b"-->\n"
    path = env.write("responses/oversize.b64", base64.encodebytes(pad + body))
    expect_reject(verify(env, path), "too_large")


@case("input_oversize_stdin_5mb")
def _(env):
    _, data = env.response("oversize_stdin_src")
    body = data[data.index(b"?>") + 2:].lstrip()
    pad = b"<!--" + b"y" * (5 * 1024 * 1024) + b"-->\n"
    expect_reject(verify(env, "-", stdin=pad + body), "too_large")


# ---- time windows: NotBefore - skew <= now < NotOnOrAfter + skew ------------

T0 = "2026-05-04T10:00:00Z"


def edge_response(env, name, earlier):
    """NotBefore = IssueInstant = T0; the earlier NotOnOrAfter is T0+5min,
    in Conditions (earlier="conditions") or in the bearer data ("scd"); the
    other one is T0+10min."""
    times = dict(issue=T0, authn=at(T0, -10), not_before=T0, session_noa=at(T0, 8 * 3600))
    if earlier == "conditions":
        times.update(cond_noa=at(T0, 300), scd_noa=at(T0, 600))
    else:
        times.update(cond_noa=at(T0, 600), scd_noa=at(T0, 300))
    return env.response(name, **times)[0]


# (name, which NotOnOrAfter is earlier, --clock-skew or None, --now, expected)
TIME_EDGES = [
    # default skew: 180 s
    ("default_skew_at_notbefore_minus_skew", "conditions", None, at(T0, -180), "ok"),
    ("default_skew_1s_before_notbefore_minus_skew", "conditions", None, at(T0, -181), "not_yet_valid"),
    ("default_skew_1ms_before_notbefore_minus_skew", "conditions", None, at(T0, -180.001), "not_yet_valid"),
    ("default_skew_1s_before_notonorafter_plus_skew", "conditions", None, at(T0, 300 + 179), "ok"),
    ("default_skew_1ms_before_notonorafter_plus_skew", "conditions", None, at(T0, 300 + 179.999), "ok"),
    ("default_skew_ns_before_notonorafter_plus_skew", "conditions", None,
     "2026-05-04T10:07:59.999999999Z", "ok"),
    ("default_skew_at_notonorafter_plus_skew", "conditions", None, at(T0, 300 + 180), "expired"),
    ("default_skew_scd_1s_before_notonorafter_plus_skew", "scd", None, at(T0, 300 + 179), "ok"),
    ("default_skew_scd_at_notonorafter_plus_skew", "scd", None, at(T0, 300 + 180), "expired"),
    # explicit 180 behaves as the default
    ("skew_180_at_notonorafter_plus_skew", "conditions", 180, at(T0, 480), "expired"),
    ("skew_180_at_notbefore_minus_skew", "conditions", 180, at(T0, -180), "ok"),
    # --clock-skew 0
    ("skew_0_at_notbefore", "conditions", 0, T0, "ok"),
    ("skew_0_1ms_before_notbefore", "conditions", 0, at(T0, -0.001), "not_yet_valid"),
    ("skew_0_1s_before_notbefore", "conditions", 0, at(T0, -1), "not_yet_valid"),
    ("skew_0_1ms_before_notonorafter", "conditions", 0, at(T0, 299.999), "ok"),
    ("skew_0_at_notonorafter", "conditions", 0, at(T0, 300), "expired"),
    ("skew_0_scd_1s_before_notonorafter", "scd", 0, at(T0, 299), "ok"),
    ("skew_0_scd_at_notonorafter", "scd", 0, at(T0, 300), "expired"),
    ("skew_0_with_default_skew_accepted", "conditions", None, at(T0, 300), "ok"),
    # --clock-skew 30
    ("skew_30_at_notbefore_minus_skew", "conditions", 30, at(T0, -30), "ok"),
    ("skew_30_1s_before_notbefore_minus_skew", "conditions", 30, at(T0, -31), "not_yet_valid"),
    ("skew_30_1s_before_notonorafter_plus_skew", "conditions", 30, at(T0, 329), "ok"),
    ("skew_30_at_notonorafter_plus_skew", "conditions", 30, at(T0, 330), "expired"),
]


def _time_case(name, earlier, skew, now, expected):
    @case("time_" + name)
    def _(env):
        path = edge_response(env, "time_" + name, earlier)
        r = verify(env, path, now=now, skew=skew)
        if expected == "ok":
            expect_accept(r, default_result(notOnOrAfter=at(T0, 300)))
        else:
            expect_reject(r, expected)


for _edge in TIME_EDGES:
    _time_case(*_edge)


@case("time_huge_clock_skew")
def _(env):
    # 10^16 s: the window holds by the contract's formula. A skew the tool
    # cannot represent may be refused as a bad flag (exit 2), but it must not
    # turn into a rejection of the response.
    path, _ = env.response("time_huge_skew")
    r = verify(env, path, skew=10 ** 16)
    if r.rc == 2 and not r.out:
        return
    expect_accept(r, default_result())


# ---- InResponseTo ---------------------------------------------------------

@case("irt_flag_both_match")
def _(env):
    path, _ = env.response("irt_both")
    expect_accept(verify(env, path), default_result())


@case("irt_flag_scd_absent")
def _(env):
    path, _ = env.response("irt_scd_absent", scd_irt=None)
    expect_accept(verify(env, path), default_result())


@case("irt_flag_scd_differs")
def _(env):
    path, _ = env.response("irt_scd_differs", scd_irt=OTHER_REQUEST_ID)
    expect_reject(verify(env, path), "in_response_to_mismatch")


@case("irt_flag_response_differs")
def _(env):
    path, _ = env.response("irt_resp_differs", response_irt=OTHER_REQUEST_ID)
    expect_reject(verify(env, path), "in_response_to_mismatch")


@case("irt_flag_response_absent")
def _(env):
    path, _ = env.response("irt_resp_absent", response_irt=None, scd_irt=None)
    expect_reject(verify(env, path), "in_response_to_mismatch")


@case("irt_flag_response_absent_with_allow_unsolicited")
def _(env):
    path, _ = env.response("irt_resp_absent_allow", response_irt=None, scd_irt=None)
    expect_reject(verify(env, path, unsolicited=True), "in_response_to_mismatch")


@case("irt_none_response_carries_irt")
def _(env):
    path, _ = env.response("irt_none_carries")
    expect_reject(verify(env, path, irt=None), "in_response_to_mismatch", "unsolicited")


@case("irt_none_response_carries_irt_allow_unsolicited")
def _(env):
    path, _ = env.response("irt_none_carries_allow")
    expect_reject(verify(env, path, irt=None, unsolicited=True),
                  "in_response_to_mismatch", "unsolicited")


@case("irt_none_only_scd_carries_irt_allow_unsolicited")
def _(env):
    path, _ = env.response("irt_none_scd_carries", response_irt=None)
    expect_reject(verify(env, path, irt=None, unsolicited=True),
                  "in_response_to_mismatch", "unsolicited")


@case("irt_none_no_irt_not_allowed")
def _(env):
    path, _ = env.response("irt_none_unsolicited", response_irt=None, scd_irt=None)
    expect_reject(verify(env, path, irt=None), "unsolicited")


@case("irt_none_no_irt_allow_unsolicited")
def _(env):
    path, _ = env.response("irt_none_allowed", response_irt=None, scd_irt=None)
    expect_accept(verify(env, path, irt=None, unsolicited=True), default_result())


# ---- audience -------------------------------------------------------------

@case("audience_no_conditions")
def _(env):
    path, _ = env.response("aud_no_conditions", conditions=False)
    expect_reject(verify(env, path), "audience_mismatch")


@case("audience_restriction_missing")
def _(env):
    path, _ = env.response("aud_missing", audiences=[])
    expect_reject(verify(env, path), "audience_mismatch")


@case("audience_other")
def _(env):
    path, _ = env.response("aud_other", audiences=[[OTHER_SP]])
    expect_reject(verify(env, path), "audience_mismatch")


@case("audience_two_restrictions_one_foreign")
def _(env):
    path, _ = env.response("aud_two_one_foreign", audiences=[[SP_ENTITY_ID], [OTHER_SP]])
    expect_reject(verify(env, path), "audience_mismatch")


@case("audience_two_restrictions_both_name_sp")
def _(env):
    path, _ = env.response("aud_two_ok", audiences=[[OTHER_SP, SP_ENTITY_ID], [SP_ENTITY_ID]])
    expect_accept(verify(env, path), default_result())


# ---- Destination ----------------------------------------------------------

@case("destination_wrong")
def _(env):
    path, _ = env.response("dest_wrong", destination=ACS_URL + "/other")
    expect_reject(verify(env, path), "destination_mismatch")


@case("destination_wrong_signed_response")
def _(env):
    path, _ = env.response("dest_wrong_signed", destination=ACS_URL + "/other",
                           sign_assertion=False, sign_response=True)
    expect_reject(verify(env, path), "destination_mismatch")


@case("destination_missing_signed_response")
def _(env):
    path, _ = env.response("dest_missing_signed", destination=None, sign_assertion=False,
                           sign_response=True)
    expect_reject(verify(env, path), "destination_mismatch")


@case("destination_missing_signed_response_and_assertion")
def _(env):
    path, _ = env.response("dest_missing_both", destination=None, sign_response=True)
    expect_reject(verify(env, path), "destination_mismatch")


@case("destination_missing_unsigned_response_signed_assertion")
def _(env):
    path, _ = env.response("dest_missing_unsigned", destination=None)
    expect_accept(verify(env, path), default_result())


@case("destination_present_signed_response")
def _(env):
    path, _ = env.response("dest_signed_ok", sign_assertion=False, sign_response=True)
    expect_accept(verify(env, path), default_result())


# ---- Recipient / bearer confirmation ----------------------------------------

@case("recipient_wrong")
def _(env):
    path, _ = env.response("recipient_wrong", recipient=ACS_URL + "/other")
    expect_reject(verify(env, path), "recipient_mismatch")


@case("recipient_missing")
def _(env):
    path, _ = env.response("recipient_missing", recipient=None)
    expect_reject(verify(env, path), "recipient_mismatch", "subject_confirmation_invalid")


@case("recipient_second_bearer_matches")
def _(env):
    t = standard_times(NOW)
    path, _ = env.response("recipient_second", confirmations=[
        dict(method=BEARER, recipient=ACS_URL + "/other", noa=t["scd_noa"], irt=REQUEST_ID),
        dict(method=BEARER, recipient=ACS_URL, noa=t["scd_noa"], irt=REQUEST_ID)])
    expect_accept(verify(env, path), default_result())


@case("recipient_only_on_non_bearer")
def _(env):
    t = standard_times(NOW)
    path, _ = env.response("recipient_non_bearer", confirmations=[
        dict(method=SENDER_VOUCHES, recipient=ACS_URL, noa=t["scd_noa"], irt=REQUEST_ID)])
    expect_reject(verify(env, path), "subject_confirmation_invalid", "recipient_mismatch")


# ---- metadata validity ------------------------------------------------------

@case("metadata_expired_entity")
def _(env):
    md = env.add_metadata("expired-entity", metadata_bytes(
        idp_entity(IDP_ENTITY_ID, env.certs["idp"], valid_until=at(NOW, -3600))))
    path, _ = env.response("md_expired_entity")
    expect_reject(verify(env, path, metadata=md), "untrusted_metadata")


@case("metadata_expired_1s_ago_skew_does_not_apply")
def _(env):
    md = env.add_metadata("expired-1s", metadata_bytes(
        idp_entity(IDP_ENTITY_ID, env.certs["idp"], valid_until=at(NOW, -1))))
    path, _ = env.response("md_expired_1s")
    expect_reject(verify(env, path, metadata=md), "untrusted_metadata")


@case("metadata_expired_aggregate")
def _(env):
    group = etree.Element(s.q(s.MD, "EntitiesDescriptor"), nsmap={"md": s.MD, "ds": s.DS},
                          validUntil=at(NOW, -3600), Name="urn:x-interkonto:test:federation")
    group.append(idp_entity(IDP_ENTITY_ID, env.certs["idp"]))
    md = env.add_metadata("expired-aggregate", metadata_bytes(group))
    path, _ = env.response("md_expired_aggregate")
    expect_reject(verify(env, path, metadata=md), "untrusted_metadata")


@case("metadata_expired_idp_role")
def _(env):
    md_el = idp_entity(IDP_ENTITY_ID, env.certs["idp"])
    md_el.find(s.q(s.MD, "IDPSSODescriptor")).set("validUntil", at(NOW, -60))
    md = env.add_metadata("expired-role", metadata_bytes(md_el))
    path, _ = env.response("md_expired_role")
    expect_reject(verify(env, path, metadata=md), "untrusted_metadata")


@case("metadata_other_entity_expired_ours_valid")
def _(env):
    group = etree.Element(s.q(s.MD, "EntitiesDescriptor"), nsmap={"md": s.MD, "ds": s.DS},
                          Name="urn:x-interkonto:test:federation")
    group.append(idp_entity(OTHER_IDP, env.certs["rogue"], valid_until=at(NOW, -3600)))
    group.append(idp_entity(IDP_ENTITY_ID, env.certs["idp"], valid_until=at(NOW, 86400)))
    md = env.add_metadata("aggregate-mixed", metadata_bytes(group))
    path, _ = env.response("md_mixed")
    expect_accept(verify(env, path, metadata=md), default_result())


@case("metadata_valid_until_future")
def _(env):
    md = env.add_metadata("valid-until-future", metadata_bytes(
        idp_entity(IDP_ENTITY_ID, env.certs["idp"], valid_until=at(NOW, 1))))
    path, _ = env.response("md_future")
    expect_accept(verify(env, path, metadata=md), default_result())


@case("metadata_validity_judged_at_now_flag")
def _(env):
    real = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    # valid by the system clock, expired at --now
    md = env.add_metadata("valid-today", metadata_bytes(
        idp_entity(IDP_ENTITY_ID, env.certs["idp"], valid_until=utc(real + datetime.timedelta(days=1)))))
    later = utc(real + datetime.timedelta(days=2))
    path, _ = env.response("md_at_now_later", now=later)
    expect_reject(verify(env, path, metadata=md, now=later), "untrusted_metadata")
    # expired by the system clock, valid at --now
    md = env.add_metadata("expired-today", metadata_bytes(
        idp_entity(IDP_ENTITY_ID, env.certs["idp"], valid_until=utc(real - datetime.timedelta(days=1)))))
    earlier = utc(real - datetime.timedelta(days=2))
    path, _ = env.response("md_at_now_earlier", now=earlier)
    expect_accept(verify(env, path, metadata=md, now=earlier),
                  default_result(notOnOrAfter=at(earlier, 270)))


# ---- status ---------------------------------------------------------------

@case("status_not_success_bad_signature_wrong_destination")
def _(env):
    path, _ = env.response("status_bad_sig_dest", status=RESPONDER, status_sub=AUTHN_FAILED,
                           status_message="Anmeldung abgebrochen", include_assertion=False,
                           sign_assertion=False, sign_response=True, tamper_response=True,
                           destination=ACS_URL + "/other")
    expect_reject(verify(env, path), "status_not_success")


@case("status_not_success_with_assertion_bad_signature_wrong_destination")
def _(env):
    path, _ = env.response("status_assertion_bad_sig_dest", status=RESPONDER,
                           status_sub=AUTHN_FAILED, sign_response=True, tamper_response=True,
                           destination=ACS_URL + "/other", recipient=ACS_URL + "/other",
                           audiences=[[OTHER_SP]])
    expect_reject(verify(env, path), "status_not_success")


@case("status_not_success_unsolicited_no_flags")
def _(env):
    path, _ = env.response("status_unsolicited", status=RESPONDER, include_assertion=False,
                           sign_assertion=False, response_irt=None)
    expect_reject(verify(env, path, irt=None), "status_not_success")


@case("status_not_success_expired_metadata_unsolicited")
def _(env):
    md = env.add_metadata("expired-for-status", metadata_bytes(
        idp_entity(IDP_ENTITY_ID, env.certs["idp"], valid_until=at(NOW, -3600))))
    path, _ = env.response("status_expired_md", status=RESPONDER, status_sub=AUTHN_FAILED,
                           include_assertion=False, sign_assertion=False, sign_response=True,
                           response_irt=None)
    expect_reject(verify(env, path, metadata=md, irt=None), "status_not_success")


# ---- signatures and issuer (exit 1 with the right code) --------------------

@case("signature_tampered_response")
def _(env):
    path, _ = env.response("sig_tampered", sign_assertion=False, sign_response=True,
                           tamper_response=True)
    expect_reject(verify(env, path), "signature_invalid")


@case("signature_missing")
def _(env):
    path, _ = env.response("sig_missing", sign_assertion=False)
    expect_reject(verify(env, path), "signature_missing")


@case("signature_by_key_not_in_metadata")
def _(env):
    path, _ = env.response("sig_rogue", signer="rogue")
    expect_reject(verify(env, path), "untrusted_key", "signature_invalid")


@case("issuer_unknown")
def _(env):
    path, _ = env.response("issuer_unknown", issuer=OTHER_IDP, response_issuer=OTHER_IDP)
    expect_reject(verify(env, path), "unknown_issuer")


# ---- JSON output ------------------------------------------------------------

@case("json_default_response")
def _(env):
    path, _ = env.response("json_default")
    expect_accept(verify(env, path), default_result())


@case("json_attributes_merged_in_document_order")
def _(env):
    statements = [
        [(MAIL, ["zeta@example.org"]), (GIVEN_NAME, ["CLARA"])],
        [(SURNAME, ["MÜLLER"]), (MAIL, ["alpha@example.org", "mu@example.org"])],
        [(MAIL, ["beta@example.org"])],
    ]
    path, _ = env.response("json_merged", statements=statements)
    expect_accept(verify(env, path), default_result(attributes={
        MAIL: ["zeta@example.org", "alpha@example.org", "mu@example.org", "beta@example.org"],
        GIVEN_NAME: ["CLARA"], SURNAME: ["MÜLLER"]}))


@case("json_value_with_nested_comment_read_whole")
def _(env):
    statements = [[(SURNAME, [Raw("MÜLLER-<!-- split -->LÜDEN<!--x-->SCHEIDT")]),
                   (LOCALITY, [Raw("Düssel<!-- a --><!-- b -->dorf")])]]
    path, _ = env.response("json_comment", statements=statements,
                           name_id=Raw(NAME_ID[:10] + "<!-- cut -->" + NAME_ID[10:]))
    expect_accept(verify(env, path), default_result(attributes={
        SURNAME: ["MÜLLER-LÜDENSCHEIDT"], LOCALITY: ["Düsseldorf"]}))


@case("json_value_cdata_and_character_references")
def _(env):
    statements = [[(POSTAL, [Raw("K&#246;nigsallee 1a &amp; <![CDATA[1b <Hinterhaus>]]>")])]]
    path, _ = env.response("json_cdata", statements=statements)
    expect_accept(verify(env, path), default_result(attributes={
        POSTAL: ["Königsallee 1a & 1b <Hinterhaus>"]}))


@case("json_value_text_of_nested_elements")
def _(env):
    statements = [[(POSTAL, [Raw('K\u00f6nigsallee <x:nr xmlns:x="urn:x-test">1a</x:nr>, '
                                '<x:ort xmlns:x="urn:x-test">D\u00fcssel<!-- c -->dorf</x:ort>')])]]
    path, _ = env.response("json_nested", statements=statements)
    expect_accept(verify(env, path), default_result(attributes={
        POSTAL: ["K\u00f6nigsallee 1a, D\u00fcsseldorf"]}))


@case("json_value_whole_text_keeps_blanks")
def _(env):
    statements = [[(POSTAL, ["  Königsallee 1a\n  40212 Düsseldorf  "])]]
    path, _ = env.response("json_blanks", statements=statements)
    expect_accept(verify(env, path), default_result(attributes={
        POSTAL: ["  Königsallee 1a\n  40212 Düsseldorf  "]}))


@case("json_no_attributes")
def _(env):
    path, _ = env.response("json_no_attributes", statements=[])
    expect_accept(verify(env, path), default_result(attributes={}))


@case("json_nulls_when_absent")
def _(env):
    path, _ = env.response("json_nulls", name_id_format=None, session_index=None, class_ref=None)
    expect_accept(verify(env, path), default_result(nameIdFormat=None, sessionIndex=None,
                                                    authnContextClassRef=None))


@case("json_not_on_or_after_scd_earlier")
def _(env):
    path, _ = env.response("json_noa_scd", cond_noa="2026-05-04T10:05:00Z",
                           scd_noa="2026-05-04T10:04:30Z")
    expect_accept(verify(env, path), default_result(notOnOrAfter="2026-05-04T10:04:30Z"))


@case("json_not_on_or_after_conditions_earlier")
def _(env):
    path, _ = env.response("json_noa_cond", cond_noa="2026-05-04T10:03:45Z",
                           scd_noa="2026-05-04T10:05:00Z")
    expect_accept(verify(env, path), default_result(notOnOrAfter="2026-05-04T10:03:45Z"))


@case("json_not_on_or_after_fraction")
def _(env):
    path, _ = env.response("json_noa_frac", cond_noa="2026-05-04T10:05:00Z",
                           scd_noa="2026-05-04T10:04:30.250Z")
    expect_accept(verify(env, path), default_result(notOnOrAfter="2026-05-04T10:04:30.25Z"))


@case("json_not_on_or_after_conditions_without_it")
def _(env):
    path, _ = env.response("json_noa_cond_absent", cond_noa=None)
    expect_accept(verify(env, path), default_result())


# ---- decryption keys --------------------------------------------------------

@case("sp_key_two_keys_first_wrong")
def _(env):
    path, _ = env.response("enc_rollover", encrypt=True)
    expect_accept(verify(env, path, keys=("sp_old", "sp")), default_result())


@case("sp_key_two_keys_first_right")
def _(env):
    path, _ = env.response("enc_rollover2", encrypt=True)
    expect_accept(verify(env, path, keys=("sp", "sp_old")), default_result())


@case("sp_key_only_wrong")
def _(env):
    path, _ = env.response("enc_wrong_key", encrypt=True)
    expect_reject(verify(env, path, keys=("sp_old",)), "decryption_failed")


@case("sp_key_none_for_encrypted")
def _(env):
    path, _ = env.response("enc_no_key", encrypt=True)
    expect_reject(verify(env, path, keys=()), "decryption_failed")


# ---- replay: one run knows nothing of another -----------------------------

@case("replay_irrelevant_for_single_run")
def _(env):
    path, _ = env.response("replay")
    for i in range(2):
        try:
            expect_accept(verify(env, path), default_result())
        except CaseFailure as e:
            raise CaseFailure("run %d: %s" % (i + 1, e))


# --------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cli", required=True, help="path of the interkonto executable")
    ap.add_argument("--workdir", required=True, help="where keys, metadata and responses go")
    ap.add_argument("--only", action="append", default=[], help="run only this case (repeatable)")
    args = ap.parse_args()

    workdir = os.path.abspath(args.workdir)
    if os.path.isdir(workdir):
        shutil.rmtree(workdir)
    os.makedirs(workdir)
    env = Env(os.path.abspath(args.cli), workdir)
    if env.schema is None:
        print("note: SAML schemas not found, vectors are not schema-checked")

    names = [n for n, _ in CASES]
    assert len(set(names)) == len(names), "duplicate case names"
    unknown = [n for n in args.only if n not in names]
    if unknown:
        ap.error("unknown case(s): %s" % ", ".join(unknown))

    passed = failed = 0
    for name, fn in CASES:
        if args.only and name not in args.only:
            continue
        try:
            fn(env)
            passed += 1
            print("ok %s" % name)
        except BrokenVector as e:
            failed += 1
            print("FAIL %s: vector self-check: %s" % (name, e))
        except CaseFailure as e:
            failed += 1
            print("FAIL %s: %s" % (name, e))
        except Exception as e:  # noqa: BLE001 -- a crash in one case must not hide the others
            failed += 1
            print("FAIL %s: test crashed: %r" % (name, e))
        sys.stdout.flush()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
