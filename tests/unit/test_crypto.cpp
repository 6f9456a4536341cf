// SPDX-License-Identifier: EUPL-1.2
#include <catch2/catch.hpp>

#include <cstdio>
#include <functional>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "interkonto/crypto.hpp"
#include "interkonto/error.hpp"
#include "unit/test_keys.hpp"
#include "unit/test_util.hpp"

using namespace interkonto;
using interkonto::test::code_of;

namespace {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "interkonto-crypto-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string write(const std::string &name, const std::string &content) const {
    const auto p = path / name;
    std::ofstream(p, std::ios::binary) << content;
    return p.string();
  }
};

} // namespace

TEST_CASE("RSA and EC private keys parse from PEM", "[crypto]") {
  const PrivateKey rsa = test::rsa_key(2048);
  const PrivateKey parsed = PrivateKey::from_pem(test::pem(rsa));
  CHECK(parsed.type() == KeyType::rsa);
  CHECK(parsed.bits() == 2048);
  CHECK(parsed.public_key() == rsa.public_key());

  for (const char *curve : {"prime256v1", "secp384r1", "brainpoolP256r1"}) {
    const PrivateKey ec = test::ec_key(curve);
    const PrivateKey p = PrivateKey::from_pem(test::pem(ec));
    CHECK(p.type() == KeyType::ec);
    CHECK(p.public_key().curve() == curve);
    CHECK(p.public_key() == ec.public_key());
  }
  CHECK(test::ec_key("secp384r1").bits() == 384);
  CHECK(test::ec_key("brainpoolP256r1").public_key().bits() == 256);
}

TEST_CASE("encrypted private key PEM needs the passphrase and never prompts", "[crypto]") {
  const PrivateKey rsa = test::rsa_key(2048);
  std::unique_ptr<BIO, test::detail::PkeyFree> bio{BIO_new(BIO_s_mem())};
  const std::string pass = "geheim";
  REQUIRE(PEM_write_bio_PKCS8PrivateKey(bio.get(), rsa.native(), EVP_aes_256_cbc(), pass.data(),
                                        static_cast<int>(pass.size()), nullptr, nullptr) == 1);
  char *data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  const std::string enc_pem(data, static_cast<std::size_t>(n));
  CHECK(PrivateKey::from_pem(enc_pem, pass).public_key() == rsa.public_key());
  CHECK(code_of([&] { PrivateKey::from_pem(enc_pem); }) == ErrorCode::config_invalid);
  CHECK(code_of([&] { PrivateKey::from_pem(enc_pem, "falsch"); }) == ErrorCode::config_invalid);
}

TEST_CASE("public keys parse from SPKI PEM, certificate PEM and DER", "[crypto]") {
  const PrivateKey ec = test::ec_key("prime256v1");
  const PublicKey from_spki = PublicKey::from_pem(test::public_pem(ec));
  CHECK(from_spki == ec.public_key());
  CHECK(from_spki.type() == KeyType::ec);

  const Credential cred = test::self_signed_cert(test::rsa_key(3072), "idp.example");
  REQUIRE(cred.certificate);
  const PublicKey from_cert = PublicKey::from_pem(cred.certificate->pem());
  CHECK(from_cert == cred.key.public_key());
  CHECK(from_cert.bits() == 3072);
  CHECK(from_cert.curve().empty());

  const std::string fp = from_cert.fingerprint();
  CHECK(fp.size() == 64);
  CHECK(fp == cred.key.public_key().fingerprint());
  CHECK(fp != from_spki.fingerprint());
  CHECK_FALSE(from_cert == from_spki);
}

TEST_CASE("certificates: PEM, DER and ds:X509Certificate base64", "[crypto]") {
  const Credential cred = test::self_signed_cert(test::ec_key("brainpoolP256r1"), "Servicekonto Test");
  const Certificate &cert = *cred.certificate;
  CHECK(cert.subject() == "CN=Servicekonto Test");

  const Certificate from_pem = Certificate::from_pem(cert.pem());
  CHECK(from_pem.der() == cert.der());
  const Certificate from_der = Certificate::from_der(cert.der());
  CHECK(from_der.public_key() == cred.key.public_key());

  // base64 as it appears in metadata: wrapped lines and indentation
  std::string b64 = cert.base64();
  CHECK(b64.find('\n') == std::string::npos);
  std::string wrapped = "\n        ";
  for (std::size_t i = 0; i < b64.size(); i += 64) wrapped += b64.substr(i, 64) + "\n        ";
  CHECK(Certificate::from_base64(wrapped).der() == cert.der());

  CHECK(code_of([&] { Certificate::from_base64("not*base64"); }) == ErrorCode::config_invalid);
  CHECK(code_of([&] { Certificate::from_base64(b64.substr(0, b64.size() / 2) + "AA=="); }) ==
        ErrorCode::config_invalid);
  CHECK(code_of([&] { Certificate::from_der(cert.der() + "x"); }) == ErrorCode::config_invalid);
  CHECK(code_of([] {
          Certificate::from_pem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
        }) == ErrorCode::config_invalid);
  CHECK(code_of([] { PublicKey::from_pem("garbage"); }) == ErrorCode::config_invalid);
  CHECK(code_of([] { PrivateKey::from_pem("garbage"); }) == ErrorCode::config_invalid);
}

TEST_CASE("copies of keys share one parsed object", "[crypto]") {
  const Credential cred = test::self_signed_cert(test::rsa_key(2048));
  const PublicKey a = cred.certificate->public_key();
  const PublicKey b = cred.certificate->public_key();
  CHECK(a.native() == b.native()); // the key parsed with the certificate, not re-parsed
  const PublicKey c = a;
  CHECK(c.native() == a.native());
}

TEST_CASE("load_credential reads key and certificate files and checks they match", "[crypto]") {
  TempDir dir;
  const PrivateKey key = test::rsa_key(2048);
  const Credential cred = test::self_signed_cert(key, "sp.example");
  const std::string key_file = dir.write("key.pem", test::pem(key));
  const std::string cert_file = dir.write("cert.pem", cred.certificate->pem());
  const std::string both_file = dir.write("both.pem", test::pem(key) + cred.certificate->pem());

  const Credential c1 = load_credential(key_file, cert_file);
  REQUIRE(c1.certificate);
  CHECK(c1.certificate->der() == cred.certificate->der());
  const Credential c2 = load_credential(both_file);
  REQUIRE(c2.certificate);
  CHECK(c2.key.public_key() == key.public_key());
  const Credential c3 = load_credential(key_file);
  CHECK_FALSE(c3.certificate);

  const std::string other_cert =
      dir.write("other.pem", test::self_signed_cert(test::rsa_key(2048, 1)).certificate->pem());
  CHECK(code_of([&] { load_credential(key_file, other_cert); }) == ErrorCode::config_invalid);
  CHECK(code_of([&] { load_credential((dir.path / "missing.pem").string()); }) == ErrorCode::config_invalid);
  CHECK(code_of([&] { load_credential(cert_file); }) == ErrorCode::config_invalid);
}

TEST_CASE("algorithm policy defaults refuse SHA-1 and small keys", "[crypto]") {
  AlgorithmPolicy p;
  for (auto uri : {alg::rsa_sha256, alg::rsa_sha384, alg::rsa_sha512, alg::rsa_pss_sha256, alg::ecdsa_sha256,
                   alg::ecdsa_sha384})
    CHECK(p.signature_method_allowed(uri));
  CHECK_FALSE(p.signature_method_allowed(alg::rsa_sha1));
  CHECK_FALSE(p.signature_method_allowed(alg::ecdsa_sha1));
  CHECK_FALSE(p.signature_method_allowed("http://www.w3.org/2000/09/xmldsig#dsa-sha1"));
  CHECK_FALSE(p.signature_method_allowed("http://www.w3.org/2000/09/xmldsig#hmac-sha1"));
  CHECK(p.digest_method_allowed(alg::sha256));
  CHECK(p.digest_method_allowed(alg::sha384));
  CHECK(p.digest_method_allowed(alg::sha512));
  CHECK_FALSE(p.digest_method_allowed(alg::sha1));
  CHECK_FALSE(p.digest_method_allowed("http://www.w3.org/2001/04/xmldsig-more#md5"));

  CHECK(p.key_allowed(test::rsa_key(2048).public_key()));
  CHECK_FALSE(p.key_allowed(test::rsa_key(1024).public_key()));
  CHECK(p.key_allowed(test::ec_key("prime256v1").public_key()));
  CHECK(p.key_allowed(test::ec_key("brainpoolP256r1").public_key()));
  CHECK_FALSE(p.key_allowed(test::ec_key("secp224r1").public_key()));
  CHECK_FALSE(p.key_allowed(test::ec_key("secp256k1").public_key())); // neither NIST nor Brainpool

  p.allow_sha1 = true;
  p.min_rsa_bits = 1024;
  CHECK(p.signature_method_allowed(alg::rsa_sha1));
  CHECK(p.signature_method_allowed(alg::ecdsa_sha1));
  CHECK(p.digest_method_allowed(alg::sha1));
  CHECK(p.key_allowed(test::rsa_key(1024).public_key()));

  AlgorithmPolicy strict;
  strict.min_rsa_bits = 3072;
  strict.min_ec_bits = 384;
  CHECK_FALSE(strict.key_allowed(test::rsa_key(2048).public_key()));
  CHECK(strict.key_allowed(test::rsa_key(3072).public_key()));
  CHECK_FALSE(strict.key_allowed(test::ec_key("prime256v1").public_key()));
  CHECK(strict.key_allowed(test::ec_key("secp384r1").public_key()));
}
