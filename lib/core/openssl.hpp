// SPDX-License-Identifier: EUPL-1.2
#pragma once
// Internal: RAII owners for OpenSSL objects, error-queue helpers and a strict
// base64 codec used by the crypto and xmlsec code.

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace interkonto::ossl {

struct Free {
  void operator()(EVP_PKEY *p) const noexcept { EVP_PKEY_free(p); }
  void operator()(EVP_PKEY_CTX *p) const noexcept { EVP_PKEY_CTX_free(p); }
  void operator()(EVP_MD_CTX *p) const noexcept { EVP_MD_CTX_free(p); }
  void operator()(EVP_CIPHER_CTX *p) const noexcept { EVP_CIPHER_CTX_free(p); }
  void operator()(BIO *p) const noexcept { BIO_free_all(p); }
  void operator()(X509 *p) const noexcept { X509_free(p); }
  void operator()(ECDSA_SIG *p) const noexcept { ECDSA_SIG_free(p); }
  void operator()(BIGNUM *p) const noexcept { BN_free(p); }
  void operator()(OSSL_PARAM_BLD *p) const noexcept { OSSL_PARAM_BLD_free(p); }
  void operator()(OSSL_PARAM *p) const noexcept { OSSL_PARAM_free(p); }
  void operator()(X509_NAME *p) const noexcept { X509_NAME_free(p); }
  void operator()(ASN1_INTEGER *p) const noexcept { ASN1_INTEGER_free(p); }
};

template <class T> using Ptr = std::unique_ptr<T, Free>;
using PkeyPtr = Ptr<EVP_PKEY>;
using PkeyCtxPtr = Ptr<EVP_PKEY_CTX>;
using MdCtxPtr = Ptr<EVP_MD_CTX>;
using CipherCtxPtr = Ptr<EVP_CIPHER_CTX>;
using BioPtr = Ptr<BIO>;
using X509Ptr = Ptr<X509>;
using EcdsaSigPtr = Ptr<ECDSA_SIG>;
using BnPtr = Ptr<BIGNUM>;

// Memory returned by OpenSSL that must go back through OPENSSL_free.
struct OpensslFree {
  void operator()(void *p) const noexcept { OPENSSL_free(p); }
};
using OpensslBytes = std::unique_ptr<unsigned char, OpensslFree>;

// Shared owners (PublicKey, PrivateKey, Certificate hold these).
inline std::shared_ptr<EVP_PKEY> share(PkeyPtr p) {
  return std::shared_ptr<EVP_PKEY>(p.release(), Free{});
}
inline std::shared_ptr<X509> share(X509Ptr p) {
  return std::shared_ptr<X509>(p.release(), Free{});
}

// A new reference to an existing key (EVP_PKEY_up_ref), owned by the result.
inline PkeyPtr up_ref(EVP_PKEY *p) {
  if (p == nullptr || EVP_PKEY_up_ref(p) != 1) return PkeyPtr{};
  return PkeyPtr{p};
}

// Drains the thread's OpenSSL error queue and returns the first reason.
inline std::string take_errors() {
  std::string out;
  unsigned long e = ERR_get_error();
  if (e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    out = buf;
  }
  ERR_clear_error();
  return out.empty() ? std::string("unknown OpenSSL error") : out;
}

inline BioPtr mem_bio(std::string_view data) {
  if (data.size() > static_cast<std::size_t>(INT32_MAX)) return BioPtr{};
  return BioPtr{BIO_new_mem_buf(data.data(), static_cast<int>(data.size()))};
}

inline std::string bio_string(BIO *bio) {
  char *data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  if (len <= 0 || data == nullptr) return {};
  return std::string(data, static_cast<std::size_t>(len));
}

// ---- base64 (RFC 4648, standard alphabet) ----

inline std::string base64_encode(std::string_view in) {
  if (in.empty()) return {};
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  const int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char *>(out.data()),
                      reinterpret_cast<const unsigned char *>(in.data()), static_cast<int>(in.size()));
  out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return out;
}

// Strict decoder: whitespace is skipped, anything else outside the alphabet,
// misplaced padding or a dangling partial group yields nullopt.
inline std::optional<std::string> base64_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size() / 4 * 3 + 3);
  unsigned int acc = 0;
  int bits = 0;
  int group = 0; // symbols in the current 4-symbol group
  int pad = 0;
  for (const char ch : in) {
    if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') continue;
    int v;
    if (ch >= 'A' && ch <= 'Z')
      v = ch - 'A';
    else if (ch >= 'a' && ch <= 'z')
      v = ch - 'a' + 26;
    else if (ch >= '0' && ch <= '9')
      v = ch - '0' + 52;
    else if (ch == '+')
      v = 62;
    else if (ch == '/')
      v = 63;
    else if (ch == '=') {
      if (group < 2) return std::nullopt;
      ++pad;
      ++group;
      if (group == 4) group = 0;
      continue;
    } else
      return std::nullopt;
    if (pad != 0) return std::nullopt; // data after padding
    acc = (acc << 6) | static_cast<unsigned int>(v);
    bits += 6;
    ++group;
    if (group == 4) group = 0;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFFu));
    }
  }
  if (group != 0) return std::nullopt;
  if (pad > 2) return std::nullopt;
  return out;
}

} // namespace interkonto::ossl
