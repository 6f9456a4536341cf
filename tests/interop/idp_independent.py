#!/usr/bin/python3
# SPDX-License-Identifier: EUPL-1.2
"""Responses issued by interkonto's IdentityProvider, checked by an
independent XML-DSig / XML-Enc implementation (independent_signer.py: lxml
exclusive c14n and python-cryptography, no code shared with interkonto).

idp_emit writes the responses plus the SP's private key and the IdP
certificate. For each response: the Response signature verifies with the
expected method, the EncryptedAssertion uses the expected algorithms and
decrypts with the SP key, the decrypted assertion's signature verifies, its
content is the expected one, and tampering is detected.

One more response comes from a complete in-process Proxy run (portal ->
proxy -> upstream IdP -> proxy -> portal): the proxy's Response to the
portal, signed by the proxy's IdP key (RSASSA-PSS) and encrypted for the
portal's key (AES-256-GCM, xmlenc11 rsa-oaep). Besides the signatures and
the encryption, its assertion must carry the released attributes only, the
upstream trust level and no upstream NameID.
Prints "N passed, M failed"; exit status 1 when anything failed.
"""

import argparse
import os
import subprocess
import sys

from cryptography import x509
from cryptography.hazmat.primitives import serialization

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import independent_signer as s  # noqa: E402

RESULTS = {"passed": 0, "failed": 0}


def check(name, fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - every failure is a test failure
        RESULTS["failed"] += 1
        print("FAIL %s: %s: %s" % (name, type(e).__name__, e))
    else:
        RESULTS["passed"] += 1
        print("ok   %s" % name)


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def check_response(name, data, idp_pub, sp_key, sig_method, content_alg, transport):
    root = s.parse(data)

    def response_signature():
        sig = root.find(s.q(s.DS, "Signature"))
        expect(sig is not None, "no Response signature")
        got = s.verify_signature(sig, idp_pub)
        expect(got == sig_method, "Response signed with %s, want %s" % (got, sig_method))

    def algorithms():
        ea = root.find(s.q(s.SAML, "EncryptedAssertion"))
        expect(ea is not None, "no EncryptedAssertion")
        ed = ea.find(s.q(s.XENC, "EncryptedData"))
        got = ed.find(s.q(s.XENC, "EncryptionMethod")).get("Algorithm")
        expect(got == content_alg, "content encryption %s, want %s" % (got, content_alg))
        ek = ed.find(".//" + s.q(s.XENC, "EncryptedKey"))
        if ek is None:
            ek = ea.find(s.q(s.XENC, "EncryptedKey"))
        got_kt = ek.find(s.q(s.XENC, "EncryptionMethod")).get("Algorithm")
        expect(got_kt == transport, "key transport %s, want %s" % (got_kt, transport))
        expect(b"CLARA" not in data, "attribute value in the clear")

    state = {}

    def decrypts():
        plain = s.decrypt(root.find(s.q(s.SAML, "EncryptedAssertion")), sp_key)
        state["assertion"] = s.parse(plain)
        expect(state["assertion"].tag == s.q(s.SAML, "Assertion"), "plaintext is not a saml:Assertion")

    def assertion_signature():
        a = state["assertion"]
        got = s.verify_signature(a.find(s.q(s.DS, "Signature")), idp_pub)
        expect(got == sig_method, "assertion signed with %s, want %s" % (got, sig_method))

    def assertion_content():
        a = state["assertion"]
        values = [v.text for v in a.iter(s.q(s.SAML, "AttributeValue"))]
        expect(values == ["CLARA"], "attribute values %r" % values)
        ref = a.find(".//" + s.q(s.SAML, "AuthnContextClassRef")).text
        expect(ref == "STORK-QAA-Level-3", "AuthnContextClassRef %r" % ref)
        nid = a.find(".//" + s.q(s.SAML, "NameID"))
        expect(nid.get("Format") == "urn:oasis:names:tc:SAML:2.0:nameid-format:transient", "NameID format")

    def tamper_detected():
        a = s.parse(s.etree.tostring(state["assertion"]))
        a.find(".//" + s.q(s.SAML, "AttributeValue")).text = "MALLORY"
        try:
            s.verify_signature(a.find(s.q(s.DS, "Signature")), idp_pub)
        except s.CheckError:
            return
        raise AssertionError("a tampered assertion still verifies")

    for sub, fn in [("response signature", response_signature), ("encryption algorithms", algorithms),
                    ("decrypts", decrypts), ("assertion signature", assertion_signature),
                    ("assertion content", assertion_content), ("tampering detected", tamper_detected)]:
        if sub in ("assertion signature", "assertion content", "tampering detected") and "assertion" not in state:
            RESULTS["failed"] += 1
            print("FAIL %s: %s: not decrypted" % (name, sub))
            continue
        check("%s: %s" % (name, sub), fn)


PROXY_IDP = "https://sk.thueringen.example/idp"
PORTAL = "https://portal.thueringen.example/sp"
PORTAL_ACS = "https://portal.thueringen.example/saml/acs"
UPSTREAM_NAME_ID = "AAdzZWNyZXQxMjM0NTY3ODkw"
ATTR_GIVEN_NAME = "urn:oid:2.5.4.42"
ATTR_SURNAME = "urn:oid:2.5.4.4"
ATTR_BIRTHDATE = "urn:oid:1.2.40.0.10.2.1.1.55"
ATTR_TRUST_LEVEL = "urn:oid:1.2.40.0.10.2.1.1.261.94"


def check_proxy_response(name, data, proxy_pub, portal_key, portal_check):
    """The proxy's Response to the portal (see idp_emit.cpp, run_proxy)."""
    root = s.parse(data)
    state = {}

    def portal_accepts():
        expect(portal_check == "accepted", "interkonto's portal SP refused it: %s" % portal_check)

    def envelope():
        expect(root.tag == s.q(s.SAMLP, "Response"), "not a samlp:Response")
        expect(root.get("Destination") == PORTAL_ACS, "Destination %r" % root.get("Destination"))
        expect(root.get("InResponseTo"), "no InResponseTo")
        expect(root.find(s.q(s.SAML, "Issuer")).text == PROXY_IDP, "Response Issuer")
        code = root.find(s.q(s.SAMLP, "Status") + "/" + s.q(s.SAMLP, "StatusCode")).get("Value")
        expect(code == "urn:oasis:names:tc:SAML:2.0:status:Success", "status %r" % code)
        expect(root.find(s.q(s.SAML, "Assertion")) is None, "a plaintext assertion next to the encrypted one")

    def response_signature():
        sig = root.find(s.q(s.DS, "Signature"))
        expect(sig is not None, "no Response signature")
        got = s.verify_signature(sig, proxy_pub)
        expect(got == s.SIG_RSA_PSS_SHA256, "Response signed with %s" % got)

    def algorithms():
        ea = root.find(s.q(s.SAML, "EncryptedAssertion"))
        expect(ea is not None, "no EncryptedAssertion")
        ed = ea.find(s.q(s.XENC, "EncryptedData"))
        got = ed.find(s.q(s.XENC, "EncryptionMethod")).get("Algorithm")
        expect(got == s.ENC_AES256_GCM, "content encryption %s" % got)
        ek = ed.find(".//" + s.q(s.XENC, "EncryptedKey"))
        if ek is None:
            ek = ea.find(s.q(s.XENC, "EncryptedKey"))
        got_kt = ek.find(s.q(s.XENC, "EncryptionMethod")).get("Algorithm")
        expect(got_kt == s.KT_RSA_OAEP11, "key transport %s" % got_kt)
        expect(b"CLARA" not in data and b"SCHMIDT" not in data, "attribute value in the clear")

    def decrypts():
        plain = s.decrypt(root.find(s.q(s.SAML, "EncryptedAssertion")), portal_key)
        state["plain"] = plain
        state["assertion"] = s.parse(plain)
        expect(state["assertion"].tag == s.q(s.SAML, "Assertion"), "plaintext is not a saml:Assertion")

    def assertion_signature():
        a = state["assertion"]
        got = s.verify_signature(a.find(s.q(s.DS, "Signature")), proxy_pub)
        expect(got == s.SIG_RSA_PSS_SHA256, "assertion signed with %s" % got)

    def released_attributes():
        a = state["assertion"]
        attrs = {}
        for at in a.iter(s.q(s.SAML, "Attribute")):
            attrs[at.get("Name")] = [v.text for v in at.findall(s.q(s.SAML, "AttributeValue"))]
        expect(attrs.get(ATTR_GIVEN_NAME) == ["CLARA"], "givenName %r" % attrs.get(ATTR_GIVEN_NAME))
        expect(attrs.get(ATTR_SURNAME) == ["SCHMIDT"], "surname %r" % attrs.get(ATTR_SURNAME))
        expect(attrs.get(ATTR_TRUST_LEVEL) == ["STORK-QAA-Level-3"],
               "trust-level attribute %r" % attrs.get(ATTR_TRUST_LEVEL))
        expect(ATTR_BIRTHDATE not in attrs, "the withheld birthdate was released")
        expect(b"1990-04-01" not in state["plain"], "the withheld birthdate value is in the assertion")

    def trust_level_and_subject():
        a = state["assertion"]
        ref = a.find(".//" + s.q(s.SAML, "AuthnContextClassRef")).text
        expect(ref == "STORK-QAA-Level-3", "AuthnContextClassRef %r" % ref)
        expect(a.find(s.q(s.SAML, "Issuer")).text == PROXY_IDP, "assertion Issuer")
        aud = [x.text for x in a.iter(s.q(s.SAML, "Audience"))]
        expect(aud == [PORTAL], "Audience %r" % aud)
        scd = a.find(".//" + s.q(s.SAML, "SubjectConfirmationData"))
        expect(scd.get("Recipient") == PORTAL_ACS, "Recipient %r" % scd.get("Recipient"))
        expect(scd.get("InResponseTo") == root.get("InResponseTo"), "InResponseTo differs")
        nid = a.find(".//" + s.q(s.SAML, "NameID"))
        expect(nid is not None and nid.text and nid.text != UPSTREAM_NAME_ID, "upstream NameID passed on")

    def tamper_detected():
        a = s.parse(s.etree.tostring(state["assertion"]))
        a.find(".//" + s.q(s.SAML, "AuthnContextClassRef")).text = "STORK-QAA-Level-4"
        try:
            s.verify_signature(a.find(s.q(s.DS, "Signature")), proxy_pub)
        except s.CheckError:
            return
        raise AssertionError("a tampered assertion still verifies")

    needs_plain = ("assertion signature", "released attributes", "trust level and subject", "tampering detected")
    for sub, fn in [("accepted by interkonto's portal SP", portal_accepts), ("envelope", envelope),
                    ("response signature", response_signature), ("encryption algorithms", algorithms),
                    ("decrypts", decrypts), ("assertion signature", assertion_signature),
                    ("released attributes", released_attributes),
                    ("trust level and subject", trust_level_and_subject), ("tampering detected", tamper_detected)]:
        if sub in needs_plain and "assertion" not in state:
            RESULTS["failed"] += 1
            print("FAIL %s: %s: not decrypted" % (name, sub))
            continue
        check("%s: %s" % (name, sub), fn)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--emit", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    subprocess.run([args.emit, args.workdir], check=True, timeout=120)

    def read(name):
        with open(os.path.join(args.workdir, name), "rb") as f:
            return f.read()

    sp_key = serialization.load_pem_private_key(read("sp_key.pem"), password=None)
    idp_pub = x509.load_pem_x509_certificate(read("idp_cert.pem")).public_key()
    check_response("PSS + AES-256-GCM + xmlenc11 rsa-oaep", read("pss_gcm.xml"), idp_pub, sp_key,
                   s.SIG_RSA_PSS_SHA256, s.ENC_AES256_GCM, s.KT_RSA_OAEP11)
    check_response("RSA-SHA256 + AES-128-CBC + rsa-oaep-mgf1p", read("sha256_cbc.xml"), idp_pub, sp_key,
                   s.SIG_RSA_SHA256, s.ENC_AES128_CBC, s.KT_RSA_OAEP_MGF1P)
    portal_key = serialization.load_pem_private_key(read("proxy_portal_key.pem"), password=None)
    proxy_pub = x509.load_pem_x509_certificate(read("proxy_idp_cert.pem")).public_key()
    check_proxy_response("proxy -> portal (PSS + AES-256-GCM + xmlenc11 rsa-oaep)", read("proxy.xml"), proxy_pub,
                         portal_key, read("proxy_portal_check.txt").decode("utf-8", "replace"))
    print("%d passed, %d failed" % (RESULTS["passed"], RESULTS["failed"]))
    return 1 if RESULTS["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
