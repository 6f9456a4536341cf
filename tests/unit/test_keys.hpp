// SPDX-License-Identifier: EUPL-1.2
#pragma once
// Test helpers: keys and self-signed certificates generated in-process with
// OpenSSL and cached for the whole test run (key generation is slow).
//
//   interkonto::test::rsa_key(2048)              RSA key (index picks another key of that size)
//   interkonto::test::ec_key("prime256v1")       EC key on a named curve
//   interkonto::test::self_signed_cert(key, cn)  Credential{key, certificate}
//   interkonto::test::pem(key) / public_pem(key) PEM text of a key

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>

#include "interkonto/crypto.hpp"

namespace interkonto::test {

namespace detail {

struct PkeyFree {
  void operator()(EVP_PKEY *p) const noexcept { EVP_PKEY_free(p); }
  void operator()(EVP_PKEY_CTX *p) const noexcept { EVP_PKEY_CTX_free(p); }
  void operator()(X509 *p) const noexcept { X509_free(p); }
  void operator()(BIO *p) const noexcept { BIO_free_all(p); }
};

inline std::mutex &cache_mutex() {
  static std::mutex m;
  return m;
}

inline PrivateKey generate(const char *type, unsigned rsa_bits, const std::string &curve) {
  std::unique_ptr<EVP_PKEY_CTX, PkeyFree> ctx{EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr)};
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1) throw std::runtime_error("keygen init failed");
  if (rsa_bits != 0 && EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), static_cast<int>(rsa_bits)) != 1)
    throw std::runtime_error("cannot set RSA size");
  if (!curve.empty() && EVP_PKEY_CTX_set_group_name(ctx.get(), curve.c_str()) != 1)
    throw std::runtime_error("unknown curve " + curve);
  EVP_PKEY *raw = nullptr;
  if (EVP_PKEY_keygen(ctx.get(), &raw) != 1) throw std::runtime_error("keygen failed");
  return PrivateKey(std::shared_ptr<EVP_PKEY>(raw, PkeyFree{}));
}

} // namespace detail

// An RSA key of `bits`; the same (bits, index) always returns the same key.
inline PrivateKey rsa_key(unsigned bits, int index = 0) {
  static std::map<std::pair<unsigned, int>, PrivateKey> cache;
  std::lock_guard<std::mutex> lock(detail::cache_mutex());
  auto it = cache.find({bits, index});
  if (it == cache.end())
    it = cache.emplace(std::make_pair(bits, index), detail::generate("RSA", bits, {})).first;
  return it->second;
}

// An EC key on `curve` ("prime256v1", "secp384r1", "brainpoolP256r1", ...).
inline PrivateKey ec_key(const std::string &curve, int index = 0) {
  static std::map<std::pair<std::string, int>, PrivateKey> cache;
  std::lock_guard<std::mutex> lock(detail::cache_mutex());
  auto it = cache.find({curve, index});
  if (it == cache.end())
    it = cache.emplace(std::make_pair(curve, index), detail::generate("EC", 0, curve)).first;
  return it->second;
}

// A self-signed certificate (SHA-256, valid for ten years) for `key`.
inline Credential self_signed_cert(const PrivateKey &key, const std::string &cn = "interkonto test") {
  static std::map<std::pair<EVP_PKEY *, std::string>, Credential> cache;
  std::lock_guard<std::mutex> lock(detail::cache_mutex());
  auto it = cache.find({key.native(), cn});
  if (it != cache.end()) return it->second;

  std::unique_ptr<X509, detail::PkeyFree> x509{X509_new()};
  if (!x509) throw std::runtime_error("X509_new failed");
  X509_set_version(x509.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x509.get()), static_cast<long>(cache.size() + 1));
  X509_gmtime_adj(X509_getm_notBefore(x509.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x509.get()), 10L * 365 * 24 * 3600);
  X509_set_pubkey(x509.get(), key.native());
  X509_NAME *name = X509_get_subject_name(x509.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char *>(cn.c_str()),
                             -1, -1, 0);
  X509_set_issuer_name(x509.get(), name);
  if (X509_sign(x509.get(), key.native(), EVP_sha256()) <= 0) throw std::runtime_error("X509_sign failed");
  Credential cred{key, Certificate(std::shared_ptr<X509>(x509.release(), detail::PkeyFree{}))};
  cache.emplace(std::make_pair(key.native(), cn), cred);
  return cred;
}

// PEM of the private key (PKCS#8, unencrypted).
inline std::string pem(const PrivateKey &key) {
  std::unique_ptr<BIO, detail::PkeyFree> bio{BIO_new(BIO_s_mem())};
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key.native(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
    throw std::runtime_error("PEM_write_bio_PrivateKey failed");
  char *data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

// PEM of the public key (SubjectPublicKeyInfo).
inline std::string public_pem(const PrivateKey &key) {
  std::unique_ptr<BIO, detail::PkeyFree> bio{BIO_new(BIO_s_mem())};
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key.native()) != 1)
    throw std::runtime_error("PEM_write_bio_PUBKEY failed");
  char *data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

} // namespace interkonto::test
