// SPDX-License-Identifier: EUPL-1.2
// Keys, certificates and the algorithm policy (OpenSSL 3).

#include "interkonto/crypto.hpp"

#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include <array>
#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <sstream>

#include "core/openssl.hpp"
#include "interkonto/error.hpp"

namespace interkonto {

namespace {

constexpr std::size_t kMaxPemSize = 1u << 20; // a key or certificate file is never this large

[[noreturn]] void fail(std::string detail) {
  throw Error(ErrorCode::config_invalid, std::move(detail));
}

// Only RSA and EC keys are used anywhere in the library.
void check_key_type(EVP_PKEY *p, std::string_view what) {
  if (EVP_PKEY_is_a(p, "RSA") == 1 || EVP_PKEY_is_a(p, "EC") == 1) return;
  const char *name = EVP_PKEY_get0_type_name(p);
  fail(fmt::format("{}: unsupported key type {} (RSA or EC expected)", what, name != nullptr ? name : "?"));
}

KeyType key_type(const EVP_PKEY *p) {
  return EVP_PKEY_is_a(p, "EC") == 1 ? KeyType::ec : KeyType::rsa;
}

unsigned key_bits(const EVP_PKEY *p) {
  const int b = EVP_PKEY_get_bits(p);
  return b > 0 ? static_cast<unsigned>(b) : 0u;
}

std::string read_file(const std::string &path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(fmt::format("cannot open {} file {}", what, path));
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  if (s.size() > kMaxPemSize) fail(fmt::format("{} file {} is too large", what, path));
  return s;
}

// Never prompt on a terminal: the passphrase comes from the caller or not at all.
int passphrase_cb(char *buf, int size, int /*rwflag*/, void *u) {
  const auto *pass = static_cast<const std::string_view *>(u);
  if (pass == nullptr || pass->empty() || size <= 0) return -1;
  const std::size_t n = std::min(pass->size(), static_cast<std::size_t>(size));
  std::memcpy(buf, pass->data(), n);
  return static_cast<int>(n);
}

ossl::X509Ptr parse_pem_cert(std::string_view pem) {
  auto bio = ossl::mem_bio(pem);
  if (!bio) fail("certificate PEM too large");
  ossl::X509Ptr cert{PEM_read_bio_X509(bio.get(), nullptr, passphrase_cb, nullptr)};
  return cert;
}

std::string hex(const unsigned char *data, std::size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(digits[data[i] >> 4]);
    out.push_back(digits[data[i] & 0x0F]);
  }
  return out;
}

} // namespace

// ---------------------------------------------------------------- PublicKey

PublicKey::PublicKey(std::shared_ptr<evp_pkey_st> pkey) : pkey_(std::move(pkey)) {
  if (!pkey_) fail("empty public key");
  check_key_type(pkey_.get(), "public key");
}

PublicKey PublicKey::from_pem(std::string_view pem) {
  if (pem.size() > kMaxPemSize) fail("public key PEM too large");
  // SubjectPublicKeyInfo ("PUBLIC KEY") or PKCS#1 ("RSA PUBLIC KEY").
  {
    EVP_PKEY *raw = nullptr;
    OSSL_DECODER_CTX *dctx = OSSL_DECODER_CTX_new_for_pkey(&raw, "PEM", nullptr, nullptr,
                                                           OSSL_KEYMGMT_SELECT_PUBLIC_KEY, nullptr, nullptr);
    if (dctx != nullptr) {
      const auto *data = reinterpret_cast<const unsigned char *>(pem.data());
      std::size_t len = pem.size();
      const int ok = OSSL_DECODER_from_data(dctx, &data, &len);
      OSSL_DECODER_CTX_free(dctx);
      ossl::PkeyPtr key{raw};
      if (ok == 1 && key) {
        ERR_clear_error();
        return PublicKey(ossl::share(std::move(key)));
      }
    }
    ERR_clear_error();
  }
  // A certificate: take its key.
  if (auto cert = parse_pem_cert(pem)) {
    ERR_clear_error();
    return Certificate(ossl::share(std::move(cert))).public_key();
  }
  fail(fmt::format("not a PEM public key or certificate ({})", ossl::take_errors()));
}

PublicKey PublicKey::from_der(std::string_view der) {
  if (der.size() > kMaxPemSize || der.empty()) fail("public key DER has an invalid size");
  const auto *p = reinterpret_cast<const unsigned char *>(der.data());
  ossl::PkeyPtr key{d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size()))};
  if (!key) fail(fmt::format("not a DER SubjectPublicKeyInfo ({})", ossl::take_errors()));
  if (p != reinterpret_cast<const unsigned char *>(der.data()) + der.size())
    fail("trailing data after the DER SubjectPublicKeyInfo");
  return PublicKey(ossl::share(std::move(key)));
}

KeyType PublicKey::type() const {
  return key_type(pkey_.get());
}
unsigned PublicKey::bits() const {
  return key_bits(pkey_.get());
}

std::string PublicKey::curve() const {
  if (type() != KeyType::ec) return {};
  char name[80] = {};
  std::size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(pkey_.get(), OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name), &len) !=
      1) {
    ERR_clear_error();
    return {};
  }
  return std::string(name, std::min(len, sizeof(name) - 1));
}

std::string PublicKey::fingerprint() const {
  unsigned char *der = nullptr;
  const int len = i2d_PUBKEY(pkey_.get(), &der);
  ossl::OpensslBytes owner{der};
  if (len <= 0) throw Error(ErrorCode::internal, "cannot encode public key");
  std::array<unsigned char, SHA256_DIGEST_LENGTH> md{};
  SHA256(der, static_cast<std::size_t>(len), md.data());
  return hex(md.data(), md.size());
}

bool PublicKey::operator==(const PublicKey &other) const {
  if (pkey_ == other.pkey_) return true;
  const int r = EVP_PKEY_eq(pkey_.get(), other.pkey_.get());
  if (r < 0) ERR_clear_error();
  return r == 1;
}

// ---------------------------------------------------------------- PrivateKey

PrivateKey::PrivateKey(std::shared_ptr<evp_pkey_st> pkey) : pkey_(std::move(pkey)) {
  if (!pkey_) fail("empty private key");
  check_key_type(pkey_.get(), "private key");
}

PrivateKey PrivateKey::from_pem(std::string_view pem, std::string_view passphrase) {
  if (pem.size() > kMaxPemSize) fail("private key PEM too large");
  auto bio = ossl::mem_bio(pem);
  if (!bio) fail("private key PEM too large");
  // PKCS#8 (plain or encrypted) and the traditional RSA / EC formats.
  ossl::PkeyPtr key{PEM_read_bio_PrivateKey(bio.get(), nullptr, passphrase_cb, &passphrase)};
  if (!key) fail(fmt::format("not a PEM private key or wrong passphrase ({})", ossl::take_errors()));
  ERR_clear_error();
  return PrivateKey(ossl::share(std::move(key)));
}

PrivateKey PrivateKey::from_pem_file(const std::string &path, std::string_view passphrase) {
  const std::string pem = read_file(path, "private key");
  try {
    return from_pem(pem, passphrase);
  } catch (const Error &e) {
    fail(fmt::format("{}: {}", path, e.detail()));
  }
}

KeyType PrivateKey::type() const {
  return key_type(pkey_.get());
}
unsigned PrivateKey::bits() const {
  return key_bits(pkey_.get());
}

PublicKey PrivateKey::public_key() const {
  // Export only the public half so that a PublicKey never carries secrets.
  unsigned char *der = nullptr;
  const int len = i2d_PUBKEY(pkey_.get(), &der);
  ossl::OpensslBytes owner{der};
  if (len <= 0)
    throw Error(ErrorCode::internal, fmt::format("cannot export public key ({})", ossl::take_errors()));
  return PublicKey::from_der(
      std::string_view(reinterpret_cast<const char *>(der), static_cast<std::size_t>(len)));
}

// ---------------------------------------------------------------- Certificate

Certificate::Certificate(std::shared_ptr<x509_st> cert) : cert_(std::move(cert)) {
  if (!cert_) fail("empty certificate");
}

Certificate Certificate::from_pem(std::string_view pem) {
  if (pem.size() > kMaxPemSize) fail("certificate PEM too large");
  auto cert = parse_pem_cert(pem);
  if (!cert) fail(fmt::format("not a PEM certificate ({})", ossl::take_errors()));
  ERR_clear_error();
  return Certificate(ossl::share(std::move(cert)));
}

Certificate Certificate::from_pem_file(const std::string &path) {
  const std::string pem = read_file(path, "certificate");
  try {
    return from_pem(pem);
  } catch (const Error &e) {
    fail(fmt::format("{}: {}", path, e.detail()));
  }
}

Certificate Certificate::from_der(std::string_view der) {
  if (der.empty() || der.size() > kMaxPemSize) fail("certificate DER has an invalid size");
  const auto *p = reinterpret_cast<const unsigned char *>(der.data());
  ossl::X509Ptr cert{d2i_X509(nullptr, &p, static_cast<long>(der.size()))};
  if (!cert) fail(fmt::format("not a DER certificate ({})", ossl::take_errors()));
  if (p != reinterpret_cast<const unsigned char *>(der.data()) + der.size())
    fail("trailing data after the DER certificate");
  return Certificate(ossl::share(std::move(cert)));
}

Certificate Certificate::from_base64(std::string_view b64) {
  auto der = ossl::base64_decode(b64);
  if (!der) fail("ds:X509Certificate is not valid base64");
  return from_der(*der);
}

PublicKey Certificate::public_key() const {
  // X509_get0_pubkey returns the key parsed with the certificate: no re-parsing.
  auto key = ossl::up_ref(X509_get0_pubkey(cert_.get()));
  if (!key) fail(fmt::format("certificate has an unreadable public key ({})", ossl::take_errors()));
  return PublicKey(ossl::share(std::move(key)));
}

std::string Certificate::der() const {
  unsigned char *der = nullptr;
  const int len = i2d_X509(cert_.get(), &der);
  ossl::OpensslBytes owner{der};
  if (len <= 0) throw Error(ErrorCode::internal, "cannot encode certificate");
  return std::string(reinterpret_cast<const char *>(der), static_cast<std::size_t>(len));
}

std::string Certificate::base64() const {
  return ossl::base64_encode(der());
}

std::string Certificate::pem() const {
  ossl::BioPtr bio{BIO_new(BIO_s_mem())};
  if (!bio || PEM_write_bio_X509(bio.get(), cert_.get()) != 1)
    throw Error(ErrorCode::internal, "cannot encode certificate as PEM");
  return ossl::bio_string(bio.get());
}

std::string Certificate::subject() const {
  ossl::BioPtr bio{BIO_new(BIO_s_mem())};
  if (!bio) throw Error(ErrorCode::internal, "out of memory");
  if (X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert_.get()), 0, XN_FLAG_RFC2253) < 0) {
    ERR_clear_error();
    return {};
  }
  return ossl::bio_string(bio.get());
}

// ---------------------------------------------------------------- Credential

Credential load_credential(const std::string &key_path, const std::string &cert_path) {
  const std::string key_pem = read_file(key_path, "private key");
  PrivateKey key = [&] {
    try {
      return PrivateKey::from_pem(key_pem);
    } catch (const Error &e) {
      fail(fmt::format("{}: {}", key_path, e.detail()));
    }
  }();
  std::optional<Certificate> cert;
  if (!cert_path.empty()) {
    cert = Certificate::from_pem_file(cert_path);
  } else if (key_pem.find("-----BEGIN CERTIFICATE-----") != std::string::npos) {
    try {
      cert = Certificate::from_pem(key_pem);
    } catch (const Error &e) {
      fail(fmt::format("{}: {}", key_path, e.detail()));
    }
  }
  if (cert && !(cert->public_key() == key.public_key()))
    fail(fmt::format("the certificate {} does not belong to the private key {}",
                     cert_path.empty() ? key_path : cert_path, key_path));
  return Credential{std::move(key), std::move(cert)};
}

// ---------------------------------------------------------------- policy

bool AlgorithmPolicy::signature_method_allowed(std::string_view uri) const {
  if (uri == alg::rsa_sha256 || uri == alg::rsa_sha384 || uri == alg::rsa_sha512 ||
      uri == alg::rsa_pss_sha256 || uri == alg::ecdsa_sha256 || uri == alg::ecdsa_sha384)
    return true;
  if (uri == alg::rsa_sha1 || uri == alg::ecdsa_sha1) return allow_sha1;
  return false;
}

bool AlgorithmPolicy::digest_method_allowed(std::string_view uri) const {
  if (uri == alg::sha256 || uri == alg::sha384 || uri == alg::sha512) return true;
  if (uri == alg::sha1) return allow_sha1;
  return false;
}

bool AlgorithmPolicy::key_allowed(const PublicKey &key) const {
  if (key.type() == KeyType::rsa) return key.bits() >= min_rsa_bits;
  // EC: NIST and Brainpool curves only (BSI TR-03116-4), of at least min_ec_bits.
  static constexpr std::string_view curves[] = {"prime256v1",      "secp384r1",       "secp521r1",
                                                "brainpoolP256r1", "brainpoolP384r1", "brainpoolP512r1"};
  const std::string c = key.curve();
  bool known = false;
  for (const auto &k : curves) known = known || c == k;
  return known && key.bits() >= min_ec_bits;
}

} // namespace interkonto
