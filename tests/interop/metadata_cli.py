#!/usr/bin/python3
# SPDX-License-Identifier: EUPL-1.2
"""The contract of `interkonto metadata sign|verify|list|show`, checked to the letter.

  interkonto metadata sign   --key FILE --cert FILE --valid-for DURATION [--cache-duration DURATION]
                             [--name NAME] [--alg rsa-sha256|rsa-pss-sha256|ecdsa-sha256] INPUT...
  interkonto metadata verify --cert FILE [--cert FILE]... [--max-validity DURATION] SOURCE
  interkonto metadata list   [--cert FILE] [--role idp|sp] [--lang de|en] SOURCE
  interkonto metadata show   [--cert FILE] [--xml] SOURCE ENTITY_ID
  (all: --now RFC3339)

Keys and certificates come from the `openssl` command; EntityDescriptors
(IdPs and SPs with mdui names in de/en, Organization, contacts) are written
here. The signed aggregate is checked independently of interkonto: its
signature with independent_signer.py (lxml exclusive c14n, OpenSSL through
python-cryptography) and its shape with the SAML metadata schema (lxml).
SOURCE as an http URL is served by a loopback HTTP server in this process.

  metadata_cli.py --cli <build>/tools/interkonto/interkonto --workdir DIR

Prints "ok <case>" or "FAIL <case>: why" per case and "N passed, M failed";
exits 1 when anything failed.
"""

import argparse
import base64
import functools
import hashlib
import http.server
import os
import re
import shutil
import socket
import subprocess
import sys
import threading

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lxml import etree

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import independent_signer as s  # noqa: E402

NOW = "2026-05-04T10:00:00Z"
VALID_UNTIL = "2026-05-11T10:00:00Z"  # NOW + P7D
AFTER_EXPIRY = "2026-05-11T10:00:01Z"

MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = "http://www.w3.org/2000/09/xmldsig#"
MDUI = "urn:oasis:names:tc:SAML:metadata:ui"
MDATTR = "urn:oasis:names:tc:SAML:metadata:attribute"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
XS = "http://www.w3.org/2001/XMLSchema"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
PROTO = "urn:oasis:names:tc:SAML:2.0:protocol"
REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"

NRW = "https://servicekonto.nrw.example/idp"
BAYERN = "https://servicekonto.bayern.example/idp"
ERFURT = "https://buergerkonto.erfurt.example/idp"
THUERINGEN = "https://portal.thueringen.example/saml/sp"
SACHSEN = "https://portal.sachsen.example/saml/sp"
BARE = "https://bare.example/sp"
ALL = sorted([NRW, BAYERN, ERFURT, THUERINGEN, SACHSEN, BARE])
IDPS = sorted([NRW, BAYERN, ERFURT])
SPS = sorted([THUERINGEN, SACHSEN, BARE])

# entityID -> expected `list` name per language
NAMES = {
    "de": {
        NRW: "Servicekonto.NRW",
        BAYERN: "BayernID",                    # only en in mdui: the other language
        ERFURT: "Stadt Erfurt Bürgerkonto",    # tab and line break became spaces
        THUERINGEN: "Freistaat Thüringen",     # no mdui: OrganizationDisplayName
        SACHSEN: "Amt24 Sachsen",
        BARE: BARE,                            # nothing: the entityID
    },
    "en": {
        NRW: "Service account North Rhine-Westphalia",
        BAYERN: "BayernID",
        ERFURT: "City of Erfurt",
        THUERINGEN: "Free State of Thuringia",
        SACHSEN: "Amt24 Sachsen",              # mdui de beats OrganizationDisplayName en
        BARE: BARE,
    },
}

RESULTS = []


def check(name, fn):
    try:
        fn()
        RESULTS.append(True)
        print("ok", name, flush=True)
    except Exception as e:  # noqa: BLE001 - every failure is reported
        RESULTS.append(False)
        print("FAIL %s: %s" % (name, str(e).replace("\n", " | ")[:2000]), flush=True)


class CheckFailed(Exception):
    pass


def expect(cond, why):
    if not cond:
        raise CheckFailed(why)


# --------------------------------------------------------------------------
# Running the CLI

class Run:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.out = proc.stdout.decode("utf-8")
        self.err = proc.stderr.decode("utf-8")

    def __str__(self):
        return "rc=%d stdout=%r stderr=%r" % (self.rc, self.out[:600], self.err[:600])


CLI = None
WORK = None


def run(*args, stdin=None):
    proc = subprocess.run([CLI, "metadata"] + [str(a) for a in args], input=stdin, capture_output=True,
                          timeout=120, check=False)
    return Run(proc)


def path(name):
    return os.path.join(WORK, name)


def expect_ok(r):
    expect(r.rc == 0, "expected exit 0: %s" % r)


def expect_refused(r, codes):
    """Exit 1, empty stdout, stderr exactly one line `<code>: <detail>`."""
    expect(r.rc == 1, "expected exit 1: %s" % r)
    expect(r.out == "", "stdout not empty on exit 1: %s" % r)
    lines = [l for l in r.err.splitlines() if not l.startswith("interkonto: warning:")
             and not l.startswith("interkonto: skipped:")]
    expect(len(lines) == 1, "expected one `<code>: <detail>` line on stderr: %s" % r)
    m = re.match(r"^([a-z_]+): \S", lines[0])
    expect(m is not None, "stderr is not `<code>: <detail>`: %s" % r)
    if isinstance(codes, str):
        codes = [codes]
    expect(m.group(1) in codes, "code %s, expected one of %s: %s" % (m.group(1), codes, r))


def expect_usage(r):
    expect(r.rc == 2, "expected exit 2: %s" % r)
    expect(r.out == "", "stdout not empty on exit 2: %s" % r)
    expect(r.err.strip() != "", "no message on stderr for exit 2: %s" % r)


def expect_verified(r, n, skipped=0, valid_until=VALID_UNTIL):
    expect_ok(r)
    want = "OK %d entities, %d skipped, validUntil %s\n" % (n, skipped, valid_until)
    expect(r.out == want, "stdout %r, expected %r" % (r.out, want))


# --------------------------------------------------------------------------
# Keys (openssl CLI)

def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, capture_output=True, timeout=120)


def make_rsa(name, cn):
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", path(name + ".key"),
            "-out", path(name + ".crt"), "-subj", "/CN=" + cn, "-days", "3650", "-sha256")


def make_ec(name, cn):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", path(name + ".key"), "-out", path(name + ".crt"), "-subj", "/CN=" + cn,
            "-days", "3650", "-sha256")


def cert_obj(name):
    with open(path(name + ".crt"), "rb") as f:
        return x509.load_pem_x509_certificate(f.read())


def cert_b64(name):
    return base64.b64encode(cert_obj(name).public_bytes(serialization.Encoding.DER)).decode()


def spki_sha256(name):
    der = cert_obj(name).public_key().public_bytes(serialization.Encoding.DER,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


# --------------------------------------------------------------------------
# Metadata inputs

NSDECL = ('xmlns:md="%s" xmlns:ds="%s" xmlns:mdui="%s"' % (MD, DS, MDUI))


def key_descriptor(use, cert):
    return ('<md:KeyDescriptor use="%s"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>%s'
            '</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>' % (use, cert_b64(cert)))


def ui(names):
    if not names:
        return ""
    inner = "".join('<mdui:DisplayName xml:lang="%s">%s</mdui:DisplayName>' % (l, v) for l, v in names)
    return "<md:Extensions><mdui:UIInfo>%s</mdui:UIInfo></md:Extensions>" % inner


def organization(display):
    if not display:
        return ""
    names = "".join('<md:OrganizationName xml:lang="%s">%s</md:OrganizationName>' % (l, v) for l, v in display)
    disp = "".join('<md:OrganizationDisplayName xml:lang="%s">%s</md:OrganizationDisplayName>' % (l, v)
                   for l, v in display)
    urls = "".join('<md:OrganizationURL xml:lang="%s">https://org.example/%s</md:OrganizationURL>' % (l, l)
                   for l, _ in display)
    return "<md:Organization>%s%s%s</md:Organization>" % (names, disp, urls)


def contact(kind, given, surname, mail):
    return ('<md:ContactPerson contactType="%s"><md:GivenName>%s</md:GivenName><md:SurName>%s</md:SurName>'
            '<md:EmailAddress>mailto:%s</md:EmailAddress></md:ContactPerson>' % (kind, given, surname, mail))


def idp(entity_id, names=(), org=(), contacts=(), cert="idpkey", attrs="", ext=""):
    base = entity_id.rsplit("/", 1)[0]
    return ('<md:EntityDescriptor %s entityID="%s"%s>%s'
            '<md:IDPSSODescriptor protocolSupportEnumeration="%s" WantAuthnRequestsSigned="true">%s%s'
            '<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:transient</md:NameIDFormat>'
            '<md:SingleSignOnService Binding="%s" Location="%s/sso/redirect"/>'
            '<md:SingleSignOnService Binding="%s" Location="%s/sso/post"/>'
            '</md:IDPSSODescriptor>%s%s</md:EntityDescriptor>'
            % (NSDECL, entity_id, attrs, ext, PROTO, ui(names), key_descriptor("signing", cert), REDIRECT, base,
               POST, base, organization(org), "".join(contacts)))


def sp(entity_id, names=(), org=(), contacts=(), cert="spkey"):
    base = entity_id.rsplit("/", 1)[0]
    return ('<md:EntityDescriptor %s entityID="%s">'
            '<md:SPSSODescriptor protocolSupportEnumeration="%s" AuthnRequestsSigned="true" '
            'WantAssertionsSigned="true">%s%s%s'
            '<md:AssertionConsumerService Binding="%s" Location="%s/acs" index="0" isDefault="true"/>'
            '</md:SPSSODescriptor>%s%s</md:EntityDescriptor>'
            % (NSDECL, entity_id, PROTO, ui(names), key_descriptor("signing", cert),
               key_descriptor("encryption", cert), POST, base, organization(org), "".join(contacts)))


def strip_decl(xml):
    return xml.replace(" " + NSDECL, "", 1)


def sign_first_child(xml_text, key_name, cert_name):
    """Signs the root (which must carry an ID) with an enveloped signature as
    its first child, independently of interkonto (the input's own signature
    that `sign` must strip)."""
    root = etree.fromstring(xml_text.encode())
    with open(path(key_name + ".key"), "rb") as f:
        key = serialization.load_pem_private_key(f.read(), None)
    sig = s.build_signature(root.get("ID"), s.SIG_RSA_SHA256, cert_obj(cert_name))
    root.insert(0, sig)
    sig.find(".//{%s}DigestValue" % DS).text = s.b64(hashlib.sha256(s.enveloped_c14n(sig)).digest())
    si = sig.find("{%s}SignedInfo" % DS)
    sig.find("{%s}SignatureValue" % DS).text = s.b64(s.sign_bytes(key, s.SIG_RSA_SHA256, s.exc_c14n(si)))
    s.verify_signature(sig, cert_obj(cert_name).public_key())
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode()


def write(name, text):
    with open(path(name), "w", encoding="utf-8") as f:
        f.write(text)
    return path(name)


def setup_inputs():
    make_rsa("signer", "FINK metadata signer")
    make_rsa("signer2", "FINK metadata signer (next)")
    make_rsa("other", "Somebody else")
    make_ec("ecsigner", "FINK metadata signer (EC)")
    make_rsa("idpkey", "NRW IdP signing")
    make_rsa("spkey", "Thueringen SP")

    # NRW: an EntityDescriptor of its own, with an ID, an expired validUntil
    # and a cacheDuration of its own (all replaced by the aggregate's), signed
    # by its publisher; entity attributes whose xsi:type QName uses a prefix
    # declared only on the root.
    nrw_ext = ('<md:Extensions><mdattr:EntityAttributes xmlns:mdattr="%s">'
               '<saml:Attribute xmlns:saml="%s" Name="http://macedir.org/entity-category" '
               'NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri">'
               '<saml:AttributeValue xsi:type="xs:string">https://fink.example/category/servicekonto'
               '</saml:AttributeValue></saml:Attribute></mdattr:EntityAttributes></md:Extensions>'
               % (MDATTR, SAML))
    nrw = idp(NRW, names=[("de", "Servicekonto.NRW"), ("en", "Service account North Rhine-Westphalia")],
              org=[("de", "Land Nordrhein-Westfalen")],
              contacts=[contact("technical", "Max", "Mustermann", "technik@nrw.example"),
                        contact("support", "Erika", "Musterfrau", "support@nrw.example")],
              attrs=' ID="_nrw1" validUntil="2001-01-01T00:00:00Z" cacheDuration="PT1M" '
                    'xmlns:xs="%s" xmlns:xsi="%s"' % (XS, XSI),
              ext=nrw_ext)
    write("nrw.xml", sign_first_child(nrw, "other", "other"))

    write("bayern.xml", idp(BAYERN, names=[("en", "BayernID")], org=[("de", "Freistaat Bayern")]))
    write("bare.xml", sp(BARE))

    # A group (EntitiesDescriptor with a nested one), itself signed: the
    # entities are taken out, the old signature, Name and validity dropped.
    erfurt = idp(ERFURT, names=[("de", "Stadt\tErfurt\nBürgerkonto"), ("en", "City of Erfurt")],
                 org=[("de", "Stadt Erfurt")])
    thueringen = sp(THUERINGEN, org=[("de", "Freistaat Thüringen"), ("en", "Free State of Thuringia")],
                    contacts=[contact("technical", "Tina", "Technik", "saml@thueringen.example")])
    sachsen = sp(SACHSEN, names=[("de", "Amt24 Sachsen")], org=[("en", "Saxony")])
    group = ('<md:EntitiesDescriptor %s ID="_group" Name="urn:old" validUntil="2001-01-01T00:00:00Z">'
             '<md:EntitiesDescriptor Name="urn:old:nested">%s</md:EntitiesDescriptor>%s%s'
             '</md:EntitiesDescriptor>' % (NSDECL, strip_decl(erfurt), strip_decl(thueringen), strip_decl(sachsen)))
    write("group.xml", sign_first_child(group, "other", "other"))
    write("dup.xml", idp(NRW, names=[("de", "Noch einmal NRW")]))
    return [path("nrw.xml"), path("bayern.xml"), path("group.xml"), path("bare.xml")]


# --------------------------------------------------------------------------
# Cases

def sign_aggregate(inputs, out_name, *extra, key="signer", cert="signer"):
    r = run("sign", "--key", path(key + ".key"), "--cert", path(cert + ".crt"), "--valid-for", "P7D",
            "--now", NOW, *extra, *inputs)
    expect_ok(r)
    write(out_name, r.out)
    return r


def cases(inputs):
    schema = s.load_schema(WORK)
    agg = path("aggregate.xml")
    signer = path("signer.crt")

    def sign_ok():
        r = sign_aggregate(inputs, "aggregate.xml", "--cache-duration", "PT6H", "--name", "urn:fink:test")
        expect(r.out.startswith("<?xml"), "no XML declaration")
        root = etree.fromstring(r.out.encode())
        expect(root.tag == "{%s}EntitiesDescriptor" % MD, "root is %s" % root.tag)
        expect(re.fullmatch(r"_[0-9a-f]{32}", root.get("ID") or "") is not None, "ID %r" % root.get("ID"))
        expect(root.get("validUntil") == VALID_UNTIL, "validUntil %r" % root.get("validUntil"))
        expect(root.get("cacheDuration") == "PT6H", "cacheDuration %r" % root.get("cacheDuration"))
        expect(root.get("Name") == "urn:fink:test", "Name %r" % root.get("Name"))
        kids = [c for c in root if isinstance(c.tag, str)]
        expect(kids[0].tag == "{%s}Signature" % DS, "first child is %s" % kids[0].tag)
        expect(all(k.tag == "{%s}EntityDescriptor" % MD for k in kids[1:]), "not flat: %s" % [k.tag for k in kids])
        expect(sorted(k.get("entityID") for k in kids[1:]) == ALL, "entities %s" % [k.get("entityID") for k in kids])
        expect(len(root.findall(".//{%s}Signature" % DS)) == 1, "input signatures not stripped")
        for k in kids[1:]:
            for a in ("ID", "validUntil", "cacheDuration"):
                expect(k.get(a) is None, "%s kept its %s" % (k.get("entityID"), a))
        sig = kids[0]
        ref = sig.find("{%s}SignedInfo/{%s}Reference" % (DS, DS))
        expect(ref.get("URI") == "#" + root.get("ID"), "Reference URI %r" % ref.get("URI"))
        method = s.verify_signature(sig, cert_obj("signer").public_key())
        expect(method == s.SIG_RSA_SHA256, "signature method %s" % method)
        x5 = sig.find(".//{%s}X509Certificate" % DS)
        expect(x5 is not None and "".join(x5.text.split()) == cert_b64("signer"), "certificate not in KeyInfo")
        # xsi:type="xs:string" still resolves in the copied entity
        av = root.find(".//{%s}AttributeValue" % SAML)
        expect(av is not None and av.nsmap.get("xs") == XS, "xs prefix lost in the copy")
        if schema is not None:
            expect(schema.validate(root), "not schema-valid: %s" % schema.error_log.last_error)

    check("sign: aggregate (ID, validUntil, cacheDuration, Name, flat, signature first, independent verify)",
          sign_ok)

    check("verify: OK line", lambda: expect_verified(run("verify", "--cert", signer, "--now", NOW, agg), 6))
    check("verify: public key PEM instead of certificate", lambda: expect_verified(
        run("verify", "--cert", write("signer.pub", public_pem("signer")), "--now", NOW, agg), 6))
    check("verify: default --now is the system clock (aggregate made now)", verify_system_clock(inputs))

    def tampered():
        with open(agg, encoding="utf-8") as f:
            text = f.read()
        expect("/sso/post" in text, "fixture")
        write("tampered.xml", text.replace("https://servicekonto.nrw.example/sso/post",
                                           "https://evil.example/sso/post", 1))
        expect_refused(run("verify", "--cert", signer, "--now", NOW, path("tampered.xml")), "signature_invalid")

    check("verify: tampered -> 1 signature_invalid", tampered)
    check("verify: wrong certificate -> 1", lambda: expect_refused(
        run("verify", "--cert", path("other.crt"), "--now", NOW, agg), ["untrusted_key", "signature_invalid"]))
    check("verify: rollover, two --cert, second one verifies -> 0", lambda: expect_verified(
        run("verify", "--cert", path("signer2.crt"), "--cert", signer, "--now", NOW, agg), 6))
    check("verify: rollover, first one verifies -> 0", lambda: expect_verified(
        run("verify", "--cert", signer, "--cert", path("signer2.crt"), "--now", NOW, agg), 6))
    check("verify: --max-validity P1D -> 1 untrusted_metadata", lambda: expect_refused(
        run("verify", "--cert", signer, "--max-validity", "P1D", "--now", NOW, agg), "untrusted_metadata"))
    check("verify: --max-validity P8D -> 0", lambda: expect_verified(
        run("verify", "--cert", signer, "--max-validity", "P8D", "--now", NOW, agg), 6))
    check("verify: --now after validUntil -> 1 expired", lambda: expect_refused(
        run("verify", "--cert", signer, "--now", AFTER_EXPIRY, agg), "expired"))

    def unsigned():
        expect_refused(run("verify", "--cert", signer, "--now", NOW, path("bayern.xml")), "signature_missing")

    check("verify: unsigned -> 1 signature_missing", unsigned)
    check("verify: not XML -> 1 malformed", lambda: expect_refused(
        run("verify", "--cert", signer, "--now", NOW, write("junk.xml", "<md:Entit")), "malformed"))
    check("verify: no --cert -> 2", lambda: expect_usage(run("verify", "--now", NOW, agg)))
    check("verify: missing file -> 2", lambda: expect_usage(
        run("verify", "--cert", signer, "--now", NOW, path("nonexistent.xml"))))
    check("verify: unreadable --cert -> 2", lambda: expect_usage(
        run("verify", "--cert", path("nonexistent.crt"), "--now", NOW, agg)))
    check("verify: bad --now -> 2", lambda: expect_usage(
        run("verify", "--cert", signer, "--now", "yesterday", agg)))
    check("verify: bad --max-validity -> 2", lambda: expect_usage(
        run("verify", "--cert", signer, "--max-validity", "7 days", "--now", NOW, agg)))

    def duplicate():
        r = run("sign", "--key", path("signer.key"), "--cert", signer, "--valid-for", "P7D", "--now", NOW,
                *inputs, path("dup.xml"))
        expect_usage(r)
        expect("duplicate" in r.err and NRW in r.err, "stderr does not name the duplicate: %s" % r)

    check("sign: duplicate entityIDs -> 2", duplicate)
    check("sign: bad --valid-for -> 2", lambda: expect_usage(
        run("sign", "--key", path("signer.key"), "--cert", signer, "--valid-for", "a week", *inputs)))
    check("sign: missing --valid-for -> 2", lambda: expect_usage(
        run("sign", "--key", path("signer.key"), "--cert", signer, *inputs)))
    check("sign: unknown --alg -> 2", lambda: expect_usage(
        run("sign", "--key", path("signer.key"), "--cert", signer, "--valid-for", "P7D", "--alg", "rsa-sha1",
            *inputs)))
    check("sign: missing input file -> 2", lambda: expect_usage(
        run("sign", "--key", path("signer.key"), "--cert", signer, "--valid-for", "P7D", path("nope.xml"))))
    check("sign: certificate of another key -> 2", lambda: expect_usage(
        run("sign", "--key", path("signer.key"), "--cert", path("other.crt"), "--valid-for", "P7D", *inputs)))
    check("sign: input that is not metadata -> 2", lambda: expect_usage(
        run("sign", "--key", path("signer.key"), "--cert", signer, "--valid-for", "P7D",
            write("notmd.xml", "<foo/>"))))

    # ---- list ----
    def list_lines(*args, cert=True):
        r = run("list", *(["--cert", signer] if cert else []), "--now", NOW, *args, agg)
        expect_ok(r)
        expect(r.out.endswith("\n"), "no final newline: %s" % r)
        return r, [tuple(l.split("\t")) for l in r.out[:-1].split("\n")]

    def list_de():
        r, lines = list_lines()
        expect(all(len(l) == 2 for l in lines), "not `entityID TAB name`: %r" % r.out)
        expect([l[0] for l in lines] == ALL, "not sorted / not all: %s" % [l[0] for l in lines])
        for eid, name in lines:
            expect(name == NAMES["de"][eid], "%s: %r, expected %r" % (eid, name, NAMES["de"][eid]))
        expect("not checked" not in r.err, "with --cert the signature is checked: %s" % r)

    def list_lang(lang):
        def f():
            _, lines = list_lines("--lang", lang)
            for eid, name in lines:
                expect(name == NAMES[lang][eid], "%s: %r, expected %r" % (eid, name, NAMES[lang][eid]))
        return f

    def list_role(role, want):
        def f():
            _, lines = list_lines("--role", role)
            expect([l[0] for l in lines] == want, "--role %s: %s" % (role, [l[0] for l in lines]))
        return f

    def list_unchecked():
        r, lines = list_lines(cert=False)
        expect("not checked" in r.err, "no notice on stderr: %s" % r)
        expect([l[0] for l in lines] == ALL, "entities %s" % lines)

    check("list: sorted, entityID TAB name, de names with fallbacks", list_de)
    check("list: --lang de explicit", list_lang("de"))
    check("list: --lang en with fallbacks", list_lang("en"))
    check("list: --role idp", list_role("idp", IDPS))
    check("list: --role sp", list_role("sp", SPS))
    check("list: without --cert, notice on stderr", list_unchecked)
    check("list: --cert and tampered -> 1", lambda: expect_refused(
        run("list", "--cert", signer, "--now", NOW, path("tampered.xml")), "signature_invalid"))
    check("list: --cert of another signer -> 1", lambda: expect_refused(
        run("list", "--cert", path("other.crt"), "--now", NOW, agg), ["untrusted_key", "signature_invalid"]))
    check("list: --cert and expired -> 1 expired", lambda: expect_refused(
        run("list", "--cert", signer, "--now", AFTER_EXPIRY, agg), "expired"))
    check("list: unknown --role -> 2", lambda: expect_usage(run("list", "--role", "aa", "--now", NOW, agg)))
    check("list: unknown --lang -> 2", lambda: expect_usage(run("list", "--lang", "fr", "--now", NOW, agg)))

    # ---- show ----
    def show_idp():
        r = run("show", "--cert", signer, "--now", NOW, agg, NRW)
        expect_ok(r)
        for want in (NRW, "https://servicekonto.nrw.example/sso/redirect", "https://servicekonto.nrw.example/sso/post",
                     spki_sha256("idpkey"), "Servicekonto.NRW", "Service account North Rhine-Westphalia",
                     "Land Nordrhein-Westfalen", "technik@nrw.example", "support@nrw.example", "Mustermann",
                     VALID_UNTIL, "IdP"):
            expect(want in r.out, "%r missing in summary: %s" % (want, r))
        expect("not checked" not in r.err, "with --cert the signature is checked: %s" % r)

    def show_sp():
        r = run("show", "--cert", signer, "--now", NOW, agg, THUERINGEN)
        expect_ok(r)
        for want in (THUERINGEN, "https://portal.thueringen.example/saml/acs", spki_sha256("spkey"),
                     "Freistaat Thüringen", "saml@thueringen.example", "SP", "encryption", "signing"):
            expect(want in r.out, "%r missing in summary: %s" % (want, r))

    def show_xml():
        r = run("show", "--cert", signer, "--now", NOW, "--xml", agg, ERFURT)
        expect_ok(r)
        e = etree.fromstring(r.out.encode())
        expect(e.tag == "{%s}EntityDescriptor" % MD, "root %s" % e.tag)
        expect(e.get("entityID") == ERFURT, "entityID %r" % e.get("entityID"))
        names = [d.text for d in e.iter("{%s}DisplayName" % MDUI)]
        expect("Stadt\tErfurt\nBürgerkonto" in names, "DisplayName not kept verbatim: %r" % names)
        # also parses from a str (no encoding declaration)
        e2 = etree.fromstring(r.out)
        expect(e2.get("entityID") == ERFURT, "str parse")

    def show_unchecked():
        r = run("show", "--now", NOW, agg, BAYERN)
        expect_ok(r)
        expect("not checked" in r.err, "no notice on stderr: %s" % r)
        expect(BAYERN in r.out and "BayernID" in r.out, "summary: %s" % r)
        r = run("show", "--now", NOW, "--xml", agg, BAYERN)
        expect_ok(r)
        expect("not checked" in r.err, "no notice on stderr (--xml): %s" % r)
        expect(etree.fromstring(r.out.encode()).get("entityID") == BAYERN, "show --xml without --cert")

    check("show: IdP summary (endpoints, SHA-256 key fingerprint, names, contacts, validity)", show_idp)
    check("show: SP summary", show_sp)
    check("show --xml: the EntityDescriptor", show_xml)
    check("show: without --cert, notice on stderr", show_unchecked)
    check("show: unknown entity -> 1", lambda: expect_refused(
        run("show", "--cert", signer, "--now", NOW, agg, "https://unknown.example/idp"), "unknown_issuer"))
    check("show: --cert and tampered -> 1", lambda: expect_refused(
        run("show", "--cert", signer, "--now", NOW, path("tampered.xml"), NRW), "signature_invalid"))
    check("show: --cert, expired -> 1", lambda: expect_refused(
        run("show", "--cert", signer, "--now", AFTER_EXPIRY, agg, NRW), "expired"))

    # ---- SOURCE as URL ----
    check("verify: http URL SOURCE", http_cases(signer))

    # ---- other algorithms ----
    def pss():
        r = sign_aggregate(inputs, "pss.xml", "--alg", "rsa-pss-sha256")
        root = etree.fromstring(r.out.encode())
        method = s.verify_signature(root[0], cert_obj("signer").public_key())
        expect(method == s.SIG_RSA_PSS_SHA256, "method %s" % method)
        expect_verified(run("verify", "--cert", signer, "--now", NOW, path("pss.xml")), 6)

    def ecdsa():
        r = sign_aggregate(inputs, "ec.xml", "--alg", "ecdsa-sha256", key="ecsigner", cert="ecsigner")
        root = etree.fromstring(r.out.encode())
        method = s.verify_signature(root[0], cert_obj("ecsigner").public_key())
        expect(method == s.SIG_ECDSA_SHA256, "method %s" % method)
        expect_verified(run("verify", "--cert", path("ecsigner.crt"), "--now", NOW, path("ec.xml")), 6)
        expect_refused(run("verify", "--cert", signer, "--now", NOW, path("ec.xml")),
                       ["untrusted_key", "signature_invalid"])

    check("sign --alg rsa-pss-sha256 -> verify OK", pss)
    check("sign --alg ecdsa-sha256 (EC key) -> verify OK", ecdsa)
    check("sign: EC key without --alg -> 2", lambda: expect_usage(
        run("sign", "--key", path("ecsigner.key"), "--cert", path("ecsigner.crt"), "--valid-for", "P7D",
            *inputs)))

    def resign():
        # a signed aggregate as input again: its signature is stripped, the entities kept
        sign_aggregate([agg], "resigned.xml", key="signer2", cert="signer2")
        expect_verified(run("verify", "--cert", path("signer2.crt"), "--now", NOW, path("resigned.xml")), 6)

    check("sign: a signed aggregate as input", resign)

    def help_exit():
        r = run("sign", "--help")
        expect(r.rc == 0 and "--valid-for" in r.out, "help: %s" % r)
        r = run()
        expect(r.rc == 2, "no subcommand: %s" % r)

    check("usage: --help -> 0, no subcommand -> 2", help_exit)


def public_pem(name):
    return cert_obj(name).public_key().public_bytes(serialization.Encoding.PEM,
                                                    serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def verify_system_clock(inputs):
    def f():
        r = run("sign", "--key", path("signer.key"), "--cert", path("signer.crt"), "--valid-for", "PT6H", *inputs)
        expect_ok(r)
        write("now.xml", r.out)
        r = run("verify", "--cert", path("signer.crt"), path("now.xml"))
        expect_ok(r)
        expect(re.fullmatch(r"OK 6 entities, 0 skipped, validUntil \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n", r.out),
               "stdout %r" % r.out)
    return f


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def http_cases(signer):
    def f():
        handler = functools.partial(QuietHandler, directory=WORK)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        thread.start()
        try:
            base = "http://127.0.0.1:%d/" % server.server_address[1]
            expect_verified(run("verify", "--cert", signer, "--now", NOW, base + "aggregate.xml"), 6)
            expect_refused(run("verify", "--cert", signer, "--now", NOW, base + "tampered.xml"), "signature_invalid")
            r = run("list", "--cert", signer, "--now", NOW, base + "aggregate.xml")
            expect_ok(r)
            expect([l.split("\t")[0] for l in r.out.splitlines()] == ALL, "list via URL: %s" % r)
            r = run("show", "--cert", signer, "--now", NOW, base + "aggregate.xml", NRW)
            expect_ok(r)
            expect(spki_sha256("idpkey") in r.out, "show via URL: %s" % r)
            expect_usage(run("verify", "--cert", signer, "--now", NOW, base + "no-such-file.xml"))
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)
        # a closed loopback port: nothing listens there any more
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()
        expect_usage(run("verify", "--cert", signer, "--now", NOW, "http://127.0.0.1:%d/aggregate.xml" % port))
        expect_usage(run("list", "--now", NOW, "http://127.0.0.1:%d/aggregate.xml" % port))
    return f


def main():
    global CLI, WORK
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cli", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    CLI = os.path.abspath(args.cli)
    WORK = os.path.abspath(args.workdir)
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    inputs = setup_inputs()
    cases(inputs)
    passed = sum(1 for r in RESULTS if r)
    failed = len(RESULTS) - passed
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or not RESULTS else 0


if __name__ == "__main__":
    sys.exit(main())
