// SPDX-License-Identifier: EUPL-1.2
#include <catch2/catch.hpp>

#include <libxml/c14n.h>
#include <libxml/tree.h>
#include <libxml/valid.h>

#include <openssl/core_names.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include <xmlsec/openssl/evp.h>
#include <xmlsec/xmldsig.h>

#include <arpa/inet.h>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

#include "core/openssl.hpp"
#include "core/xmlsec_transforms.hpp"
#include "core/xml.hpp"
#include "core/xmlsec.hpp"
#include "interkonto/crypto.hpp"
#include "interkonto/error.hpp"
#include "unit/test_keys.hpp"
#include "unit/test_util.hpp"

using namespace interkonto;
using interkonto::test::code_of;

namespace {

const xmlChar *X(const char *s) {
  return reinterpret_cast<const xmlChar *>(s);
}

const char *const kResponse =
    R"(<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ID="_resp1" Version="2.0" IssueInstant="2024-05-01T10:00:00Z" Destination="https://sp.example/acs"><saml:Issuer>https://idp.example</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status><saml:Assertion ID="_a1" Version="2.0" IssueInstant="2024-05-01T10:00:00Z"><saml:Issuer>https://idp.example</saml:Issuer><saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:transient">_n1</saml:NameID></saml:Subject><saml:AttributeStatement><saml:Attribute Name="urn:oid:2.5.4.42" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri"><saml:AttributeValue xsi:type="xs:string">Clara</saml:AttributeValue></saml:Attribute><saml:Attribute Name="urn:oid:2.5.4.4"><saml:AttributeValue xsi:type="xs:string">Müller</saml:AttributeValue></saml:Attribute></saml:AttributeStatement></saml:Assertion></samlp:Response>)";

xml::DocPtr parse(const std::string &text) {
  return xml::parse(text, 1u << 20);
}

xmlNode *find_id(xmlNode *n, const std::string &id) {
  for (; n != nullptr; n = n->next) {
    if (n->type != XML_ELEMENT_NODE) continue;
    if (xml::attr(n, "ID") == id) return n;
    if (xmlNode *f = find_id(n->children, id)) return f;
  }
  return nullptr;
}

xmlNode *by_id(xmlDoc *doc, const std::string &id) {
  xmlNode *n = find_id(xmlDocGetRootElement(doc), id);
  REQUIRE(n != nullptr);
  return n;
}

xmlNode *issuer_of(xmlNode *element) {
  return xml::first_child(element, xml::ns_saml, "Issuer");
}

xmlNode *first_desc(xmlNode *n, const char *ns, const char *local) {
  auto all = xml::descendants(n, ns, local);
  REQUIRE_FALSE(all.empty());
  return all.front();
}

void sign(xmlDoc *doc, xmlNode *el, const PrivateKey &key, std::string_view method,
          std::string_view digest = alg::sha256, const Certificate *cert = nullptr) {
  xmlsec::sign_enveloped(doc, el, issuer_of(el), key, method, digest, cert);
}

xmlsec::VerifiedSignature verify(xmlDoc *doc, xmlNode *el, const std::vector<PublicKey> &keys,
                                 const AlgorithmPolicy &policy = {}) {
  return xmlsec::verify_enveloped(doc, el, keys, policy);
}

// Round trip through text, as a receiver sees it.
xml::DocPtr reparse(xmlDoc *doc) {
  return parse(xml::serialize(doc));
}

std::string b64s(const std::string &s) {
  return ossl::base64_encode(s);
}

int visible_in(void *user, xmlNodePtr node, xmlNodePtr parent) {
  auto *root = static_cast<xmlNode *>(user);
  xmlNode *n = node->type == XML_NAMESPACE_DECL ? parent : node;
  for (; n != nullptr; n = n->parent)
    if (n == root) return 1;
  return 0;
}

// Exclusive C14N of ds:SignedInfo: the bytes the SignatureValue signs.
std::string c14n_signed_info(xmlDoc *doc, xmlNode *signature) {
  xmlNode *si = xml::first_child(signature, xml::ns_ds, "SignedInfo");
  REQUIRE(si != nullptr);
  xmlBufferPtr buf = xmlBufferCreate();
  xmlOutputBufferPtr out = xmlOutputBufferCreateBuffer(buf, nullptr);
  const int rc = xmlC14NExecute(doc, visible_in, si, XML_C14N_EXCLUSIVE_1_0, nullptr, 0, out);
  xmlOutputBufferClose(out);
  std::string s(reinterpret_cast<const char *>(xmlBufferContent(buf)),
                static_cast<std::size_t>(xmlBufferLength(buf)));
  xmlBufferFree(buf);
  REQUIRE(rc >= 0);
  return s;
}

void set_signature_value(xmlNode *signature, const std::string &raw) {
  xmlNode *sv = xml::first_child(signature, xml::ns_ds, "SignatureValue");
  REQUIRE(sv != nullptr);
  const std::string b64 = ossl::base64_encode(raw);
  xmlNodeSetContent(sv, X(b64.c_str()));
}

std::string signature_value(xmlNode *signature) {
  auto v = ossl::base64_decode(xml::text(xml::first_child(signature, xml::ns_ds, "SignatureValue")));
  REQUIRE(v);
  return *v;
}

std::string openssl_sign(const PrivateKey &key, const EVP_MD *md, std::string_view data, int pss_salt = -2) {
  ossl::MdCtxPtr ctx{EVP_MD_CTX_new()};
  EVP_PKEY_CTX *pctx = nullptr;
  REQUIRE(EVP_DigestSignInit(ctx.get(), &pctx, md, nullptr, key.native()) == 1);
  if (pss_salt != -2) {
    REQUIRE(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1);
    REQUIRE(EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) == 1);
    REQUIRE(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, pss_salt) == 1);
  }
  std::size_t len = 0;
  const auto *in = reinterpret_cast<const unsigned char *>(data.data());
  REQUIRE(EVP_DigestSign(ctx.get(), nullptr, &len, in, data.size()) == 1);
  std::string sig(len, '\0');
  REQUIRE(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char *>(sig.data()), &len, in, data.size()) ==
          1);
  sig.resize(len);
  return sig;
}

std::string der_to_raw(const std::string &der, std::size_t half) {
  const auto *p = reinterpret_cast<const unsigned char *>(der.data());
  ossl::EcdsaSigPtr sig{d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()))};
  REQUIRE(sig);
  const BIGNUM *r = nullptr, *s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::string out(2 * half, '\0');
  auto *o = reinterpret_cast<unsigned char *>(out.data());
  BN_bn2binpad(r, o, static_cast<int>(half));
  BN_bn2binpad(s, o + half, static_cast<int>(half));
  return out;
}

// Recomputes DigestValue and SignatureValue of an existing ds:Signature with
// xmlsec directly (for signatures our API does not produce).
void resign(xmlNode *signature, const PrivateKey &key) {
  xmlSecDSigCtx ctx;
  REQUIRE(xmlSecDSigCtxInitialize(&ctx, nullptr) == 0);
  REQUIRE(EVP_PKEY_up_ref(key.native()) == 1);
  xmlSecKeyDataPtr data = xmlSecOpenSSLEvpKeyAdopt(key.native());
  ctx.signKey = xmlSecKeyCreate();
  const bool ok = data != nullptr && ctx.signKey != nullptr && xmlSecKeySetValue(ctx.signKey, data) == 0 &&
                  xmlSecDSigCtxSign(&ctx, signature) == 0;
  xmlSecDSigCtxFinalize(&ctx);
  REQUIRE(ok);
}

std::string bn_param(EVP_PKEY *p, const char *name) {
  BIGNUM *bn = nullptr;
  REQUIRE(EVP_PKEY_get_bn_param(p, name, &bn) == 1);
  ossl::BnPtr owner{bn};
  std::string out(static_cast<std::size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char *>(out.data()));
  return out;
}

struct SigCase {
  std::string_view method;
  std::string_view digest;
  PrivateKey key;
};

} // namespace

// ===================================================================== signatures

TEST_CASE("enveloped signatures round-trip for every allowed method", "[xmlsec]") {
  const std::vector<SigCase> cases = {
      {alg::rsa_sha256, alg::sha256, test::rsa_key(2048)},
      {alg::rsa_sha384, alg::sha384, test::rsa_key(2048)},
      {alg::rsa_sha512, alg::sha512, test::rsa_key(3072)},
      {alg::rsa_pss_sha256, alg::sha256, test::rsa_key(3072)},
      {alg::rsa_pss_sha256, alg::sha512, test::rsa_key(2048)},
      {alg::ecdsa_sha256, alg::sha256, test::ec_key("prime256v1")},
      {alg::ecdsa_sha384, alg::sha384, test::ec_key("secp384r1")},
      {alg::ecdsa_sha256, alg::sha256, test::ec_key("brainpoolP256r1")},
      {alg::ecdsa_sha384, alg::sha256, test::ec_key("brainpoolP256r1")},
  };
  for (const auto &c : cases) {
    INFO(std::string(c.method) << " " << std::string(c.digest) << " " << c.key.bits());
    auto doc = parse(kResponse);
    const Credential cred = test::self_signed_cert(c.key, "idp");
    sign(doc.get(), by_id(doc.get(), "_a1"), c.key, c.method, c.digest, &*cred.certificate);
    sign(doc.get(), by_id(doc.get(), "_resp1"), c.key, c.method, c.digest);

    auto received = reparse(doc.get());
    for (const char *id : {"_a1", "_resp1"}) {
      const auto v = verify(received.get(), by_id(received.get(), id), {c.key.public_key()});
      CHECK(v.signature_method == c.method);
      CHECK(v.digest_method == c.digest);
      CHECK(v.key_index == 0);
    }
    // Signature sits right after the Issuer (SAML schema order).
    xmlNode *assertion = by_id(received.get(), "_a1");
    xmlNode *after_issuer = issuer_of(assertion)->next;
    while (after_issuer != nullptr && after_issuer->type != XML_ELEMENT_NODE)
      after_issuer = after_issuer->next;
    CHECK(xml::is(after_issuer, xml::ns_ds, "Signature"));
    // Tampering with the signed content breaks it.
    xmlNode *value = first_desc(assertion, xml::ns_saml, "AttributeValue");
    xmlNodeSetContent(value, X("Eve"));
    CHECK(code_of([&] { verify(received.get(), assertion, {c.key.public_key()}); }) ==
          ErrorCode::signature_invalid);
  }
}

TEST_CASE("the signed document is schema-valid SAML", "[xmlsec]") {
  auto doc = parse(kResponse);
  const PrivateKey key = test::rsa_key(2048);
  const Credential cred = test::self_signed_cert(key, "idp");
  sign(doc.get(), by_id(doc.get(), "_a1"), key, alg::rsa_pss_sha256, alg::sha256, &*cred.certificate);
  sign(doc.get(), by_id(doc.get(), "_resp1"), key, alg::rsa_sha256, alg::sha256, &*cred.certificate);
  auto received = reparse(doc.get());
  CHECK_NOTHROW(xml::validate_schema(received.get()));
}

TEST_CASE("ECDSA signature values are r||s of the curve size", "[xmlsec]") {
  struct C {
    const char *curve;
    std::string_view method;
    const EVP_MD *md;
    std::size_t half;
  };
  for (const C &c : {C{"prime256v1", alg::ecdsa_sha256, EVP_sha256(), 32},
                     C{"secp384r1", alg::ecdsa_sha384, EVP_sha384(), 48},
                     C{"brainpoolP256r1", alg::ecdsa_sha256, EVP_sha256(), 32}}) {
    INFO(c.curve);
    const PrivateKey key = test::ec_key(c.curve);
    auto doc = parse(kResponse);
    xmlNode *a = by_id(doc.get(), "_a1");
    sign(doc.get(), a, key, c.method);
    xmlNode *signature = xml::first_child(a, xml::ns_ds, "Signature");
    const std::string value = signature_value(signature);
    CHECK(value.size() == 2 * c.half);
    const std::string signed_info = c14n_signed_info(doc.get(), signature);
    // The same bytes verify as r||s with plain OpenSSL (via verify_bytes).
    CHECK(xmlsec::verify_bytes(key.public_key(), c.method, signed_info, value));

    // A DER-encoded value over the same SignedInfo does not conform ...
    const std::string der = openssl_sign(key, c.md, signed_info);
    set_signature_value(signature, der);
    CHECK(code_of([&] { verify(doc.get(), a, {key.public_key()}); }) == ErrorCode::signature_invalid);
    // ... while the very same signature as r||s verifies (the test is sound).
    set_signature_value(signature, der_to_raw(der, c.half));
    CHECK_NOTHROW(verify(doc.get(), a, {key.public_key()}));
  }
}

TEST_CASE("RSASSA-PSS uses salt length 32 and refuses other salt lengths", "[xmlsec]") {
  const PrivateKey key = test::rsa_key(3072);
  auto doc = parse(kResponse);
  xmlNode *a = by_id(doc.get(), "_a1");
  sign(doc.get(), a, key, alg::rsa_pss_sha256);
  xmlNode *signature = xml::first_child(a, xml::ns_ds, "Signature");
  const std::string signed_info = c14n_signed_info(doc.get(), signature);
  // Our signature checks out with OpenSSL set to exactly salt 32.
  CHECK(xmlsec::verify_bytes(key.public_key(), alg::rsa_pss_sha256, signed_info, signature_value(signature)));

  set_signature_value(signature, openssl_sign(key, EVP_sha256(), signed_info, 20));
  CHECK(code_of([&] { verify(doc.get(), a, {key.public_key()}); }) == ErrorCode::signature_invalid);
  set_signature_value(signature, openssl_sign(key, EVP_sha256(), signed_info, 32));
  CHECK_NOTHROW(verify(doc.get(), a, {key.public_key()}));
  // PKCS#1 v1.5 under the PSS URI is no PSS signature either.
  set_signature_value(signature, openssl_sign(key, EVP_sha256(), signed_info));
  CHECK(code_of([&] { verify(doc.get(), a, {key.public_key()}); }) == ErrorCode::signature_invalid);
}

TEST_CASE("wrong key and foreign certificates", "[xmlsec]") {
  const PrivateKey idp = test::rsa_key(2048);
  const PrivateKey attacker = test::rsa_key(2048, 1);
  const Credential idp_cred = test::self_signed_cert(idp, "idp");
  const Credential attacker_cred = test::self_signed_cert(attacker, "idp");

  SECTION("no trusted key") {
    auto doc = parse(kResponse);
    sign(doc.get(), by_id(doc.get(), "_a1"), idp, alg::rsa_sha256);
    CHECK(code_of([&] { verify(doc.get(), by_id(doc.get(), "_a1"), {}); }) == ErrorCode::untrusted_key);
  }
  SECTION("signed by another key, no KeyInfo") {
    auto doc = parse(kResponse);
    sign(doc.get(), by_id(doc.get(), "_a1"), attacker, alg::rsa_sha256);
    CHECK(code_of([&] { verify(doc.get(), by_id(doc.get(), "_a1"), {idp.public_key()}); }) ==
          ErrorCode::signature_invalid);
  }
  SECTION("signed by an attacker who includes his certificate") {
    auto doc = parse(kResponse);
    sign(doc.get(), by_id(doc.get(), "_a1"), attacker, alg::rsa_sha256, alg::sha256,
         &*attacker_cred.certificate);
    CHECK(code_of([&] { verify(doc.get(), by_id(doc.get(), "_a1"), {idp.public_key()}); }) ==
          ErrorCode::untrusted_key);
  }
  SECTION("a trusted certificate in KeyInfo does not make a bad signature good") {
    auto doc = parse(kResponse);
    sign(doc.get(), by_id(doc.get(), "_a1"), attacker, alg::rsa_sha256, alg::sha256, &*idp_cred.certificate);
    CHECK(code_of([&] { verify(doc.get(), by_id(doc.get(), "_a1"), {idp.public_key()}); }) ==
          ErrorCode::signature_invalid);
  }
  SECTION("key rollover: the second trusted key verifies") {
    auto doc = parse(kResponse);
    sign(doc.get(), by_id(doc.get(), "_a1"), idp, alg::rsa_sha256, alg::sha256, &*idp_cred.certificate);
    const auto v = verify(doc.get(), by_id(doc.get(), "_a1"),
                          {test::ec_key("prime256v1").public_key(), attacker.public_key(), idp.public_key()});
    CHECK(v.key_index == 2);
  }
  SECTION("an EC signature is not verified with RSA keys") {
    auto doc = parse(kResponse);
    sign(doc.get(), by_id(doc.get(), "_a1"), test::ec_key("prime256v1"), alg::ecdsa_sha256);
    CHECK(code_of([&] { verify(doc.get(), by_id(doc.get(), "_a1"), {idp.public_key()}); }) ==
          ErrorCode::signature_invalid);
  }
}

TEST_CASE("signature wrapping is detected", "[xmlsec]") {
  const PrivateKey key = test::rsa_key(2048);
  const std::vector<PublicKey> trusted{key.public_key()};
  auto signed_doc = [&] {
    auto doc = parse(kResponse);
    sign(doc.get(), by_id(doc.get(), "_a1"), key, alg::rsa_sha256);
    return doc;
  };
  auto sig_of = [](xmlNode *el) { return xml::first_child(el, xml::ns_ds, "Signature"); };
  auto reference_of = [&](xmlNode *el) {
    return xml::first_child(xml::first_child(sig_of(el), xml::ns_ds, "SignedInfo"), xml::ns_ds, "Reference");
  };
  std::string detail;

  SECTION("no signature") {
    auto doc = parse(kResponse);
    CHECK(code_of([&] { verify(doc.get(), by_id(doc.get(), "_a1"), trusted); }) ==
          ErrorCode::signature_missing);
  }
  SECTION("the signature of the assertion does not sign the response") {
    auto doc = signed_doc();
    CHECK(code_of([&] { verify(doc.get(), by_id(doc.get(), "_resp1"), trusted); }) ==
          ErrorCode::signature_missing);
  }
  SECTION("reference to another ID") {
    auto doc = signed_doc();
    xmlSetProp(reference_of(by_id(doc.get(), "_a1")), X("URI"), X("#_resp1"));
    CHECK(code_of([&] { verify(doc.get(), by_id(doc.get(), "_a1"), trusted); }, &detail) ==
          ErrorCode::wrapping);
  }
  SECTION("empty reference URI (whole document)") {
    auto doc = signed_doc();
    xmlSetProp(reference_of(by_id(doc.get(), "_a1")), X("URI"), X(""));
    CHECK(code_of([&] { verify(doc.get(), by_id(doc.get(), "_a1"), trusted); }) == ErrorCode::wrapping);
  }
  SECTION("two references") {
    auto doc = signed_doc();
    xmlNode *ref = reference_of(by_id(doc.get(), "_a1"));
    xmlAddNextSibling(ref, xmlCopyNode(ref, 1));
    CHECK(code_of([&] { verify(doc.get(), by_id(doc.get(), "_a1"), trusted); }) == ErrorCode::wrapping);
  }
  SECTION("two signatures") {
    auto doc = signed_doc();
    xmlNode *a = by_id(doc.get(), "_a1");
    xmlAddNextSibling(sig_of(a), xmlCopyNode(sig_of(a), 1));
    CHECK(code_of([&] { verify(doc.get(), a, trusted); }) == ErrorCode::wrapping);
  }
  SECTION("an evil copy with the same ID and the original signature") {
    auto doc = signed_doc();
    xmlNode *original = by_id(doc.get(), "_a1");
    xmlAttr *id = xmlHasProp(original, X("ID"));
    xmlAddID(nullptr, doc.get(), X("_a1"), id); // the parser's ID registration
    xmlNode *evil = xmlCopyNode(original, 1);
    xmlNodeSetContent(first_desc(evil, xml::ns_saml, "AttributeValue"), X("Eve"));
    xmlAddPrevSibling(original, evil);
    CHECK(code_of([&] { verify(doc.get(), evil, trusted); }, &detail) == ErrorCode::wrapping);
    CHECK_NOTHROW(verify(doc.get(), original, trusted));
  }
  SECTION("an ID that would inject into the XPointer expression") {
    auto doc = parse(std::string(kResponse));
    xmlNode *a = by_id(doc.get(), "_a1");
    xmlSetProp(a, X("ID"), X("_a1')|//*|id('x"));
    CHECK_THROWS(sign(doc.get(), a, key, alg::rsa_sha256));
    xmlSetProp(a, X("ID"), X("_a1"));
    sign(doc.get(), a, key, alg::rsa_sha256);
    xmlSetProp(a, X("ID"), X("_a1')|//*|id('x"));
    xmlSetProp(reference_of(a), X("URI"), X("#_a1')|//*|id('x"));
    CHECK(code_of([&] { verify(doc.get(), a, trusted); }) == ErrorCode::wrapping);
  }
}

TEST_CASE("only enveloped and exc-c14n transforms are accepted", "[xmlsec]") {
  const PrivateKey key = test::rsa_key(2048);
  const std::vector<PublicKey> trusted{key.public_key()};
  auto doc = parse(kResponse);
  xmlNode *a = by_id(doc.get(), "_a1");
  sign(doc.get(), a, key, alg::rsa_sha256);
  xmlNode *signature = xml::first_child(a, xml::ns_ds, "Signature");
  xmlNode *transforms = first_desc(signature, xml::ns_ds, "Transforms");
  xmlNode *first = xml::first_child(transforms, xml::ns_ds, "Transform");
  std::string detail;

  SECTION("XPath filter") {
    xmlNode *t = xmlNewDocNode(doc.get(), first->ns, X("Transform"), nullptr);
    xmlSetProp(t, X("Algorithm"), X("http://www.w3.org/TR/1999/REC-xpath-19991116"));
    xmlNewChild(t, first->ns, X("XPath"), X("not(ancestor-or-self::ds:Signature)"));
    xmlAddPrevSibling(first, t);
    CHECK(code_of([&] { verify(doc.get(), a, trusted); }, &detail) == ErrorCode::algorithm_refused);
    CHECK(detail.find("REC-xpath") != std::string::npos);
  }
  SECTION("inclusive c14n") {
    xmlSetProp(xml::first_child(xml::first_child(signature, xml::ns_ds, "SignedInfo"), xml::ns_ds,
                                "CanonicalizationMethod"),
               X("Algorithm"), X("http://www.w3.org/TR/2001/REC-xml-c14n-20010315"));
    CHECK(code_of([&] { verify(doc.get(), a, trusted); }) == ErrorCode::algorithm_refused);
  }
  SECTION("exc-c14n with comments") {
    xmlSetProp(xml::first_child(xml::first_child(signature, xml::ns_ds, "SignedInfo"), xml::ns_ds,
                                "CanonicalizationMethod"),
               X("Algorithm"), X("http://www.w3.org/2001/10/xml-exc-c14n#WithComments"));
    CHECK(code_of([&] { verify(doc.get(), a, trusted); }) == ErrorCode::algorithm_refused);
  }
  SECTION("enveloped twice") {
    xmlAddPrevSibling(first, xmlCopyNode(first, 1));
    CHECK(code_of([&] { verify(doc.get(), a, trusted); }) == ErrorCode::algorithm_refused);
  }
  SECTION("the unmodified signature verifies") {
    CHECK_NOTHROW(verify(doc.get(), a, trusted));
  }
}

TEST_CASE("an XSLT transform never reaches the network", "[xmlsec]") {
  // A listener on loopback that the stylesheet would contact.
  const int srv = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  REQUIRE(srv >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  REQUIRE(bind(srv, reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) == 0);
  REQUIRE(listen(srv, 4) == 0);
  socklen_t len = sizeof(addr);
  REQUIRE(getsockname(srv, reinterpret_cast<sockaddr *>(&addr), &len) == 0);
  const std::string url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/";

  const PrivateKey key = test::rsa_key(2048);
  for (const bool as_c14n : {false, true}) {
    auto doc = parse(kResponse);
    xmlNode *a = by_id(doc.get(), "_a1");
    sign(doc.get(), a, key, alg::rsa_sha256);
    xmlNode *signature = xml::first_child(a, xml::ns_ds, "Signature");
    const std::string xslt =
        R"X(<ds:Transform xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Algorithm="http://www.w3.org/TR/1999/REC-xslt-19991116"><xsl:stylesheet xmlns:xsl="http://www.w3.org/1999/XSL/Transform" version="1.0"><xsl:template match="/"><xsl:copy-of select="document(')X" +
        url + R"X(')"/></xsl:template></xsl:stylesheet></ds:Transform>)X";
    auto frag = parse(xslt);
    xmlNode *t = xmlDocCopyNode(xmlDocGetRootElement(frag.get()), doc.get(), 1);
    if (as_c14n) {
      // XSLT as the SignedInfo canonicalization method
      xmlNode *cm = first_desc(signature, xml::ns_ds, "CanonicalizationMethod");
      xmlSetProp(cm, X("Algorithm"), X("http://www.w3.org/TR/1999/REC-xslt-19991116"));
      xmlAddChild(cm, xmlCopyNode(xml::element_children(t).front(), 1));
      xmlFreeNode(t);
    } else {
      xmlAddPrevSibling(
          xml::first_child(first_desc(signature, xml::ns_ds, "Transforms"), xml::ns_ds, "Transform"), t);
    }
    CHECK(code_of([&] { verify(doc.get(), a, {key.public_key()}); }) == ErrorCode::algorithm_refused);
  }

  pollfd pfd{srv, POLLIN, 0};
  const int ready = poll(&pfd, 1, 300); // bounded wait
  CHECK(ready == 0);
  const int conn = accept(srv, nullptr, nullptr);
  CHECK(conn < 0);
  if (conn >= 0) close(conn);
  close(srv);
}

TEST_CASE("SHA-1 and small keys are refused unless allowed", "[xmlsec]") {
  const PrivateKey key = test::rsa_key(2048);
  AlgorithmPolicy sha1_ok;
  sha1_ok.allow_sha1 = true;
  std::string detail;

  SECTION("rsa-sha1") {
    auto doc = parse(kResponse);
    sign(doc.get(), by_id(doc.get(), "_a1"), key, alg::rsa_sha1, alg::sha1);
    CHECK(code_of([&] { verify(doc.get(), by_id(doc.get(), "_a1"), {key.public_key()}); }) ==
          ErrorCode::algorithm_refused);
    CHECK_NOTHROW(verify(doc.get(), by_id(doc.get(), "_a1"), {key.public_key()}, sha1_ok));
  }
  SECTION("sha1 digest under rsa-sha256") {
    auto doc = parse(kResponse);
    sign(doc.get(), by_id(doc.get(), "_a1"), key, alg::rsa_sha256, alg::sha1);
    CHECK(code_of([&] { verify(doc.get(), by_id(doc.get(), "_a1"), {key.public_key()}); }, &detail) ==
          ErrorCode::algorithm_refused);
    CHECK(detail.find("digest") != std::string::npos);
    CHECK_NOTHROW(verify(doc.get(), by_id(doc.get(), "_a1"), {key.public_key()}, sha1_ok));
  }
  SECTION("ecdsa-sha1") {
    const PrivateKey ec = test::ec_key("prime256v1");
    auto doc = parse(kResponse);
    sign(doc.get(), by_id(doc.get(), "_a1"), ec, alg::ecdsa_sha1, alg::sha256);
    CHECK(code_of([&] { verify(doc.get(), by_id(doc.get(), "_a1"), {ec.public_key()}); }) ==
          ErrorCode::algorithm_refused);
    CHECK_NOTHROW(verify(doc.get(), by_id(doc.get(), "_a1"), {ec.public_key()}, sha1_ok));
  }
  SECTION("RSA-1024") {
    const PrivateKey small = test::rsa_key(1024);
    auto doc = parse(kResponse);
    sign(doc.get(), by_id(doc.get(), "_a1"), small, alg::rsa_sha256);
    CHECK(code_of([&] { verify(doc.get(), by_id(doc.get(), "_a1"), {small.public_key()}); }) ==
          ErrorCode::algorithm_refused);
    AlgorithmPolicy p;
    p.min_rsa_bits = 1024;
    CHECK_NOTHROW(verify(doc.get(), by_id(doc.get(), "_a1"), {small.public_key()}, p));
  }
  SECTION("EC below the minimum") {
    const PrivateKey ec = test::ec_key("prime256v1");
    auto doc = parse(kResponse);
    sign(doc.get(), by_id(doc.get(), "_a1"), ec, alg::ecdsa_sha256);
    AlgorithmPolicy p;
    p.min_ec_bits = 384;
    CHECK(code_of([&] { verify(doc.get(), by_id(doc.get(), "_a1"), {ec.public_key()}, p); }) ==
          ErrorCode::algorithm_refused);
  }
  SECTION("unknown signature method") {
    auto doc = parse(kResponse);
    CHECK(code_of([&] { sign(doc.get(), by_id(doc.get(), "_a1"), key, "urn:nonsense"); }) ==
          ErrorCode::algorithm_refused);
  }
}

TEST_CASE("LASSO_FLAG does not weaken verification", "[xmlsec]") {
  const PrivateKey key = test::rsa_key(2048);
  auto doc = parse(kResponse);
  xmlNode *a = by_id(doc.get(), "_a1");
  sign(doc.get(), a, key, alg::rsa_sha256);
  xmlNodeSetContent(first_desc(a, xml::ns_saml, "NameID"), X("_other"));
  REQUIRE(setenv("LASSO_FLAG", "no-verify-signature", 1) == 0);
  const ErrorCode code = code_of([&] { verify(doc.get(), a, {key.public_key()}); });
  unsetenv("LASSO_FLAG");
  CHECK(code == ErrorCode::signature_invalid);
}

TEST_CASE("raw signatures for the HTTP-Redirect binding", "[xmlsec]") {
  const std::string data = "SAMLRequest=fZFNT8MwDIbv%2FIoo9zZpO8aI1k7TJqRJIKEBEteU&RelayState=abc&SigAlg=...";
  const std::vector<SigCase> cases = {
      {alg::rsa_sha256, {}, test::rsa_key(2048)},
      {alg::rsa_sha384, {}, test::rsa_key(2048)},
      {alg::rsa_sha512, {}, test::rsa_key(2048)},
      {alg::rsa_pss_sha256, {}, test::rsa_key(3072)},
      {alg::ecdsa_sha256, {}, test::ec_key("prime256v1")},
      {alg::ecdsa_sha384, {}, test::ec_key("secp384r1")},
      {alg::ecdsa_sha256, {}, test::ec_key("brainpoolP256r1")},
  };
  for (const auto &c : cases) {
    INFO(std::string(c.method));
    const std::string sig = xmlsec::sign_bytes(c.key, c.method, data);
    if (c.key.type() == KeyType::ec) CHECK(sig.size() == 2 * ((c.key.bits() + 7) / 8));
    CHECK(xmlsec::verify_bytes(c.key.public_key(), c.method, data, sig));
    CHECK_FALSE(xmlsec::verify_bytes(c.key.public_key(), c.method, data + "x", sig));
    std::string bad = sig;
    bad[bad.size() / 2] = static_cast<char>(bad[bad.size() / 2] ^ 1);
    CHECK_FALSE(xmlsec::verify_bytes(c.key.public_key(), c.method, data, bad));
    CHECK_FALSE(xmlsec::verify_bytes(test::rsa_key(2048, 1).public_key(), c.method, data, sig));
  }
  // ECDSA: a DER value is refused, r||s of the right length only.
  const PrivateKey ec = test::ec_key("prime256v1");
  const std::string der = openssl_sign(ec, EVP_sha256(), data);
  CHECK_FALSE(xmlsec::verify_bytes(ec.public_key(), alg::ecdsa_sha256, data, der));
  CHECK(xmlsec::verify_bytes(ec.public_key(), alg::ecdsa_sha256, data, der_to_raw(der, 32)));
  // PSS with another salt length is refused.
  const PrivateKey rsa = test::rsa_key(2048);
  CHECK_FALSE(xmlsec::verify_bytes(rsa.public_key(), alg::rsa_pss_sha256, data,
                                   openssl_sign(rsa, EVP_sha256(), data, 20)));
  CHECK(xmlsec::verify_bytes(rsa.public_key(), alg::rsa_pss_sha256, data,
                             openssl_sign(rsa, EVP_sha256(), data, 32)));
  CHECK(code_of([&] { xmlsec::verify_bytes(rsa.public_key(), "urn:unknown", data, "x"); }) ==
        ErrorCode::algorithm_refused);
  CHECK(code_of([&] { xmlsec::sign_bytes(rsa, "urn:unknown", data); }) == ErrorCode::algorithm_refused);
}

TEST_CASE("exc-c14n InclusiveNamespaces PrefixList is honoured", "[xmlsec]") {
  const PrivateKey key = test::rsa_key(2048);
  auto doc = parse(kResponse);
  xmlNode *a = by_id(doc.get(), "_a1");
  sign(doc.get(), a, key, alg::rsa_sha256);
  xmlNode *signature = xml::first_child(a, xml::ns_ds, "Signature");
  xmlNode *c14n_transform = nullptr;
  for (xmlNode *t : xml::descendants(signature, xml::ns_ds, "Transform"))
    if (xml::attr(t, "Algorithm") == std::string(alg::exc_c14n)) c14n_transform = t;
  REQUIRE(c14n_transform != nullptr);
  xmlNs *ec = xmlNewNs(c14n_transform, X("http://www.w3.org/2001/10/xml-exc-c14n#"), X("ec"));
  xmlNode *incl = xmlNewChild(c14n_transform, ec, X("InclusiveNamespaces"), nullptr);
  xmlSetProp(incl, X("PrefixList"), X("xs xsi"));
  // The prefix list changes the digest (xmlns:xs is now rendered) ...
  CHECK(code_of([&] { verify(doc.get(), a, {key.public_key()}); }) == ErrorCode::signature_invalid);
  // ... and a signature made with it verifies.
  resign(signature, key);
  auto received = reparse(doc.get());
  CHECK_NOTHROW(verify(received.get(), by_id(received.get(), "_a1"), {key.public_key()}));
}

TEST_CASE("a foreign RSAKeyValue in KeyInfo is reported as untrusted", "[xmlsec]") {
  const PrivateKey idp = test::rsa_key(2048);
  const PrivateKey attacker = test::rsa_key(2048, 1);
  for (const bool foreign : {true, false}) {
    auto doc = parse(kResponse);
    xmlNode *a = by_id(doc.get(), "_a1");
    sign(doc.get(), a, attacker, alg::rsa_sha256);
    xmlNode *signature = xml::first_child(a, xml::ns_ds, "Signature");
    const PrivateKey &named = foreign ? attacker : idp;
    xmlNode *ki = xmlNewChild(signature, signature->ns, X("KeyInfo"), nullptr);
    xmlNode *rsa = xmlNewChild(xmlNewChild(ki, signature->ns, X("KeyValue"), nullptr), signature->ns,
                               X("RSAKeyValue"), nullptr);
    xmlNewChild(rsa, signature->ns, X("Modulus"),
                X(b64s(bn_param(named.native(), OSSL_PKEY_PARAM_RSA_N)).c_str()));
    xmlNewChild(rsa, signature->ns, X("Exponent"),
                X(b64s(bn_param(named.native(), OSSL_PKEY_PARAM_RSA_E)).c_str()));
    CHECK(code_of([&] { verify(doc.get(), a, {idp.public_key()}); }) ==
          (foreign ? ErrorCode::untrusted_key : ErrorCode::signature_invalid));
  }
}

TEST_CASE("signing, verification and decryption from several threads", "[xmlsec][concurrency]") {
  const PrivateKey rsa = test::rsa_key(2048);
  const PrivateKey ec = test::ec_key("prime256v1");
  const std::vector<PublicKey> trusted{ec.public_key(), rsa.public_key()};
  auto parsed = parse(kResponse);
  const std::string source = xml::serialize(parsed.get());
  std::atomic<int> ok{0}, failed{0};
  auto worker = [&](int n) {
    for (int i = 0; i < 10; ++i) {
      try {
        auto doc = xml::parse(source, 1u << 20);
        xmlNode *a = find_id(xmlDocGetRootElement(doc.get()), "_a1");
        const bool use_ec = (n + i) % 2 == 0;
        xmlsec::sign_enveloped(doc.get(), a, xml::first_child(a, xml::ns_saml, "Issuer"), use_ec ? ec : rsa,
                               use_ec ? alg::ecdsa_sha256 : alg::rsa_pss_sha256, alg::sha256, nullptr);
        const auto v = xmlsec::verify_enveloped(doc.get(), a, trusted, AlgorithmPolicy{});
        xmlNode *ea = xmlNewDocNode(doc.get(), a->ns, X("EncryptedAssertion"), nullptr);
        xmlAddPrevSibling(a, ea);
        xmlUnlinkNode(a);
        xmlAddChild(ea, a);
        xmlNode *ed = xmlsec::encrypt_element(doc.get(), a, rsa.public_key(), xmlsec::EncryptionParams{});
        const std::string plain = xmlsec::decrypt_data(doc.get(), ed, {rsa}, AlgorithmPolicy{});
        const bool good = v.key_index == (use_ec ? 0u : 1u) && plain.find("Clara") != std::string::npos;
        (good ? ok : failed).fetch_add(1);
      } catch (...) {
        failed.fetch_add(1);
      }
    }
  };
  std::vector<std::thread> threads;
  for (int n = 0; n < 4; ++n) threads.emplace_back(worker, n);
  for (auto &t : threads) t.join();
  CHECK(failed.load() == 0);
  CHECK(ok.load() == 40);
}

// ===================================================================== encryption

namespace {

// <samlp:Response> with the assertion inside <saml:EncryptedAssertion>,
// encrypted for `recipient`; returns the received (re-parsed) document.
xml::DocPtr encrypted_response(const PublicKey &recipient, const xmlsec::EncryptionParams &params,
                               const Certificate *cert = nullptr) {
  auto doc = parse(kResponse);
  xmlNode *a = by_id(doc.get(), "_a1");
  xmlNode *ea = xmlNewDocNode(doc.get(), a->ns, X("EncryptedAssertion"), nullptr);
  xmlAddPrevSibling(a, ea);
  xmlUnlinkNode(a);
  xmlAddChild(ea, a);
  xmlNode *ed = xmlsec::encrypt_element(doc.get(), a, recipient, params, cert);
  REQUIRE(xml::is(ed, xml::ns_xenc, "EncryptedData"));
  REQUIRE(ed->parent == ea);
  return reparse(doc.get());
}

xmlNode *encrypted_data_of(xmlDoc *doc) {
  return first_desc(xmlDocGetRootElement(doc), xml::ns_xenc, "EncryptedData");
}

std::string decrypt(xmlDoc *doc, const std::vector<PrivateKey> &keys, const AlgorithmPolicy &policy = {}) {
  return xmlsec::decrypt_data(doc, encrypted_data_of(doc), keys, policy);
}

// The decrypted assertion parses on its own, with every namespace it uses.
void check_plaintext(const std::string &plain) {
  auto a = parse(plain);
  xmlNode *root = xmlDocGetRootElement(a.get());
  REQUIRE(xml::is(root, xml::ns_saml, "Assertion"));
  CHECK(xml::attr(root, "ID") == "_a1");
  auto values = xml::descendants(root, xml::ns_saml, "AttributeValue");
  REQUIRE(values.size() == 2);
  CHECK(xml::text(values[0]) == "Clara");
  CHECK(xml::text(values[1]) == "Müller");
  xmlNs *xs = xmlSearchNs(a.get(), values[0], X("xs"));
  REQUIRE(xs != nullptr); // xsi:type="xs:string" still resolves
  CHECK(std::string(reinterpret_cast<const char *>(xs->href)) == "http://www.w3.org/2001/XMLSchema");
}

xmlsec::EncryptionParams params_for(std::string_view data, std::string_view transport) {
  xmlsec::EncryptionParams p;
  p.data_method = std::string(data);
  p.key_transport = std::string(transport);
  return p;
}

std::string b64(const std::string &s) {
  return ossl::base64_encode(s);
}

std::string random_bytes(std::size_t n) {
  std::string s(n, '\0');
  REQUIRE(RAND_bytes(reinterpret_cast<unsigned char *>(s.data()), static_cast<int>(n)) == 1);
  return s;
}

// Content encryption by hand, in the XML Encryption layout: IV || ciphertext (|| tag).
std::string cipher_encrypt(const EVP_CIPHER *cipher, const std::string &key, const std::string &plain) {
  const bool gcm = EVP_CIPHER_get_mode(cipher) == EVP_CIPH_GCM_MODE;
  const std::string iv = random_bytes(gcm ? 12 : static_cast<std::size_t>(EVP_CIPHER_get_iv_length(cipher)));
  ossl::CipherCtxPtr ctx{EVP_CIPHER_CTX_new()};
  REQUIRE(EVP_EncryptInit_ex(ctx.get(), cipher, nullptr, nullptr, nullptr) == 1);
  if (gcm) REQUIRE(EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, 12, nullptr) == 1);
  REQUIRE(EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, reinterpret_cast<const unsigned char *>(key.data()),
                             reinterpret_cast<const unsigned char *>(iv.data())) == 1);
  std::string out(plain.size() + 64, '\0');
  int n1 = 0, n2 = 0;
  REQUIRE(EVP_EncryptUpdate(ctx.get(), reinterpret_cast<unsigned char *>(out.data()), &n1,
                            reinterpret_cast<const unsigned char *>(plain.data()),
                            static_cast<int>(plain.size())) == 1);
  REQUIRE(EVP_EncryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char *>(out.data()) + n1, &n2) == 1);
  out.resize(static_cast<std::size_t>(n1 + n2));
  std::string result = iv + out;
  if (gcm) {
    std::string tag(16, '\0');
    REQUIRE(EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, 16, tag.data()) == 1);
    result += tag;
  }
  return result;
}

std::string rsa_encrypt(const PrivateKey &key, const std::string &data, int padding,
                        const EVP_MD *oaep_md = nullptr, const EVP_MD *mgf_md = nullptr,
                        const std::string &label = {}) {
  ossl::PkeyCtxPtr ctx{EVP_PKEY_CTX_new_from_pkey(nullptr, key.native(), nullptr)};
  REQUIRE(EVP_PKEY_encrypt_init(ctx.get()) == 1);
  REQUIRE(EVP_PKEY_CTX_set_rsa_padding(ctx.get(), padding) == 1);
  if (oaep_md != nullptr) REQUIRE(EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), oaep_md) == 1);
  if (mgf_md != nullptr) REQUIRE(EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), mgf_md) == 1);
  if (!label.empty()) {
    auto *copy = static_cast<unsigned char *>(OPENSSL_memdup(label.data(), label.size()));
    REQUIRE(EVP_PKEY_CTX_set0_rsa_oaep_label(ctx.get(), copy, static_cast<int>(label.size())) == 1);
  }
  std::size_t len = 0;
  const auto *in = reinterpret_cast<const unsigned char *>(data.data());
  REQUIRE(EVP_PKEY_encrypt(ctx.get(), nullptr, &len, in, data.size()) == 1);
  std::string out(len, '\0');
  REQUIRE(EVP_PKEY_encrypt(ctx.get(), reinterpret_cast<unsigned char *>(out.data()), &len, in, data.size()) ==
          1);
  out.resize(len);
  return out;
}

const char *const kPlainAssertion =
    R"(<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_x"><saml:Issuer>https://idp.example</saml:Issuer></saml:Assertion>)";

// A hand-made EncryptedAssertion (as a foreign IdP would send it).
std::string hand_made(std::string_view data_alg, const std::string &cipher_value, std::string_view key_alg,
                      const std::string &key_method_children, const std::string &encrypted_key) {
  return std::string(
             R"(<saml:EncryptedAssertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:xenc="http://www.w3.org/2001/04/xmlenc#" xmlns:xenc11="http://www.w3.org/2009/xmlenc11#" xmlns:ds="http://www.w3.org/2000/09/xmldsig#">)") +
         R"(<xenc:EncryptedData Type="http://www.w3.org/2001/04/xmlenc#Element"><xenc:EncryptionMethod Algorithm=")" +
         std::string(data_alg) + R"("/><ds:KeyInfo><xenc:EncryptedKey><xenc:EncryptionMethod Algorithm=")" +
         std::string(key_alg) + "\">" + key_method_children +
         "</xenc:EncryptionMethod><xenc:CipherData><xenc:CipherValue>" + b64(encrypted_key) +
         "</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo>" +
         "<xenc:CipherData><xenc:CipherValue>" + b64(cipher_value) +
         "</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData></saml:EncryptedAssertion>";
}

} // namespace

TEST_CASE("encryption round-trips for every content and key transport algorithm", "[xmlsec]") {
  const PrivateKey key = test::rsa_key(3072);
  for (auto data : {alg::aes128_gcm, alg::aes256_gcm, alg::aes128_cbc, alg::aes256_cbc}) {
    for (auto transport : {alg::rsa_oaep, alg::rsa_oaep_mgf1p}) {
      INFO(std::string(data) << " / " << std::string(transport));
      auto doc = encrypted_response(key.public_key(), params_for(data, transport));
      xmlNode *ed = encrypted_data_of(doc.get());
      CHECK(xml::attr(ed, "Type") == "http://www.w3.org/2001/04/xmlenc#Element");
      CHECK(xml::attr(xml::first_child(ed, xml::ns_xenc, "EncryptionMethod"), "Algorithm") ==
            std::string(data));
      xmlNode *ek = first_desc(ed, xml::ns_xenc, "EncryptedKey");
      xmlNode *kem = xml::first_child(ek, xml::ns_xenc, "EncryptionMethod");
      CHECK(xml::attr(kem, "Algorithm") == std::string(transport));
      if (transport == alg::rsa_oaep) {
        CHECK(xml::attr(xml::first_child(kem, xml::ns_ds, "DigestMethod"), "Algorithm") ==
              std::string(alg::sha256));
        CHECK(xml::attr(xml::first_child(kem, xml::ns_xenc11, "MGF"), "Algorithm") ==
              std::string(alg::mgf1_sha256));
      }
      CHECK(xml::descendants(xmlDocGetRootElement(doc.get()), xml::ns_saml, "Assertion").empty());
      CHECK_NOTHROW(xml::validate_schema(doc.get()));
      check_plaintext(decrypt(doc.get(), {key}));
    }
  }
}

TEST_CASE("xmlenc11 rsa-oaep parameters", "[xmlsec]") {
  const PrivateKey key = test::rsa_key(2048);
  const std::string aes = random_bytes(16);
  const std::string ct = cipher_encrypt(EVP_aes_128_gcm(), aes, kPlainAssertion);
  auto run = [&](std::string_view kt, const std::string &children, const std::string &ek) {
    auto doc = parse(hand_made(alg::aes128_gcm, ct, kt, children, ek));
    return decrypt(doc.get(), {key});
  };
  SECTION("no DigestMethod, no MGF: SHA-1 and MGF1-SHA-1") {
    CHECK(run(alg::rsa_oaep, "", rsa_encrypt(key, aes, RSA_PKCS1_OAEP_PADDING, EVP_sha1(), EVP_sha1())) ==
          kPlainAssertion);
  }
  SECTION("SHA-256 digest, MGF absent: MGF1-SHA-1") {
    const std::string children = R"(<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>)";
    CHECK(run(alg::rsa_oaep, children,
              rsa_encrypt(key, aes, RSA_PKCS1_OAEP_PADDING, EVP_sha256(), EVP_sha1())) == kPlainAssertion);
    // Decrypting with the wrong MGF must fail, not produce garbage.
    CHECK(code_of([&] {
            run(alg::rsa_oaep, children,
                rsa_encrypt(key, aes, RSA_PKCS1_OAEP_PADDING, EVP_sha256(), EVP_sha256()));
          }) == ErrorCode::decryption_failed);
  }
  SECTION("SHA-512 digest, MGF1-SHA-256, OAEPparams label") {
    const std::string label = "interkonto";
    const std::string children = R"(<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha512"/>)"
                                 R"(<xenc11:MGF Algorithm="http://www.w3.org/2009/xmlenc11#mgf1sha256"/>)"
                                 "<xenc:OAEPparams>" +
                                 b64(label) + "</xenc:OAEPparams>";
    CHECK(run(alg::rsa_oaep, children,
              rsa_encrypt(key, aes, RSA_PKCS1_OAEP_PADDING, EVP_sha512(), EVP_sha256(), label)) ==
          kPlainAssertion);
  }
  SECTION("unknown digest is refused") {
    const std::string children =
        R"(<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#md5"/>)";
    CHECK(code_of([&] { run(alg::rsa_oaep, children, rsa_encrypt(key, aes, RSA_PKCS1_OAEP_PADDING)); }) ==
          ErrorCode::decryption_failed);
  }
  SECTION("rsa-oaep-mgf1p: SHA-1 by default, other digests refused") {
    CHECK(run(alg::rsa_oaep_mgf1p, "", rsa_encrypt(key, aes, RSA_PKCS1_OAEP_PADDING)) == kPlainAssertion);
    const std::string sha1 = R"(<ds:DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"/>)";
    CHECK(run(alg::rsa_oaep_mgf1p, sha1, rsa_encrypt(key, aes, RSA_PKCS1_OAEP_PADDING)) == kPlainAssertion);
    const std::string sha256 = R"(<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>)";
    std::string detail;
    CHECK(code_of(
              [&] {
                run(alg::rsa_oaep_mgf1p, sha256, rsa_encrypt(key, aes, RSA_PKCS1_OAEP_PADDING, EVP_sha256()));
              },
              &detail) == ErrorCode::decryption_failed);
    CHECK(detail.find("DigestMethod") != std::string::npos);
  }
}

TEST_CASE("RSA-1_5 and 3DES are refused", "[xmlsec]") {
  const PrivateKey key = test::rsa_key(2048);
  std::string detail;
  SECTION("RSA-1_5 key transport") {
    const std::string aes = random_bytes(16);
    const std::string ct = cipher_encrypt(EVP_aes_128_gcm(), aes, kPlainAssertion);
    // The same message with OAEP decrypts (the hand-made layout is right) ...
    auto ok = parse(hand_made(alg::aes128_gcm, ct, alg::rsa_oaep_mgf1p, "",
                              rsa_encrypt(key, aes, RSA_PKCS1_OAEP_PADDING)));
    CHECK(decrypt(ok.get(), {key}) == kPlainAssertion);
    // ... with a genuine PKCS#1 v1.5 EncryptedKey it is refused.
    auto doc =
        parse(hand_made(alg::aes128_gcm, ct, alg::rsa_1_5, "", rsa_encrypt(key, aes, RSA_PKCS1_PADDING)));
    CHECK(code_of([&] { decrypt(doc.get(), {key}); }, &detail) == ErrorCode::decryption_failed);
    CHECK(detail.find("rsa-1_5") != std::string::npos);
  }
  SECTION("3DES content") {
    const std::string des_key = random_bytes(24);
    const std::string aes_key = random_bytes(16);
    auto ok = parse(hand_made(alg::aes128_cbc, cipher_encrypt(EVP_aes_128_cbc(), aes_key, kPlainAssertion),
                              alg::rsa_oaep_mgf1p, "", rsa_encrypt(key, aes_key, RSA_PKCS1_OAEP_PADDING)));
    CHECK(decrypt(ok.get(), {key}) == kPlainAssertion);
    auto doc =
        parse(hand_made(alg::tripledes_cbc, cipher_encrypt(EVP_des_ede3_cbc(), des_key, kPlainAssertion),
                        alg::rsa_oaep_mgf1p, "", rsa_encrypt(key, des_key, RSA_PKCS1_OAEP_PADDING)));
    CHECK(code_of([&] { decrypt(doc.get(), {key}); }, &detail) == ErrorCode::decryption_failed);
    CHECK(detail.find("tripledes") != std::string::npos);
  }
  SECTION("encrypting with them is refused too") {
    CHECK(code_of([&] {
            encrypted_response(key.public_key(), params_for(alg::tripledes_cbc, alg::rsa_oaep));
          }) == ErrorCode::algorithm_refused);
    CHECK(code_of([&] { encrypted_response(key.public_key(), params_for(alg::aes128_gcm, alg::rsa_1_5)); }) ==
          ErrorCode::algorithm_refused);
  }
}

TEST_CASE("decryption policy and failures", "[xmlsec]") {
  const PrivateKey key = test::rsa_key(2048);
  const PrivateKey other = test::rsa_key(2048, 1);

  SECTION("key rollover: the second of two keys decrypts") {
    auto doc = encrypted_response(key.public_key(), params_for(alg::aes256_gcm, alg::rsa_oaep));
    check_plaintext(decrypt(doc.get(), {other, key}));
    check_plaintext(decrypt(doc.get(), {test::ec_key("prime256v1"), key}));
  }
  SECTION("wrong key") {
    auto doc = encrypted_response(key.public_key(), params_for(alg::aes256_gcm, alg::rsa_oaep));
    CHECK(code_of([&] { decrypt(doc.get(), {other}); }) == ErrorCode::decryption_failed);
    CHECK(code_of([&] { decrypt(doc.get(), {}); }) == ErrorCode::decryption_failed);
  }
  SECTION("CBC refused by policy") {
    AlgorithmPolicy no_cbc;
    no_cbc.allow_cbc = false;
    auto doc = encrypted_response(key.public_key(), params_for(alg::aes128_cbc, alg::rsa_oaep));
    CHECK(code_of([&] { decrypt(doc.get(), {key}, no_cbc); }) == ErrorCode::decryption_failed);
    check_plaintext(decrypt(doc.get(), {key}));
    auto gcm = encrypted_response(key.public_key(), params_for(alg::aes128_gcm, alg::rsa_oaep));
    check_plaintext(decrypt(gcm.get(), {key}, no_cbc));
  }
  SECTION("rsa-oaep-mgf1p refused by policy") {
    AlgorithmPolicy no_mgf1p;
    no_mgf1p.allow_rsa_oaep_mgf1p = false;
    auto doc = encrypted_response(key.public_key(), params_for(alg::aes128_gcm, alg::rsa_oaep_mgf1p));
    CHECK(code_of([&] { decrypt(doc.get(), {key}, no_mgf1p); }) == ErrorCode::decryption_failed);
    check_plaintext(decrypt(doc.get(), {key}));
  }
  SECTION("tampered GCM tag") {
    auto doc = encrypted_response(key.public_key(), params_for(alg::aes128_gcm, alg::rsa_oaep));
    xmlNode *ed = encrypted_data_of(doc.get());
    xmlNode *cv =
        xml::first_child(xml::first_child(ed, xml::ns_xenc, "CipherData"), xml::ns_xenc, "CipherValue");
    auto raw = ossl::base64_decode(xml::text(cv));
    REQUIRE(raw);
    check_plaintext(decrypt(doc.get(), {key}));
    (*raw)[raw->size() - 1] = static_cast<char>((*raw)[raw->size() - 1] ^ 0x01);
    xmlNodeSetContent(cv, X(b64(*raw).c_str()));
    CHECK(code_of([&] { decrypt(doc.get(), {key}); }) == ErrorCode::decryption_failed);
  }
  SECTION("CipherReference is refused") {
    auto doc = encrypted_response(key.public_key(), params_for(alg::aes128_gcm, alg::rsa_oaep));
    xmlNode *ed = encrypted_data_of(doc.get());
    xmlNode *cd = xml::first_child(ed, xml::ns_xenc, "CipherData");
    xmlNode *cv = xml::first_child(cd, xml::ns_xenc, "CipherValue");
    xmlNode *cr = xmlNewDocNode(doc.get(), cv->ns, X("CipherReference"), nullptr);
    xmlSetProp(cr, X("URI"), X("http://127.0.0.1:9/"));
    xmlReplaceNode(cv, cr);
    xmlFreeNode(cv);
    CHECK(code_of([&] { decrypt(doc.get(), {key}); }) == ErrorCode::decryption_failed);
  }
  SECTION("not an EncryptedData") {
    auto doc = parse(kResponse);
    CHECK(code_of([&] {
            xmlsec::decrypt_data(doc.get(), xmlDocGetRootElement(doc.get()), {key}, AlgorithmPolicy{});
          }) == ErrorCode::decryption_failed);
  }
}

TEST_CASE("EncryptedKey as a sibling of EncryptedData", "[xmlsec]") {
  const PrivateKey key = test::rsa_key(2048);
  const Credential cred = test::self_signed_cert(key, "sp-encryption");
  auto doc =
      encrypted_response(key.public_key(), params_for(alg::aes128_gcm, alg::rsa_oaep), &*cred.certificate);
  xmlNode *ed = encrypted_data_of(doc.get());
  xmlNode *ki = xml::first_child(ed, xml::ns_ds, "KeyInfo");
  xmlNode *ek = xml::first_child(ki, xml::ns_xenc, "EncryptedKey");
  REQUIRE(ek != nullptr);
  // The recipient's certificate is named inside the EncryptedKey.
  CHECK(xml::text(first_desc(ek, xml::ns_ds, "X509Certificate")) == cred.certificate->base64());

  // Move the EncryptedKey next to the EncryptedData (saml:EncryptedAssertion layout).
  xmlUnlinkNode(ek);
  xmlSetProp(ek, X("Id"), X("_ek1"));
  xmlAddNextSibling(ed, ek);
  xmlReconciliateNs(doc.get(), ek); // declare xenc/ds on it: it left the EncryptedData
  SECTION("via ds:RetrievalMethod") {
    xmlNode *rm = xmlNewChild(ki, ki->ns, X("RetrievalMethod"), nullptr);
    xmlSetProp(rm, X("URI"), X("#_ek1"));
    xmlSetProp(rm, X("Type"), X("http://www.w3.org/2001/04/xmlenc#EncryptedKey"));
    auto received = reparse(doc.get());
    check_plaintext(decrypt(received.get(), {key}));
  }
  SECTION("without KeyInfo") {
    xmlUnlinkNode(ki);
    xmlFreeNode(ki);
    auto received = reparse(doc.get());
    check_plaintext(decrypt(received.get(), {key}));
  }
}

TEST_CASE("signed, then encrypted assertion verifies after decryption", "[xmlsec]") {
  const PrivateKey idp = test::rsa_key(3072);
  const PrivateKey sp = test::rsa_key(2048);
  auto doc = parse(kResponse);
  xmlNode *a = by_id(doc.get(), "_a1");
  sign(doc.get(), a, idp, alg::rsa_pss_sha256);
  xmlNode *ea = xmlNewDocNode(doc.get(), a->ns, X("EncryptedAssertion"), nullptr);
  xmlAddPrevSibling(a, ea);
  xmlUnlinkNode(a);
  xmlAddChild(ea, a);
  xmlsec::encrypt_element(doc.get(), a, sp.public_key(), xmlsec::EncryptionParams{});
  auto received = reparse(doc.get());
  const std::string plain = decrypt(received.get(), {sp});
  auto assertion_doc = parse(plain);
  xmlNode *root = xmlDocGetRootElement(assertion_doc.get());
  const auto v = verify(assertion_doc.get(), root, {idp.public_key()});
  CHECK(v.signature_method == alg::rsa_pss_sha256);
}

TEST_CASE("our signature transforms are the ones xmlsec looks up", "[xmlsec]") {
  xmlsec::ensure_initialized();
  for (const std::string_view uri :
       {alg::rsa_sha1, alg::rsa_sha256, alg::rsa_sha384, alg::rsa_sha512, alg::rsa_pss_sha256,
        alg::ecdsa_sha1, alg::ecdsa_sha256, alg::ecdsa_sha384}) {
    INFO(uri);
    const std::string href{uri};
    const xmlSecTransformId ours = xmlsec::signature_transform(uri);
    REQUIRE(ours != nullptr);
    CHECK(xmlSecTransformIdListFindByHref(xmlSecTransformIdsGet(),
                                          reinterpret_cast<const xmlChar *>(href.c_str()),
                                          xmlSecTransformUsageSignatureMethod) == ours);
  }
  CHECK(xmlsec::signature_transform("http://www.w3.org/2000/09/xmldsig#dsa-sha1") == nullptr);
}
