// SPDX-License-Identifier: EUPL-1.2
// Interop driver: interkonto's IdP/SP proxy against a real SimpleSAMLphp SP
// on loopback (started by run.sh). SimpleSAMLphp plays two portals that
// trust the proxy's IdP side; the proxy and the upstream IdP
// "Servicekonto.NRW" (an interkonto::IdentityProvider) run in-process,
// sans-I/O. The driver plays the browser with libcurl: it starts a login at
// SimpleSAMLphp, hands the AuthnRequest from the redirect to the proxy's SSO
// route, takes the proxy's upstream request to NRW, lets NRW answer (or
// cancel), posts NRW's Response to the proxy's ACS with the proxy's cookies
// and posts the proxy's auto-submit form to SimpleSAMLphp's ACS.
//
//   ssp_proxy_interop_driver metadata <proxy base URL> <dir>
//       prints the proxy's IdP metadata (for SimpleSAMLphp's metadata.sources)
//   ssp_proxy_interop_driver login <ssp base URL> <proxy base URL> <dir>
//       runs the logins and prints one "PASS"/"FAIL" line per check
//
// <dir>/cert holds proxy.{key,crt} (the proxy's IdP side; both runs of the
// driver must sign with the key the metadata names) and sp.{key,crt}
// (SimpleSAMLphp's; the driver decrypts the proxy's assertion with it once
// more to check it with interkonto's own validator). The keys of NRW and of
// the proxy's SP side live only in this process (tests/unit/test_keys.hpp).

#include <curl/curl.h>
#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../../unit/saml_browser.hpp"
#include "../../unit/test_keys.hpp"
#include "../ssp_browser.hpp"
#include "interkonto/attributes.hpp"
#include "interkonto/bindings.hpp"
#include "interkonto/clock.hpp"
#include "interkonto/crypto.hpp"
#include "interkonto/error.hpp"
#include "interkonto/http.hpp"
#include "interkonto/idp.hpp"
#include "interkonto/log.hpp"
#include "interkonto/metadata.hpp"
#include "interkonto/proxy.hpp"
#include "interkonto/session.hpp"
#include "interkonto/sp.hpp"

namespace {

namespace ik = interkonto;

using namespace interkonto::interop;
using interkonto::test::cookie_header;

// The upstream IdP and the proxy's SP side: nothing listens at these URLs,
// the driver carries every message in-process.
constexpr std::string_view kNrw = "https://idp.nrw.interop.invalid/saml";
constexpr std::string_view kNrwSso = "https://idp.nrw.interop.invalid/saml/sso";
constexpr std::string_view kProxySpBase = "https://sk.proxy.interop.invalid";
constexpr std::string_view kProxySp = "https://sk.proxy.interop.invalid/proxy/sp";
constexpr std::string_view kProxyAcsPath = "/proxy/acs";

// SimpleSAMLphp's two authsources (authsources.php.in).
constexpr std::string_view kLevel3 = "level3-sp"; // asks for STORK-QAA-Level-3, Comparison="minimum"
constexpr std::string_view kPlain = "plain-sp";   // asks for no level

constexpr std::string_view kGivenName = "urn:oid:2.5.4.42";
constexpr std::string_view kSurname = "urn:oid:2.5.4.4";
constexpr std::string_view kBirthdate = "urn:oid:1.2.40.0.10.2.1.1.55";
constexpr std::string_view kTrustLevel = "urn:oid:1.2.40.0.10.2.1.1.261.94";
constexpr std::string_view kUpstreamNameId = "AAdzZWNyZXQxMjM0NTY3ODkwLW5ydw";
constexpr std::string_view kBirthdateValue = "1990-04-12";

struct Args {
  std::string mode;
  std::string ssp_base;   // "http://127.0.0.1:PORT/"
  std::string proxy_base; // "http://127.0.0.1:PORT2" (the proxy's IdP side; nothing listens)
  std::string dir;

  std::string proxy_idp_entity_id() const { return proxy_base + "/proxy/idp"; }
  std::string sso_url() const { return proxy_base + "/proxy/sso"; }
  std::string sp_entity_id(std::string_view as) const {
    return ssp_base + "module.php/saml/sp/metadata.php/" + std::string(as);
  }
  std::string acs_url(std::string_view as) const {
    return ssp_base + "module.php/saml/sp/saml2-acs.php/" + std::string(as);
  }
  std::string start_url(std::string_view as) const {
    return ssp_base + "module.php/core/authenticate.php?as=" + std::string(as);
  }
};

// ---- the proxy world ----

// Keys that live only in this process (NRW, the proxy's SP side).
const ik::Credential &credential(int index, const char *cn) {
  static std::mutex mu;
  static std::vector<std::pair<int, ik::Credential>> cache;
  const std::lock_guard<std::mutex> lock(mu);
  for (const auto &[i, c] : cache)
    if (i == index) return c;
  cache.emplace_back(index, ik::test::self_signed_cert(ik::test::rsa_key(3072, index), cn));
  return cache.back().second;
}

// SimpleSAMLphp 1.19 verifies RSA-SHA256 (not RSASSA-PSS) and decrypts
// AES-CBC with rsa-oaep-mgf1p (not GCM, not xmlenc11 rsa-oaep).
ik::ResponseOptions ssp_options() {
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

std::string attribute_map_yaml(const Args &args) {
  return fmt::format(R"(
profiles: [servicekonto]
release:
  "{}":
    allow: [givenName, surname, trustLevel]
  "{}":
    allow: [givenName, surname, trustLevel]
)",
                     args.sp_entity_id(kLevel3), args.sp_entity_id(kPlain));
}

// The remaining IdpConfig members keep their defaults; IdpConfig is still
// growing, so they are not all spelled out here.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
ik::IdpConfig proxy_idp_config(const Args &args, std::vector<ik::EntityPtr> portals) {
  const std::string cert = args.dir + "/cert/";
  return ik::IdpConfig{
      .entity_id = args.proxy_idp_entity_id(),
      .sso_url = args.sso_url(),
      .signing = ik::load_credential(cert + "proxy.key", cert + "proxy.crt"),
      .sps = std::move(portals),
      .require_signed_requests = true,
  };
}

ik::IdpConfig nrw_config(std::vector<ik::EntityPtr> sps) {
  ik::IdpConfig c{
      .entity_id = std::string(kNrw),
      .sso_url = std::string(kNrwSso),
      .signing = credential(1, "Servicekonto.NRW interop"),
      .sps = std::move(sps),
      .require_signed_requests = true,
  };
  // NRW answers the proxy the way interkonto does by default (RSASSA-PSS),
  // encrypted (AES-256-GCM, xmlenc11 rsa-oaep).
  c.default_response.encrypt_assertion = true;
  return c;
}
#pragma GCC diagnostic pop

struct World {
  std::shared_ptr<ik::InMemoryPendingStore> pending = std::make_shared<ik::InMemoryPendingStore>();
  std::shared_ptr<std::vector<std::string>> log = std::make_shared<std::vector<std::string>>();
  std::shared_ptr<std::vector<ik::ProxyAuditRecord>> audit =
      std::make_shared<std::vector<ik::ProxyAuditRecord>>();
  std::unique_ptr<ik::Proxy> proxy;
  std::unique_ptr<ik::IdentityProvider> nrw;

  void dump(Report &report) const {
    for (const auto &line : *log) report.note(fmt::format("proxy log: {}", shorten(line, 400)));
  }
};

World make_world(const Args &args, std::vector<ik::EntityPtr> portals) {
  World w;
  const ik::EntityPtr nrw_entity =
      ik::parse_metadata(ik::IdentityProvider(nrw_config({})).metadata_xml()).front();

  ik::IdpConfig idp = proxy_idp_config(args, std::move(portals));
  for (const auto as : {kLevel3, kPlain}) idp.per_sp.emplace_back(args.sp_entity_id(as), ssp_options());
  ik::ProxyConfig c(std::move(idp));
  const ik::Credential &sp_cred = credential(2, "Servicekonto proxy SP interop");
  c.sp.entity_id = std::string(kProxySp);
  c.sp.base_url = std::string(kProxySpBase);
  c.sp.acs_path = std::string(kProxyAcsPath);
  c.sp.metadata_path = "/proxy/sp/metadata";
  c.sp.signing = sp_cred;
  c.sp.decryption = {sp_cred};
  ik::IdpSettings upstream;
  upstream.entity = nrw_entity;
  upstream.require_encrypted_assertion = true;
  c.sp.idps = {upstream};
  c.sp.default_idp = std::string(kNrw);
  c.attributes = ik::AttributeMap::from_yaml(attribute_map_yaml(args));
  c.audit = [audit = w.audit](const ik::ProxyAuditRecord &r) { audit->push_back(r); };
  auto log = w.log;
  w.proxy = std::make_unique<ik::Proxy>(
      std::move(c), w.pending, std::make_shared<ik::InMemorySessionStore>(),
      std::make_shared<ik::InMemoryRequestTracker>(), std::make_shared<ik::InMemoryReplayCache>(), nullptr,
      [log](ik::LogLevel, std::string_view message) { log->emplace_back(message); });

  w.nrw = std::make_unique<ik::IdentityProvider>(
      nrw_config({ik::parse_metadata(w.proxy->sp().metadata_xml()).front()}));
  return w;
}

ik::EntityPtr fetch_sp(Browser &browser, const Args &args, std::string_view as) {
  const std::string url = args.sp_entity_id(as);
  const Page page = browser.get(url);
  if (page.status != 200) throw Abort(fmt::format("SP metadata: HTTP {} from {}", page.status, url));
  for (const auto &entity : ik::parse_metadata(page.body))
    if (entity->entity_id == url && entity->sp) return entity;
  throw Abort(fmt::format("SP metadata from {} has no SP entity of that name", url));
}

// Clara at Servicekonto.NRW, in the Servicekonto OID vocabulary.
ik::AuthenticatedSubject clara(std::string_view level) {
  ik::AuthenticatedSubject s;
  s.name_id = std::string(kUpstreamNameId);
  s.name_id_format = std::string(ik::nameid::persistent);
  s.authn_context_class_ref = std::string(level);
  s.session_index = "_nrw-interop-session-1";
  s.attributes = {{std::string(kGivenName), {"Clara"}, "givenName", ""},
                  {std::string(kSurname), {"Schmidt"}, "surname", ""},
                  {std::string(kBirthdate), {std::string(kBirthdateValue)}, "birthdate", ""},
                  {std::string(kTrustLevel), {std::string(level)}, "trustLevel", ""}};
  return s;
}

std::string query_of(std::string_view url) {
  const auto q = url.find('?');
  return q == std::string_view::npos ? std::string() : std::string(url.substr(q + 1));
}

// The value of XML attribute `name` in the first element of `xml` carrying it.
std::optional<std::string> xml_attribute(std::string_view xml, std::string_view name) {
  const std::string marker = fmt::format(" {}=\"", name);
  const auto pos = xml.find(marker);
  if (pos == std::string_view::npos) return std::nullopt;
  const auto start = pos + marker.size();
  const auto end = xml.find('"', start);
  if (end == std::string_view::npos) return std::nullopt;
  return std::string(xml.substr(start, end - start));
}

// SimpleSAMLphp's error page answers 200 too.
bool is_error_page(std::string_view body) {
  return contains(body, "Unhandled exception") || contains(body, "SimpleSAML\\Error") ||
         contains(body, "SimpleSAML_Error") || contains(body, "Error report") ||
         contains(body, "<h1>Error") || contains(body, "errorreport");
}

// The status page prints the auth data as JSON (htmlspecialchars'd):
// "saml:sp:AuthnContext": "STORK-QAA-Level-3".
std::optional<std::string> shown_authn_context(std::string_view body) {
  const std::string_view key = "saml:sp:AuthnContext";
  const auto pos = body.find(key);
  if (pos == std::string_view::npos) return std::nullopt;
  std::string_view rest = body.substr(pos + key.size(), 200);
  const auto level = rest.find("STORK-QAA-Level-");
  if (level == std::string_view::npos || level > 40) return std::nullopt;
  return std::string(rest.substr(level, 17));
}

// The visible text of a page (tags, scripts and styles dropped, blanks
// collapsed), from SimpleSAMLphp's debug information on when it has some.
std::string page_text(std::string_view html) {
  std::string text;
  std::size_t i = 0;
  while (i < html.size()) {
    if (html[i] == '<') {
      for (const std::string_view block : {"script", "style"})
        if (html.substr(i + 1, block.size()) == block) {
          const auto close = html.find(fmt::format("</{}", block), i);
          i = close == std::string_view::npos ? html.size() : close;
          break;
        }
      const auto end = html.find('>', i);
      i = end == std::string_view::npos ? html.size() : end + 1;
      if (!text.empty() && text.back() != ' ') text += ' ';
      continue;
    }
    const char c = html[i++];
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
      if (!text.empty() && text.back() != ' ') text += ' ';
    } else {
      text += c;
    }
  }
  // The few entities SimpleSAMLphp's pages use in the parts that matter.
  for (const auto &[entity, plain] : {std::pair<std::string_view, std::string_view>{"&quot;", "\""},
                                      {"&#039;", "'"},
                                      {"&lt;", "<"},
                                      {"&gt;", ">"},
                                      {"&amp;", "&"}})
    for (auto pos = text.find(entity); pos != std::string::npos; pos = text.find(entity, pos + plain.size()))
      text.replace(pos, entity.size(), plain);
  for (const std::string_view marker : {"Caused by", "Debug information", "Your attributes"})
    if (const auto pos = text.find(marker); pos != std::string::npos) return text.substr(pos);
  return text;
}

std::string page_detail(const Page &page, std::size_t n = 1500) {
  return fmt::format("HTTP {} at {}: {}", page.status, shorten(page.url, 200),
                     shorten(page_text(page.body), n));
}

// SimpleSAMLphp's answer, kept in <dir>/out for a look after a failure.
void save_page(const Args &args, std::string_view what, const Page &page) {
  std::string name;
  for (const char c : what) name += (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ? c : '-';
  const std::string path = fmt::format("{}/out/ssp-page-{}.html", args.dir, name);
  if (std::FILE *out = std::fopen(path.c_str(), "wb")) {
    std::fwrite(page.body.data(), 1, page.body.size(), out);
    std::fclose(out);
  }
}

// ---- one login through the proxy ----

enum class Upstream { success, cancel };

struct Flow {
  std::string ssp_request_id; // SimpleSAMLphp's AuthnRequest ID
  std::string ssp_request_xml;
  ik::ReceivedAuthnRequest at_nrw; // the proxy's request as NRW received it
  std::string to_ssp_response;     // base64 SAMLResponse from the proxy to SimpleSAMLphp
  Page ssp_page;                   // SimpleSAMLphp's answer to that POST
};

// Browser at SimpleSAMLphp -> proxy SSO -> NRW -> proxy ACS -> SimpleSAMLphp ACS.
Flow run_flow(Browser &browser, World &w, const Args &args, Report &report, std::string_view as,
              Upstream upstream, std::string_view level, std::string_view what) {
  Flow f;

  // 1. SimpleSAMLphp sends the browser to the proxy's SSO URL.
  const Page start = browser.get(args.start_url(as), args.sso_url() + "?");
  if (!report.check(start.location.has_value(),
                    fmt::format("{}: SimpleSAMLphp ({}) redirects to the proxy's SSO URL", what, as),
                    page_detail(start, 1500)))
    throw Abort("no redirect to the proxy");
  ik::HttpRequest sso;
  sso.method = "GET";
  sso.path = "/proxy/sso";
  sso.raw_query = query_of(*start.location);
  sso.remote_addr = "127.0.0.1";
  const ik::RedirectMessage msg = ik::redirect_decode(sso.raw_query);
  f.ssp_request_xml = msg.xml;
  f.ssp_request_id = xml_attribute(msg.xml, "ID").value_or("");
  report.check(msg.sig_alg == std::optional<std::string>(ik::alg::rsa_sha256) && msg.signature.has_value(),
               fmt::format("{}: the AuthnRequest query is signed with RSA-SHA256", what),
               msg.sig_alg.value_or("unsigned"));
  if (as == kLevel3)
    report.check(contains(msg.xml, "RequestedAuthnContext") && contains(msg.xml, "Comparison=\"minimum\"") &&
                     contains(msg.xml, "STORK-QAA-Level-3"),
                 fmt::format("{}: SimpleSAMLphp asks for STORK-QAA-Level-3, Comparison=\"minimum\"", what),
                 shorten(msg.xml, 1500));

  // 2. The proxy takes the portal's request and starts the upstream login.
  const ik::HttpResponse to_nrw = w.proxy->handle(sso);
  const auto location = to_nrw.header("Location");
  if (!report.check(to_nrw.status == 302 && location && starts_with(*location, std::string(kNrwSso) + "?"),
                    fmt::format("{}: the proxy accepts the request and redirects to NRW", what),
                    fmt::format("status {}: {}", to_nrw.status, shorten(to_nrw.body, 600)))) {
    w.dump(report);
    throw Abort("the proxy did not start the upstream login");
  }
  const std::string proxy_cookies = cookie_header(to_nrw);
  report.check(!proxy_cookies.empty(),
               fmt::format("{}: the proxy binds the upstream login to the browser", what));

  ik::HttpRequest at_nrw;
  at_nrw.method = "GET";
  at_nrw.path = "/saml/sso";
  at_nrw.raw_query = query_of(*location);
  f.at_nrw = w.nrw->receive_authn_request(at_nrw);
  report.check(f.at_nrw.issuer == kProxySp, fmt::format("{}: NRW receives the proxy's signed request", what),
               f.at_nrw.issuer);
  if (as == kLevel3) {
    bool level3 = false;
    for (const auto &ref : f.at_nrw.requested_class_refs) level3 = level3 || ref == "STORK-QAA-Level-3";
    report.check(level3 && f.at_nrw.comparison == "minimum",
                 fmt::format("{}: the proxy passes the minimum STORK-QAA-Level-3 upstream", what),
                 shorten(f.at_nrw.xml, 1500));
  }

  // 3. NRW answers (or the citizen cancels there); the browser posts it to the proxy.
  const std::string nrw_xml =
      upstream == Upstream::success
          ? w.nrw->build_response(f.at_nrw, clara(level))
          : w.nrw->build_error_response(f.at_nrw, ik::status::responder, ik::status::authn_failed);
  const ik::HttpResponse nrw_form = w.nrw->post_response(f.at_nrw, nrw_xml);
  const auto nrw_action = form_action(nrw_form.body);
  const auto nrw_saml = input_value(nrw_form.body, "SAMLResponse");
  const auto nrw_relay = input_value(nrw_form.body, "RelayState");
  if (!report.check(nrw_form.status == 200 && nrw_saml &&
                        nrw_action == std::optional<std::string>(std::string(kProxySpBase) +
                                                                 std::string(kProxyAcsPath)),
                    fmt::format("{}: NRW's form posts to the proxy's ACS", what),
                    fmt::format("status {}, action {}", nrw_form.status, nrw_action.value_or("none"))))
    throw Abort("no usable form from NRW");

  ik::HttpRequest acs;
  acs.method = "POST";
  acs.path = std::string(kProxyAcsPath);
  acs.remote_addr = "127.0.0.1";
  acs.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  acs.headers.emplace_back("Cookie", proxy_cookies);
  std::vector<std::pair<std::string, std::string>> nrw_fields{{"SAMLResponse", *nrw_saml}};
  if (nrw_relay) nrw_fields.emplace_back("RelayState", *nrw_relay);
  acs.body = form_encode(nrw_fields);
  const ik::HttpResponse to_ssp = w.proxy->handle(acs);

  // 4. The proxy answers with an auto-submit form to SimpleSAMLphp's ACS.
  const auto action = form_action(to_ssp.body);
  const auto saml = input_value(to_ssp.body, "SAMLResponse");
  const auto relay = input_value(to_ssp.body, "RelayState");
  if (!report.check(to_ssp.status == 200 && saml && action == std::optional<std::string>(args.acs_url(as)),
                    fmt::format("{}: the proxy answers with a form to SimpleSAMLphp's ACS", what),
                    fmt::format("status {}, action {}: {}", to_ssp.status, action.value_or("none"),
                                shorten(to_ssp.body, 600)))) {
    w.dump(report);
    throw Abort("no usable form from the proxy");
  }
  report.check(w.pending->size() == 0, fmt::format("{}: the proxy's pending request is consumed", what));
  f.to_ssp_response = *saml;

  // 5. The browser posts it to SimpleSAMLphp.
  std::vector<std::pair<std::string, std::string>> fields{{"SAMLResponse", *saml}};
  if (relay) fields.emplace_back("RelayState", *relay);
  f.ssp_page = browser.post_form(*action, form_encode(fields));
  save_page(args, what, f.ssp_page);
  return f;
}

// interkonto's own SP checks the proxy's Response to SimpleSAMLphp too
// (decrypting with SimpleSAMLphp's key).
std::optional<ik::AuthnResult> own_check(const World &w, const Args &args, std::string_view as, const Flow &f,
                                         Report &report, std::string_view what) {
  ik::IdpSettings proxy_idp;
  proxy_idp.entity = ik::parse_metadata(w.proxy->idp().metadata_xml()).front();
  proxy_idp.require_encrypted_assertion = true;
  const std::string cert = args.dir + "/cert/";
  const ik::ResponseValidator validator(std::vector<ik::IdpSettings>{proxy_idp},
                                        {ik::load_credential(cert + "sp.key", cert + "sp.crt").key},
                                        std::make_shared<ik::InMemoryReplayCache>());
  ik::ResponseCheck check;
  check.sp_entity_id = args.sp_entity_id(as);
  check.acs_url = args.acs_url(as);
  check.in_response_to = f.ssp_request_id;
  check.now = ik::SystemClock().now();
  try {
    ik::AuthnResult r = validator.validate(f.to_ssp_response, check);
    report.check(r.was_encrypted && r.issuer == args.proxy_idp_entity_id(),
                 fmt::format("{}: interkonto's own SP accepts the proxy's encrypted Response too", what));
    return r;
  } catch (const ik::Error &e) {
    report.check(false, fmt::format("{}: interkonto's own SP accepts the proxy's Response", what),
                 error_text(e));
    return std::nullopt;
  }
}

// (a) Clara at Level 3, asked for at least Level 3: SimpleSAMLphp logs her
// in and shows what the release policy lets through.
void accepted(const Args &args, Report &report) {
  const std::string_view what = "accepted";
  Browser browser;
  World w = make_world(args, {fetch_sp(browser, args, kLevel3), fetch_sp(browser, args, kPlain)});
  report.check(true, "SimpleSAMLphp's SP metadata fetched and parsed (two portals)");
  const Flow f = run_flow(browser, w, args, report, kLevel3, Upstream::success, "STORK-QAA-Level-3", what);

  const std::string xml = ik::base64_decode(f.to_ssp_response);
  report.check(contains(xml, "EncryptedAssertion") && !contains(xml, ":Assertion ") &&
                   contains(xml, ik::alg::aes256_cbc) && contains(xml, ik::alg::rsa_oaep_mgf1p) &&
                   contains(xml, ik::alg::rsa_sha256) && !contains(xml, ik::alg::rsa_pss_sha256),
               fmt::format("{}: the proxy signs with RSA-SHA256 and encrypts with aes256-cbc/rsa-oaep-mgf1p "
                           "(per_sp options for SimpleSAMLphp 1.19)",
                           what),
               shorten(xml, 1500));
  const auto own = own_check(w, args, kLevel3, f, report, what);

  const Page &page = f.ssp_page;
  const bool ok = page.status == 200 && !is_error_page(page.body) &&
                  contains(page.url, "module.php/core/authenticate.php") && contains(page.body, kGivenName) &&
                  contains(page.body, "Clara");
  if (!report.check(ok, fmt::format("{}: SimpleSAMLphp accepts the proxy's assertion", what),
                    page_detail(page))) {
    w.dump(report);
    throw Abort("login failed");
  }
  report.check(contains(page.body, kGivenName) && contains(page.body, "Clara"),
               fmt::format("{}: SimpleSAMLphp shows givenName (urn:oid:2.5.4.42) = Clara", what));
  report.check(contains(page.body, kSurname) && contains(page.body, "Schmidt"),
               fmt::format("{}: SimpleSAMLphp shows surname (urn:oid:2.5.4.4) = Schmidt", what));
  report.check(contains(page.body, kTrustLevel),
               fmt::format("{}: SimpleSAMLphp shows trustLevel ({})", what, kTrustLevel));
  report.check(!contains(page.body, kBirthdate) && !contains(page.body, kBirthdateValue),
               fmt::format("{}: birthdate is withheld by the release policy", what), page_detail(page));
  const auto context = shown_authn_context(page.body);
  report.check(context == std::optional<std::string>("STORK-QAA-Level-3"),
               fmt::format("{}: SimpleSAMLphp records AuthnContext STORK-QAA-Level-3", what),
               context.value_or("none shown"));
  report.check(!contains(page.body, kUpstreamNameId),
               fmt::format("{}: NRW's NameID is not passed on to the portal", what));
  if (own) {
    report.check(!own->name_id.empty() && contains(page.body, own->name_id),
                 fmt::format("{}: SimpleSAMLphp shows the NameID the proxy issued", what),
                 fmt::format("NameID {}", own->name_id));
    const ik::SamlAttribute *trust = own->attribute(kTrustLevel);
    report.check(trust != nullptr && !trust->values.empty() && contains(page.body, trust->values.front()),
                 fmt::format("{}: SimpleSAMLphp shows the trust level value the proxy sent", what),
                 trust && !trust->values.empty() ? trust->values.front() : std::string("none sent"));
    report.check(
        own->attribute(kBirthdate) == nullptr && own->attribute(kGivenName) != nullptr &&
            own->authn_context_class_ref == std::optional<std::string>("STORK-QAA-Level-3"),
        fmt::format("{}: the assertion carries givenName, no birthdate, AuthnContext Level 3", what));
  }

  // The proxy's audit record: levels and the withheld name, no values.
  if (report.check(w.audit->size() == 1, fmt::format("{}: the proxy writes one audit record", what))) {
    const ik::ProxyAuditRecord &a = w.audit->front();
    const bool withheld = std::find(a.withheld.begin(), a.withheld.end(), "birthdate") != a.withheld.end();
    report.check(
        a.success && a.requested_level == 3 && a.delivered_level == 3 && a.issued_level == 3 && withheld,
        fmt::format("{}: audit: success, level 3 asked, delivered and issued, birthdate withheld", what),
        a.to_json());
  }

  // The session holds: the page again, without any SAML round trip.
  const Page again = browser.get(args.start_url(kLevel3), args.sso_url() + "?");
  report.check(!again.location && again.status == 200 && contains(again.body, "Clara") &&
                   !is_error_page(again.body),
               fmt::format("{}: SimpleSAMLphp keeps the session (no new AuthnRequest)", what));
}

// A failed login must not leave a session: the protected page starts a new one.
void check_not_logged_in(Browser &browser, const Args &args, std::string_view as, Report &report,
                         std::string_view what) {
  const Page again = browser.get(args.start_url(as), args.sso_url() + "?");
  report.check(
      again.location.has_value() && !contains(again.body, "Clara"),
      fmt::format("{}: SimpleSAMLphp has no session (it sends the browser to the proxy again)", what),
      page_detail(again, 1500));
}

void check_error(const Flow &f, std::string_view second_level, std::string_view name, Report &report,
                 std::string_view what) {
  const auto status = ik::response_status(f.to_ssp_response);
  report.check(status && status->code == ik::status::responder && status->second_level == second_level,
               fmt::format("{}: the proxy sends SimpleSAMLphp a Responder/{} error Response", what, name),
               status ? fmt::format("{} / {}", status->code, status->second_level)
                      : std::string("unreadable"));
  const std::string xml = ik::base64_decode(f.to_ssp_response);
  report.check(!contains(xml, "Assertion"), fmt::format("{}: the error Response carries no assertion", what));
  const Page &page = f.ssp_page;
  // SimpleSAMLphp 1.19 names the status as "Responder/<second-level code>".
  report.check(is_error_page(page.body) && contains(page.body, fmt::format("Responder/{}", name)) &&
                   !contains(page.body, "Clara"),
               fmt::format("{}: SimpleSAMLphp shows its error page naming Responder/{}", what, name),
               page_detail(page));
}

// (b) The citizen cancels at NRW: AuthnFailed reaches SimpleSAMLphp.
void cancelled(const Args &args, Report &report) {
  const std::string_view what = "cancelled";
  Browser browser;
  World w = make_world(args, {fetch_sp(browser, args, kLevel3), fetch_sp(browser, args, kPlain)});
  const Flow f = run_flow(browser, w, args, report, kPlain, Upstream::cancel, "STORK-QAA-Level-3", what);
  check_error(f, ik::status::authn_failed, "AuthnFailed", report, what);
  check_not_logged_in(browser, args, kPlain, report, what);
}

// (c) NRW delivers Level 2, SimpleSAMLphp asked for at least Level 3.
void level_too_low(const Args &args, Report &report) {
  const std::string_view what = "level too low";
  Browser browser;
  World w = make_world(args, {fetch_sp(browser, args, kLevel3), fetch_sp(browser, args, kPlain)});
  const Flow f = run_flow(browser, w, args, report, kLevel3, Upstream::success, "STORK-QAA-Level-2", what);
  check_error(f, ik::status::no_authn_context, "NoAuthnContext", report, what);
  if (report.check(w.audit->size() == 1, fmt::format("{}: the proxy writes one audit record", what))) {
    const ik::ProxyAuditRecord &a = w.audit->front();
    // (delivered_level stays empty: the proxy's SP side already refuses
    // the upstream Response below the minimum it forwarded.)
    report.check(!a.success && a.requested_level == 3 && !a.issued_level &&
                     contains(a.portal_status, "NoAuthnContext"),
                 fmt::format("{}: audit: failure, level 3 asked, none issued, NoAuthnContext sent", what),
                 a.to_json());
  }
  check_not_logged_in(browser, args, kLevel3, report, what);
}

// (d) A portal that asks for no level gets NRW's Level 2 as it is: the
// proxy never raises the level.
void level_passed_through(const Args &args, Report &report) {
  const std::string_view what = "level 2";
  Browser browser;
  World w = make_world(args, {fetch_sp(browser, args, kLevel3), fetch_sp(browser, args, kPlain)});
  const Flow f = run_flow(browser, w, args, report, kPlain, Upstream::success, "STORK-QAA-Level-2", what);
  const Page &page = f.ssp_page;
  if (!report.check(page.status == 200 && !is_error_page(page.body) && contains(page.body, "Clara"),
                    fmt::format("{}: SimpleSAMLphp ({}) accepts the proxy's assertion", what, kPlain),
                    page_detail(page))) {
    w.dump(report);
    return;
  }
  const auto context = shown_authn_context(page.body);
  report.check(context == std::optional<std::string>("STORK-QAA-Level-2"),
               fmt::format("{}: SimpleSAMLphp records AuthnContext STORK-QAA-Level-2 (not raised)", what),
               context.value_or("none shown"));
  report.check(!contains(page.body, "STORK-QAA-Level-3") && !contains(page.body, kBirthdateValue),
               fmt::format("{}: no Level 3 anywhere, no birthdate", what), page_detail(page));
}

int run(const Args &args) {
  if (args.mode == "metadata") {
    const World w = make_world(args, {});
    fmt::print("{}\n", w.proxy->idp().metadata_xml());
    return 0;
  }
  Report report("ssp-sp-proxy");
  return run_steps<Args>(args, report, {accepted, cancelled, level_too_low, level_passed_through});
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
                 "usage: %s metadata <proxy base URL> <dir> | login <ssp base URL> <proxy base URL> <dir>\n",
                 argc > 0 ? argv[0] : "ssp_proxy_interop_driver");
    return 2;
  }
  if (!starts_with(args.ssp_base, "http://127.0.0.1:") ||
      !starts_with(args.proxy_base, "http://127.0.0.1:")) {
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
