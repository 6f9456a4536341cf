// SPDX-License-Identifier: EUPL-1.2
// Interop driver: interkonto's ServiceProvider against a real SimpleSAMLphp
// IdP on loopback (started by run.sh). The driver plays the browser with
// libcurl: it follows the SP's redirect to SimpleSAMLphp, logs in on its
// form, and hands the auto-submit POST to the SP in-process.
//
//   ssp_interop_driver metadata <A|B> <ssp base URL> <sp base URL> <dir>
//       prints the SP's metadata (for SimpleSAMLphp's metadata.sources)
//   ssp_interop_driver login <A|B> <ssp base URL> <sp base URL> <dir>
//       runs the login and prints one "PASS"/"FAIL" line per check
//
// Scenario A: unsigned AuthnRequest; assertion signed, not encrypted.
// Scenario B: AuthnRequest signed (RSA-SHA256, HTTP-Redirect); response and
// assertion signed, assertion encrypted (rsa-oaep-mgf1p + aes128-cbc).
// <dir>/cert holds sp-sign.{key,crt} and sp-enc.{key,crt}.

#include <curl/curl.h>
#include <fmt/core.h>

#include <chrono>
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
#include "interkonto/metadata.hpp"
#include "interkonto/session.hpp"
#include "interkonto/sp.hpp"

namespace {

namespace ik = interkonto;

constexpr std::string_view user = "clara";
constexpr std::string_view password = "clara-nrw";
constexpr std::string_view return_to = "/bauvoranfrage";
using namespace interkonto::interop;

constexpr std::string_view uri_name_format = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri";

// ---- the SP ----

struct Args {
  std::string mode;
  std::string scenario;
  std::string ssp_base; // "http://127.0.0.1:PORT/"
  std::string sp_base;  // "http://127.0.0.1:PORT2"
  std::string dir;

  bool encrypted() const { return scenario == "B"; }
  bool signed_requests() const { return scenario == "B"; }
  std::string idp_entity_id() const { return ssp_base + "saml2/idp/metadata.php"; }
  std::string sso_url() const { return ssp_base + "saml2/idp/SSOService.php"; }
};

ik::EntityPtr fetch_idp(Browser &browser, const Args &args) {
  const Page page = browser.get(args.idp_entity_id());
  if (page.status != 200)
    throw Abort(fmt::format("IdP metadata: HTTP {} from {}", page.status, args.idp_entity_id()));
  for (const auto &entity : ik::parse_metadata(page.body))
    if (entity->entity_id == args.idp_entity_id() && entity->idp) return entity;
  throw Abort(fmt::format("IdP metadata from {} has no IdP entity of that name", args.idp_entity_id()));
}

struct Sp {
  std::shared_ptr<ik::InMemorySessionStore> sessions = std::make_shared<ik::InMemorySessionStore>();
  std::shared_ptr<ik::InMemoryRequestTracker> tracker = std::make_shared<ik::InMemoryRequestTracker>();
  std::shared_ptr<ik::InMemoryReplayCache> replay = std::make_shared<ik::InMemoryReplayCache>();
  std::unique_ptr<ik::ServiceProvider> sp;
};

Sp make_sp(const Args &args, ik::EntityPtr idp) {
  ik::SpConfig config;
  config.entity_id = args.sp_base + "/sp";
  config.base_url = args.sp_base;
  config.development_insecure_http = true;
  const std::string cert = args.dir + "/cert/";
  if (args.signed_requests())
    config.signing = ik::load_credential(cert + "sp-sign.key", cert + "sp-sign.crt");
  config.decryption.push_back(ik::load_credential(cert + "sp-enc.key", cert + "sp-enc.crt"));
  ik::IdpSettings settings;
  settings.entity = std::move(idp);
  settings.authn_request_binding = std::string(ik::binding::redirect);
  settings.authn_request_signature_method = std::string(ik::alg::rsa_sha256);
  settings.sign_authn_requests = args.signed_requests();
  settings.require_encrypted_assertion = args.encrypted();
  config.idps.push_back(std::move(settings));

  Sp sp;
  sp.sp = std::make_unique<ik::ServiceProvider>(std::move(config), sp.sessions, sp.tracker, sp.replay);
  return sp;
}

// "name=value" of every Set-Cookie header, for a Cookie request header.
std::vector<std::string> set_cookie_values(const ik::HttpResponse &r) {
  std::vector<std::string> out;
  for (const auto &[name, value] : r.headers) {
    if (name.size() != 10) continue;
    std::string lower;
    for (const char c : name) lower += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    if (lower == "set-cookie") out.push_back(value);
  }
  return out;
}

std::string cookie_header(const std::vector<std::string> &set_cookies) {
  std::string out;
  for (const auto &sc : set_cookies) {
    if (!out.empty()) out += "; ";
    out += sc.substr(0, sc.find(';'));
  }
  return out;
}

std::optional<std::string> find_set_cookie(const ik::HttpResponse &r, std::string_view cookie_name) {
  for (const auto &sc : set_cookie_values(r))
    if (starts_with(sc, fmt::format("{}=", cookie_name))) return sc;
  return std::nullopt;
}

// Attribute `ID` of the root element of an XML text (the AuthnRequest).
std::optional<std::string> root_id(std::string_view xml) {
  const std::size_t root = xml.find("AuthnRequest");
  if (root == std::string_view::npos) return std::nullopt;
  const std::size_t end = xml.find('>', root);
  return tag_attribute(xml.substr(root, end - root), "ID");
}

// ---- the login ----

void login(const Args &args, Report &report) {
  Browser browser;
  const ik::EntityPtr idp = fetch_idp(browser, args);
  report.check(true, "IdP metadata fetched from SimpleSAMLphp and parsed");
  Sp sp = make_sp(args, idp);
  const std::string acs_url = sp.sp->config().acs_url();

  // 1. The portal sends Clara to the IdP.
  ik::LoginOptions options;
  options.return_to = std::string(return_to);
  const ik::HttpResponse start = sp.sp->start_login(options);
  const auto location = start.header("Location");
  if (!report.check(
          start.status == 302 && location && starts_with(*location, args.sso_url() + "?"),
          "start_login redirects to SimpleSAMLphp's SSOService",
          fmt::format("status {}, Location {}", start.status, location ? shorten(*location) : "none")))
    throw Abort("no redirect to the IdP");
  const std::vector<std::string> sp_cookies = set_cookie_values(start);
  report.check(!sp_cookies.empty(), "start_login sets the browser-binding cookie");
  const std::string raw_query(location->substr(args.sso_url().size() + 1));
  const ik::RedirectMessage sent = ik::redirect_decode(raw_query);
  const std::optional<std::string> request_id = root_id(sent.xml);
  report.check(request_id.has_value(), "AuthnRequest has an ID", shorten(sent.xml));
  if (args.signed_requests())
    report.check(sent.signature.has_value() &&
                     sent.sig_alg == std::optional<std::string>(ik::alg::rsa_sha256),
                 "AuthnRequest query is signed with RSA-SHA256");
  else
    report.check(!sent.signature.has_value(), "AuthnRequest is sent unsigned");

  if (args.signed_requests()) {
    // SimpleSAMLphp really checks: the same request without its signature is refused.
    std::string stripped;
    for (const auto &[name, value] : ik::parse_query(raw_query, true)) {
      if (name == "Signature" || name == "SigAlg") continue;
      if (!stripped.empty()) stripped += '&';
      stripped += name + "=" + value;
    }
    Browser other;
    const Page refused = other.get(args.sso_url() + "?" + stripped);
    report.check(
        !contains(refused.url, "loginuserpass.php") && !input_value(refused.body, "AuthState") &&
            contains(refused.body, "no signature found on message"),
        "SimpleSAMLphp refuses the AuthnRequest without its signature",
        fmt::format("HTTP {} at {}: {}", refused.status, shorten(refused.url, 200), shorten(refused.body)));
  }

  // 2. The browser follows the redirect to SimpleSAMLphp's login form.
  Page page = browser.get(std::string(*location));
  std::optional<std::string> auth_state = input_value(page.body, "AuthState");
  if (!report.check(
          page.status == 200 && contains(page.url, "module.php/core/loginuserpass.php") && auth_state,
          "SimpleSAMLphp shows its login form",
          fmt::format("HTTP {} at {}: {}", page.status, shorten(page.url, 200), shorten(page.body))))
    throw Abort("no login form");
  const std::string login_url = page.url;

  // 3. A wrong password does not log in: the form comes back with an error.
  page = browser.post_form(login_url, form_encode({{"username", std::string(user)},
                                                   {"password", "not-" + std::string(password)},
                                                   {"AuthState", *auth_state}}));
  auth_state = input_value(page.body, "AuthState");
  report.check(page.status == 200 && !contains(page.body, "SAMLResponse") &&
                   contains(page.body, "Incorrect username or password") && auth_state.has_value(),
               "wrong password: SimpleSAMLphp stays on its login page with an error, no SAMLResponse",
               shorten(page.body));
  if (!auth_state) throw Abort("no AuthState after the wrong password");

  // 4. The right password: SimpleSAMLphp answers with the auto-submit form.
  page = browser.post_form(login_url, form_encode({{"username", std::string(user)},
                                                   {"password", std::string(password)},
                                                   {"AuthState", *auth_state}}));
  const auto action = form_action(page.body);
  const auto saml_response = input_value(page.body, "SAMLResponse");
  const auto relay_state = input_value(page.body, "RelayState");
  if (!report.check(
          page.status == 200 && saml_response.has_value(),
          "login: SimpleSAMLphp answers with a form carrying a SAMLResponse",
          fmt::format("HTTP {} at {}: {}", page.status, shorten(page.url, 200), shorten(page.body))))
    throw Abort("no SAMLResponse");
  report.check(action == std::optional<std::string>(acs_url), "the form posts to the SP's ACS URL",
               action ? *action : "no action");
  report.check(relay_state.has_value(), "the form carries the RelayState");

  // What SimpleSAMLphp sent, to be sure the scenario is the one intended.
  const std::string xml = ik::post_decode(*saml_response);
  const std::size_t assertion_at = xml.find(":Assertion ");
  const std::size_t encrypted_at = xml.find(":EncryptedAssertion");
  const std::size_t first_signature = xml.find(":Signature ");
  if (args.encrypted()) {
    report.check(encrypted_at != std::string::npos && assertion_at == std::string::npos,
                 "SimpleSAMLphp sent an EncryptedAssertion only");
    report.check(contains(xml, "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p") &&
                     contains(xml, "http://www.w3.org/2001/04/xmlenc#aes128-cbc"),
                 "encrypted with rsa-oaep-mgf1p and aes128-cbc");
    report.check(first_signature != std::string::npos && first_signature < encrypted_at,
                 "the Response itself is signed");
  } else {
    report.check(assertion_at != std::string::npos && encrypted_at == std::string::npos,
                 "SimpleSAMLphp sent a plain Assertion");
    report.check(first_signature != std::string::npos && first_signature > assertion_at,
                 "the Assertion is signed and the Response is not", shorten(xml, 2000));
  }

  // 5. The browser delivers the POST to the SP (in-process).
  ik::HttpRequest acs;
  acs.method = "POST";
  acs.path = sp.sp->config().acs_path;
  std::vector<std::pair<std::string, std::string>> fields{{"SAMLResponse", *saml_response}};
  if (relay_state) fields.emplace_back("RelayState", *relay_state);
  acs.body = form_encode(fields);
  acs.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  acs.headers.emplace_back("Cookie", cookie_header(sp_cookies));
  acs.remote_addr = "127.0.0.1";

  const ik::AcsOutcome outcome = sp.sp->handle_acs(acs);
  if (!report.check(!outcome.error.has_value() && outcome.result.has_value(),
                    "handle_acs accepts the response",
                    outcome.error ? error_text(*outcome.error) : std::string("no result"))) {
    report.note(fmt::format("Response XML: {}", shorten(xml, 20000)));
    throw Abort("login failed");
  }
  const ik::AuthnResult &result = *outcome.result;
  report.check(result.issuer == args.idp_entity_id(), "issuer is SimpleSAMLphp's entityID", result.issuer);
  report.check(result.was_encrypted == args.encrypted(),
               args.encrypted() ? "the assertion was encrypted" : "the assertion was not encrypted");
  report.check(result.in_response_to == request_id, "InResponseTo is the ID of our AuthnRequest",
               result.in_response_to.value_or("none"));
  report.check(!result.name_id.empty(), "a NameID was delivered");
  for (const auto &expected : expected_attributes) {
    const ik::SamlAttribute *attribute = result.attribute(expected.name);
    const bool ok = attribute != nullptr && attribute->values.size() == 1 &&
                    attribute->values.front() == expected.value && attribute->name_format == uri_name_format;
    std::string got = "missing";
    if (attribute != nullptr) {
      got = fmt::format("format {}, {} value(s):", attribute->name_format, attribute->values.size());
      for (const auto &v : attribute->values) got += " [" + v + "]";
    }
    report.check(ok, fmt::format("attribute {} = {}", expected.name, expected.value), got);
  }

  // The portal gets a session and a cookie for it.
  const auto redirect = outcome.response.header("Location");
  report.check((outcome.response.status == 302 || outcome.response.status == 303) && redirect &&
                   *redirect == return_to,
               "the SP redirects to return_to",
               fmt::format("status {}, Location {}", outcome.response.status, redirect ? *redirect : "none"));
  report.check(outcome.session.has_value(), "a session was created");
  const std::string session_cookie_name = sp.sp->config().session_cookie_name;
  const auto session_cookie = find_set_cookie(outcome.response, session_cookie_name);
  report.check(session_cookie && contains(*session_cookie, "HttpOnly") &&
                   contains(*session_cookie, "SameSite=Lax") && !contains(*session_cookie, "Secure"),
               "session cookie set with HttpOnly and SameSite=Lax (no Secure on plain HTTP)",
               session_cookie.value_or("no Set-Cookie for " + session_cookie_name));
  if (session_cookie) {
    ik::HttpRequest next;
    next.path = std::string(return_to);
    next.headers.emplace_back("Cookie", session_cookie->substr(0, session_cookie->find(';')));
    const auto current = sp.sp->current_session(next);
    bool has_city = false;
    if (current)
      for (const auto &[name, values] : current->attributes)
        if (name == "urn:oid:2.5.4.7" &&
            values == std::vector<std::string>{std::string(expected_attributes[3].value)})
          has_city = true;
    report.check(current && current->idp_entity_id == args.idp_entity_id() &&
                     current->name_id == result.name_id && has_city,
                 "the session cookie finds the session with the attributes");
  }

  // 6. The same POST again is refused.
  const ik::AcsOutcome replay = sp.sp->handle_acs(acs);
  const bool refused = replay.error && (replay.error->code() == ik::ErrorCode::replayed ||
                                        replay.error->code() == ik::ErrorCode::in_response_to_mismatch);
  report.check(refused && !replay.session && !replay.result, "a replay of the same POST is refused",
               replay.error ? error_text(*replay.error) : std::string("accepted"));
  if (replay.error) report.note(fmt::format("replay refused with {}", ik::to_string(replay.error->code())));

  // The request ID is single-use, so handle_acs may stop the replay before
  // the replay cache; the validator itself, told the same request ID, must
  // find the assertion ID there.
  ik::ResponseCheck check;
  check.sp_entity_id = sp.sp->config().entity_id;
  check.acs_url = acs_url;
  check.in_response_to = request_id;
  check.now = std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  std::optional<ik::Error> again;
  try {
    (void)sp.sp->validator().validate(*saml_response, check);
  } catch (const ik::Error &e) {
    again = e;
  }
  report.check(again && again->code() == ik::ErrorCode::replayed,
               "the validator refuses the assertion ID as replayed",
               again ? error_text(*again) : std::string("accepted"));
}

int run(const Args &args) {
  if (args.mode == "metadata") {
    Browser browser;
    const Sp sp = make_sp(args, fetch_idp(browser, args));
    fmt::print("{}\n", sp.sp->metadata_xml());
    return 0;
  }
  Report report(args.scenario);
  return run_steps<Args>(args, report, {login});
}

} // namespace

int main(int argc, char **argv) {
  const std::vector<std::string> argv_s(argv, argv + argc);
  if (argc != 6 || (argv_s[1] != "metadata" && argv_s[1] != "login") ||
      (argv_s[2] != "A" && argv_s[2] != "B")) {
    std::fprintf(stderr, "usage: %s metadata|login A|B <ssp base URL> <sp base URL> <dir>\n",
                 argc > 0 ? argv[0] : "ssp_interop_driver");
    return 2;
  }
  Args args{argv_s[1], argv_s[2], argv_s[3], argv_s[4], argv_s[5]};
  if (!starts_with(args.ssp_base, "http://127.0.0.1:") || !starts_with(args.sp_base, "http://127.0.0.1:")) {
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
