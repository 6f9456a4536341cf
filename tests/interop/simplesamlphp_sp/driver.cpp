// SPDX-License-Identifier: EUPL-1.2
// Interop driver: interkonto's IdentityProvider against a real SimpleSAMLphp
// SP on loopback (started by run.sh). The driver plays the browser with
// libcurl and our IdP in-process: it starts a login at SimpleSAMLphp, takes
// the signed AuthnRequest from the redirect to our (non-listening) SSO URL,
// builds a signed, encrypted Response and posts it to SimpleSAMLphp's ACS.
//
//   ssp_sp_interop_driver metadata <idp base URL> <dir>
//       prints our IdP's metadata (for SimpleSAMLphp's metadata.sources)
//   ssp_sp_interop_driver login <ssp base URL> <idp base URL> <dir>
//       runs the logins and prints one "PASS"/"FAIL" line per check
//
// <dir>/cert holds idp.{key,crt} (our IdP) and foreign.{key,crt} (a key
// SimpleSAMLphp does not know).

#include <curl/curl.h>
#include <fmt/core.h>

#include <cstddef>
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "interkonto/bindings.hpp"
#include "../ssp_browser.hpp"
#include "interkonto/crypto.hpp"
#include "interkonto/error.hpp"
#include "interkonto/http.hpp"
#include "interkonto/idp.hpp"
#include "interkonto/metadata.hpp"

namespace {

namespace ik = interkonto;

using namespace interkonto::interop;

// ---- the IdP ----

struct Args {
  std::string mode;
  std::string ssp_base; // "http://127.0.0.1:PORT/"
  std::string idp_base; // "http://127.0.0.1:PORT2"
  std::string dir;

  std::string idp_entity_id() const { return idp_base + "/idp"; }
  std::string sso_url() const { return idp_base + "/idp/sso"; }
  std::string sp_entity_id() const { return ssp_base + "module.php/saml/sp/metadata.php/default-sp"; }
  std::string acs_url() const { return ssp_base + "module.php/saml/sp/saml2-acs.php/default-sp"; }
  std::string start_url() const { return ssp_base + "module.php/core/authenticate.php?as=default-sp"; }
};

// `key` signs; the metadata always names idp.crt.
std::unique_ptr<ik::IdentityProvider> make_idp(const Args &args, std::vector<ik::EntityPtr> sps,
                                               std::string_view key = "idp") {
  const std::string cert = args.dir + "/cert/";
  // The remaining members keep their defaults; IdpConfig is still growing,
  // so they are not all spelled out here.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
  ik::IdpConfig config{
      .entity_id = args.idp_entity_id(),
      .sso_url = args.sso_url(),
      .signing = ik::load_credential(cert + std::string(key) + ".key", cert + std::string(key) + ".crt"),
      .sps = std::move(sps),
      .require_signed_requests = true,
  };
#pragma GCC diagnostic pop
  return std::make_unique<ik::IdentityProvider>(std::move(config));
}

ik::EntityPtr fetch_sp(Browser &browser, const Args &args) {
  const Page page = browser.get(args.sp_entity_id());
  if (page.status != 200)
    throw Abort(fmt::format("SP metadata: HTTP {} from {}", page.status, args.sp_entity_id()));
  for (const auto &entity : ik::parse_metadata(page.body))
    if (entity->entity_id == args.sp_entity_id() && entity->sp) return entity;
  throw Abort(fmt::format("SP metadata from {} has no SP entity of that name", args.sp_entity_id()));
}

ik::AuthenticatedSubject clara() {
  ik::AuthenticatedSubject s;
  s.name_id = "_clara-interop-transient-0001";
  s.authn_context_class_ref = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport";
  s.session_index = "_interop-session-1";
  for (const auto &a : expected_attributes) {
    ik::AuthenticatedSubject::Attribute attribute;
    attribute.name = std::string(a.name);
    attribute.values.emplace_back(a.value);
    s.attributes.push_back(std::move(attribute));
  }
  return s;
}

ik::ResponseOptions cbc_options() {
  ik::ResponseOptions opt;
  opt.signature_method = std::string(ik::alg::rsa_sha256);
  opt.digest_method = std::string(ik::alg::sha256);
  opt.sign_assertion = true;
  opt.sign_response = true;
  opt.encrypt_assertion = true;
  opt.data_encryption = std::string(ik::alg::aes256_cbc);
  opt.key_transport = std::string(ik::alg::rsa_oaep_mgf1p);
  return opt;
}

// The AuthnRequest SimpleSAMLphp sends to our SSO URL, as our IdP receives it.
struct Started {
  ik::HttpRequest request;
  std::string location;
};

Started start_login(Browser &browser, const Args &args, Report &report, std::string_view what) {
  const Page page = browser.get(args.start_url(), args.sso_url() + "?");
  if (!report.check(
          page.location.has_value(), fmt::format("{}: SimpleSAMLphp redirects to our SSO URL", what),
          fmt::format("HTTP {} at {}: {}", page.status, shorten(page.url, 200), shorten(page.body))))
    throw Abort("no redirect to the IdP");
  Started s;
  s.location = *page.location;
  s.request.method = "GET";
  s.request.path = "/idp/sso";
  s.request.raw_query = s.location.substr(args.sso_url().size() + 1);
  s.request.remote_addr = "127.0.0.1";
  return s;
}

// SimpleSAMLphp's error page answers 200 too.
bool is_error_page(std::string_view body) {
  return contains(body, "Unhandled exception") || contains(body, "SimpleSAML\\Error") ||
         contains(body, "SimpleSAML_Error") || contains(body, "Error report") ||
         contains(body, "<h1>Error") || contains(body, "errorreport");
}

bool shows_attributes(std::string_view body) {
  for (const auto &a : expected_attributes)
    if (!contains(body, a.name) || !contains(body, a.value)) return false;
  return true;
}

// Posts the IdP's form page (post_response) like a browser would.
Page submit(Browser &browser, const ik::HttpResponse &form, const Args &args, Report &report,
            std::string_view what) {
  const auto action = form_action(form.body);
  const auto saml_response = input_value(form.body, "SAMLResponse");
  const auto relay_state = input_value(form.body, "RelayState");
  report.check(form.status == 200 && action == std::optional<std::string>(args.acs_url()) && saml_response,
               fmt::format("{}: post_response builds a form to SimpleSAMLphp's ACS", what),
               fmt::format("status {}, action {}", form.status, action.value_or("none")));
  if (!action || !saml_response) throw Abort("no usable POST form");
  std::vector<std::pair<std::string, std::string>> fields{{"SAMLResponse", *saml_response}};
  if (relay_state) fields.emplace_back("RelayState", *relay_state);
  return browser.post_form(*action, form_encode(fields));
}

void login(const Args &args, Report &report) {
  Browser browser;
  const ik::EntityPtr sp = fetch_sp(browser, args);
  report.check(true, "SP metadata fetched from SimpleSAMLphp and parsed");
  const auto idp = make_idp(args, {sp});

  // 1. SimpleSAMLphp sends the browser to our IdP with a signed request.
  const Started started = start_login(browser, args, report, "login");
  const auto sig_alg = started.request.query_param("SigAlg");
  report.check(sig_alg == std::optional<std::string>(ik::alg::rsa_sha256) &&
                   started.request.query_param("Signature").has_value(),
               "the AuthnRequest query is signed with RSA-SHA256", sig_alg.value_or("unsigned"));
  const ik::ReceivedAuthnRequest req = idp->receive_authn_request(started.request);
  report.check(true, "receive_authn_request accepts SimpleSAMLphp's signed AuthnRequest");
  report.check(req.issuer == args.sp_entity_id(), "the request's issuer is SimpleSAMLphp's SP", req.issuer);
  report.check(req.acs_url == args.acs_url(), "the ACS URL is SimpleSAMLphp's", req.acs_url);
  report.check(req.binding == ik::binding::redirect, "the request came by HTTP-Redirect", req.binding);

  {
    // The same request without its signature is refused by our IdP.
    std::string stripped;
    for (const auto &[name, value] : ik::parse_query(started.request.raw_query, true)) {
      if (name == "Signature" || name == "SigAlg") continue;
      if (!stripped.empty()) stripped += '&';
      stripped += name + "=" + value;
    }
    ik::HttpRequest unsigned_req = started.request;
    unsigned_req.raw_query = stripped;
    std::optional<ik::Error> refused;
    try {
      (void)idp->receive_authn_request(unsigned_req);
    } catch (const ik::Error &e) {
      refused = e;
    }
    report.check(refused && refused->code() == ik::ErrorCode::signature_missing,
                 "our IdP refuses the request without its signature",
                 refused ? error_text(*refused) : std::string("accepted"));
  }

  // 2. Our IdP answers: signed (RSA-SHA256) and encrypted (CBC, OAEP-MGF1P).
  const std::string xml = idp->build_response(req, clara(), cbc_options());
  report.check(
      contains(xml, "EncryptedAssertion") && !contains(xml, ":Assertion ") &&
          contains(xml, ik::alg::aes256_cbc) && contains(xml, ik::alg::rsa_oaep_mgf1p) &&
          contains(xml, ik::alg::rsa_sha256),
      "the Response is signed with RSA-SHA256 and carries an EncryptedAssertion (aes256-cbc, rsa-oaep-mgf1p)",
      shorten(xml, 1500));
  const ik::HttpResponse form = idp->post_response(req, xml);

  // 3. The browser posts it to SimpleSAMLphp, which shows the attributes.
  const Page page = submit(browser, form, args, report, "login");
  const bool ok = page.status == 200 && !is_error_page(page.body) &&
                  contains(page.url, "module.php/core/authenticate.php") && shows_attributes(page.body);
  if (!report.check(
          ok, "SimpleSAMLphp accepts the assertion and shows the attributes",
          fmt::format("HTTP {} at {}: {}", page.status, shorten(page.url, 200), shorten(page.body, 3000))))
    throw Abort("login failed");
  for (const auto &a : expected_attributes)
    report.check(contains(page.body, a.value), fmt::format("SimpleSAMLphp shows {} = {}", a.name, a.value));
  report.check(contains(page.body, clara().name_id), "SimpleSAMLphp shows the NameID");

  // 4. The session holds: the page again, without any SAML round trip.
  const Page again = browser.get(args.start_url(), args.sso_url() + "?");
  report.check(!again.location && again.status == 200 && shows_attributes(again.body) &&
                   !is_error_page(again.body),
               "SimpleSAMLphp keeps the session (no new AuthnRequest)");
}

// A response signed with a key SimpleSAMLphp does not know is refused.
void foreign_signer(const Args &args, Report &report) {
  Browser browser;
  const ik::EntityPtr sp = fetch_sp(browser, args);
  const auto idp = make_idp(args, {sp}, "foreign");
  const Started started = start_login(browser, args, report, "foreign key");
  const ik::ReceivedAuthnRequest req = idp->receive_authn_request(started.request);
  const std::string xml = idp->build_response(req, clara(), cbc_options());
  const Page page = submit(browser, idp->post_response(req, xml), args, report, "foreign key");
  report.check(
      is_error_page(page.body) && contains(page.body, "Unable to validate Signature") &&
          !contains(page.body, expected_attributes[3].value),
      "foreign key: SimpleSAMLphp refuses the response (\"Unable to validate Signature\")",
      fmt::format("HTTP {} at {}: {}", page.status, shorten(page.url, 200), shorten(page.body, 3000)));
  report.note(fmt::format("foreign key: HTTP {} at {}", page.status, shorten(page.url, 200)));
}

// An unencrypted assertion is refused (assertion.encryption is on).
void unencrypted(const Args &args, Report &report) {
  Browser browser;
  const ik::EntityPtr sp = fetch_sp(browser, args);
  const auto idp = make_idp(args, {sp});
  const Started started = start_login(browser, args, report, "unencrypted");
  const ik::ReceivedAuthnRequest req = idp->receive_authn_request(started.request);
  ik::ResponseOptions opt = cbc_options();
  opt.encrypt_assertion = false;
  const std::string xml = idp->build_response(req, clara(), opt);
  const Page page = submit(browser, idp->post_response(req, xml), args, report, "unencrypted");
  report.check(
      is_error_page(page.body) && contains(page.body, "Received unencrypted assertion") &&
          !contains(page.body, expected_attributes[3].value),
      "unencrypted: SimpleSAMLphp refuses a plain assertion (\"Received unencrypted assertion\")",
      fmt::format("HTTP {} at {}: {}", page.status, shorten(page.url, 200), shorten(page.body, 3000)));
}

int run(const Args &args) {
  if (args.mode == "metadata") {
    fmt::print("{}\n", make_idp(args, {})->metadata_xml());
    return 0;
  }
  Report report("ssp-sp");
  return run_steps<Args>(args, report, {login, foreign_signer, unencrypted});
}

} // namespace

int main(int argc, char **argv) {
  const std::vector<std::string> argv_s(argv, argv + argc);
  Args args;
  if (argc == 4 && argv_s[1] == "metadata") {
    args = Args{argv_s[1], "http://127.0.0.1:1/", argv_s[2], argv_s[3]};
  } else if (argc == 5 && argv_s[1] == "login") {
    args = Args{argv_s[1], argv_s[2], argv_s[3], argv_s[4]};
  } else {
    std::fprintf(stderr,
                 "usage: %s metadata <idp base URL> <dir> | login <ssp base URL> <idp base URL> <dir>\n",
                 argc > 0 ? argv[0] : "ssp_sp_interop_driver");
    return 2;
  }
  if (!starts_with(args.ssp_base, "http://127.0.0.1:") || !starts_with(args.idp_base, "http://127.0.0.1:")) {
    std::fprintf(stderr, "only loopback URLs (http://127.0.0.1:PORT)\n");
    return 2;
  }
  if (args.ssp_base.back() != '/') args.ssp_base += '/';
  try {
    const CurlGlobal curl;
    return run(args);
  } catch (const ik::Error &e) {
    std::fprintf(stderr, "interkonto error: %s\n", error_text(e).c_str());
  } catch (const std::exception &e) {
    std::fprintf(stderr, "error: %s\n", e.what());
  }
  return 1;
}
