// SPDX-License-Identifier: EUPL-1.2
#pragma once
// Keys, certificates, algorithm URIs and the algorithm policy.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct evp_pkey_st; // OpenSSL EVP_PKEY
struct x509_st;     // OpenSSL X509

namespace interkonto {

enum class KeyType { rsa, ec };

// An immutable, shareable public key (RSA or EC). Parsed once; copies share it.
class PublicKey {
public:
  static PublicKey from_pem(std::string_view pem); // SubjectPublicKeyInfo or certificate
  static PublicKey from_der(std::string_view der); // SubjectPublicKeyInfo
  explicit PublicKey(std::shared_ptr<evp_pkey_st> pkey);

  KeyType type() const;
  unsigned bits() const;     // RSA modulus / EC field size
  std::string curve() const; // EC: OpenSSL group name ("prime256v1", "brainpoolP256r1"); RSA: ""
  evp_pkey_st *native() const noexcept { return pkey_.get(); }
  // SHA-256 over the DER SubjectPublicKeyInfo: a stable identity for logs.
  std::string fingerprint() const;
  bool operator==(const PublicKey &other) const;

private:
  std::shared_ptr<evp_pkey_st> pkey_;
};

class PrivateKey {
public:
  static PrivateKey from_pem(std::string_view pem, std::string_view passphrase = {});
  static PrivateKey from_pem_file(const std::string &path, std::string_view passphrase = {});
  explicit PrivateKey(std::shared_ptr<evp_pkey_st> pkey);

  KeyType type() const;
  unsigned bits() const;
  PublicKey public_key() const;
  evp_pkey_st *native() const noexcept { return pkey_.get(); }

private:
  std::shared_ptr<evp_pkey_st> pkey_;
};

class Certificate {
public:
  static Certificate from_pem(std::string_view pem);
  static Certificate from_pem_file(const std::string &path);
  static Certificate from_der(std::string_view der);
  // The text of a ds:X509Certificate element (base64, whitespace ignored).
  static Certificate from_base64(std::string_view b64);
  explicit Certificate(std::shared_ptr<x509_st> cert);

  PublicKey public_key() const;
  std::string der() const;
  std::string base64() const; // one line, for ds:X509Certificate
  std::string pem() const;
  std::string subject() const;
  x509_st *native() const noexcept { return cert_.get(); }

private:
  std::shared_ptr<x509_st> cert_;
};

// A private key with the certificate published for it (optional).
struct Credential {
  PrivateKey key;
  std::optional<Certificate> certificate;
};

// Load a PEM file holding a private key and, optionally, its certificate(s).
Credential load_credential(const std::string &key_path, const std::string &cert_path = {});

namespace alg {
// Signature methods
inline constexpr std::string_view rsa_sha1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1";
inline constexpr std::string_view rsa_sha256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
inline constexpr std::string_view rsa_sha384 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384";
inline constexpr std::string_view rsa_sha512 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512";
inline constexpr std::string_view rsa_pss_sha256 = "http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1";
inline constexpr std::string_view ecdsa_sha256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";
inline constexpr std::string_view ecdsa_sha384 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384";
inline constexpr std::string_view ecdsa_sha1 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1";
// Digest methods
inline constexpr std::string_view sha1 = "http://www.w3.org/2000/09/xmldsig#sha1";
inline constexpr std::string_view sha256 = "http://www.w3.org/2001/04/xmlenc#sha256";
inline constexpr std::string_view sha384 = "http://www.w3.org/2001/04/xmldsig-more#sha384";
inline constexpr std::string_view sha512 = "http://www.w3.org/2001/04/xmlenc#sha512";
// Transforms
inline constexpr std::string_view enveloped = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
inline constexpr std::string_view exc_c14n = "http://www.w3.org/2001/10/xml-exc-c14n#";
// Content encryption
inline constexpr std::string_view aes128_gcm = "http://www.w3.org/2009/xmlenc11#aes128-gcm";
inline constexpr std::string_view aes256_gcm = "http://www.w3.org/2009/xmlenc11#aes256-gcm";
inline constexpr std::string_view aes128_cbc = "http://www.w3.org/2001/04/xmlenc#aes128-cbc";
inline constexpr std::string_view aes256_cbc = "http://www.w3.org/2001/04/xmlenc#aes256-cbc";
inline constexpr std::string_view tripledes_cbc = "http://www.w3.org/2001/04/xmlenc#tripledes-cbc";
// Key transport
inline constexpr std::string_view rsa_oaep_mgf1p = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p";
inline constexpr std::string_view rsa_oaep = "http://www.w3.org/2009/xmlenc11#rsa-oaep";
inline constexpr std::string_view rsa_1_5 = "http://www.w3.org/2001/04/xmlenc#rsa-1_5";
inline constexpr std::string_view mgf1_sha1 = "http://www.w3.org/2009/xmlenc11#mgf1sha1";
inline constexpr std::string_view mgf1_sha256 = "http://www.w3.org/2009/xmlenc11#mgf1sha256";
} // namespace alg

// What the library accepts. Defaults follow DESIGN.md "Algorithms": SHA-1,
// RSA-1_5 and 3DES are refused; RSA keys below 2048 bit and EC keys below
// 256 bit are refused. (OAEP's internal SHA-1 digest/MGF is not affected.)
struct AlgorithmPolicy {
  bool allow_sha1 = false; // rsa-sha1 / ecdsa-sha1 signatures and sha1 digests
  unsigned min_rsa_bits = 2048;
  unsigned min_ec_bits = 256;
  bool allow_cbc = true; // AES-CBC content encryption (GCM is always allowed)
  bool allow_rsa_oaep_mgf1p = true;

  bool signature_method_allowed(std::string_view uri) const;
  bool digest_method_allowed(std::string_view uri) const;
  bool key_allowed(const PublicKey &key) const;
};

} // namespace interkonto
