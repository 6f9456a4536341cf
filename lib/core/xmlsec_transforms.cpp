// SPDX-License-Identifier: EUPL-1.2
// RSASSA-PSS (sha256-rsa-MGF1) and xmlenc11 RSA-OAEP as xmlsec transforms.
//
// Both follow the shape of xmlsec's own OpenSSL transforms: binary push/pop
// through xmlSecTransformDefaultPushBin/PopBin, the work done in `execute`.
// The per-transform state lives behind one pointer stored right after the
// xmlSecTransform header (xmlsec allocates objSize bytes and zeroes them).

#include "core/xmlsec_transforms.hpp"

#include <xmlsec/buffer.h>
#include <xmlsec/keys.h>
#include <xmlsec/openssl/crypto.h>
#include <xmlsec/openssl/evp.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/xmltree.h>

#include <openssl/core_names.h>
#include <openssl/rsa.h>

#include <array>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/openssl.hpp"
#include "interkonto/crypto.hpp"

namespace interkonto::xmlsec {

namespace {

const xmlChar *X(const char *s) {
  return reinterpret_cast<const xmlChar *>(s);
}

constexpr const char *kNsDs = "http://www.w3.org/2000/09/xmldsig#";
constexpr const char *kNsXenc = "http://www.w3.org/2001/04/xmlenc#";
constexpr const char *kNsXenc11 = "http://www.w3.org/2009/xmlenc11#";

template <class Impl> Impl *&impl_slot(xmlSecTransformPtr t) {
  return *reinterpret_cast<Impl **>(reinterpret_cast<unsigned char *>(t) + sizeof(xmlSecTransform));
}

template <class Impl> constexpr xmlSecSize obj_size() {
  return static_cast<xmlSecSize>(sizeof(xmlSecTransform) + sizeof(Impl *));
}

bool is_elem(const xmlNode *n, const char *ns, const char *local) {
  return n != nullptr && n->type == XML_ELEMENT_NODE && n->ns != nullptr && n->ns->href != nullptr &&
         std::strcmp(reinterpret_cast<const char *>(n->name), local) == 0 &&
         std::strcmp(reinterpret_cast<const char *>(n->ns->href), ns) == 0;
}

std::string algorithm_of(const xmlNode *n) {
  xmlChar *v = xmlGetNoNsProp(n, X("Algorithm"));
  if (v == nullptr) return {};
  std::string s(reinterpret_cast<const char *>(v));
  xmlFree(v);
  return s;
}

// The key bound to a transform: a new reference to the EVP_PKEY inside the
// xmlsec key (which must be RSA).
ossl::PkeyPtr rsa_from_key(xmlSecKeyPtr key) {
  if (key == nullptr) return {};
  xmlSecKeyDataPtr value = xmlSecKeyGetValue(key);
  if (value == nullptr || !xmlSecKeyDataCheckId(value, xmlSecOpenSSLKeyDataRsaId)) return {};
  EVP_PKEY *p = xmlSecOpenSSLKeyDataRsaGetEvp(value);
  if (p == nullptr || EVP_PKEY_is_a(p, "RSA") != 1) return {};
  return ossl::up_ref(p);
}

// Moves the whole input buffer into `dst` (the transforms below work on the
// complete input once it is known to be final).
bool drain_input(xmlSecTransformPtr t, std::string &dst) {
  xmlSecBufferPtr in = &t->inBuf;
  const xmlSecSize n = xmlSecBufferGetSize(in);
  if (n == 0) return true;
  dst.append(reinterpret_cast<const char *>(xmlSecBufferGetData(in)), n);
  return xmlSecBufferRemoveHead(in, n) == 0;
}

bool set_output(xmlSecTransformPtr t, const unsigned char *data, std::size_t n) {
  if (n > 0xFFFFFFFFu) return false;
  return xmlSecBufferSetData(&t->outBuf, data, static_cast<xmlSecSize>(n)) == 0;
}

// =====================================================================
// Signature methods: RSA PKCS#1 v1.5, RSASSA-PSS (sha256-rsa-MGF1), ECDSA
// =====================================================================
//
// One klass family for every signature method we accept. xmlsec 1.2.37 has
// no PSS; for the others it has its own transforms, but those ask xmlsec
// for the key's type (public/private) three times per verification, which
// on OpenSSL 3 is a failing EVP_PKEY_get_bn_param for the private exponent:
// ~5 % of a whole response validation (callgrind). Ours need no key type to
// verify: any key that has the public part can, and the key is always
// preset from metadata anyway.

enum class Family { rsa_pkcs1, rsa_pss, ecdsa };

struct SigSpec {
  const char *name;
  const char *href;
  const EVP_MD *(*md)();
  Family family;
};

struct SigKlass {
  xmlSecTransformKlass klass; // first member: t->id points here
  const SigSpec *spec;
};

constexpr int kPssSaltLen = 32;

struct SigImpl {
  const SigSpec *spec = nullptr;
  ossl::MdCtxPtr md;
  ossl::PkeyPtr key;
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int digest_len = 0;
};

SigImpl *sig(xmlSecTransformPtr t) {
  return impl_slot<SigImpl>(t);
}

const SigSpec *spec_of(xmlSecTransformPtr t) {
  return reinterpret_cast<const SigKlass *>(t->id)->spec; // NOLINT: C-style klass layout
}

bool is_rsa(const SigSpec *s) {
  return s->family != Family::ecdsa;
}

// Padding and digest for the RSA families (PSS: RFC 6931 2.3.10).
bool configure(EVP_PKEY_CTX *pctx, const SigSpec *s) {
  if (EVP_PKEY_CTX_set_signature_md(pctx, s->md()) <= 0) return false;
  if (s->family == Family::rsa_pkcs1) return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0;
  if (s->family == Family::rsa_pss)
    return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
           EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, s->md()) > 0 &&
           EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, kPssSaltLen) > 0;
  return true;
}

int sig_initialize(xmlSecTransformPtr t) {
  try {
    auto *impl = new SigImpl;
    impl_slot<SigImpl>(t) = impl;
    impl->spec = spec_of(t);
    impl->md.reset(EVP_MD_CTX_new());
    if (!impl->md || EVP_DigestInit_ex(impl->md.get(), impl->spec->md(), nullptr) != 1) return -1;
    return 0;
  } catch (...) {
    return -1;
  }
}

void sig_finalize(xmlSecTransformPtr t) {
  delete sig(t);
  impl_slot<SigImpl>(t) = nullptr;
}

int sig_set_key_req(xmlSecTransformPtr t, xmlSecKeyReqPtr req) {
  if (req == nullptr) return -1;
  req->keyId = is_rsa(spec_of(t)) ? xmlSecOpenSSLKeyDataRsaId : xmlSecOpenSSLKeyDataEcdsaId;
  if (t->operation == xmlSecTransformOperationSign) {
    req->keyType = xmlSecKeyDataTypePrivate;
    req->keyUsage = xmlSecKeyUsageSign;
  } else {
    req->keyType = xmlSecKeyDataTypeUnknown; // any key with the public part verifies
    req->keyUsage = xmlSecKeyUsageVerify;
  }
  return 0;
}

int sig_set_key(xmlSecTransformPtr t, xmlSecKeyPtr key) {
  SigImpl *impl = sig(t);
  if (impl == nullptr || key == nullptr) return -1;
  xmlSecKeyDataPtr value = xmlSecKeyGetValue(key);
  if (value == nullptr) return -1;
  EVP_PKEY *p = nullptr;
  if (is_rsa(impl->spec)) {
    if (!xmlSecKeyDataCheckId(value, xmlSecOpenSSLKeyDataRsaId)) return -1;
    p = xmlSecOpenSSLKeyDataRsaGetEvp(value);
    if (p == nullptr || EVP_PKEY_is_a(p, "RSA") != 1) return -1;
  } else {
    if (!xmlSecKeyDataCheckId(value, xmlSecOpenSSLKeyDataEcdsaId)) return -1;
    p = xmlSecOpenSSLKeyDataEcdsaGetEvp(value);
    if (p == nullptr || EVP_PKEY_is_a(p, "EC") != 1) return -1;
  }
  impl->key = ossl::up_ref(p);
  return impl->key ? 0 : -1;
}

int sig_execute(xmlSecTransformPtr t, int last, xmlSecTransformCtxPtr /*ctx*/) {
  SigImpl *impl = sig(t);
  if (impl == nullptr || !impl->key) return -1;
  if (t->status == xmlSecTransformStatusNone) t->status = xmlSecTransformStatusWorking;
  if (t->status == xmlSecTransformStatusWorking) {
    xmlSecBufferPtr in = &t->inBuf;
    const xmlSecSize n = xmlSecBufferGetSize(in);
    if (n > 0) {
      if (EVP_DigestUpdate(impl->md.get(), xmlSecBufferGetData(in), n) != 1) return -1;
      if (xmlSecBufferRemoveHead(in, n) < 0) return -1;
    }
    if (last != 0) {
      if (EVP_DigestFinal_ex(impl->md.get(), impl->digest.data(), &impl->digest_len) != 1) return -1;
      if (t->operation == xmlSecTransformOperationSign) {
        ossl::PkeyCtxPtr pctx{EVP_PKEY_CTX_new_from_pkey(nullptr, impl->key.get(), nullptr)};
        if (!pctx || EVP_PKEY_sign_init(pctx.get()) != 1 || !configure(pctx.get(), impl->spec)) return -1;
        std::size_t sig_len = 0;
        if (EVP_PKEY_sign(pctx.get(), nullptr, &sig_len, impl->digest.data(), impl->digest_len) != 1)
          return -1;
        std::string value(sig_len, '\0');
        if (EVP_PKEY_sign(pctx.get(), reinterpret_cast<unsigned char *>(value.data()), &sig_len,
                          impl->digest.data(), impl->digest_len) != 1)
          return -1;
        value.resize(sig_len);
        if (impl->spec->family == Family::ecdsa) {
          auto raw = ecdsa_der_to_raw(impl->key.get(), value);
          if (!raw) return -1;
          value = std::move(*raw);
        }
        if (!set_output(t, reinterpret_cast<const unsigned char *>(value.data()), value.size())) return -1;
      }
      t->status = xmlSecTransformStatusFinished;
    }
    return 0;
  }
  if (t->status == xmlSecTransformStatusFinished) return xmlSecBufferGetSize(&t->inBuf) == 0 ? 0 : -1;
  return -1;
}

int sig_verify(xmlSecTransformPtr t, const xmlSecByte *data, xmlSecSize size, xmlSecTransformCtxPtr /*ctx*/) {
  SigImpl *impl = sig(t);
  if (impl == nullptr || !impl->key || data == nullptr) return -1;
  if (t->operation != xmlSecTransformOperationVerify || t->status != xmlSecTransformStatusFinished) return -1;
  std::string_view value{reinterpret_cast<const char *>(data), size};
  std::string der;
  bool ok = false;
  if (impl->spec->family == Family::ecdsa) {
    // XML-DSig: r||s, each zero-padded to the curve size; DER is not accepted.
    auto d = ecdsa_raw_to_der(impl->key.get(), value);
    if (d) der = std::move(*d);
    value = der;
    ok = d.has_value();
  } else {
    ok = true;
  }
  if (ok) {
    ossl::PkeyCtxPtr pctx{EVP_PKEY_CTX_new_from_pkey(nullptr, impl->key.get(), nullptr)};
    // An explicit PSS salt length makes OpenSSL reject any other salt length.
    ok = pctx && EVP_PKEY_verify_init(pctx.get()) == 1 && configure(pctx.get(), impl->spec) &&
         EVP_PKEY_verify(pctx.get(), reinterpret_cast<const unsigned char *>(value.data()), value.size(),
                         impl->digest.data(), impl->digest_len) == 1;
  }
  ERR_clear_error();
  t->status = ok ? xmlSecTransformStatusOk : xmlSecTransformStatusFail;
  return 0;
}

const SigSpec kSigSpecs[] = {
    {"rsa-sha1", "http://www.w3.org/2000/09/xmldsig#rsa-sha1", EVP_sha1, Family::rsa_pkcs1},
    {"rsa-sha256", "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", EVP_sha256, Family::rsa_pkcs1},
    {"rsa-sha384", "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384", EVP_sha384, Family::rsa_pkcs1},
    {"rsa-sha512", "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512", EVP_sha512, Family::rsa_pkcs1},
    {"rsa-pss-sha256-mgf1", "http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1", EVP_sha256,
     Family::rsa_pss},
    {"ecdsa-sha1", "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1", EVP_sha1, Family::ecdsa},
    {"ecdsa-sha256", "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256", EVP_sha256, Family::ecdsa},
    {"ecdsa-sha384", "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384", EVP_sha384, Family::ecdsa},
};
constexpr std::size_t kSigCount = sizeof(kSigSpecs) / sizeof(kSigSpecs[0]);

SigKlass make_sig_klass(const SigSpec &s) {
  return SigKlass{xmlSecTransformKlass{
                      /* klassSize */ static_cast<xmlSecSize>(sizeof(xmlSecTransformKlass)),
                      /* objSize */ obj_size<SigImpl>(),
                      /* name */ X(s.name),
                      /* href */ X(s.href),
                      /* usage */ xmlSecTransformUsageSignatureMethod,
                      /* initialize */ sig_initialize,
                      /* finalize */ sig_finalize,
                      /* readNode */ nullptr,
                      /* writeNode */ nullptr,
                      /* setKeyReq */ sig_set_key_req,
                      /* setKey */ sig_set_key,
                      /* verify */ sig_verify,
                      /* getDataType */ xmlSecTransformDefaultGetDataType,
                      /* pushBin */ xmlSecTransformDefaultPushBin,
                      /* popBin */ xmlSecTransformDefaultPopBin,
                      /* pushXml */ nullptr,
                      /* popXml */ nullptr,
                      /* execute */ sig_execute,
                      /* reserved0 */ nullptr,
                      /* reserved1 */ nullptr,
                  },
                  &s};
}

template <std::size_t... I> std::array<SigKlass, kSigCount> make_sig_klasses(std::index_sequence<I...>) {
  return {make_sig_klass(kSigSpecs[I])...};
}

std::array<SigKlass, kSigCount> &sig_klasses() {
  static std::array<SigKlass, kSigCount> k = make_sig_klasses(std::make_index_sequence<kSigCount>{});
  return k;
}

// =====================================================================
// xmlenc11 RSA-OAEP key transport
// =====================================================================

struct OaepImpl {
  ossl::PkeyPtr key;
  const EVP_MD *digest = nullptr; // OAEP hash
  const EVP_MD *mgf = nullptr;    // MGF1 hash
  std::string label;              // xenc:OAEPparams (decoded)
  std::string input;
};

OaepImpl *oaep(xmlSecTransformPtr t) {
  return impl_slot<OaepImpl>(t);
}

const EVP_MD *oaep_digest(std::string_view uri) {
  if (uri == alg::sha1) return EVP_sha1();
  if (uri == alg::sha256) return EVP_sha256();
  if (uri == alg::sha384) return EVP_sha384();
  if (uri == alg::sha512) return EVP_sha512();
  return nullptr;
}

const EVP_MD *oaep_mgf(std::string_view uri) {
  if (uri == alg::mgf1_sha1) return EVP_sha1();
  if (uri == "http://www.w3.org/2009/xmlenc11#mgf1sha224") return EVP_sha224();
  if (uri == alg::mgf1_sha256) return EVP_sha256();
  if (uri == "http://www.w3.org/2009/xmlenc11#mgf1sha384") return EVP_sha384();
  if (uri == "http://www.w3.org/2009/xmlenc11#mgf1sha512") return EVP_sha512();
  return nullptr;
}

int oaep_initialize(xmlSecTransformPtr t) {
  try {
    auto *impl = new OaepImpl;
    impl_slot<OaepImpl>(t) = impl;
    impl->digest = EVP_sha1(); // defaults of XML Encryption 1.1
    impl->mgf = EVP_sha1();
    return 0;
  } catch (...) {
    return -1;
  }
}

void oaep_finalize(xmlSecTransformPtr t) {
  OaepImpl *impl = oaep(t);
  if (impl != nullptr) {
    OPENSSL_cleanse(impl->input.data(), impl->input.size());
    delete impl;
  }
  impl_slot<OaepImpl>(t) = nullptr;
}

// <xenc:EncryptionMethod Algorithm="...xmlenc11#rsa-oaep">
//   <ds:DigestMethod Algorithm="..."/>? <xenc11:MGF Algorithm="..."/>? <xenc:OAEPparams>?</>
int oaep_read_node(xmlSecTransformPtr t, xmlNodePtr node, xmlSecTransformCtxPtr /*ctx*/) {
  OaepImpl *impl = oaep(t);
  if (impl == nullptr || node == nullptr) return -1;
  bool seen_digest = false, seen_mgf = false, seen_params = false;
  try {
    for (xmlNode *c = node->children; c != nullptr; c = c->next) {
      if (c->type != XML_ELEMENT_NODE) continue;
      if (is_elem(c, kNsDs, "DigestMethod") && !seen_digest) {
        seen_digest = true;
        impl->digest = oaep_digest(algorithm_of(c));
        if (impl->digest == nullptr) return -1;
      } else if (is_elem(c, kNsXenc11, "MGF") && !seen_mgf) {
        seen_mgf = true;
        impl->mgf = oaep_mgf(algorithm_of(c));
        if (impl->mgf == nullptr) return -1;
      } else if (is_elem(c, kNsXenc, "OAEPparams") && !seen_params) {
        seen_params = true;
        xmlChar *text = xmlNodeGetContent(c);
        if (text == nullptr) return -1;
        auto decoded = ossl::base64_decode(reinterpret_cast<const char *>(text));
        xmlFree(text);
        if (!decoded) return -1;
        impl->label = std::move(*decoded);
      } else {
        return -1; // unknown or repeated child
      }
    }
  } catch (...) {
    return -1;
  }
  return 0;
}

int oaep_set_key_req(xmlSecTransformPtr t, xmlSecKeyReqPtr req) {
  if (req == nullptr) return -1;
  req->keyId = xmlSecOpenSSLKeyDataRsaId;
  if (t->operation == xmlSecTransformOperationEncrypt) {
    req->keyType = xmlSecKeyDataTypePublic;
    req->keyUsage = xmlSecKeyUsageEncrypt;
  } else {
    req->keyType = xmlSecKeyDataTypePrivate;
    req->keyUsage = xmlSecKeyUsageDecrypt;
  }
  return 0;
}

int oaep_set_key(xmlSecTransformPtr t, xmlSecKeyPtr key) {
  OaepImpl *impl = oaep(t);
  if (impl == nullptr) return -1;
  impl->key = rsa_from_key(key);
  return impl->key ? 0 : -1;
}

bool oaep_configure(EVP_PKEY_CTX *pctx, const OaepImpl &impl) {
  if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_OAEP_PADDING) <= 0) return false;
  if (EVP_PKEY_CTX_set_rsa_oaep_md(pctx, impl.digest) <= 0) return false;
  if (EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, impl.mgf) <= 0) return false;
  if (!impl.label.empty()) {
    // set0 takes ownership of an OPENSSL_malloc'd copy.
    auto *copy = static_cast<unsigned char *>(OPENSSL_memdup(impl.label.data(), impl.label.size()));
    if (copy == nullptr) return false;
    if (EVP_PKEY_CTX_set0_rsa_oaep_label(pctx, copy, static_cast<int>(impl.label.size())) <= 0) {
      OPENSSL_free(copy);
      return false;
    }
  }
  return true;
}

int oaep_process(xmlSecTransformPtr t, OaepImpl &impl) {
  const bool encrypt = t->operation == xmlSecTransformOperationEncrypt;
  if (!encrypt && t->operation != xmlSecTransformOperationDecrypt) return -1;
  const int key_size = EVP_PKEY_get_size(impl.key.get());
  if (key_size <= 0) return -1;
  const auto ks = static_cast<std::size_t>(key_size);
  if (encrypt ? impl.input.size() >= ks : impl.input.size() != ks) return -1;

  ossl::PkeyCtxPtr pctx{EVP_PKEY_CTX_new_from_pkey(nullptr, impl.key.get(), nullptr)};
  if (!pctx) return -1;
  if ((encrypt ? EVP_PKEY_encrypt_init(pctx.get()) : EVP_PKEY_decrypt_init(pctx.get())) != 1) return -1;
  if (!oaep_configure(pctx.get(), impl)) return -1;

  std::string out(ks, '\0');
  std::size_t out_len = out.size();
  const auto *in = reinterpret_cast<const unsigned char *>(impl.input.data());
  auto *o = reinterpret_cast<unsigned char *>(out.data());
  const int rc = encrypt ? EVP_PKEY_encrypt(pctx.get(), o, &out_len, in, impl.input.size())
                         : EVP_PKEY_decrypt(pctx.get(), o, &out_len, in, impl.input.size());
  int result = -1;
  if (rc == 1 && set_output(t, o, out_len)) result = 0;
  OPENSSL_cleanse(out.data(), out.size());
  return result;
}

int oaep_execute(xmlSecTransformPtr t, int last, xmlSecTransformCtxPtr /*ctx*/) {
  OaepImpl *impl = oaep(t);
  if (impl == nullptr || !impl->key) return -1;
  if (t->status == xmlSecTransformStatusNone) t->status = xmlSecTransformStatusWorking;
  if (t->status == xmlSecTransformStatusWorking) {
    try {
      if (!drain_input(t, impl->input)) return -1;
    } catch (...) {
      return -1;
    }
    if (last != 0) {
      const int rc = oaep_process(t, *impl);
      ERR_clear_error();
      if (rc != 0) return -1;
      t->status = xmlSecTransformStatusFinished;
    }
    return 0;
  }
  if (t->status == xmlSecTransformStatusFinished) return xmlSecBufferGetSize(&t->inBuf) == 0 ? 0 : -1;
  return -1;
}

} // namespace

xmlSecTransformId signature_transform(std::string_view uri) {
  for (auto &k : sig_klasses())
    if (uri == k.spec->href) return &k.klass;
  return nullptr;
}

bool register_signature_transforms() {
  xmlSecPtrListPtr ids = xmlSecTransformIdsGet();
  if (ids == nullptr) return false;
  // Look-ups by href take the first match: put ours in front of xmlsec's own
  // transforms for the same methods (the list must not hold gaps).
  std::vector<void *> existing;
  for (xmlSecSize i = 0; i < xmlSecPtrListGetSize(ids); ++i) existing.push_back(xmlSecPtrListGetItem(ids, i));
  xmlSecPtrListEmpty(ids);
  for (auto &k : sig_klasses())
    if (xmlSecPtrListAdd(ids, const_cast<void *>(static_cast<const void *>(&k.klass))) < 0) return false;
  for (void *item : existing)
    if (item != nullptr && xmlSecPtrListAdd(ids, item) < 0) return false;
  return true;
}

std::optional<std::string> ecdsa_der_to_raw(EVP_PKEY *p, std::string_view der) {
  const auto *d = reinterpret_cast<const unsigned char *>(der.data());
  ossl::EcdsaSigPtr sig_value{d2i_ECDSA_SIG(nullptr, &d, static_cast<long>(der.size()))};
  const std::size_t half = ec_half_len(p);
  if (!sig_value || half == 0) return std::nullopt;
  const BIGNUM *r = nullptr, *s = nullptr;
  ECDSA_SIG_get0(sig_value.get(), &r, &s);
  std::string out(2 * half, '\0');
  auto *o = reinterpret_cast<unsigned char *>(out.data());
  if (BN_bn2binpad(r, o, static_cast<int>(half)) < 0 || BN_bn2binpad(s, o + half, static_cast<int>(half)) < 0)
    return std::nullopt;
  return out;
}

std::optional<std::string> ecdsa_raw_to_der(EVP_PKEY *p, std::string_view raw) {
  const std::size_t half = ec_half_len(p);
  if (half == 0 || raw.size() != 2 * half) return std::nullopt;
  const auto *in = reinterpret_cast<const unsigned char *>(raw.data());
  ossl::BnPtr r{BN_bin2bn(in, static_cast<int>(half), nullptr)};
  ossl::BnPtr s{BN_bin2bn(in + half, static_cast<int>(half), nullptr)};
  ossl::EcdsaSigPtr sig_value{ECDSA_SIG_new()};
  if (!r || !s || !sig_value || ECDSA_SIG_set0(sig_value.get(), r.get(), s.get()) != 1) return std::nullopt;
  (void)r.release();
  (void)s.release();
  unsigned char *der = nullptr;
  const int len = i2d_ECDSA_SIG(sig_value.get(), &der);
  ossl::OpensslBytes owner{der};
  if (len <= 0) return std::nullopt;
  return std::string(reinterpret_cast<const char *>(der), static_cast<std::size_t>(len));
}

std::size_t ec_half_len(EVP_PKEY *p) {
  // The byte length of the group order; for the curves we accept (NIST P and
  // brainpool) it equals the field size, which OpenSSL caches.
  const int bits = EVP_PKEY_get_bits(p);
  return bits > 0 ? (static_cast<std::size_t>(bits) + 7) / 8 : 0;
}

xmlSecTransformId rsa_oaep11_transform() {
  static xmlSecTransformKlass klass = {
      /* klassSize */ static_cast<xmlSecSize>(sizeof(xmlSecTransformKlass)),
      /* objSize */ obj_size<OaepImpl>(),
      /* name */ X("rsa-oaep-enc11"),
      /* href */ X("http://www.w3.org/2009/xmlenc11#rsa-oaep"),
      /* usage */ xmlSecTransformUsageEncryptionMethod,
      /* initialize */ oaep_initialize,
      /* finalize */ oaep_finalize,
      /* readNode */ oaep_read_node,
      /* writeNode */ nullptr,
      /* setKeyReq */ oaep_set_key_req,
      /* setKey */ oaep_set_key,
      /* verify */ nullptr,
      /* getDataType */ xmlSecTransformDefaultGetDataType,
      /* pushBin */ xmlSecTransformDefaultPushBin,
      /* popBin */ xmlSecTransformDefaultPopBin,
      /* pushXml */ nullptr,
      /* popXml */ nullptr,
      /* execute */ oaep_execute,
      /* reserved0 */ nullptr,
      /* reserved1 */ nullptr,
  };
  return &klass;
}

} // namespace interkonto::xmlsec
