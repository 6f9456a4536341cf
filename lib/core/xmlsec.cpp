// SPDX-License-Identifier: EUPL-1.2
// XML Signature and XML Encryption on xmlsec 1.2.37 + OpenSSL 3, locked down.
//
// Verification: the ds:Signature structure is checked here first (one
// Signature, one Reference "#<ID of element>", only enveloped + exc-c14n,
// algorithms and key sizes against the policy); then xmlsec runs with only
// those transforms enabled, same-document references only, no keys manager
// and the trusted key preset, so KeyInfo never selects a key.

#include "core/xmlsec.hpp"

#include <libxml/tree.h>
#include <libxml/valid.h>
#include <libxslt/security.h>

#include <xmlsec/crypto.h>
#include <xmlsec/errors.h>
#include <xmlsec/io.h>
#include <xmlsec/keys.h>
#include <xmlsec/openssl/evp.h>
#include <xmlsec/templates.h>
#include <xmlsec/transforms.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmlenc.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/xmltree.h>

#include <openssl/core_names.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include <cctype>
#include <cstring>
#include <fmt/format.h>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/openssl.hpp"
#include "core/xml.hpp"
#include "core/xmlsec_transforms.hpp"
#include "interkonto/error.hpp"

namespace interkonto::xmlsec {

namespace {

const xmlChar *X(const char *s) {
  return reinterpret_cast<const xmlChar *>(s);
}
const xmlChar *X(const std::string &s) {
  return reinterpret_cast<const xmlChar *>(s.c_str());
}
std::string_view S(const xmlChar *s) {
  return s == nullptr ? std::string_view{} : std::string_view(reinterpret_cast<const char *>(s));
}

constexpr const char *kNsDsig11 = "http://www.w3.org/2009/xmldsig11#";
constexpr const char *kNsExcC14n = "http://www.w3.org/2001/10/xml-exc-c14n#";
constexpr std::string_view kTypeElement = "http://www.w3.org/2001/04/xmlenc#Element";

// ------------------------------------------------------------ xmlsec errors

// xmlsec reports errors through one global callback; keep the first error of
// the current operation per thread, for the log detail. Never print.
thread_local std::string t_error;

void on_xmlsec_error(const char * /*file*/, int /*line*/, const char *func, const char *error_object,
                     const char *error_subject, int reason, const char *msg) {
  if (!t_error.empty()) return;
  try {
    const char *reason_msg = xmlSecErrorsGetMsg(static_cast<xmlSecSize>(reason >= 0 ? reason : 0));
    std::string s =
        fmt::format("{}{}{}{}{}", func != nullptr ? func : "?",
                    error_object != nullptr ? fmt::format(" [{}]", error_object) : std::string(),
                    error_subject != nullptr ? fmt::format(" ({})", error_subject) : std::string(),
                    reason_msg != nullptr ? fmt::format(": {}", reason_msg) : std::string(),
                    msg != nullptr ? fmt::format(": {}", msg) : std::string());
    if (s.size() > 300) s.resize(300);
    t_error = std::move(s);
  } catch (...) {
  }
}

void clear_error() {
  t_error.clear();
}

std::string last_error() {
  std::string e = t_error.empty() ? std::string("no detail from xmlsec") : t_error;
  t_error.clear();
  ERR_clear_error();
  return e;
}

// ------------------------------------------------------------ RAII

struct KeyDeleter {
  void operator()(xmlSecKey *k) const noexcept { xmlSecKeyDestroy(k); }
};
using KeyPtr = std::unique_ptr<xmlSecKey, KeyDeleter>;

struct KeyDataDeleter {
  void operator()(xmlSecKeyData *d) const noexcept { xmlSecKeyDataDestroy(d); }
};
using KeyDataPtr = std::unique_ptr<xmlSecKeyData, KeyDataDeleter>;

using xml::NodePtr;
using xml::NsListPtr;

class DSigCtx {
public:
  DSigCtx() {
    if (xmlSecDSigCtxInitialize(&ctx_, nullptr) < 0) {
      xmlSecDSigCtxFinalize(&ctx_);
      throw Error(ErrorCode::internal, "cannot initialise xmlsec signature context");
    }
  }
  ~DSigCtx() { xmlSecDSigCtxFinalize(&ctx_); }
  DSigCtx(const DSigCtx &) = delete;
  DSigCtx &operator=(const DSigCtx &) = delete;
  xmlSecDSigCtx *operator->() { return &ctx_; }
  xmlSecDSigCtx *get() { return &ctx_; }

private:
  xmlSecDSigCtx ctx_{};
};

class EncCtx {
public:
  EncCtx() {
    if (xmlSecEncCtxInitialize(&ctx_, nullptr) < 0) {
      xmlSecEncCtxFinalize(&ctx_);
      throw Error(ErrorCode::internal, "cannot initialise xmlsec encryption context");
    }
    ctx_.transformCtx.enabledUris = xmlSecTransformUriTypeNone; // no CipherReference, ever
  }
  ~EncCtx() { xmlSecEncCtxFinalize(&ctx_); }
  EncCtx(const EncCtx &) = delete;
  EncCtx &operator=(const EncCtx &) = delete;
  xmlSecEncCtx *operator->() { return &ctx_; }
  xmlSecEncCtx *get() { return &ctx_; }

private:
  xmlSecEncCtx ctx_{};
};

// Key bytes that are wiped when they go out of scope.
struct Secret {
  std::string bytes;
  Secret() = default;
  Secret(Secret &&other) noexcept { bytes.swap(other.bytes); }
  Secret(const Secret &) = delete;
  Secret &operator=(const Secret &) = delete;
  Secret &operator=(Secret &&) = delete;
  ~Secret() { wipe(); }
  void wipe() noexcept {
    OPENSSL_cleanse(bytes.data(), bytes.size());
    bytes.clear();
  }
};

// An xmlsec key wrapping (a new reference to) an OpenSSL key.
KeyPtr make_key(EVP_PKEY *pkey) {
  ossl::PkeyPtr ref = ossl::up_ref(pkey);
  if (!ref) throw Error(ErrorCode::internal, "cannot reference key");
  KeyDataPtr data{xmlSecOpenSSLEvpKeyAdopt(ref.get())};
  if (!data) throw Error(ErrorCode::internal, fmt::format("xmlSecOpenSSLEvpKeyAdopt: {}", last_error()));
  (void)ref.release(); // now owned by `data`
  KeyPtr key{xmlSecKeyCreate()};
  if (!key) throw Error(ErrorCode::internal, "xmlSecKeyCreate failed");
  if (xmlSecKeySetValue(key.get(), data.get()) < 0)
    throw Error(ErrorCode::internal, "xmlSecKeySetValue failed");
  (void)data.release(); // now owned by `key`
  return key;
}

KeyPtr make_aes_key(const std::string &bytes) {
  KeyPtr key{xmlSecKeyReadMemory(xmlSecOpenSSLKeyDataAesId,
                                 reinterpret_cast<const xmlSecByte *>(bytes.data()),
                                 static_cast<xmlSecSize>(bytes.size()))};
  if (!key) throw Error(ErrorCode::internal, fmt::format("cannot create AES key: {}", last_error()));
  return key;
}

void *list_item(xmlSecTransformId id) {
  return const_cast<void *>(static_cast<const void *>(id));
}

// ------------------------------------------------------------ algorithms

struct SigMethod {
  std::string_view uri;
  const EVP_MD *(*md)();
  KeyType key_type;
  bool pss;
  // Our transform for the method (xmlsec_transforms.cpp), used for XML signatures.
  xmlSecTransformId klass() const { return signature_transform(uri); }
};

const SigMethod kSigMethods[] = {
    {alg::rsa_sha1, EVP_sha1, KeyType::rsa, false},
    {alg::rsa_sha256, EVP_sha256, KeyType::rsa, false},
    {alg::rsa_sha384, EVP_sha384, KeyType::rsa, false},
    {alg::rsa_sha512, EVP_sha512, KeyType::rsa, false},
    {alg::rsa_pss_sha256, EVP_sha256, KeyType::rsa, true},
    {alg::ecdsa_sha1, EVP_sha1, KeyType::ec, false},
    {alg::ecdsa_sha256, EVP_sha256, KeyType::ec, false},
    {alg::ecdsa_sha384, EVP_sha384, KeyType::ec, false},
};

struct DigestMethod {
  std::string_view uri;
  xmlSecTransformId (*klass)();
};

const DigestMethod kDigestMethods[] = {
    {alg::sha1, xmlSecOpenSSLTransformSha1GetKlass},
    {alg::sha256, xmlSecOpenSSLTransformSha256GetKlass},
    {alg::sha384, xmlSecOpenSSLTransformSha384GetKlass},
    {alg::sha512, xmlSecOpenSSLTransformSha512GetKlass},
};

const SigMethod *find_sig(std::string_view uri) {
  for (const auto &m : kSigMethods)
    if (m.uri == uri) return &m;
  return nullptr;
}

const DigestMethod *find_digest(std::string_view uri) {
  for (const auto &m : kDigestMethods)
    if (m.uri == uri) return &m;
  return nullptr;
}

struct DataMethod {
  std::string_view uri;
  xmlSecTransformId (*klass)();
  std::size_t key_bytes;
  bool cbc;
};

const DataMethod kDataMethods[] = {
    {alg::aes128_gcm, xmlSecOpenSSLTransformAes128GcmGetKlass, 16, false},
    {alg::aes256_gcm, xmlSecOpenSSLTransformAes256GcmGetKlass, 32, false},
    {alg::aes128_cbc, xmlSecOpenSSLTransformAes128CbcGetKlass, 16, true},
    {alg::aes256_cbc, xmlSecOpenSSLTransformAes256CbcGetKlass, 32, true},
};

const DataMethod *find_data(std::string_view uri) {
  for (const auto &m : kDataMethods)
    if (m.uri == uri) return &m;
  return nullptr;
}

// ------------------------------------------------------------ DOM helpers

xmlNode *next_element(xmlNode *n) {
  while (n != nullptr && n->type != XML_ELEMENT_NODE) n = n->next;
  return n;
}

std::string algorithm_of(const xmlNode *n) {
  return xml::attr(n, "Algorithm").value_or(std::string());
}

// IDs are NCNames: refuse anything that could change the meaning of the
// XPointer expression xmlsec builds from the reference ("xpointer(id('..'))").
bool plausible_id(std::string_view id) {
  if (id.empty() || id.size() > 1024) return false;
  const auto first = static_cast<unsigned char>(id.front());
  if (first < 0x80 && !(std::isalpha(first) != 0 || first == '_')) return false;
  for (const char ch : id) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x80) continue;
    if (std::isalnum(c) != 0 || c == '_' || c == '-' || c == '.') continue;
    return false;
  }
  return true;
}

// Makes sure `id` resolves (xmlGetID) to the ID attribute of `element`.
// Returns false when it resolves to another node.
bool bind_id(xmlDoc *doc, xmlNode *element, xmlAttr *id_attr, const std::string &id) {
  xmlAttr *resolved = xmlGetID(doc, X(id));
  if (resolved == nullptr) {
    if (xmlAddID(nullptr, doc, X(id), id_attr) == nullptr) return false;
    resolved = xmlGetID(doc, X(id));
  }
  return resolved != nullptr && resolved->type == XML_ATTRIBUTE_NODE && resolved == id_attr &&
         resolved->parent == element;
}

// ------------------------------------------------------------ initialisation

struct InitState {
  bool ok = false;
  std::string error;
};

InitState &init_state() {
  static InitState s;
  return s;
}

void do_initialize() {
  InitState &s = init_state();
  xml::ensure_initialized();
  xmlSecErrorsSetCallback(on_xmlsec_error);
  // xmlSecInit installs its own external entity loader in front of the one
  // xml::ensure_initialized set; ours (local schema files only) is the
  // stricter one for what the library parses, so keep it.
  const xmlExternalEntityLoader loader = xmlGetExternalEntityLoader();
  if (xmlSecInit() < 0) {
    s.error = "xmlSecInit: " + last_error();
    return;
  }
  xmlSetExternalEntityLoader(loader);
  if (xmlSecCheckVersion() != 1) {
    s.error = "xmlsec library version mismatch";
    return;
  }
  if (xmlSecCryptoAppInit(nullptr) < 0) {
    s.error = "xmlSecCryptoAppInit: " + last_error();
    return;
  }
  if (xmlSecCryptoInit() < 0) {
    s.error = "xmlSecCryptoInit: " + last_error();
    return;
  }
  if (!register_signature_transforms() || xmlSecTransformIdsRegister(rsa_oaep11_transform()) < 0) {
    s.error = "cannot register transforms: " + last_error();
    return;
  }
  // No URI is ever dereferenced by xmlsec on our behalf.
  xmlSecIOCleanupCallbacks();
  // XSLT is never enabled; should it ever run, it may touch nothing (this is
  // xmlsec's default too; it copies the settings).
  struct PrefsFree {
    void operator()(xsltSecurityPrefs *p) const noexcept { xsltFreeSecurityPrefs(p); }
  };
  if (std::unique_ptr<xsltSecurityPrefs, PrefsFree> prefs{xsltNewSecurityPrefs()}; prefs) {
    for (const auto pref : {XSLT_SECPREF_READ_FILE, XSLT_SECPREF_WRITE_FILE, XSLT_SECPREF_CREATE_DIRECTORY,
                            XSLT_SECPREF_READ_NETWORK, XSLT_SECPREF_WRITE_NETWORK})
      xsltSetSecurityPrefs(prefs.get(), pref, xsltSecurityForbid);
    xmlSecTransformXsltSetDefaultSecurityPrefs(prefs.get());
  }
  clear_error();
  ERR_clear_error();
  s.ok = true;
}

// ------------------------------------------------------------ verification

struct Checked {
  xmlNode *signature = nullptr;
  const SigMethod *sig = nullptr;
  const DigestMethod *digest = nullptr;
  std::string id;
};

[[noreturn]] void refuse(std::string detail) {
  throw Error(ErrorCode::algorithm_refused, std::move(detail));
}
[[noreturn]] void wrapping(std::string detail) {
  throw Error(ErrorCode::wrapping, std::move(detail));
}
[[noreturn]] void invalid(std::string detail) {
  throw Error(ErrorCode::signature_invalid, std::move(detail));
}

// Only ec:InclusiveNamespaces may appear inside an exc-c14n algorithm element.
void check_c14n_children(const xmlNode *n, std::string_view where) {
  for (xmlNode *c = n->children; c != nullptr; c = c->next) {
    if (c->type != XML_ELEMENT_NODE) continue;
    if (!xml::is(c, kNsExcC14n, "InclusiveNamespaces"))
      refuse(fmt::format("unexpected element {} in {}", S(c->name), where));
  }
}

Checked check_structure(xmlDoc *doc, xmlNode *element, const AlgorithmPolicy &policy) {
  Checked out;
  for (xmlNode *c = element->children; c != nullptr; c = c->next) {
    if (!xml::is(c, xml::ns_ds, "Signature")) continue;
    if (out.signature != nullptr) wrapping("more than one ds:Signature in the signed element");
    out.signature = c;
  }
  if (out.signature == nullptr)
    throw Error(ErrorCode::signature_missing, fmt::format("no ds:Signature in {}", S(element->name)));

  xmlNode *signed_info = next_element(out.signature->children);
  if (!xml::is(signed_info, xml::ns_ds, "SignedInfo"))
    invalid("ds:Signature does not start with ds:SignedInfo");

  xmlNode *c14n = next_element(signed_info->children);
  if (!xml::is(c14n, xml::ns_ds, "CanonicalizationMethod"))
    invalid("ds:SignedInfo lacks ds:CanonicalizationMethod");
  const std::string c14n_alg = algorithm_of(c14n);
  if (c14n_alg != alg::exc_c14n) refuse(fmt::format("canonicalization method {} is not allowed", c14n_alg));
  check_c14n_children(c14n, "ds:CanonicalizationMethod");

  xmlNode *sm = next_element(c14n->next);
  if (!xml::is(sm, xml::ns_ds, "SignatureMethod")) invalid("ds:SignedInfo lacks ds:SignatureMethod");
  const std::string sig_alg = algorithm_of(sm);
  out.sig = find_sig(sig_alg);
  if (out.sig == nullptr || !policy.signature_method_allowed(sig_alg))
    refuse(fmt::format("signature method {} is not allowed", sig_alg));
  if (next_element(sm->children) != nullptr) refuse("unexpected parameters in ds:SignatureMethod");

  xmlNode *reference = nullptr;
  for (xmlNode *r = next_element(sm->next); r != nullptr; r = next_element(r->next)) {
    if (!xml::is(r, xml::ns_ds, "Reference"))
      invalid(fmt::format("unexpected element {} in ds:SignedInfo", S(r->name)));
    if (reference != nullptr) wrapping("more than one ds:Reference in ds:SignedInfo");
    reference = r;
  }
  if (reference == nullptr) invalid("ds:SignedInfo has no ds:Reference");

  // The reference must name the element itself by its ID.
  xmlAttr *id_attr = xmlHasNsProp(element, X("ID"), nullptr);
  if (id_attr == nullptr)
    wrapping(fmt::format("the signed element {} has no ID attribute", S(element->name)));
  out.id = xml::attr(element, "ID").value_or(std::string());
  if (!plausible_id(out.id)) wrapping("the ID attribute of the signed element is not a valid NCName");
  const std::optional<std::string> uri = xml::attr(reference, "URI");
  if (!uri || *uri != "#" + out.id)
    wrapping(fmt::format("the reference URI \"{}\" does not name the signed element (ID {})",
                         uri.value_or(std::string()).substr(0, 100), out.id.substr(0, 100)));
  if (!bind_id(doc, element, id_attr, out.id))
    wrapping(fmt::format("the ID {} does not resolve to the signed element", out.id.substr(0, 100)));

  // Transforms: optional enveloped-signature, then optional exc-c14n.
  xmlNode *cur = next_element(reference->children);
  if (xml::is(cur, xml::ns_ds, "Transforms")) {
    bool seen_enveloped = false, seen_c14n = false;
    for (xmlNode *t = next_element(cur->children); t != nullptr; t = next_element(t->next)) {
      if (!xml::is(t, xml::ns_ds, "Transform"))
        refuse(fmt::format("unexpected element {} in ds:Transforms", S(t->name)));
      const std::string a = algorithm_of(t);
      if (a == alg::enveloped) {
        if (seen_enveloped || seen_c14n)
          refuse("transform sequence not allowed (enveloped-signature repeated or "
                 "after exc-c14n)");
        if (next_element(t->children) != nullptr)
          refuse("unexpected parameters in the enveloped-signature transform");
        seen_enveloped = true;
      } else if (a == alg::exc_c14n) {
        if (seen_c14n) refuse("transform sequence not allowed (exc-c14n repeated)");
        check_c14n_children(t, "the exc-c14n transform");
        seen_c14n = true;
      } else {
        refuse(fmt::format("transform {} is not allowed (only enveloped-signature and exc-c14n)",
                           a.substr(0, 200)));
      }
    }
    cur = next_element(cur->next);
  }
  if (!xml::is(cur, xml::ns_ds, "DigestMethod")) invalid("ds:Reference lacks ds:DigestMethod");
  const std::string digest_alg = algorithm_of(cur);
  out.digest = find_digest(digest_alg);
  if (out.digest == nullptr || !policy.digest_method_allowed(digest_alg))
    refuse(fmt::format("digest method {} is not allowed", digest_alg));
  return out;
}

// The encoded public point of an EC key (for ECKeyValue comparison).
std::string ec_point(EVP_PKEY *p) {
  unsigned char buf[256];
  std::size_t len = 0;
  if (EVP_PKEY_get_octet_string_param(p, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, buf, sizeof(buf), &len) != 1) {
    ERR_clear_error();
    return {};
  }
  return std::string(reinterpret_cast<const char *>(buf), len);
}

std::optional<PublicKey> rsa_key_value(xmlNode *kv) {
  const std::string modulus = xml::text(xml::first_child(kv, xml::ns_ds, "Modulus"));
  const std::string exponent = xml::text(xml::first_child(kv, xml::ns_ds, "Exponent"));
  const std::optional<std::string> n = ossl::base64_decode(modulus);
  const std::optional<std::string> e = ossl::base64_decode(exponent);
  if (!n || !e || n->empty() || e->empty() || n->size() > 2048 || e->size() > 16) return std::nullopt;
  ossl::BnPtr bn_n{
      BN_bin2bn(reinterpret_cast<const unsigned char *>(n->data()), static_cast<int>(n->size()), nullptr)};
  ossl::BnPtr bn_e{
      BN_bin2bn(reinterpret_cast<const unsigned char *>(e->data()), static_cast<int>(e->size()), nullptr)};
  ossl::Ptr<OSSL_PARAM_BLD> bld{OSSL_PARAM_BLD_new()};
  if (!bn_n || !bn_e || !bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1)
    return std::nullopt;
  ossl::Ptr<OSSL_PARAM> params{OSSL_PARAM_BLD_to_param(bld.get())};
  ossl::PkeyCtxPtr pctx{EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr)};
  EVP_PKEY *raw = nullptr;
  if (!params || !pctx || EVP_PKEY_fromdata_init(pctx.get()) != 1 ||
      EVP_PKEY_fromdata(pctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1)
    return std::nullopt;
  return PublicKey(ossl::share(ossl::PkeyPtr{raw}));
}

// After no trusted key verified: does ds:KeyInfo name key material (a
// certificate or a key value) that is not among the trusted keys? Key
// material that cannot be read counts as not trusted.
bool names_untrusted_key(xmlNode *signature, const std::vector<PublicKey> &trusted) {
  xmlNode *key_info = xml::first_child(signature, xml::ns_ds, "KeyInfo");
  if (key_info == nullptr) return false;
  auto is_trusted = [&](const std::optional<PublicKey> &k) {
    if (!k) return false;
    for (const auto &t : trusted)
      if (t == *k) return true;
    return false;
  };
  bool untrusted = false;
  for (xmlNode *cert : xml::descendants(key_info, xml::ns_ds, "X509Certificate")) {
    std::optional<PublicKey> k;
    try {
      k = Certificate::from_base64(xml::text(cert)).public_key();
    } catch (const Error &) {
    }
    untrusted = untrusted || !is_trusted(k);
  }
  for (xmlNode *kv : xml::descendants(key_info, xml::ns_ds, "RSAKeyValue")) {
    std::optional<PublicKey> k;
    try {
      k = rsa_key_value(kv);
    } catch (const Error &) {
    }
    untrusted = untrusted || !is_trusted(k);
  }
  for (xmlNode *kv : xml::descendants(key_info, kNsDsig11, "ECKeyValue")) {
    const auto point = ossl::base64_decode(xml::text(xml::first_child(kv, kNsDsig11, "PublicKey")));
    bool found = false;
    for (const auto &t : trusted)
      found =
          found || (t.type() == KeyType::ec && point && !point->empty() && ec_point(t.native()) == *point);
    untrusted = untrusted || !found;
  }
  ERR_clear_error();
  return untrusted;
}

enum class Attempt { verified, signature_failed, reference_failed };

Attempt attempt_verify(xmlNode *signature, const Checked &checked, const PublicKey &key,
                       const AlgorithmPolicy &policy) {
  DSigCtx ctx;
  ctx->flags |= XMLSEC_DSIG_FLAGS_IGNORE_MANIFESTS;
  ctx->enabledReferenceUris = xmlSecTransformUriTypeSameDocument;
  // Reference processing: enveloped + exc-c14n, and the allowed digests
  // (xmlsec reads DigestMethod through the same enabled list).
  if (xmlSecDSigCtxEnableReferenceTransform(ctx.get(), xmlSecTransformEnvelopedId) < 0 ||
      xmlSecDSigCtxEnableReferenceTransform(ctx.get(), xmlSecTransformExclC14NId) < 0 ||
      xmlSecDSigCtxEnableSignatureTransform(ctx.get(), xmlSecTransformExclC14NId) < 0)
    throw Error(ErrorCode::internal, "cannot restrict xmlsec transforms");
  for (const auto &d : kDigestMethods) {
    if (!policy.digest_method_allowed(d.uri)) continue;
    if (xmlSecDSigCtxEnableReferenceTransform(ctx.get(), d.klass()) < 0)
      throw Error(ErrorCode::internal, "cannot restrict xmlsec transforms");
  }
  for (const auto &s : kSigMethods) {
    if (!policy.signature_method_allowed(s.uri)) continue;
    if (xmlSecDSigCtxEnableSignatureTransform(ctx.get(), s.klass()) < 0)
      throw Error(ErrorCode::internal, "cannot restrict xmlsec transforms");
  }
  ctx->signKey = make_key(key.native()).release(); // KeyInfo is never consulted

  const int rc = xmlSecDSigCtxVerify(ctx.get(), signature);
  bool reference_ok = false;
  const xmlSecSize nrefs = xmlSecPtrListGetSize(&ctx->signedInfoReferences);
  if (nrefs == 1) {
    auto *ref = static_cast<xmlSecDSigReferenceCtxPtr>(xmlSecPtrListGetItem(&ctx->signedInfoReferences, 0));
    reference_ok =
        ref != nullptr && ref->status == xmlSecDSigStatusSucceeded && S(ref->uri) == "#" + checked.id;
  }
  if (rc == 0 && ctx->status == xmlSecDSigStatusSucceeded) {
    // Belt and braces: what xmlsec verified is what we checked.
    if (!reference_ok) wrapping("xmlsec verified a reference other than the signed element");
    if (ctx->signMethod == nullptr || ctx->signMethod->id != checked.sig->klass() ||
        ctx->c14nMethod == nullptr || ctx->c14nMethod->id != xmlSecTransformExclC14NId)
      wrapping("xmlsec used other algorithms than the ones checked");
    return Attempt::verified;
  }
  if (nrefs >= 1 && !reference_ok) return Attempt::reference_failed;
  return Attempt::signature_failed;
}

// ------------------------------------------------------------ raw signatures

bool configure_pss(EVP_PKEY_CTX *pctx) {
  return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
         EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) > 0 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) > 0;
}

// ------------------------------------------------------------ encryption helpers

// Serialises `element` on its own, carrying the in-scope namespace
// declarations it may use (also in QName-valued content such as xsi:type).
std::string serialize_standalone(xmlNode *element) {
  xml::DocPtr tmp{xmlNewDoc(X("1.0"))};
  if (!tmp) throw Error(ErrorCode::internal, "out of memory");
  xmlNode *copy = xmlDocCopyNode(element, tmp.get(), 1);
  if (copy == nullptr) throw Error(ErrorCode::internal, "cannot copy the element to encrypt");
  xmlDocSetRootElement(tmp.get(), copy);
  NsListPtr list{xmlGetNsList(element->doc, element)};
  if (list) {
    for (xmlNs **ns = list.get(); *ns != nullptr; ++ns) {
      if ((*ns)->prefix == nullptr) continue; // the element's own namespace was reconciled by the copy
      if (xmlSearchNs(tmp.get(), copy, (*ns)->prefix) == nullptr) xmlNewNs(copy, (*ns)->href, (*ns)->prefix);
    }
  }
  return xml::serialize(tmp.get(), copy);
}

xmlNode *add_child(xmlNode *parent, xmlNs *ns, const char *name) {
  xmlNode *c = xmlNewDocNode(parent->doc, ns, X(name), nullptr);
  if (c == nullptr || xmlAddChild(parent, c) == nullptr) throw Error(ErrorCode::internal, "out of memory");
  return c;
}

void add_text(xmlNode *n, std::string_view text) {
  xmlNode *t =
      xmlNewDocTextLen(n->doc, reinterpret_cast<const xmlChar *>(text.data()), static_cast<int>(text.size()));
  if (t == nullptr || xmlAddChild(n, t) == nullptr) throw Error(ErrorCode::internal, "out of memory");
}

void add_x509(xmlNode *parent_key_info, xmlNs *ds, const Certificate &cert) {
  xmlNode *x509 = add_child(parent_key_info, ds, "X509Data");
  add_text(add_child(x509, ds, "X509Certificate"), cert.base64());
}

// ------------------------------------------------------------ decryption helpers

[[noreturn]] void dfail(std::string detail) {
  throw Error(ErrorCode::decryption_failed, std::move(detail));
}

xmlNode *cipher_value_of(xmlNode *enc) {
  xmlNode *cd = xml::first_child(enc, xml::ns_xenc, "CipherData");
  if (cd == nullptr) return nullptr;
  xmlNode *first = next_element(cd->children);
  if (!xml::is(first, xml::ns_xenc, "CipherValue") || next_element(first->next) != nullptr) return nullptr;
  return first;
}

// Which key transport an EncryptedKey uses, checked against the policy.
xmlSecTransformId key_transport_of(xmlNode *encrypted_key, const AlgorithmPolicy &policy) {
  xmlNode *em = xml::first_child(encrypted_key, xml::ns_xenc, "EncryptionMethod");
  if (em == nullptr) dfail("EncryptedKey has no EncryptionMethod");
  const std::string a = algorithm_of(em);
  if (a == alg::rsa_oaep_mgf1p) {
    if (!policy.allow_rsa_oaep_mgf1p) dfail("key transport rsa-oaep-mgf1p refused by policy");
    // xmlsec 1.2.37 implements this with SHA-1 only: refuse anything else
    // rather than decrypt with the wrong parameters.
    if (xmlNode *dm = xml::first_child(em, xml::ns_ds, "DigestMethod");
        dm != nullptr && algorithm_of(dm) != alg::sha1)
      dfail(fmt::format("rsa-oaep-mgf1p with DigestMethod {} is not supported",
                        algorithm_of(dm).substr(0, 200)));
    return xmlSecOpenSSLTransformRsaOaepId;
  }
  if (a == alg::rsa_oaep) return rsa_oaep11_transform();
  dfail(fmt::format("key transport {} refused", a.substr(0, 200)));
}

std::optional<Secret> decrypt_key(xmlNode *encrypted_key, xmlSecTransformId transport,
                                  const PrivateKey &key) {
  EncCtx ctx;
  ctx->mode = xmlEncCtxModeEncryptedKey;
  if (xmlSecPtrListAdd(&ctx->transformCtx.enabledTransforms, list_item(transport)) < 0)
    throw Error(ErrorCode::internal, "cannot restrict xmlsec transforms");
  ctx->encKey = make_key(key.native()).release();
  xmlSecBufferPtr result = xmlSecEncCtxDecryptToBuffer(ctx.get(), encrypted_key);
  if (result == nullptr) {
    clear_error();
    ERR_clear_error();
    return std::nullopt;
  }
  std::optional<Secret> out{std::in_place};
  out->bytes.assign(reinterpret_cast<const char *>(xmlSecBufferGetData(result)), xmlSecBufferGetSize(result));
  OPENSSL_cleanse(xmlSecBufferGetData(result), xmlSecBufferGetSize(result));
  return out;
}

std::optional<std::string> decrypt_content(xmlNode *encrypted_data, const DataMethod &method,
                                           const Secret &key) {
  EncCtx ctx;
  ctx->mode = xmlEncCtxModeEncryptedData;
  if (xmlSecPtrListAdd(&ctx->transformCtx.enabledTransforms, list_item(method.klass())) < 0)
    throw Error(ErrorCode::internal, "cannot restrict xmlsec transforms");
  ctx->encKey = make_aes_key(key.bytes).release();
  xmlSecBufferPtr result = xmlSecEncCtxDecryptToBuffer(ctx.get(), encrypted_data);
  if (result == nullptr) return std::nullopt;
  return std::string(reinterpret_cast<const char *>(xmlSecBufferGetData(result)),
                     xmlSecBufferGetSize(result));
}

std::vector<xmlNode *> find_encrypted_keys(xmlNode *encrypted_data) {
  std::vector<xmlNode *> out;
  xmlNode *parent = encrypted_data->parent;
  auto siblings = [&](auto &&pred) {
    if (parent == nullptr || parent->type != XML_ELEMENT_NODE) return;
    for (xmlNode *s = next_element(parent->children); s != nullptr; s = next_element(s->next))
      if (s != encrypted_data && xml::is(s, xml::ns_xenc, "EncryptedKey") && pred(s)) out.push_back(s);
  };
  if (xmlNode *ki = xml::first_child(encrypted_data, xml::ns_ds, "KeyInfo"); ki != nullptr) {
    for (xmlNode *c = next_element(ki->children); c != nullptr; c = next_element(c->next)) {
      if (xml::is(c, xml::ns_xenc, "EncryptedKey")) {
        out.push_back(c);
      } else if (xml::is(c, xml::ns_ds, "RetrievalMethod")) {
        const std::string uri = xml::attr(c, "URI").value_or(std::string());
        if (uri.size() < 2 || uri.front() != '#') continue;
        const std::string id = uri.substr(1);
        siblings([&](xmlNode *s) { return xml::attr(s, "Id").value_or(std::string()) == id; });
      }
    }
  }
  if (out.empty()) siblings([](xmlNode *) { return true; });
  return out;
}

std::string decrypt_impl(xmlNode *encrypted_data, const std::vector<PrivateKey> &keys,
                         const AlgorithmPolicy &policy) {
  if (!xml::is(encrypted_data, xml::ns_xenc, "EncryptedData")) dfail("not an xenc:EncryptedData element");
  xmlNode *em = xml::first_child(encrypted_data, xml::ns_xenc, "EncryptionMethod");
  if (em == nullptr) dfail("EncryptedData has no EncryptionMethod");
  const std::string data_alg = algorithm_of(em);
  const DataMethod *method = find_data(data_alg);
  if (method == nullptr) dfail(fmt::format("content encryption {} refused", data_alg.substr(0, 200)));
  if (method->cbc && !policy.allow_cbc)
    dfail(fmt::format("content encryption {} refused by policy", data_alg));
  if (cipher_value_of(encrypted_data) == nullptr)
    dfail("EncryptedData has no CipherValue (CipherReference refused)");

  const std::vector<xmlNode *> encrypted_keys = find_encrypted_keys(encrypted_data);
  if (encrypted_keys.empty()) dfail("no EncryptedKey for the EncryptedData");
  bool have_rsa = false;
  for (const auto &k : keys) have_rsa = have_rsa || k.type() == KeyType::rsa;
  if (!have_rsa) dfail("no RSA decryption key configured");

  std::string why = "no configured key decrypts the EncryptedKey";
  for (xmlNode *ek : encrypted_keys) {
    xmlSecTransformId transport = nullptr;
    try {
      transport = key_transport_of(ek, policy);
    } catch (const Error &e) {
      why = e.detail();
      continue;
    }
    if (cipher_value_of(ek) == nullptr) {
      why = "EncryptedKey has no CipherValue";
      continue;
    }
    for (const auto &key : keys) {
      if (key.type() != KeyType::rsa) continue;
      std::optional<Secret> aes = decrypt_key(ek, transport, key);
      if (!aes) continue;
      if (aes->bytes.size() != method->key_bytes) {
        why = fmt::format("decrypted key has {} bytes, {} needs {}", aes->bytes.size(), data_alg,
                          method->key_bytes);
        continue;
      }
      std::optional<std::string> plain = decrypt_content(encrypted_data, *method, *aes);
      if (plain) return std::move(*plain);
      why = fmt::format("content decryption failed: {}", last_error());
    }
  }
  dfail(why);
}

} // namespace

// ==================================================================== API

void ensure_initialized() {
  static std::once_flag once;
  std::call_once(once, do_initialize);
  const InitState &s = init_state();
  if (!s.ok) throw Error(ErrorCode::internal, "xmlsec initialisation failed: " + s.error);
}

VerifiedSignature verify_enveloped(xmlDoc *doc, xmlNode *element, const std::vector<PublicKey> &trusted,
                                   const AlgorithmPolicy &policy) {
  ensure_initialized();
  if (doc == nullptr || element == nullptr || element->type != XML_ELEMENT_NODE || element->doc != doc)
    throw Error(ErrorCode::internal, "verify_enveloped: no element");
  clear_error();
  const Checked checked = check_structure(doc, element, policy);
  if (trusted.empty()) throw Error(ErrorCode::untrusted_key, "no trusted key for this signer");

  bool too_small = false;
  for (std::size_t i = 0; i < trusted.size(); ++i) {
    const PublicKey &key = trusted[i];
    if (key.type() != checked.sig->key_type) continue;
    if (!policy.key_allowed(key)) {
      too_small = true;
      continue;
    }
    const Attempt a = attempt_verify(checked.signature, checked, key, policy);
    if (a == Attempt::verified) {
      clear_error();
      ERR_clear_error();
      return VerifiedSignature{std::string(checked.sig->uri), std::string(checked.digest->uri), i};
    }
    if (a == Attempt::reference_failed) break; // the content does not match: no key can help
  }
  const std::string detail = last_error();
  if (too_small)
    refuse(
        fmt::format("trusted key of the signer refused by policy (RSA < {} or EC < {} bit or unknown curve)",
                    policy.min_rsa_bits, policy.min_ec_bits));
  if (names_untrusted_key(checked.signature, trusted))
    throw Error(ErrorCode::untrusted_key, "the signature names a key that is not trusted for this signer");
  invalid(fmt::format("signature does not verify with any trusted key: {}", detail));
}

void sign_enveloped(xmlDoc *doc, xmlNode *element, xmlNode *insert_after, const PrivateKey &key,
                    std::string_view signature_method, std::string_view digest_method,
                    const Certificate *certificate) {
  ensure_initialized();
  if (doc == nullptr || element == nullptr || element->type != XML_ELEMENT_NODE || element->doc != doc)
    throw Error(ErrorCode::internal, "sign_enveloped: no element");
  const SigMethod *sm = find_sig(signature_method);
  if (sm == nullptr) refuse(fmt::format("unknown signature method {}", signature_method));
  if (sm->key_type != key.type())
    throw Error(ErrorCode::config_invalid,
                fmt::format("signature method {} does not fit the {} signing key", signature_method,
                            key.type() == KeyType::rsa ? "RSA" : "EC"));
  const DigestMethod *dm = find_digest(digest_method);
  if (dm == nullptr) refuse(fmt::format("unknown digest method {}", digest_method));
  if (insert_after != nullptr && insert_after->parent != element)
    throw Error(ErrorCode::internal, "sign_enveloped: insert_after is not a child of the element");
  if (xml::first_child(element, xml::ns_ds, "Signature") != nullptr)
    throw Error(ErrorCode::internal, "sign_enveloped: the element is already signed");

  xmlAttr *id_attr = xmlHasNsProp(element, X("ID"), nullptr);
  const std::string id = xml::attr(element, "ID").value_or(std::string());
  if (id_attr == nullptr || !plausible_id(id))
    throw Error(ErrorCode::internal, "sign_enveloped: the element has no valid ID attribute");
  if (!bind_id(doc, element, id_attr, id))
    throw Error(ErrorCode::internal, fmt::format("sign_enveloped: the ID {} is used by another element", id));

  clear_error();
  NodePtr tmpl{
      xmlSecTmplSignatureCreateNsPref(doc, xmlSecTransformExclC14NId, sm->klass(), nullptr, X("ds"))};
  if (!tmpl) throw Error(ErrorCode::internal, "cannot create signature template: " + last_error());
  const std::string uri = "#" + id;
  xmlNode *ref = xmlSecTmplSignatureAddReference(tmpl.get(), dm->klass(), nullptr, X(uri), nullptr);
  if (ref == nullptr || xmlSecTmplReferenceAddTransform(ref, xmlSecTransformEnvelopedId) == nullptr ||
      xmlSecTmplReferenceAddTransform(ref, xmlSecTransformExclC14NId) == nullptr)
    throw Error(ErrorCode::internal, "cannot create signature template: " + last_error());

  xmlNode *sig = tmpl.get();
  xmlNode *linked = nullptr;
  if (insert_after != nullptr)
    linked = xmlAddNextSibling(insert_after, sig);
  else if (element->children != nullptr)
    linked = xmlAddPrevSibling(element->children, sig);
  else
    linked = xmlAddChild(element, sig);
  if (linked != sig) throw Error(ErrorCode::internal, "cannot insert the signature");
  // From here on `tmpl` owns a linked node: NodeDeleter unlinks it on failure.

  DSigCtx ctx;
  ctx->enabledReferenceUris = xmlSecTransformUriTypeSameDocument;
  ctx->signKey = make_key(key.native()).release();
  if (xmlSecDSigCtxSign(ctx.get(), sig) < 0 || ctx->status != xmlSecDSigStatusSucceeded)
    throw Error(ErrorCode::internal, "signing failed: " + last_error());

  if (certificate != nullptr) {
    xmlNode *key_info = xmlSecTmplSignatureEnsureKeyInfo(sig, nullptr);
    if (key_info == nullptr) throw Error(ErrorCode::internal, "cannot add ds:KeyInfo");
    add_x509(key_info, key_info->ns, *certificate);
  }
  (void)tmpl.release(); // the signature stays in the document
  clear_error();
  ERR_clear_error();
}

std::string sign_bytes(const PrivateKey &key, std::string_view signature_method, std::string_view data) {
  const SigMethod *sm = find_sig(signature_method);
  if (sm == nullptr) refuse(fmt::format("unknown signature method {}", signature_method));
  if (sm->key_type != key.type())
    throw Error(ErrorCode::config_invalid,
                fmt::format("signature method {} does not fit the signing key", signature_method));
  ossl::MdCtxPtr md{EVP_MD_CTX_new()};
  EVP_PKEY_CTX *pctx = nullptr; // owned by md
  if (!md || EVP_DigestSignInit(md.get(), &pctx, sm->md(), nullptr, key.native()) != 1 ||
      (sm->pss && !configure_pss(pctx)))
    throw Error(ErrorCode::internal, "cannot sign: " + ossl::take_errors());
  std::size_t len = 0;
  const auto *in = reinterpret_cast<const unsigned char *>(data.data());
  if (EVP_DigestSign(md.get(), nullptr, &len, in, data.size()) != 1)
    throw Error(ErrorCode::internal, "cannot sign: " + ossl::take_errors());
  std::string sig(len, '\0');
  if (EVP_DigestSign(md.get(), reinterpret_cast<unsigned char *>(sig.data()), &len, in, data.size()) != 1)
    throw Error(ErrorCode::internal, "cannot sign: " + ossl::take_errors());
  sig.resize(len);
  if (sm->key_type == KeyType::ec) {
    auto raw = ecdsa_der_to_raw(key.native(), sig);
    if (!raw) throw Error(ErrorCode::internal, "cannot encode ECDSA signature");
    return std::move(*raw);
  }
  return sig;
}

bool verify_bytes(const PublicKey &key, std::string_view signature_method, std::string_view data,
                  std::string_view signature) {
  const SigMethod *sm = find_sig(signature_method);
  if (sm == nullptr) refuse(fmt::format("unknown signature method {}", signature_method.substr(0, 200)));
  if (sm->key_type != key.type()) return false;
  std::string der;
  if (sm->key_type == KeyType::ec) {
    auto d = ecdsa_raw_to_der(key.native(), signature); // r||s of the exact size only
    if (!d) {
      ERR_clear_error();
      return false;
    }
    der = std::move(*d);
    signature = der;
  }
  ossl::MdCtxPtr md{EVP_MD_CTX_new()};
  EVP_PKEY_CTX *pctx = nullptr;
  if (!md || EVP_DigestVerifyInit(md.get(), &pctx, sm->md(), nullptr, key.native()) != 1 ||
      (sm->pss && !configure_pss(pctx))) {
    ERR_clear_error();
    return false;
  }
  const int rc =
      EVP_DigestVerify(md.get(), reinterpret_cast<const unsigned char *>(signature.data()), signature.size(),
                       reinterpret_cast<const unsigned char *>(data.data()), data.size());
  ERR_clear_error();
  return rc == 1;
}

xmlNode *encrypt_element(xmlDoc *doc, xmlNode *element, const PublicKey &recipient,
                         const EncryptionParams &params, const Certificate *recipient_cert) {
  ensure_initialized();
  if (doc == nullptr || element == nullptr || element->type != XML_ELEMENT_NODE || element->doc != doc)
    throw Error(ErrorCode::internal, "encrypt_element: no element");
  const DataMethod *method = find_data(params.data_method);
  if (method == nullptr) refuse(fmt::format("content encryption {} is not supported", params.data_method));
  const bool oaep11 = params.key_transport == alg::rsa_oaep;
  if (!oaep11 && params.key_transport != alg::rsa_oaep_mgf1p)
    refuse(fmt::format("key transport {} is not supported", params.key_transport));
  if (oaep11 && (params.oaep_digest != alg::sha1 && params.oaep_digest != alg::sha256 &&
                 params.oaep_digest != alg::sha384 && params.oaep_digest != alg::sha512))
    refuse(fmt::format("OAEP digest {} is not supported", params.oaep_digest));
  if (oaep11 && params.oaep_mgf != alg::mgf1_sha1 && params.oaep_mgf != alg::mgf1_sha256)
    refuse(fmt::format("OAEP MGF {} is not supported", params.oaep_mgf));
  if (recipient.type() != KeyType::rsa)
    throw Error(ErrorCode::config_invalid, "the encryption key is not RSA");
  const xmlSecTransformId transport = oaep11 ? rsa_oaep11_transform() : xmlSecOpenSSLTransformRsaOaepId;
  clear_error();

  const std::string plaintext = serialize_standalone(element);
  Secret aes;
  aes.bytes.assign(method->key_bytes, '\0');
  if (RAND_priv_bytes(reinterpret_cast<unsigned char *>(aes.bytes.data()),
                      static_cast<int>(aes.bytes.size())) != 1)
    throw Error(ErrorCode::internal, "no randomness for the content key");

  // <xenc:EncryptedData Type="...#Element"> with EncryptionMethod and CipherData.
  NodePtr enc_data{xmlNewDocNode(doc, nullptr, X("EncryptedData"), nullptr)};
  if (!enc_data) throw Error(ErrorCode::internal, "out of memory");
  xmlNs *xenc = xmlNewNs(enc_data.get(), X(xml::ns_xenc), X("xenc"));
  xmlNs *ds = xmlNewNs(enc_data.get(), X(xml::ns_ds), X("ds"));
  xmlNs *xenc11 = oaep11 ? xmlNewNs(enc_data.get(), X(xml::ns_xenc11), X("xenc11")) : nullptr;
  if (xenc == nullptr || ds == nullptr || (oaep11 && xenc11 == nullptr))
    throw Error(ErrorCode::internal, "out of memory");
  xmlSetNs(enc_data.get(), xenc);
  xmlSetProp(enc_data.get(), X("Type"), X(std::string(kTypeElement)));
  xmlNode *data_em = add_child(enc_data.get(), xenc, "EncryptionMethod");
  xmlSetProp(data_em, X("Algorithm"), X(std::string(method->uri)));
  add_child(add_child(enc_data.get(), xenc, "CipherData"), xenc, "CipherValue");

  {
    EncCtx ctx;
    ctx->mode = xmlEncCtxModeEncryptedData;
    ctx->encKey = make_aes_key(aes.bytes).release();
    if (xmlSecEncCtxBinaryEncrypt(ctx.get(), enc_data.get(),
                                  reinterpret_cast<const xmlSecByte *>(plaintext.data()),
                                  static_cast<xmlSecSize>(plaintext.size())) < 0)
      throw Error(ErrorCode::internal, "content encryption failed: " + last_error());
  }

  // <xenc:EncryptedKey> for the recipient, inside <ds:KeyInfo>. While it is
  // detached it uses the namespace declarations of the EncryptedData.
  NodePtr enc_key{xmlNewDocNode(doc, xenc, X("EncryptedKey"), nullptr)};
  if (!enc_key) throw Error(ErrorCode::internal, "out of memory");
  xmlNode *key_em = add_child(enc_key.get(), xenc, "EncryptionMethod");
  xmlSetProp(key_em, X("Algorithm"), X(params.key_transport));
  if (oaep11) {
    xmlSetProp(add_child(key_em, ds, "DigestMethod"), X("Algorithm"), X(params.oaep_digest));
    xmlSetProp(add_child(key_em, xenc11, "MGF"), X("Algorithm"), X(params.oaep_mgf));
  } else {
    xmlSetProp(add_child(key_em, ds, "DigestMethod"), X("Algorithm"), X(std::string(alg::sha1)));
  }
  add_child(add_child(enc_key.get(), xenc, "CipherData"), xenc, "CipherValue");
  {
    EncCtx ctx;
    ctx->mode = xmlEncCtxModeEncryptedKey;
    if (xmlSecPtrListAdd(&ctx->transformCtx.enabledTransforms, list_item(transport)) < 0)
      throw Error(ErrorCode::internal, "cannot restrict xmlsec transforms");
    ctx->encKey = make_key(recipient.native()).release();
    if (xmlSecEncCtxBinaryEncrypt(ctx.get(), enc_key.get(),
                                  reinterpret_cast<const xmlSecByte *>(aes.bytes.data()),
                                  static_cast<xmlSecSize>(aes.bytes.size())) < 0)
      throw Error(ErrorCode::internal, "key transport encryption failed: " + last_error());
  }
  if (recipient_cert != nullptr) {
    xmlNode *ki = xmlNewDocNode(doc, ds, X("KeyInfo"), nullptr);
    if (ki == nullptr || xmlAddNextSibling(key_em, ki) == nullptr)
      throw Error(ErrorCode::internal, "out of memory");
    add_x509(ki, ds, *recipient_cert);
  }

  // Assemble: EncryptionMethod, KeyInfo(EncryptedKey), CipherData.
  xmlNode *key_info = xmlNewDocNode(doc, ds, X("KeyInfo"), nullptr);
  if (key_info == nullptr || xmlAddNextSibling(data_em, key_info) == nullptr)
    throw Error(ErrorCode::internal, "out of memory");
  if (xmlAddChild(key_info, enc_key.get()) == nullptr) throw Error(ErrorCode::internal, "out of memory");
  (void)enc_key.release();

  // Replace the element.
  xmlNode *result = enc_data.get();
  if (xmlReplaceNode(element, result) == nullptr)
    throw Error(ErrorCode::internal, "cannot replace the element");
  (void)enc_data.release();
  NodePtr old{element}; // freed (and its ID unregistered) here
  clear_error();
  ERR_clear_error();
  return result;
}

std::string decrypt_data(xmlDoc *doc, xmlNode *encrypted_data, const std::vector<PrivateKey> &keys,
                         const AlgorithmPolicy &policy) {
  try {
    ensure_initialized();
    if (doc == nullptr || encrypted_data == nullptr || encrypted_data->doc != doc)
      dfail("no EncryptedData element");
    clear_error();
    std::string out = decrypt_impl(encrypted_data, keys, policy);
    clear_error();
    ERR_clear_error();
    return out;
  } catch (const Error &e) {
    clear_error();
    ERR_clear_error();
    if (e.code() == ErrorCode::decryption_failed) throw;
    throw Error(ErrorCode::decryption_failed, e.detail());
  } catch (const std::bad_alloc &) {
    throw Error(ErrorCode::decryption_failed, "out of memory");
  }
}

} // namespace interkonto::xmlsec
