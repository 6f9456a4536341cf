#!/usr/bin/python3
# SPDX-License-Identifier: EUPL-1.2
"""`interkonto verify-response --attribute-map FILE|builtin:NAME`, driven as a process.

Keys, IdP metadata and signed SAML Responses carrying Servicekonto OID
attributes are made with independent_signer.py (no interkonto code). Each
case runs the CLI and asserts:

* with the flag, exit 0 and one JSON line that has the contract's keys plus
  `mapped` (canonical name -> [str, ...]) and `trustLevel`
  (basic/low/substantial/high or null);
* without it, exactly the contract's keys (no `mapped`, no `trustLevel`);
* a required attribute missing after mapping: exit 1, stderr
  `attribute_missing: missing: ...`;
* an unusable map (unknown profile, unknown built-in, missing file): exit 2,
  nothing on stdout.

  attribute_map_cli.py --cli <build>/tools/interkonto/interkonto --workdir DIR

Prints "ok <case>" or "FAIL <case>: why" per case and "N passed, M failed";
exits 1 when anything failed.
"""

import argparse
import datetime
import itertools
import json
import os
import shutil
import subprocess
import sys

from lxml import etree

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import independent_signer as s  # noqa: E402

NOW = "2026-05-04T10:00:00Z"
SP_ENTITY_ID = "https://portal.thueringen.example/saml/sp"
ACS_URL = "https://portal.thueringen.example/saml/acs"
IDP_ENTITY_ID = "https://servicekonto.nrw.example/idp"
REQUEST_ID = "_a1b2c3d4e5f60718293a4b5c6d7e8f90"
NAME_ID = "_5d0e2f7c1a9b4c3d8e6f0a1b2c3d4e5f"

TRANSIENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
ENTITY_FMT = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"
URI_FMT = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"
BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"

CONTRACT_KEYS = ["issuer", "nameId", "nameIdFormat", "sessionIndex", "authnContextClassRef",
                 "notOnOrAfter", "attributes"]

NFD_DUESSELDORF = "Du\u0308sseldorf"
NFC_DUESSELDORF = "D\u00fcsseldorf"

# Servicekonto OID attributes as an eID login sends them: upper case,
# eID dates and country codes, a decomposed umlaut, stray spaces.
SK_ATTRIBUTES = [
    ("urn:oid:2.5.4.42", ["CLARA"]),
    ("urn:oid:2.5.4.4", ["M\u00dcLLER-L\u00dcDENSCHEIDT"]),
    ("urn:oid:1.2.40.0.10.2.1.1.55", ["19850704"]),
    ("urn:oid:1.3.6.1.5.5.7.9.2", [NFD_DUESSELDORF]),
    ("urn:oid:1.2.40.0.10.2.1.1.225577", ["D"]),
    ("urn:oid:2.5.4.16", [" Kaiserstra\u00dfe 12 "]),
    ("urn:oid:2.5.4.17", ["40213"]),
    ("urn:oid:2.5.4.7", [NFC_DUESSELDORF]),
    ("urn:oid:1.2.40.0.10.2.1.1.225599", ["D"]),
    ("urn:oid:0.9.2342.19200300.100.1.3", ["clara@example.org", "clara@example.org"]),
    ("urn:oid:1.3.6.1.4.1.25484.494450.3", ["n8sYpJ1wW0m4Gv5l2cXkqR7tHbF3eZaD9uVyLoQiTgE"]),
    ("urn:oid:1.2.40.0.10.2.1.1.261.94", ["STORK-QAA-Level-3"]),
    ("urn:oid:1.3.6.1.4.1.25484.494450.2", ["eID"]),
    ("urn:example:unmapped", ["ignored"]),
]
SK_MAPPED = {
    "givenName": ["CLARA"],
    "surname": ["M\u00dcLLER-L\u00dcDENSCHEIDT"],
    "birthdate": ["1985-07-04"],
    "placeOfBirth": [NFC_DUESSELDORF],
    "nationality": ["D"],
    "postalAddress": ["Kaiserstra\u00dfe 12"],
    "postalCode": ["40213"],
    "localityName": [NFC_DUESSELDORF],
    "country": ["DE"],
    "mail": ["clara@example.org"],
    "bPK2": ["n8sYpJ1wW0m4Gv5l2cXkqR7tHbF3eZaD9uVyLoQiTgE"],
    "trustLevel": ["substantial"],
    "authMethod": ["eID"],
}

_ids = itertools.count(1)


def fresh_id(kind):
    return "_%s%030x" % (kind, next(_ids))


def at(base, seconds):
    dt = datetime.datetime.strptime(base, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    return (dt + datetime.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def sub(parent, ns, local, text=None, **attrs):
    e = etree.SubElement(parent, s.q(ns, local), **{k: v for k, v in attrs.items() if v is not None})
    if text is not None:
        e.text = text
    return e


class CaseFailure(Exception):
    pass


class Env:
    def __init__(self, cli, workdir):
        self.cli = cli
        self.workdir = workdir
        self.key = s.generate_key("rsa2048")
        self.cert = s.self_signed_cert(self.key, "attribute map cli idp")
        self.schema = s.load_schema(workdir)
        md = etree.Element(s.q(s.MD, "EntityDescriptor"), nsmap={"md": s.MD, "ds": s.DS},
                           entityID=IDP_ENTITY_ID)
        idp = sub(md, s.MD, "IDPSSODescriptor",
                  protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol")
        kd = sub(idp, s.MD, "KeyDescriptor", use="signing")
        x5 = sub(sub(kd, s.DS, "KeyInfo"), s.DS, "X509Data")
        sub(x5, s.DS, "X509Certificate", s.cert_b64(self.cert, 64))
        sub(idp, s.MD, "NameIDFormat", TRANSIENT)
        sub(idp, s.MD, "SingleSignOnService", Binding=POST, Location=IDP_ENTITY_ID + "/sso")
        self.metadata = self.write("idp-metadata.xml",
                                   etree.tostring(md, encoding="UTF-8", xml_declaration=True))

    def write(self, name, data):
        p = os.path.join(self.workdir, name)
        with open(p, "wb" if isinstance(data, bytes) else "w", encoding=None if isinstance(data, bytes)
                  else "utf-8") as f:
            f.write(data)
        return p

    def response(self, name, attributes, class_ref="STORK-QAA-Level-4"):
        """A signed Response (signed Assertion) answering REQUEST_ID at NOW."""
        a = etree.Element(s.q(s.SAML, "Assertion"), nsmap={"saml": s.SAML}, ID=fresh_id("a"),
                          Version="2.0", IssueInstant=at(NOW, -2))
        sub(a, s.SAML, "Issuer", IDP_ENTITY_ID, Format=ENTITY_FMT)
        subject = sub(a, s.SAML, "Subject")
        sub(subject, s.SAML, "NameID", NAME_ID, Format=TRANSIENT)
        sc = sub(subject, s.SAML, "SubjectConfirmation", Method=BEARER)
        sub(sc, s.SAML, "SubjectConfirmationData", NotOnOrAfter=at(NOW, 270), Recipient=ACS_URL,
            InResponseTo=REQUEST_ID)
        cond = sub(a, s.SAML, "Conditions", NotBefore=at(NOW, -30), NotOnOrAfter=at(NOW, 300))
        sub(sub(cond, s.SAML, "AudienceRestriction"), s.SAML, "Audience", SP_ENTITY_ID)
        st = sub(a, s.SAML, "AuthnStatement", AuthnInstant=at(NOW, -19), SessionIndex=fresh_id("s"))
        ctx = sub(st, s.SAML, "AuthnContext")
        if class_ref:
            sub(ctx, s.SAML, "AuthnContextClassRef", class_ref)
        else:
            sub(ctx, s.SAML, "AuthnContextDeclRef", IDP_ENTITY_ID + "/authn/decl/password")
        if attributes:
            ats = sub(a, s.SAML, "AttributeStatement")
            for attr_name, values in attributes:
                attr = sub(ats, s.SAML, "Attribute", Name=attr_name, NameFormat=URI_FMT)
                for v in values:
                    sub(attr, s.SAML, "AttributeValue", v)
        s.sign_enveloped(a, self.key, self.cert, s.SIG_RSA_SHA256, level=2)
        r = etree.Element(s.q(s.SAMLP, "Response"), nsmap={"samlp": s.SAMLP, "saml": s.SAML},
                          ID=fresh_id("r"), Version="2.0", IssueInstant=at(NOW, -2),
                          Destination=ACS_URL, InResponseTo=REQUEST_ID)
        sub(r, s.SAML, "Issuer", IDP_ENTITY_ID, Format=ENTITY_FMT)
        sub(sub(r, s.SAMLP, "Status"), s.SAMLP, "StatusCode", Value=SUCCESS)
        r.append(a)
        data = etree.tostring(r, encoding="UTF-8", xml_declaration=True)
        # self-check: schema-valid and the signature verifies with the signer's own reader
        root = s.parse(data)
        if self.schema is not None and not self.schema.validate(root):
            raise CaseFailure("vector %s not schema-valid: %s" % (name, self.schema.error_log.last_error))
        for sig in root.iter(s.q(s.DS, "Signature")):
            s.verify_signature(sig, self.cert.public_key())
        return self.write(name + ".xml", data)

    def run(self, response, attribute_map=None):
        argv = [self.cli, "verify-response", "--sp-entity-id", SP_ENTITY_ID, "--acs-url", ACS_URL,
                "--idp-metadata", self.metadata, "--in-response-to", REQUEST_ID, "--now", NOW]
        if attribute_map is not None:
            argv += ["--attribute-map", attribute_map]
        argv.append(response)
        try:
            p = subprocess.run(argv, capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise CaseFailure("CLI timed out after 60 s")
        return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def show(rc, out, err):
    return "exit %d; stdout %r; stderr %r" % (rc, out[:400], err[:400])


def accepted_json(rc, out, err):
    if rc != 0:
        raise CaseFailure("want exit 0, got " + show(rc, out, err))
    lines = out.split("\n")
    if out.endswith("\n"):
        lines.pop()
    if len(lines) != 1:
        raise CaseFailure("stdout is not exactly one line: %r" % out[:400])
    got = json.loads(lines[0])
    if not isinstance(got, dict):
        raise CaseFailure("stdout is not a JSON object")
    return got


def expect_mapped(got, mapped, trust_level):
    if list(got) != CONTRACT_KEYS + ["mapped", "trustLevel"]:
        raise CaseFailure("JSON keys %s, want the contract's plus mapped, trustLevel" % list(got))
    m = got["mapped"]
    if not isinstance(m, dict) or not all(
            isinstance(v, list) and all(isinstance(x, str) for x in v) for v in m.values()):
        raise CaseFailure("mapped is not {canonical: [str, ...]}: %r" % m)
    if m != mapped:
        raise CaseFailure("mapped: want %s, got %s" % (json.dumps(mapped, ensure_ascii=False),
                                                     json.dumps(m, ensure_ascii=False)))
    if got["trustLevel"] != trust_level:
        raise CaseFailure("trustLevel: want %r, got %r" % (trust_level, got["trustLevel"]))


def expect_exit(rc, out, err, code, stderr_prefix=None):
    if rc != code:
        raise CaseFailure("want exit %d, got %s" % (code, show(rc, out, err)))
    if out:
        raise CaseFailure("stdout not empty: %r" % out[:300])
    if stderr_prefix is not None and not err.startswith(stderr_prefix):
        raise CaseFailure("stderr %r does not start with %r" % (err[:300], stderr_prefix))


# --------------------------------------------------------------------------
# Cases

CASES = []


def case(fn):
    CASES.append((fn.__name__, fn))
    return fn


@case
def builtin_servicekonto_maps_and_reports_trust_level(env):
    # class ref Level-4, trust-level attribute Level-3: the lower one counts
    resp = env.response("sk", SK_ATTRIBUTES)
    got = accepted_json(*env.run(resp, "builtin:servicekonto"))
    expect_mapped(got, SK_MAPPED, "substantial")
    # the raw attributes are still there, as sent
    if got["attributes"].get("urn:oid:1.2.40.0.10.2.1.1.225599") != ["D"]:
        raise CaseFailure("attributes changed: %r" % got["attributes"])


@case
def without_flag_output_is_unchanged(env):
    resp = env.response("sk-plain", SK_ATTRIBUTES)
    got = accepted_json(*env.run(resp))
    if list(got) != CONTRACT_KEYS:
        raise CaseFailure("JSON keys %s, want exactly %s" % (list(got), CONTRACT_KEYS))


@case
def trust_level_from_class_ref_only(env):
    resp = env.response("classref", [("urn:oid:2.5.4.42", ["CLARA"])], class_ref="STORK-QAA-Level-2")
    got = accepted_json(*env.run(resp, "builtin:servicekonto"))
    expect_mapped(got, {"givenName": ["CLARA"], "trustLevel": ["low"]}, "low")


@case
def no_trust_level_is_null(env):
    resp = env.response("nolevel", [("urn:oid:2.5.4.42", ["CLARA"])], class_ref=None)
    got = accepted_json(*env.run(resp, "builtin:servicekonto"))
    expect_mapped(got, {"givenName": ["CLARA"]}, None)


@case
def yaml_file_map_with_rules(env):
    path = env.write("map.yaml", (
        "profiles: [servicekonto]\n"
        "inbound:\n"
        "  \"*\":\n"
        "    - {from: \"urn:oid: 2.5.4.42\", to: givenName, normalize: [trim, nfc, titlecase]}\n"
        "    - {from: \"urn:oid:2.5.4.4\", to: surname, normalize: [trim, nfc, titlecase]}\n"
        "  \"%s\":\n"
        "    - {from: \"urn:oid:1.3.6.1.4.1.25484.494450.3\", drop: true}\n" % IDP_ENTITY_ID))
    resp = env.response("yaml", SK_ATTRIBUTES)
    got = accepted_json(*env.run(resp, path))
    want = dict(SK_MAPPED)
    want["givenName"] = ["Clara"]
    want["surname"] = ["M\u00fcller-L\u00fcdenscheidt"]
    del want["bPK2"]
    expect_mapped(got, want, "substantial")


@case
def required_attribute_missing_is_rejected(env):
    path = env.write("required.yaml", (
        "profiles: [servicekonto]\n"
        "inbound:\n"
        "  \"*\":\n"
        "    - {from: \"urn:oid:2.5.4.4\", to: surname, required: true}\n"
        "    - {from: \"urn:oid:1.2.40.0.10.2.1.1.55\", to: birthdate, normalize: [date], required: true}\n"))
    resp = env.response("required", [("urn:oid:2.5.4.42", ["CLARA"]),
                                     ("urn:oid:1.2.40.0.10.2.1.1.55", ["1985-00-00"])])
    rc, out, err = env.run(resp, path)
    expect_exit(rc, out, err, 1, "attribute_missing: missing: surname, birthdate")
    if err.count("\n") != 1:
        raise CaseFailure("stderr is not one line: %r" % err)


@case
def bad_map_is_a_usage_error(env):
    resp = env.response("badmap", SK_ATTRIBUTES)
    bad = env.write("bad.yaml", "profiles: [bundid]\n")
    expect_exit(*env.run(resp, bad), 2, "interkonto: ")
    syntax = env.write("syntax.yaml", "inbound: {\n")
    expect_exit(*env.run(resp, syntax), 2, "interkonto: ")
    expect_exit(*env.run(resp, "builtin:nope"), 2, "interkonto: ")
    expect_exit(*env.run(resp, os.path.join(env.workdir, "absent.yaml")), 2, "interkonto: ")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cli", required=True, help="path of the interkonto executable")
    ap.add_argument("--workdir", required=True, help="where keys, metadata and responses go")
    args = ap.parse_args()
    workdir = os.path.abspath(args.workdir)
    if os.path.isdir(workdir):
        shutil.rmtree(workdir)
    os.makedirs(workdir)
    env = Env(os.path.abspath(args.cli), workdir)
    if env.schema is None:
        print("note: SAML schemas not found, vectors are not schema-checked")
    passed = failed = 0
    for name, fn in CASES:
        try:
            fn(env)
            passed += 1
            print("ok %s" % name)
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
