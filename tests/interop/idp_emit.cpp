// SPDX-License-Identifier: EUPL-1.2
// Writes Responses issued by interkonto's IdentityProvider, for an
// independent implementation (idp_independent.py) to verify and decrypt:
//   <outdir>/pss_gcm.xml     RSASSA-PSS (default), AES-256-GCM + xmlenc11 rsa-oaep,
//                            assertion and response signed
//   <outdir>/sha256_cbc.xml  RSA-SHA256 (per-SP configuration), AES-128-CBC +
//                            rsa-oaep-mgf1p (from the SP's md:EncryptionMethod)
//   <outdir>/sp_key.pem, <outdir>/idp_cert.pem
// Usage: idp_emit <outdir>

#include <openssl/bio.h>
#include <openssl/pem.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "interkonto/bindings.hpp"
#include "interkonto/error.hpp"
#include "interkonto/idp.hpp"
#include "unit/test_keys.hpp"

using namespace interkonto;

namespace {

constexpr const char *idp_id = "https://sk.example.de/idp";
constexpr const char *sso_url = "https://sk.example.de/idp/sso";
constexpr const char *sp_gcm = "https://portal-gcm.example.de";
constexpr const char *sp_cbc = "https://portal-cbc.example.de";

void write(const std::string &path, const std::string &data) {
  std::ofstream f(path, std::ios::binary);
  f << data;
  if (!f) throw std::runtime_error("cannot write " + path);
}

std::string key_pem(const PrivateKey &key) {
  const std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key.native(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
    throw std::runtime_error("cannot write the key as PEM");
  char *data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

EntityPtr sp(const std::string &id, const Certificate &enc_cert, std::vector<EncryptionMethod> methods) {
  auto e = std::make_shared<Entity>();
  e->entity_id = id;
  SpRole role;
  role.keys.push_back(KeyDescriptor{KeyDescriptor::Use::encryption,
                                    KeyMaterial::from_certificate_der(enc_cert.der()), std::move(methods)});
  role.acs.push_back(Endpoint{std::string(binding::post), id + "/acs", "", 0u, true});
  e->sp = role;
  return e;
}

std::string issue(const IdentityProvider &idp, const std::string &sp_id, const std::string &req_id) {
  const std::string xml = R"(<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" )"
                          R"(xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID=")" +
                          req_id + R"(" Version="2.0" IssueInstant=")" +
                          format_datetime(SystemClock().now()) + R"(" Destination=")" + sso_url +
                          R"("><saml:Issuer>)" + sp_id + "</saml:Issuer></samlp:AuthnRequest>";
  HttpRequest r;
  r.method = "GET";
  r.path = "/idp/sso";
  r.raw_query = redirect_encode(MessageKind::request, xml, "rs", nullptr, {});
  const ReceivedAuthnRequest req = idp.receive_authn_request(r);
  AuthenticatedSubject s;
  s.stable_key = "clara-4711";
  s.authn_context_class_ref = "STORK-QAA-Level-3";
  s.attributes.push_back({"urn:oid:2.5.4.42", {"CLARA"}, "givenName", "SUBSTANTIELL"});
  ResponseOptions o = idp.options_for(sp_id);
  o.encrypt_assertion = true;
  o.sign_response = true;
  return idp.build_response(req, s, o);
}

} // namespace

int main(int argc, char **argv) {
  if (argc != 2) {
    std::cerr << "usage: idp_emit <outdir>\n";
    return 2;
  }
  try {
    const std::string out = argv[1];
    const PrivateKey idp_key = test::rsa_key(3072, 30);
    const Credential idp_cred = test::self_signed_cert(idp_key, "interkonto IdP");
    const PrivateKey sp_key = test::rsa_key(2048, 31);
    const Certificate sp_cert = *test::self_signed_cert(sp_key, "portal encryption").certificate;

    IdpConfig c{.entity_id = idp_id,
                .sso_url = sso_url,
                .signing = idp_cred,
                .sps = {sp(sp_gcm, sp_cert, {}), sp(sp_cbc, sp_cert,
                                                    {{std::string(alg::aes128_cbc), "", ""},
                                                     {std::string(alg::rsa_oaep_mgf1p), "", ""}})},
                .require_signed_requests = false,
                .clock_skew = std::chrono::seconds{180},
                .assertion_lifetime = std::chrono::seconds{300},
                .policy = AlgorithmPolicy{}};
    ResponseOptions legacy;
    legacy.signature_method = std::string(alg::rsa_sha256);
    c.per_sp = {{sp_cbc, legacy}};
    const IdentityProvider idp(std::move(c));

    write(out + "/pss_gcm.xml", issue(idp, sp_gcm, "_emit-1"));
    write(out + "/sha256_cbc.xml", issue(idp, sp_cbc, "_emit-2"));
    write(out + "/sp_key.pem", key_pem(sp_key));
    write(out + "/idp_cert.pem", idp_cred.certificate->pem());
    std::cout << "wrote " << out << "\n";
    return 0;
  } catch (const std::exception &e) {
    std::cerr << "idp_emit: " << e.what() << "\n";
    return 1;
  }
}
