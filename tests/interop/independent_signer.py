# SPDX-License-Identifier: EUPL-1.2
"""An XML-DSig / XML-Encryption implementation that shares no code with interkonto.

It is deliberately small and written straight from the specifications:

* signatures: enveloped signature, exclusive XML canonicalisation (lxml's
  ``etree.tostring(method="c14n", exclusive=True)``), SHA-256 reference
  digests, signature values from python-cryptography (OpenSSL): RSA PKCS#1
  v1.5, RSASSA-PSS (RFC 6931 ``sha256-rsa-MGF1``) and ECDSA with the r||s
  encoding of XML-DSig 1.1;
* encryption: XML Encryption 1.0/1.1 with AES-GCM (IV || ciphertext || tag,
  no AAD) or AES-CBC (IV || ciphertext, XML-Enc padding) content encryption
  and RSA key transport (xmlenc11#rsa-oaep, rsa-oaep-mgf1p, rsa-1_5).

It also checks its own output (``verify_signature``, ``decrypt``) by parsing
the serialised bytes again, so a vector that fails in the product can be told
apart from a vector that is broken. Only Debian's python3-lxml and
python3-cryptography are used.
"""

import base64
import copy
import datetime
import hashlib
import os

from cryptography import x509
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID
from lxml import etree

# --------------------------------------------------------------------------
# Namespaces and algorithm identifiers

DS = "http://www.w3.org/2000/09/xmldsig#"
EC14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
XENC = "http://www.w3.org/2001/04/xmlenc#"
XENC11 = "http://www.w3.org/2009/xmlenc11#"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
MD = "urn:oasis:names:tc:SAML:2.0:metadata"
XS = "http://www.w3.org/2001/XMLSchema"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
AKDB = "https://www.akdb.de/request/2018/09"

ENVELOPED = DS + "enveloped-signature"
EXC_C14N = EC14N

SIG_RSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
SIG_RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
SIG_RSA_PSS_SHA256 = "http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1"
SIG_ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
SIG_ECDSA_SHA384 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384"

DIGEST_SHA1 = "http://www.w3.org/2000/09/xmldsig#sha1"
DIGEST_SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"

ENC_AES128_GCM = XENC11 + "aes128-gcm"
ENC_AES256_GCM = XENC11 + "aes256-gcm"
ENC_AES128_CBC = XENC + "aes128-cbc"
ENC_AES256_CBC = XENC + "aes256-cbc"
KT_RSA_OAEP11 = XENC11 + "rsa-oaep"
KT_RSA_OAEP_MGF1P = XENC + "rsa-oaep-mgf1p"
KT_RSA_1_5 = XENC + "rsa-1_5"
MGF1_SHA1 = XENC11 + "mgf1sha1"
MGF1_SHA256 = XENC11 + "mgf1sha256"
TYPE_ELEMENT = XENC + "Element"
TYPE_ENCRYPTED_KEY = XENC + "EncryptedKey"

# signature method URI -> (key family, hash)
SIGNATURE_METHODS = {
    SIG_RSA_SHA1: ("rsa", hashes.SHA1),
    SIG_RSA_SHA256: ("rsa", hashes.SHA256),
    SIG_RSA_PSS_SHA256: ("rsa-pss", hashes.SHA256),
    SIG_ECDSA_SHA256: ("ec", hashes.SHA256),
    SIG_ECDSA_SHA384: ("ec", hashes.SHA384),
}

CONTENT_ALGS = {  # URI -> (mode, key bytes)
    ENC_AES128_GCM: ("gcm", 16),
    ENC_AES256_GCM: ("gcm", 32),
    ENC_AES128_CBC: ("cbc", 16),
    ENC_AES256_CBC: ("cbc", 32),
}

_DIGESTS = {DIGEST_SHA1: hashes.SHA1, DIGEST_SHA256: hashes.SHA256}
_MGFS = {MGF1_SHA1: hashes.SHA1, MGF1_SHA256: hashes.SHA256}


def q(ns, local):
    return "{%s}%s" % (ns, local)


def b64(data, wrap=0):
    text = base64.b64encode(data).decode("ascii")
    if wrap:
        text = "\n".join(text[i:i + wrap] for i in range(0, len(text), wrap))
    return text


def unb64(text):
    return base64.b64decode("".join((text or "").split()), validate=True)


# --------------------------------------------------------------------------
# Keys and certificates

def generate_key(kind):
    """kind: rsa2048, rsa3072, p256, p384, bp256."""
    if kind == "rsa2048":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if kind == "rsa3072":
        return rsa.generate_private_key(public_exponent=65537, key_size=3072)
    curves = {"p256": ec.SECP256R1, "p384": ec.SECP384R1, "bp256": ec.BrainpoolP256R1}
    return ec.generate_private_key(curves[kind]())


def self_signed_cert(key, common_name):
    name = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "interkonto interop vectors"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])
    # Valid long before and after the fixed test instant and today's date:
    # certificate validity is not what these vectors test.
    not_before = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
    not_after = datetime.datetime(2036, 1, 1, tzinfo=datetime.timezone.utc)
    builder = (x509.CertificateBuilder()
               .subject_name(name).issuer_name(name)
               .public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(not_before).not_valid_after(not_after)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True))
    return builder.sign(key, hashes.SHA256())


def key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def cert_pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def cert_b64(cert, wrap=0):
    return b64(cert.public_bytes(serialization.Encoding.DER), wrap)


# --------------------------------------------------------------------------
# Canonicalisation and signing

def exc_c14n(element, inclusive_prefixes=None):
    """Exclusive XML Canonicalization 1.0 without comments of `element`'s subtree."""
    return etree.tostring(element, method="c14n", exclusive=True, with_comments=False,
                          inclusive_ns_prefixes=inclusive_prefixes or None)


def enveloped_c14n(signature, inclusive_prefixes=None):
    """The Reference input of an enveloped signature: exclusive c14n of the
    signature's parent with the ds:Signature subtree removed (and nothing
    else: the whitespace text after the Signature element stays)."""
    # Locate the signature in a copy of the whole document by child indices.
    steps = []
    node = signature
    while node.getparent() is not None:
        steps.append(node.getparent().index(node))
        node = node.getparent()
    sig_copy = copy.deepcopy(node)
    for i in reversed(steps):
        sig_copy = sig_copy[i]
    parent = sig_copy.getparent()
    # lxml's remove() drops the tail text together with the element; the
    # enveloped transform removes only the Signature subtree, so keep it.
    tail = sig_copy.tail or ""
    previous = sig_copy.getprevious()
    if previous is not None:
        previous.tail = (previous.tail or "") + tail
    else:
        parent.text = (parent.text or "") + tail
    parent.remove(sig_copy)
    return exc_c14n(parent, inclusive_prefixes)


def curve_octets(curve):
    return (curve.key_size + 7) // 8


def sign_bytes(key, method, data, pss_salt=32, ecdsa_der=False):
    family, hash_cls = SIGNATURE_METHODS[method]
    if family == "rsa":
        assert isinstance(key, rsa.RSAPrivateKey)
        return key.sign(data, padding.PKCS1v15(), hash_cls())
    if family == "rsa-pss":
        assert isinstance(key, rsa.RSAPrivateKey)
        return key.sign(data, padding.PSS(mgf=padding.MGF1(hash_cls()), salt_length=pss_salt),
                        hash_cls())
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    der = key.sign(data, ec.ECDSA(hash_cls()))
    if ecdsa_der:
        return der
    r, s = decode_dss_signature(der)
    n = curve_octets(key.curve)
    return r.to_bytes(n, "big") + s.to_bytes(n, "big")


def build_signature(ref_id, method, cert, inclusive_prefixes=None, with_keyinfo=True):
    """A ds:Signature skeleton (DigestValue and SignatureValue still empty)."""
    sig = etree.Element(q(DS, "Signature"), nsmap={"ds": DS})
    si = etree.SubElement(sig, q(DS, "SignedInfo"))
    etree.SubElement(si, q(DS, "CanonicalizationMethod"), Algorithm=EXC_C14N)
    etree.SubElement(si, q(DS, "SignatureMethod"), Algorithm=method)
    ref = etree.SubElement(si, q(DS, "Reference"), URI="#" + ref_id)
    transforms = etree.SubElement(ref, q(DS, "Transforms"))
    etree.SubElement(transforms, q(DS, "Transform"), Algorithm=ENVELOPED)
    t = etree.SubElement(transforms, q(DS, "Transform"), Algorithm=EXC_C14N)
    if inclusive_prefixes:
        etree.SubElement(t, q(EC14N, "InclusiveNamespaces"), nsmap={"ec": EC14N},
                         PrefixList=" ".join(inclusive_prefixes))
    etree.SubElement(ref, q(DS, "DigestMethod"), Algorithm=DIGEST_SHA256)
    etree.SubElement(ref, q(DS, "DigestValue"))
    etree.SubElement(sig, q(DS, "SignatureValue"))
    if with_keyinfo:
        ki = etree.SubElement(sig, q(DS, "KeyInfo"))
        x5 = etree.SubElement(ki, q(DS, "X509Data"))
        etree.SubElement(x5, q(DS, "X509Certificate")).text = cert_b64(cert)
    return sig


def sign_enveloped(target, key, cert, method, level, pss_salt=32, ecdsa_der=False,
                   inclusive_prefixes=None, wrap=0):
    """Signs `target` (an element with an ID attribute) with an enveloped
    signature inserted right after its saml:Issuer child. `level` is the
    indentation depth of target's children."""
    ref_id = target.get("ID")
    issuer = target.find(q(SAML, "Issuer"))
    assert issuer is not None, "signed element needs a saml:Issuer"
    sig = build_signature(ref_id, method, cert, inclusive_prefixes)
    etree.indent(sig, space="  ", level=level)
    whitespace = issuer.tail
    issuer.addnext(sig)  # lxml moves issuer's tail behind sig: restore both
    issuer.tail = whitespace
    sig.tail = whitespace

    digest = hashlib.sha256(enveloped_c14n(sig, inclusive_prefixes)).digest()
    sig.find(".//" + q(DS, "DigestValue")).text = b64(digest)
    signed_info = sig.find(q(DS, "SignedInfo"))
    value = sign_bytes(key, method, exc_c14n(signed_info), pss_salt, ecdsa_der)
    text = b64(value, wrap)
    if wrap:
        indent = "\n" + "  " * (level + 2)
        text = indent + text.replace("\n", indent) + "\n" + "  " * (level + 1)
    sig.find(q(DS, "SignatureValue")).text = text
    return sig


# --------------------------------------------------------------------------
# Encryption

def encrypt_content(alg, key, plaintext, flip_tag=False):
    mode, _ = CONTENT_ALGS[alg]
    if mode == "gcm":
        iv = os.urandom(12)
        out = AESGCM(key).encrypt(iv, plaintext, None)  # ciphertext || 16-byte tag
        if flip_tag:
            out = out[:-1] + bytes([out[-1] ^ 0x01])
        return iv + out
    iv = os.urandom(16)
    # XML-Enc 1.0 §5.2: padding octets are arbitrary, the last one is the
    # number of padding octets (1..16). Random filler, so a decryptor that
    # insists on PKCS#7 filler is caught.
    pad = 16 - len(plaintext) % 16
    padded = plaintext + os.urandom(pad - 1) + bytes([pad])
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return iv + enc.update(padded) + enc.finalize()


def key_transport_padding(transport, digest=None, mgf=None):
    if transport == KT_RSA_1_5:
        return padding.PKCS1v15()
    if transport == KT_RSA_OAEP_MGF1P:
        h = _DIGESTS[digest or DIGEST_SHA1]
        return padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=h(), label=None)
    assert transport == KT_RSA_OAEP11
    h = _DIGESTS[digest or DIGEST_SHA1]
    m = _MGFS[mgf or MGF1_SHA1]  # XML-Enc 1.1 §5.5.2: MGF1 with SHA-1 when absent
    return padding.OAEP(mgf=padding.MGF1(m()), algorithm=h(), label=None)


def _encrypted_key(sp_public, session_key, transport, digest, mgf, recipient, ek_id, ed_id,
                   sp_cert, wrap):
    ek = etree.Element(q(XENC, "EncryptedKey"), nsmap={"xenc": XENC})
    if ek_id:
        ek.set("Id", ek_id)
    if recipient:
        ek.set("Recipient", recipient)
    em = etree.SubElement(ek, q(XENC, "EncryptionMethod"), Algorithm=transport)
    if digest:
        etree.SubElement(em, q(DS, "DigestMethod"), nsmap={"ds": DS}, Algorithm=digest)
    if mgf:
        etree.SubElement(em, q(XENC11, "MGF"), nsmap={"xenc11": XENC11}, Algorithm=mgf)
    if sp_cert is not None:
        ki = etree.SubElement(ek, q(DS, "KeyInfo"), nsmap={"ds": DS})
        x5 = etree.SubElement(ki, q(DS, "X509Data"))
        etree.SubElement(x5, q(DS, "X509Certificate")).text = cert_b64(sp_cert, wrap)
    wrapped = sp_public.encrypt(session_key, key_transport_padding(transport, digest, mgf))
    cd = etree.SubElement(ek, q(XENC, "CipherData"))
    etree.SubElement(cd, q(XENC, "CipherValue")).text = b64(wrapped, wrap)
    if ed_id:
        rl = etree.SubElement(ek, q(XENC, "ReferenceList"))
        etree.SubElement(rl, q(XENC, "DataReference"), URI="#" + ed_id)
    return ek


def encrypt_element(plaintext, wrapper_tag, sp_public, content_alg, transport, digest=None,
                    mgf=None, placement="inline", recipient=None, sp_cert=None, flip_tag=False,
                    ids=("_ed", "_ek"), wrap=0):
    """Returns `wrapper_tag` (e.g. saml:EncryptedAssertion) holding an
    xenc:EncryptedData of `plaintext` and the session key, either inside
    EncryptedData/ds:KeyInfo (placement "inline") or as a sibling of
    EncryptedData referenced by ds:RetrievalMethod (placement "sibling")."""
    _, key_len = CONTENT_ALGS[content_alg]
    session_key = os.urandom(key_len)
    cipher = encrypt_content(content_alg, session_key, plaintext, flip_tag)
    ed_id, ek_id = ids

    outer = etree.Element(wrapper_tag)
    ed = etree.SubElement(outer, q(XENC, "EncryptedData"), nsmap={"xenc": XENC},
                          Id=ed_id, Type=TYPE_ELEMENT)
    etree.SubElement(ed, q(XENC, "EncryptionMethod"), Algorithm=content_alg)
    ki = etree.SubElement(ed, q(DS, "KeyInfo"), nsmap={"ds": DS})
    if placement == "inline":
        ki.append(_encrypted_key(sp_public, session_key, transport, digest, mgf, recipient,
                                 None, None, sp_cert, wrap))
    else:
        etree.SubElement(ki, q(DS, "RetrievalMethod"), URI="#" + ek_id, Type=TYPE_ENCRYPTED_KEY)
    cd = etree.SubElement(ed, q(XENC, "CipherData"))
    etree.SubElement(cd, q(XENC, "CipherValue")).text = b64(cipher, wrap)
    if placement == "sibling":
        outer.append(_encrypted_key(sp_public, session_key, transport, digest, mgf, recipient,
                                    ek_id, ed_id, sp_cert, wrap))
    return outer


# --------------------------------------------------------------------------
# Self-checks: parse serialised bytes again and verify / decrypt them.

class CheckError(Exception):
    pass


def _parser():
    return etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=False,
                           huge_tree=False)


def parse(data):
    return etree.fromstring(data, _parser())


def _by_id(root, ref_id):
    found = root.xpath("//*[@ID=$id]", id=ref_id)
    if len(found) != 1:
        raise CheckError("reference %s found %d times" % (ref_id, len(found)))
    return found[0]


def verify_signature(sig, public_key, lenient=False):
    """Verifies one enveloped ds:Signature. Strict by default (PSS salt 32,
    ECDSA r||s); lenient=True accepts any PSS salt and DER ECDSA values, so a
    negative vector can be shown to be wrong only in the intended way."""
    si = sig.find(q(DS, "SignedInfo"))
    ref = si.find(q(DS, "Reference"))
    uri = ref.get("URI")
    if not uri.startswith("#"):
        raise CheckError("not a same-document reference")
    target = _by_id(sig.getroottree().getroot(), uri[1:])
    if sig.getparent() is not target:
        raise CheckError("signature is not enveloped in its target")
    transforms = ref.findall(q(DS, "Transforms") + "/" + q(DS, "Transform"))
    if [t.get("Algorithm") for t in transforms] != [ENVELOPED, EXC_C14N]:
        raise CheckError("unexpected transforms")
    inc = transforms[1].find(q(EC14N, "InclusiveNamespaces"))
    prefixes = inc.get("PrefixList").split() if inc is not None else None
    if ref.find(q(DS, "DigestMethod")).get("Algorithm") != DIGEST_SHA256:
        raise CheckError("unexpected digest method")
    digest = hashlib.sha256(enveloped_c14n(sig, prefixes)).digest()
    if digest != unb64(ref.find(q(DS, "DigestValue")).text):
        raise CheckError("reference digest mismatch")
    method = si.find(q(DS, "SignatureMethod")).get("Algorithm")
    family, hash_cls = SIGNATURE_METHODS[method]
    value = unb64(sig.find(q(DS, "SignatureValue")).text)
    data = exc_c14n(si)
    try:
        if family == "rsa":
            public_key.verify(value, data, padding.PKCS1v15(), hash_cls())
        elif family == "rsa-pss":
            salt = padding.PSS.AUTO if lenient else hash_cls.digest_size
            public_key.verify(value, data, padding.PSS(mgf=padding.MGF1(hash_cls()),
                                                       salt_length=salt), hash_cls())
        else:
            n = curve_octets(public_key.curve)
            if len(value) == 2 * n:
                der = encode_dss_signature(int.from_bytes(value[:n], "big"),
                                           int.from_bytes(value[n:], "big"))
            elif lenient:
                der = value
            else:
                raise CheckError("ECDSA value is %d octets, want %d" % (len(value), 2 * n))
            public_key.verify(der, data, ec.ECDSA(hash_cls()))
    except InvalidSignature:
        raise CheckError("signature value does not verify") from None
    return method


def decrypt(encrypted_wrapper, sp_key):
    """Decrypts the EncryptedData in `encrypted_wrapper`; returns the plaintext."""
    ed = encrypted_wrapper.find(q(XENC, "EncryptedData"))
    content_alg = ed.find(q(XENC, "EncryptionMethod")).get("Algorithm")
    ki = ed.find(q(DS, "KeyInfo"))
    ek = ki.find(q(XENC, "EncryptedKey"))
    if ek is None:
        rm = ki.find(q(DS, "RetrievalMethod"))
        if rm is None or rm.get("Type") != TYPE_ENCRYPTED_KEY:
            raise CheckError("no EncryptedKey")
        cands = [e for e in encrypted_wrapper.findall(q(XENC, "EncryptedKey"))
                 if "#" + (e.get("Id") or "") == rm.get("URI")]
        if len(cands) != 1:
            raise CheckError("RetrievalMethod target not found")
        ek = cands[0]
    em = ek.find(q(XENC, "EncryptionMethod"))
    dm = em.find(q(DS, "DigestMethod"))
    mgf = em.find(q(XENC11, "MGF"))
    pad = key_transport_padding(em.get("Algorithm"), dm.get("Algorithm") if dm is not None else None,
                                mgf.get("Algorithm") if mgf is not None else None)
    try:
        session_key = sp_key.decrypt(unb64(ek.find(q(XENC, "CipherData") + "/" + q(XENC, "CipherValue")).text), pad)
    except ValueError:
        raise CheckError("key transport decryption failed") from None
    cipher = unb64(ed.find(q(XENC, "CipherData") + "/" + q(XENC, "CipherValue")).text)
    mode, key_len = CONTENT_ALGS[content_alg]
    if len(session_key) != key_len:
        raise CheckError("session key length")
    if mode == "gcm":
        try:
            return AESGCM(session_key).decrypt(cipher[:12], cipher[12:], None)
        except InvalidTag:
            raise CheckError("GCM tag mismatch") from None
    dec = Cipher(algorithms.AES(session_key), modes.CBC(cipher[:16])).decryptor()
    padded = dec.update(cipher[16:]) + dec.finalize()
    pad_len = padded[-1]
    if not 1 <= pad_len <= 16:
        raise CheckError("bad CBC padding")
    return padded[:-pad_len]


def load_schema(workdir, opensaml="/usr/share/xml/opensaml", xmltooling="/usr/share/xml/xmltooling"):
    """An XMLSchema for SAML 2.0 protocol/assertion/metadata with XML-DSig and
    XML-Enc 1.0/1.1 from the local Debian copies (no network). None when the
    schema packages are missing."""
    files = {
        "http://www.w3.org/XML/1998/namespace": os.path.join(xmltooling, "xml.xsd"),
        DS: os.path.join(xmltooling, "xmldsig-core-schema.xsd"),
        XENC: os.path.join(xmltooling, "xenc-schema.xsd"),
        XENC11: os.path.join(xmltooling, "xenc11-schema.xsd"),
        "http://www.w3.org/2009/xmldsig11#": os.path.join(xmltooling, "xmldsig11-schema.xsd"),
        SAML: os.path.join(opensaml, "saml-schema-assertion-2.0.xsd"),
        SAMLP: os.path.join(opensaml, "saml-schema-protocol-2.0.xsd"),
        MD: os.path.join(opensaml, "saml-schema-metadata-2.0.xsd"),
    }
    if not all(os.path.exists(f) for f in files.values()):
        return None
    # The first import of a namespace wins, so the remote schemaLocations in
    # the SAML schemas are never followed.
    imports = "".join('<xs:import namespace="%s" schemaLocation="file://%s"/>' % (ns, path)
                      for ns, path in files.items())
    wrapper = ('<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" '
               'targetNamespace="urn:x-interkonto:test:schema-wrapper">%s</xs:schema>' % imports)
    path = os.path.join(workdir, "schema-wrapper.xsd")
    with open(path, "w", encoding="utf-8") as f:
        f.write(wrapper)
    return etree.XMLSchema(etree.parse(path, etree.XMLParser(no_network=True)))
