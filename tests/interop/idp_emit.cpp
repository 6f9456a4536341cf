// SPDX-License-Identifier: EUPL-1.2
// Writes Responses issued by interkonto's IdentityProvider, for an
// independent implementation (idp_independent.py) to verify and decrypt:
//   <outdir>/pss_gcm.xml     RSASSA-PSS (default), AES-256-GCM + xmlenc11 rsa-oaep,
//                            assertion and response signed
//   <outdir>/sha256_cbc.xml  RSA-SHA256 (per-SP configuration), AES-128-CBC +
//                            rsa-oaep-mgf1p (from the SP's md:EncryptionMethod)
//   <outdir>/sp_key.pem, <outdir>/idp_cert.pem
//   <outdir>/proxy.xml       the Response a complete in-process Proxy run sends a
//                            portal (portal -> proxy -> upstream IdP -> proxy ->
//                            portal, taken from the proxy's auto-POST form):
//                            RSASSA-PSS (default), AES-256-GCM + xmlenc11 rsa-oaep
//                            for the portal's encryption key, assertion and
//                            response signed, released attributes only
//   <outdir>/proxy_portal_key.pem, <outdir>/proxy_idp_cert.pem
//   <outdir>/proxy_portal_check.txt  "accepted", or why interkonto's own portal
//                            SP refused proxy.xml
// Usage: idp_emit <outdir>

#include <openssl/bio.h>
#include <openssl/pem.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "interkonto/attributes.hpp"
#include "interkonto/bindings.hpp"
#include "interkonto/error.hpp"
#include "interkonto/http.hpp"
#include "interkonto/idp.hpp"
#include "interkonto/metadata.hpp"
#include "interkonto/proxy.hpp"
#include "interkonto/session.hpp"
#include "interkonto/sp.hpp"
#include "unit/proxy_world.hpp"
#include "unit/saml_browser.hpp"
#include "unit/test_keys.hpp"

using namespace interkonto;

namespace {

// The in-process browser and the proxy world of the proxy tests.
using namespace test;
using namespace test::proxy_world;

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

// ------------------------------------------------------------------- proxy

void need(bool cond, const std::string &what) {
  if (!cond) throw std::runtime_error("proxy run: " + what);
}

struct ProxyRun {
  std::string response_xml; // what the proxy posted to the portal
  std::string portal_check; // "accepted" or the portal's error
};

// portal start_login -> proxy SSO -> upstream IdP -> proxy ACS -> the proxy's
// Response to the portal (decoded from its auto-POST form), which the portal
// then checks too.
ProxyRun run_proxy(const Credential &proxy_idp_cred, const Credential &portal_enc) {
  const Credential up_cred = test::self_signed_cert(test::rsa_key(2048, 33), "idp.nrw.example");
  const Credential proxy_sp_cred =
      test::self_signed_cert(test::rsa_key(2048, 34), "sk.thueringen.example sp");
  const Credential portal_sign = test::self_signed_cert(test::rsa_key(2048, 35), "portal.thueringen.example");

  const EntityPtr up_entity = idp_entity(idp_config(kNrw, kNrwSso, up_cred));
  const EntityPtr proxy_idp_entity = idp_entity(idp_config(kProxyIdp, kProxySso, proxy_idp_cred));

  SpConfig pc = portal_config(portal_sign, proxy_idp_entity);
  pc.decryption = {portal_enc};
  pc.idps.front().require_encrypted_assertion = true;
  const ServiceProvider portal(pc, std::make_shared<InMemorySessionStore>(),
                               std::make_shared<InMemoryRequestTracker>(),
                               std::make_shared<InMemoryReplayCache>());

  ProxyConfig c = proxy_config(idp_config(kProxyIdp, kProxySso, proxy_idp_cred),
                               parse_metadata(portal.metadata_xml()).front(), proxy_sp_cred, up_entity,
                               AttributeMap::from_yaml(kAttributeMap));
  // Signature method left to the default (RSASSA-PSS for an RSA key), likewise
  // the encryption algorithms (AES-256-GCM, xmlenc11 rsa-oaep).
  c.idp.default_response.encrypt_assertion = true;
  c.idp.default_response.sign_response = true;
  const Proxy proxy(c, std::make_shared<InMemoryPendingStore>(), std::make_shared<InMemorySessionStore>(),
                    std::make_shared<InMemoryRequestTracker>(), std::make_shared<InMemoryReplayCache>());

  IdpConfig uc = idp_config(kNrw, kNrwSso, up_cred);
  uc.sps = {parse_metadata(proxy.sp().metadata_xml()).front()};
  const IdentityProvider up(uc);

  LoginOptions opt;
  opt.return_to = "/bauvoranfrage";
  const HttpResponse start = portal.start_login(opt);
  const std::string portal_cookies = cookie_header(start);

  const HttpResponse to_up = proxy.handle(get_request("/proxy/sso", redirect_query(start, kProxySso)));
  const std::string proxy_cookies = cookie_header(to_up);

  const ReceivedAuthnRequest rec =
      up.receive_authn_request(get_request("/saml/sso", redirect_query(to_up, kNrwSso)));
  AuthenticatedSubject clara;
  clara.name_id = "AAdzZWNyZXQxMjM0NTY3ODkw";
  clara.authn_context_class_ref = "STORK-QAA-Level-3";
  clara.session_index = "_nrw-session-1";
  clara.attributes = {{"urn:oid:2.5.4.42", {"CLARA"}, "givenName", ""},
                      {"urn:oid:2.5.4.4", {"SCHMIDT"}, "surname", ""},
                      {"urn:oid:1.2.40.0.10.2.1.1.55", {"1990-04-01"}, "birthdate", ""},
                      {"urn:oid:1.2.40.0.10.2.1.1.261.94", {"STORK-QAA-Level-3"}, "trustLevel", ""}};
  const HttpResponse up_page = up.post_response(rec, up.build_response(rec, clara));
  const auto up_response = form_value(up_page.body, "SAMLResponse");
  const auto up_relay = form_value(up_page.body, "RelayState");
  need(up_page.status == 200 && up_response && up_relay, "no upstream response");

  const HttpResponse answer = proxy.handle(post_form("/proxy/acs", *up_response, *up_relay, proxy_cookies));
  need(answer.status == 200, "proxy ACS answered " + std::to_string(answer.status) + ": " + answer.body);
  const auto saml = form_value(answer.body, "SAMLResponse");
  need(saml.has_value(), "no SAMLResponse in the proxy's page");

  ProxyRun run;
  run.response_xml = base64_decode(*saml);
  const AcsOutcome out = portal.handle_acs(
      post_form("/saml/acs", *saml, form_value(answer.body, "RelayState").value_or(""), portal_cookies));
  run.portal_check = out.session ? std::string("accepted")
                     : out.error ? std::string(to_string(out.error->code())) + ": " + out.error->detail()
                                 : std::string("no session");
  return run;
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

    const Credential proxy_idp_cred =
        test::self_signed_cert(test::rsa_key(2048, 36), "sk.thueringen.example idp");
    const Credential portal_enc =
        test::self_signed_cert(test::rsa_key(2048, 37), "portal.thueringen.example encryption");
    const ProxyRun run = run_proxy(proxy_idp_cred, portal_enc);
    write(out + "/proxy.xml", run.response_xml);
    write(out + "/proxy_portal_key.pem", key_pem(portal_enc.key));
    write(out + "/proxy_idp_cert.pem", proxy_idp_cred.certificate->pem());
    write(out + "/proxy_portal_check.txt", run.portal_check);
    std::cout << "wrote " << out << "\n";
    return 0;
  } catch (const std::exception &e) {
    std::cerr << "idp_emit: " << e.what() << "\n";
    return 1;
  }
}
