// SPDX-License-Identifier: EUPL-1.2
// A small in-process login: the Thüringen portal (SP) sends Clara to a test
// IdP standing in for Servicekonto.NRW, which answers with a signed and
// encrypted assertion; the portal validates it and opens a session.
// Everything runs in one process, without sockets: the library is sans-I/O.
// (The five-party Clara journey over HTTPS replaces this demo.)

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <chrono>
#include <iostream>

#include "interkonto/bindings.hpp"
#include "interkonto/idp.hpp"
#include "interkonto/sp.hpp"

namespace ik = interkonto;

namespace {

ik::Credential make_credential(const char *cn) {
  EVP_PKEY *raw = EVP_RSA_gen(3072);
  if (raw == nullptr) throw std::runtime_error("key generation failed");
  auto key = std::shared_ptr<EVP_PKEY>(raw, EVP_PKEY_free);
  X509 *x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), 0);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600L * 24 * 365);
  X509_set_pubkey(x, raw);
  X509_NAME *name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char *>(cn), -1, -1,
                             0);
  X509_set_issuer_name(x, name);
  X509_sign(x, raw, EVP_sha256());
  return ik::Credential{ik::PrivateKey(key), ik::Certificate(std::shared_ptr<X509>(x, X509_free))};
}

template <class F> auto timed(const char *step, F &&f) {
  const auto t0 = std::chrono::steady_clock::now();
  auto r = f();
  const auto us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0);
  std::cout << fmt::format("  {:<58} {:>8.2f} ms\n", step, static_cast<double>(us.count()) / 1000.0);
  return r;
}

} // namespace

int main() {
  try {
    std::cout << "interkonto login demo: Clara (Servicekonto.NRW) logs in at the Thüringen portal\n\n";
    const ik::Credential idp_cred = make_credential("Servicekonto.NRW (demo)");
    const ik::Credential sp_sign = make_credential("Thüringen portal signing (demo)");
    const ik::Credential sp_enc = make_credential("Thüringen portal encryption (demo)");
    const std::string idp_id = "https://servicekonto.nrw.example/saml";
    const std::string sp_id = "https://portal.thueringen.example/saml";

    // The IdP's metadata, as the portal would get it from the federation.
    ik::IdpConfig icfg{
        idp_id, idp_id + "/sso", idp_cred, {}, true, std::chrono::seconds(180), std::chrono::seconds(300),
        {}};

    ik::SpConfig scfg;
    scfg.entity_id = sp_id;
    scfg.base_url = "https://portal.thueringen.example";
    scfg.signing = sp_sign;
    scfg.decryption = {sp_enc};
    scfg.min_trust_level = 3;
    scfg.akdb_extension = ik::AkdbRequestExtension{};
    scfg.akdb_extension->requested_attributes = {
        {"urn:oid:2.5.4.42", true}, {"urn:oid:2.5.4.4", true}, {"urn:oid:1.2.40.0.10.2.1.1.55", false}};

    // Metadata both ways (in the real federation: the signed FINK aggregate).
    ik::IdentityProvider bootstrap(icfg);
    ik::IdpSettings trusted;
    trusted.entity = ik::parse_metadata(bootstrap.metadata_xml()).front();
    scfg.idps = {trusted};
    ik::ServiceProvider sp(scfg, nullptr, nullptr, std::make_shared<ik::InMemoryReplayCache>());
    icfg.sps = ik::parse_metadata(sp.metadata_xml());
    ik::IdentityProvider idp(icfg);

    std::cout << "Steps:\n";
    // 1. Clara opens /bauvoranfrage; the portal starts a login.
    ik::LoginOptions lo;
    lo.return_to = "/bauvoranfrage";
    const ik::HttpResponse redirect =
        timed("portal: signed AuthnRequest (HTTP-Redirect)", [&] { return sp.start_login(lo); });
    const std::string location{redirect.header("Location").value_or("")};
    std::vector<std::string> cookies;
    for (const auto &[k, v] : redirect.headers)
      if (k == "Set-Cookie") cookies.push_back(v.substr(0, v.find(';')));

    // 2. The browser follows the redirect to the IdP.
    ik::HttpRequest at_idp;
    at_idp.method = "GET";
    at_idp.path = "/sso";
    at_idp.raw_query = location.substr(location.find('?') + 1);
    const ik::ReceivedAuthnRequest received = timed("NRW: AuthnRequest received, signature checked",
                                                    [&] { return idp.receive_authn_request(at_idp); });

    // 3. Clara logs in at NRW (the host application's job) and consents.
    ik::AuthenticatedSubject clara;
    clara.name_id = "AAdzZWNyZXQtZGVtbw";
    clara.authn_context_class_ref = "STORK-QAA-Level-3";
    clara.session_index = "_demo-session";
    clara.attributes = {{"urn:oid:2.5.4.42", {"Clara"}, "givenName", "SUBSTANTIELL"},
                        {"urn:oid:2.5.4.4", {"Schmidt"}, "surname", "SUBSTANTIELL"},
                        {"urn:oid:1.2.40.0.10.2.1.1.55", {"1990-04-12"}, "birthdate", "SUBSTANTIELL"},
                        {"urn:oid:2.5.4.7", {"Düsseldorf"}, "localityName", "SUBSTANTIELL"}};
    ik::ResponseOptions ro;
    ro.encrypt_assertion = true;
    const std::string response = timed("NRW: signed + encrypted assertion (RSASSA-PSS, AES-256-GCM)",
                                       [&] { return idp.build_response(received, clara, ro); });
    const ik::HttpResponse form = idp.post_response(received, response);

    // 4. The browser posts the form to the portal's ACS.
    ik::HttpRequest at_acs;
    at_acs.method = "POST";
    at_acs.path = scfg.acs_path;
    at_acs.body = "SAMLResponse=" + ik::url_encode(ik::base64_encode(response)) +
                  "&RelayState=" + ik::url_encode(received.relay_state);
    std::string cookie_header;
    for (const auto &c : cookies) cookie_header += (cookie_header.empty() ? "" : "; ") + c;
    at_acs.headers.emplace_back("Cookie", cookie_header);
    const ik::AcsOutcome outcome =
        timed("portal: response validated (every check)", [&] { return sp.handle_acs(at_acs); });
    if (outcome.error) {
      std::cerr << "login failed: " << outcome.error->what() << "\n";
      return 1;
    }
    std::cout << "\nLogged in. Redirect to " << outcome.response.header("Location").value_or("?") << "\n";
    std::cout << "  issuer:      " << outcome.result->issuer << "\n";
    std::cout << "  trust level: " << outcome.result->authn_context_class_ref.value_or("-") << "\n";
    for (const auto &a : outcome.result->attributes)
      std::cout << fmt::format("  {:<32} {}\n", a.name, a.values.empty() ? "" : a.values.front());
    (void)form;

    // 5. Browser Back: the same POST again is refused with a clear page.
    const ik::AcsOutcome again = sp.handle_acs(at_acs);
    std::cout << "\nBrowser Back (same POST again): HTTP " << again.response.status << ", "
              << (again.error ? std::string(ik::to_string(again.error->code())) : std::string("accepted?!"))
              << "\n";
    return again.error ? 0 : 1;
  } catch (const std::exception &e) {
    std::cerr << "demo failed: " << e.what() << "\n";
    return 1;
  }
}
