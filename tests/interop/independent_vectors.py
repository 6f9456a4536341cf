#!/usr/bin/python3
# SPDX-License-Identifier: EUPL-1.2
"""SAML Responses from an independent signer, checked against the interkonto CLI.

Generates IdP keys, certificates and metadata, an SP decryption key and SAML
2.0 Responses signed (and encrypted) by independent_signer.py -- lxml's
exclusive c14n and OpenSSL through python-cryptography, no interkonto code --
then runs `interkonto verify-response` on each and compares the outcome:
accepted vectors field by field with what was put in, rejected vectors by
their error code.

  independent_vectors.py --cli <build>/tools/interkonto/interkonto --workdir DIR
  independent_vectors.py --workdir DIR --generate-only [--xmlsec1]

Prints "ok <name>" or "FAIL <name>: why" per vector and "N passed, M failed";
exits 1 when anything failed. --xmlsec1 also cross-checks the vectors that
xmlsec1 1.2.37 understands (RSA PKCS#1 and ECDSA signatures) with the
`xmlsec1` command-line tool, when it is installed.
"""

import argparse
import base64
import hashlib
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
SP_ENTITY_ID = "https://servicekonto.thueringen.example/saml/sp"
ACS_URL = "https://servicekonto.thueringen.example/saml/acs"
TRANSIENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
ENTITY_FMT = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"
URI_FMT = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"
BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
CLASS_REF = "STORK-QAA-Level-3"

# IdP signing keys: name -> key kind
IDP_KEYS = {
    "rsa2048": "rsa2048",
    "rsa3072": "rsa3072",
    "p256": "p256",
    "p384": "p384",
    "bp256": "bp256",
}

# Servicekonto attributes (Name, FriendlyName, values, akdb:TrustLevel or None)
ATTRIBUTES = [
    ("urn:oid:2.5.4.42", "givenName", ["CLARA"], "SUBSTANTIELL"),
    ("urn:oid:2.5.4.4", "surname", ["MÜLLER-LÜDENSCHEIDT"], "SUBSTANTIELL"),
    ("urn:oid:1.2.40.0.10.2.1.1.55", "birthdate", ["1985-03-14"], "SUBSTANTIELL"),
    ("urn:oid:1.3.6.1.5.5.7.9.2", "placeOfBirth", ["Łódź"], None),
    ("urn:oid:2.5.4.16", "postalAddress", ["Königsallee 1a & 1b"], None),
    ("urn:oid:2.5.4.17", "postalCode", ["40212"], None),
    ("urn:oid:2.5.4.7", "localityName", ["Düsseldorf"], None),
    ("urn:oid:1.2.40.0.10.2.1.1.225599", "country", ["D"], None),
    ("urn:oid:0.9.2342.19200300.100.1.3", "mail", ["clara.mueller@example.org",
                                                   "c.mueller@example.net"], None),
    ("urn:oid:1.3.6.1.4.1.25484.494450.3", "bPK2",
     ["Xk3QqVh7Lw0bN2sT9yRmA4cE1uJ6pZ8dF5gH0iKoMnQ"], None),
    ("urn:oid:1.2.40.0.10.2.1.1.261.94", "trustLevel", [CLASS_REF], None),
    ("urn:oid:1.3.6.1.4.1.25484.494450.2", "authMethod", ["eID"], None),
]


def ident(name, what):
    """A stable, schema-valid xs:ID per vector."""
    return "_" + hashlib.sha256((name + "/" + what).encode()).hexdigest()[:40]


def idp_entity(key_name):
    return "https://servicekonto.nrw.example/idp/" + key_name


class Vector:
    def __init__(self, name, key, method=s.SIG_RSA_SHA256, **kw):
        self.name = name
        self.key = key                       # IdP key name (IDP_KEYS)
        self.method = method                 # signature method URI
        self.sign_assertion = kw.get("sign_assertion", True)
        self.sign_response = kw.get("sign_response", False)
        self.pss_salt = kw.get("pss_salt", 32)
        self.ecdsa_der = kw.get("ecdsa_der", False)
        self.inclusive_prefixes = kw.get("inclusive_prefixes")
        self.wrap = kw.get("wrap", 0)        # base64 line length in SignatureValue etc.
        self.encrypt = kw.get("encrypt")     # None or dict(content, transport, digest, mgf, placement)
        self.tamper = kw.get("tamper", False)
        self.comments = kw.get("comments", False)
        self.conditions_first = kw.get("conditions_first", False)
        self.fractional = kw.get("fractional", False)
        self.expect = kw.get("expect")       # None = accept, else the error code
        self.input_form = kw.get("input_form", "xml")  # xml, base64, bom
        self.base = kw.get("base")           # reuse another vector's response file
        self.note = kw.get("note", "")
        self.extra_args = kw.get("extra_args", [])

    # Times: Conditions and SubjectConfirmationData end at different instants
    # so the expected notOnOrAfter (the earlier one) tells them apart.
    def times(self):
        frac = ".512Z" if self.fractional else "Z"
        scd = "2026-05-04T10:04:30Z"
        cond = "2026-05-04T10:05:00Z"
        if self.conditions_first:
            scd, cond = "2026-05-04T10:05:00Z", "2026-05-04T10:03:45Z"
        return {
            "issue": "2026-05-04T09:59:58" + frac,
            "authn": "2026-05-04T09:59:41" + frac,
            "not_before": "2026-05-04T09:59:28Z",
            "cond_end": cond,
            "scd_end": scd,
            "session_end": "2026-05-04T18:00:00Z",
            "expected_end": min(scd, cond),
        }


def expected_result(v):
    t = v.times()
    name_id = "_b9f0c6e2a4d8" + ident(v.name, "nameid")[1:17]
    attrs = {}
    for name, _, values, _ in ATTRIBUTES:
        attrs.setdefault(name, []).extend(values)
    return {
        "issuer": idp_entity(v.key),
        "nameId": name_id,
        "nameIdFormat": TRANSIENT,
        "sessionIndex": ident(v.name, "session"),
        "authnContextClassRef": CLASS_REF,
        "notOnOrAfter": t["expected_end"],
        "attributes": attrs,
    }


def sub(parent, ns, local, text=None, **attrs):
    e = s.etree.SubElement(parent, s.q(ns, local), **attrs)
    if text is not None:
        e.text = text
    return e


def put_text(elem, text, comments):
    """Element text, split by an XML comment when `comments` is set: the
    value read must still be the whole text (comments are not content)."""
    if comments and len(text) > 3:
        cut = len(text) // 2
        elem.text = text[:cut]
        c = etree.Comment(" split ")
        elem.append(c)
        c.tail = text[cut:]
    else:
        elem.text = text


def build_assertion(v, exp):
    t = v.times()
    a = etree.Element(s.q(s.SAML, "Assertion"), nsmap={"saml": s.SAML, "xs": s.XS, "xsi": s.XSI},
                      ID=ident(v.name, "assertion"), Version="2.0", IssueInstant=t["issue"])
    sub(a, s.SAML, "Issuer", exp["issuer"], Format=ENTITY_FMT)
    subject = sub(a, s.SAML, "Subject")
    nid = sub(subject, s.SAML, "NameID", Format=TRANSIENT, NameQualifier=exp["issuer"],
              SPNameQualifier=SP_ENTITY_ID)
    put_text(nid, exp["nameId"], v.comments)
    sc = sub(subject, s.SAML, "SubjectConfirmation", Method=BEARER)
    sub(sc, s.SAML, "SubjectConfirmationData", NotOnOrAfter=t["scd_end"], Recipient=ACS_URL,
        InResponseTo=ident(v.name, "request"))
    cond = sub(a, s.SAML, "Conditions", NotBefore=t["not_before"], NotOnOrAfter=t["cond_end"])
    ar = sub(cond, s.SAML, "AudienceRestriction")
    sub(ar, s.SAML, "Audience", SP_ENTITY_ID)
    st = sub(a, s.SAML, "AuthnStatement", AuthnInstant=t["authn"], SessionIndex=exp["sessionIndex"],
             SessionNotOnOrAfter=t["session_end"])
    ctx = sub(st, s.SAML, "AuthnContext")
    sub(ctx, s.SAML, "AuthnContextClassRef", CLASS_REF)
    ats = sub(a, s.SAML, "AttributeStatement")
    for name, friendly, values, trust in ATTRIBUTES:
        attr = sub(ats, s.SAML, "Attribute", Name=name, NameFormat=URI_FMT, FriendlyName=friendly)
        if trust:
            attr.set(s.q(s.AKDB, "TrustLevel"), trust)
        for value in values:
            av = sub(attr, s.SAML, "AttributeValue")
            av.set(s.q(s.XSI, "type"), "xs:string")
            put_text(av, value, v.comments)
    etree.indent(a, space="  ", level=1)
    return a


def build_response(v, exp, payload):
    t = v.times()
    r = etree.Element(s.q(s.SAMLP, "Response"), nsmap={"samlp": s.SAMLP, "saml": s.SAML},
                      ID=ident(v.name, "response"), Version="2.0", IssueInstant=t["issue"],
                      Destination=ACS_URL, InResponseTo=ident(v.name, "request"))
    sub(r, s.SAML, "Issuer", exp["issuer"], Format=ENTITY_FMT)
    status = sub(r, s.SAMLP, "Status")
    sub(status, s.SAMLP, "StatusCode", Value=SUCCESS)
    placeholder = sub(r, s.SAMLP, "Placeholder")
    etree.indent(r, space="  ")
    payload.tail = placeholder.tail
    r.replace(placeholder, payload)
    return r


def make_vector(v, keys, certs, sp_key, sp_cert):
    """Returns the serialised Response bytes of vector `v`."""
    exp = expected_result(v)
    key, cert = keys[v.key], certs[v.key]
    assertion = build_assertion(v, exp)
    if v.sign_assertion:
        s.sign_enveloped(assertion, key, cert, v.method, level=2, pss_salt=v.pss_salt,
                         ecdsa_der=v.ecdsa_der, inclusive_prefixes=v.inclusive_prefixes,
                         wrap=v.wrap)
    if v.tamper:
        for av in assertion.iter(s.q(s.SAML, "AttributeValue")):
            if av.text == "Düsseldorf":
                av.text = "Duisburg"
    payload = assertion
    if v.encrypt:
        e = v.encrypt
        plaintext = etree.tostring(assertion, encoding="UTF-8", xml_declaration=False)
        payload = s.encrypt_element(
            plaintext, s.q(s.SAML, "EncryptedAssertion"), sp_key.public_key(), e["content"],
            e["transport"], digest=e.get("digest"), mgf=e.get("mgf"),
            placement=e.get("placement", "inline"),
            recipient=SP_ENTITY_ID if e.get("placement") == "sibling" else None,
            sp_cert=sp_cert if e.get("sp_cert") else None, flip_tag=e.get("flip_tag", False),
            ids=(ident(v.name, "encrypted-data"), ident(v.name, "encrypted-key")), wrap=v.wrap)
        etree.indent(payload, space="  ", level=1)
    response = build_response(v, exp, payload)
    if v.sign_response:
        s.sign_enveloped(response, key, cert, v.method, level=1, pss_salt=v.pss_salt,
                         ecdsa_der=v.ecdsa_der, inclusive_prefixes=v.inclusive_prefixes,
                         wrap=v.wrap)
    return etree.tostring(response, encoding="UTF-8", xml_declaration=True)


OAEP256 = dict(transport=s.KT_RSA_OAEP11, digest=s.DIGEST_SHA256, mgf=s.MGF1_SHA256)

VECTORS = [
    # --- accepted ---------------------------------------------------------
    Vector("rsa_sha256_rsa2048", "rsa2048", s.SIG_RSA_SHA256, wrap=64),
    Vector("pss_sha256_rsa2048", "rsa2048", s.SIG_RSA_PSS_SHA256),
    Vector("pss_sha256_rsa3072", "rsa3072", s.SIG_RSA_PSS_SHA256, conditions_first=True),
    Vector("ecdsa_sha256_p256", "p256", s.SIG_ECDSA_SHA256, fractional=True),
    Vector("ecdsa_sha256_brainpoolP256r1", "bp256", s.SIG_ECDSA_SHA256),
    Vector("ecdsa_sha384_p384", "p384", s.SIG_ECDSA_SHA384, conditions_first=True),
    Vector("enc_aes256gcm_oaep11sha256_pss3072", "rsa3072", s.SIG_RSA_PSS_SHA256,
           encrypt=dict(content=s.ENC_AES256_GCM, **OAEP256)),
    Vector("enc_aes128gcm_oaep11sha256_mgfdefault_p256", "p256", s.SIG_ECDSA_SHA256,
           encrypt=dict(content=s.ENC_AES128_GCM, transport=s.KT_RSA_OAEP11,
                        digest=s.DIGEST_SHA256),
           note="xenc11:MGF absent: MGF1 with SHA-1 (XML-Enc 1.1 section 5.5.2)"),
    Vector("enc_aes128cbc_oaepmgf1p_rsa2048", "rsa2048", s.SIG_RSA_SHA256, wrap=76,
           encrypt=dict(content=s.ENC_AES128_CBC, transport=s.KT_RSA_OAEP_MGF1P,
                        digest=s.DIGEST_SHA1)),
    Vector("enc_aes256gcm_oaep11sha256_sibling_key_pss3072", "rsa3072", s.SIG_RSA_PSS_SHA256,
           encrypt=dict(content=s.ENC_AES256_GCM, placement="sibling", sp_cert=True, **OAEP256),
           note="EncryptedKey beside EncryptedData, ds:RetrievalMethod, SP certificate in its KeyInfo"),
    Vector("response_signed_only_pss3072", "rsa3072", s.SIG_RSA_PSS_SHA256,
           sign_assertion=False, sign_response=True),
    Vector("inclusive_namespaces_prefixlist_p384", "p384", s.SIG_ECDSA_SHA384,
           inclusive_prefixes=["xs"],
           note="exc-c14n InclusiveNamespaces PrefixList=\"xs\" as Shibboleth IdP writes it"),
    Vector("comments_in_text_rsa2048", "rsa2048", s.SIG_RSA_SHA256, comments=True,
           note="NameID and attribute values split by XML comments"),
    Vector("base64_input", "rsa3072", base="enc_aes256gcm_oaep11sha256_pss3072",
           input_form="base64"),
    Vector("bom_xml_input", "p256", base="ecdsa_sha256_p256", input_form="bom",
           note="UTF-8 byte order mark before the XML declaration"),
    Vector("leading_blanks_xml_input", "p384", base="ecdsa_sha384_p384", input_form="blanks",
           note="blank lines before the root element, no XML declaration"),
    # --- rejected ---------------------------------------------------------
    Vector("neg_pss_salt20", "rsa3072", s.SIG_RSA_PSS_SHA256, pss_salt=20,
           expect="signature_invalid"),
    Vector("neg_ecdsa_der_value", "p256", s.SIG_ECDSA_SHA256, ecdsa_der=True,
           expect="signature_invalid"),
    Vector("neg_tampered_attribute", "rsa2048", s.SIG_RSA_SHA256, tamper=True,
           expect="signature_invalid"),
    Vector("neg_rsa_sha1", "rsa2048", s.SIG_RSA_SHA1, expect="algorithm_refused"),
    Vector("neg_gcm_tag_flipped", "rsa3072", s.SIG_RSA_PSS_SHA256,
           encrypt=dict(content=s.ENC_AES256_GCM, flip_tag=True, **OAEP256),
           expect="decryption_failed"),
    Vector("neg_rsa_1_5_key_transport", "rsa3072", s.SIG_RSA_PSS_SHA256,
           encrypt=dict(content=s.ENC_AES128_GCM, transport=s.KT_RSA_1_5),
           expect="decryption_failed"),
]


# --------------------------------------------------------------------------
# Generation and self-checks

def write(path, data):
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(path, mode) as f:
        f.write(data)


def idp_metadata(key_name, cert):
    md = etree.Element(s.q(s.MD, "EntityDescriptor"), nsmap={"md": s.MD, "ds": s.DS},
                       entityID=idp_entity(key_name))
    idp = sub(md, s.MD, "IDPSSODescriptor", WantAuthnRequestsSigned="true",
              protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol")
    kd = sub(idp, s.MD, "KeyDescriptor", use="signing")
    ki = sub(kd, s.DS, "KeyInfo")
    x5 = sub(ki, s.DS, "X509Data")
    sub(x5, s.DS, "X509Certificate", s.cert_b64(cert, 64))
    sub(idp, s.MD, "NameIDFormat", TRANSIENT)
    base = "https://servicekonto.nrw.example/idp/" + key_name
    sub(idp, s.MD, "SingleSignOnService", Binding=REDIRECT, Location=base + "/sso/redirect")
    sub(idp, s.MD, "SingleSignOnService", Binding=POST, Location=base + "/sso/post")
    org = sub(md, s.MD, "Organization")
    xml_lang = "{http://www.w3.org/XML/1998/namespace}lang"
    sub(org, s.MD, "OrganizationName", "Servicekonto.NRW", **{xml_lang: "de"})
    sub(org, s.MD, "OrganizationDisplayName", "Servicekonto Nordrhein-Westfalen", **{xml_lang: "de"})
    sub(org, s.MD, "OrganizationURL", "https://servicekonto.nrw.example/", **{xml_lang: "de"})
    etree.indent(md, space="  ")
    return etree.tostring(md, encoding="UTF-8", xml_declaration=True)


def self_check(v, data, certs, sp_key, schema):
    """Verifies the serialised vector with the signer's own reader: accepted
    vectors must verify strictly; rejected ones must fail strictly but pass a
    check relaxed in exactly the intended respect. Returns an error or None."""
    try:
        root = s.parse(data)
        if schema is not None and not schema.validate(root):
            return "schema: %s" % schema.error_log.last_error
        pub = certs[v.key].public_key()
        assertion_holder = root
        enc = root.find(s.q(s.SAML, "EncryptedAssertion"))
        if enc is not None:
            try:
                plain = s.decrypt(enc, sp_key)
            except s.CheckError as e:
                if v.expect == "decryption_failed" and v.encrypt.get("flip_tag"):
                    return None
                if v.expect == "decryption_failed" and v.encrypt["transport"] == s.KT_RSA_1_5:
                    return "RSA-1_5 vector does not decrypt with PKCS#1 v1.5: %s" % e
                return "decrypt: %s" % e
            if v.encrypt.get("flip_tag"):
                return "flipped GCM tag still decrypts"
            assertion = s.parse(plain)
            if schema is not None and not schema.validate(assertion):
                return "decrypted assertion schema: %s" % schema.error_log.last_error
            # verify in the context of the response, as a relying party would
            enc.getparent().replace(enc, assertion)
            assertion_holder = root
        sigs = assertion_holder.iter(s.q(s.DS, "Signature"))
        sigs = list(sigs)
        if len(sigs) != 1:
            return "expected one signature, found %d" % len(sigs)
        try:
            s.verify_signature(sigs[0], pub)
            strict_error = None
        except s.CheckError as e:
            strict_error = str(e)
        if v.expect in (None, "decryption_failed", "algorithm_refused"):
            return None if strict_error is None else "signature: " + strict_error
        # expected signature_invalid
        if strict_error is None:
            return "negative vector verifies"
        if v.tamper:
            return None if "digest" in strict_error else "tampered: " + strict_error
        try:
            s.verify_signature(sigs[0], pub, lenient=True)
        except s.CheckError as e:
            return "not even the lenient check passes: %s" % e
        return None
    except Exception as e:  # noqa: BLE001 -- report, do not crash the run
        return "self-check crashed: %r" % e


def xmlsec1_check(v, path, workdir):
    """Second opinion from xmlsec1 1.2.37, which lacks RSASSA-PSS and
    xmlenc11 rsa-oaep: checks PKCS#1 / ECDSA signatures (accepted vectors
    must verify, signature_invalid ones must not, the rsa-sha1 one verifies
    as a signature) and decrypts rsa-oaep-mgf1p vectors before verifying."""
    if v.base or v.method == s.SIG_RSA_PSS_SHA256 or not v.sign_assertion:
        return "skip"
    if v.encrypt and v.encrypt["transport"] != s.KT_RSA_OAEP_MGF1P:
        return "skip"
    if v.encrypt:
        dec = subprocess.run(["xmlsec1", "--decrypt", "--privkey-pem",
                              os.path.join(workdir, "keys", "sp.key.pem"), path],
                             capture_output=True, timeout=60)
        if dec.returncode != 0:
            return "FAIL decrypt: " + dec.stderr.decode(errors="replace").strip()[-300:]
        path = path + ".xmlsec1-decrypted"
        write(path, dec.stdout)
    cmd = ["xmlsec1", "--verify", "--pubkey-cert-pem",
           os.path.join(workdir, "keys", "idp-%s.crt.pem" % v.key),
           "--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:assertion:Assertion", path]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    verified = p.returncode == 0 and "\nOK" in "\n" + p.stderr
    want = v.expect != "signature_invalid"
    if verified == want:
        return "ok"
    return "FAIL %s: %s" % ("does not verify" if want else "verifies",
                           p.stderr.strip()[-300:])


def generate(workdir, want_xmlsec1):
    for sub_dir in ("keys", "metadata", "responses"):
        os.makedirs(os.path.join(workdir, sub_dir), exist_ok=True)
    keys, certs = {}, {}
    for name, kind in IDP_KEYS.items():
        keys[name] = s.generate_key(kind)
        certs[name] = s.self_signed_cert(keys[name], "IdP signing " + name)
        write(os.path.join(workdir, "keys", "idp-%s.key.pem" % name), s.key_pem(keys[name]))
        write(os.path.join(workdir, "keys", "idp-%s.crt.pem" % name), s.cert_pem(certs[name]))
        write(os.path.join(workdir, "metadata", "idp-%s.xml" % name),
              idp_metadata(name, certs[name]))
    sp_key = s.generate_key("rsa3072")
    sp_cert = s.self_signed_cert(sp_key, "SP encryption")
    write(os.path.join(workdir, "keys", "sp.key.pem"), s.key_pem(sp_key))
    write(os.path.join(workdir, "keys", "sp.crt.pem"), s.cert_pem(sp_cert))

    schema = s.load_schema(workdir)
    if schema is None:
        print("note: SAML schemas not found, schema self-check skipped")
    else:
        for name in IDP_KEYS:
            md = etree.parse(os.path.join(workdir, "metadata", "idp-%s.xml" % name))
            if not schema.validate(md):
                raise SystemExit("metadata idp-%s.xml: %s" % (name, schema.error_log.last_error))
    have_xmlsec1 = want_xmlsec1 and shutil.which("xmlsec1") is not None
    if want_xmlsec1 and not have_xmlsec1:
        print("note: xmlsec1 not installed, cross-check skipped")

    generated, problems, manifest = {}, {}, []
    for v in VECTORS:
        if v.base:
            data = generated[v.base]
            path = os.path.join(workdir, "responses", v.name + ".xml")
            if v.input_form == "base64":
                data = base64.encodebytes(data)  # MIME style, 76-column lines
                path = os.path.join(workdir, "responses", v.name + ".b64")
            elif v.input_form == "bom":
                data = b"\xef\xbb\xbf" + data
            else:
                assert data.startswith(b"<?xml ")
                data = b"\r\n\n  " + data[data.index(b"?>") + 2:].lstrip()
            write(path, data)
        else:
            data = make_vector(v, keys, certs, sp_key, sp_cert)
            generated[v.name] = data
            path = os.path.join(workdir, "responses", v.name + ".xml")
            write(path, data)
            err = self_check(v, data, certs, sp_key, schema)
            if err:
                problems[v.name] = "vector self-check: " + err
            if have_xmlsec1:
                res = xmlsec1_check(v, path, workdir)
                if res != "skip":
                    print("xmlsec1 %s: %s" % (v.name, res))
                    if res != "ok":
                        problems[v.name] = "xmlsec1: " + res
        manifest.append({
            "name": v.name, "file": os.path.relpath(path, workdir),
            "idp_metadata": "metadata/idp-%s.xml" % v.key, "sp_key": "keys/sp.key.pem",
            "in_response_to": ident(v.base or v.name, "request"), "now": NOW,
            "expect": v.expect or "accepted", "note": v.note,
            "result": expected_result(generated_vector(v)) if not v.expect else None,
        })
    write(os.path.join(workdir, "manifest.json"),
          json.dumps({"sp_entity_id": SP_ENTITY_ID, "acs_url": ACS_URL, "vectors": manifest},
                     ensure_ascii=False, indent=2) + "\n")
    return problems


def generated_vector(v):
    """The vector whose response a derived vector (base64, BOM) carries."""
    if v.base:
        return next(x for x in VECTORS if x.name == v.base)
    return v


# --------------------------------------------------------------------------
# Running the CLI

def run_cli(cli, v, workdir):
    src = generated_vector(v)
    ext = ".b64" if v.input_form == "base64" else ".xml"
    cmd = [cli, "verify-response",
           "--sp-entity-id", SP_ENTITY_ID, "--acs-url", ACS_URL,
           "--idp-metadata", os.path.join(workdir, "metadata", "idp-%s.xml" % src.key),
           "--sp-key", os.path.join(workdir, "keys", "sp.key.pem"),
           "--in-response-to", ident(src.name, "request"),
           "--now", NOW] + v.extra_args + [os.path.join(workdir, "responses", v.name + ext)]
    try:
        p = subprocess.run(cmd, capture_output=True, timeout=60)
    except subprocess.TimeoutExpired:
        return "CLI timed out after 60 s"
    out = p.stdout.decode("utf-8", "replace")
    err = p.stderr.decode("utf-8", "replace")
    if v.expect is None:
        if p.returncode != 0:
            return "want exit 0, got %d; stderr: %s" % (p.returncode, err.strip()[:500])
        try:
            got = json.loads(p.stdout.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            return "stdout is not one JSON object (%s): %r" % (e, out[:300])
        want = expected_result(src)
        diffs = []
        for k, w in want.items():
            if k not in got:
                diffs.append("missing %s" % k)
            elif got[k] != w:
                diffs.append("%s: want %s, got %s" % (k, json.dumps(w, ensure_ascii=False),
                                                      json.dumps(got[k], ensure_ascii=False)))
        return "; ".join(diffs) or None
    lines = [line for line in err.splitlines() if line.strip()]
    if p.returncode != 1:
        return "want exit 1 (%s), got %d; stdout: %s stderr: %s" % (
            v.expect, p.returncode, out.strip()[:200], err.strip()[:300])
    if len(lines) != 1 or not lines[0].startswith(v.expect + ":"):
        return "want stderr \"%s: ...\", got %r" % (v.expect, err.strip()[:300])
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cli", help="path of the interkonto executable")
    ap.add_argument("--workdir", required=True, help="where keys, metadata and responses go")
    ap.add_argument("--generate-only", action="store_true", help="write and self-check vectors only")
    ap.add_argument("--xmlsec1", action="store_true",
                    help="cross-check PKCS#1/ECDSA vectors with the xmlsec1 tool if installed")
    ap.add_argument("--only", action="append", default=[], help="run only this vector (repeatable)")
    args = ap.parse_args()
    if not args.generate_only and not args.cli:
        ap.error("--cli is required unless --generate-only")

    workdir = os.path.abspath(args.workdir)
    os.makedirs(workdir, exist_ok=True)
    problems = generate(workdir, args.xmlsec1)

    passed = failed = 0
    for v in VECTORS:
        if args.only and v.name not in args.only:
            continue
        why = problems.get(v.name) or problems.get(v.base or "")
        if why is None and not args.generate_only:
            why = run_cli(args.cli, v, workdir)
        if why:
            failed += 1
            print("FAIL %s: %s" % (v.name, why))
        else:
            passed += 1
            print("ok %s" % v.name)
    print("%d passed, %d failed" % (passed, failed))
    sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
