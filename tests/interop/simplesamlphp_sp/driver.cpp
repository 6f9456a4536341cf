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
#include "interkonto/crypto.hpp"
#include "interkonto/error.hpp"
#include "interkonto/http.hpp"
#include "interkonto/idp.hpp"
#include "interkonto/metadata.hpp"

namespace {

namespace ik = interkonto;

constexpr int max_redirects = 10;

struct ExpectedAttribute {
  std::string_view name;
  std::string_view value;
};
constexpr ExpectedAttribute expected_attributes[] = {
    {"urn:oid:2.5.4.42", "Clara"},
    {"urn:oid:2.5.4.4", "Schmidt"},
    {"urn:oid:1.2.40.0.10.2.1.1.55", "1990-04-12"},
    {"urn:oid:2.5.4.7", "D\xC3\xBC"
                        "sseldorf"},
    {"urn:oid:1.2.40.0.10.2.1.1.261.94", "STORK-QAA-Level-3"},
};

// ---- reporting ----

class Report {
public:
  explicit Report(std::string scenario) : scenario_(std::move(scenario)) {}

  bool check(bool ok, std::string_view what, std::string_view detail = {}) {
    if (ok) {
      ++passed_;
      fmt::print("PASS {}: {}\n", scenario_, what);
    } else {
      ++failed_;
      if (detail.empty())
        fmt::print("FAIL {}: {}\n", scenario_, what);
      else
        fmt::print("FAIL {}: {}: {}\n", scenario_, what, detail);
    }
    std::fflush(stdout);
    return ok;
  }
  void note(std::string_view text) const {
    fmt::print("  {}: {}\n", scenario_, text);
    std::fflush(stdout);
  }
  int failed() const { return failed_; }

private:
  std::string scenario_;
  int passed_ = 0;
  int failed_ = 0;
};

// A check whose failure makes the rest of the flow meaningless.
struct Abort : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string shorten(std::string_view s, std::size_t n = 600) {
  if (s.size() <= n) return std::string(s);
  return std::string(s.substr(0, n)) + "...";
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}
bool contains(std::string_view s, std::string_view part) {
  return s.find(part) != std::string_view::npos;
}

// ---- a small browser on libcurl ----

struct CurlGlobal {
  CurlGlobal() {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
      throw std::runtime_error("curl_global_init failed");
  }
  ~CurlGlobal() { curl_global_cleanup(); }
  CurlGlobal(const CurlGlobal &) = delete;
  CurlGlobal &operator=(const CurlGlobal &) = delete;
};

struct CurlDeleter {
  void operator()(CURL *c) const noexcept { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist *l) const noexcept { curl_slist_free_all(l); }
};

std::size_t append_body(char *data, std::size_t size, std::size_t count, void *user_data) {
  auto *out = static_cast<std::string *>(user_data);
  const std::size_t n = size * count;
  constexpr std::size_t limit = 4 * 1024 * 1024;
  if (out->size() + n > limit) return 0; // aborts the transfer
  out->append(data, n);
  return n;
}

struct Page {
  long status = 0;
  std::string url; // after redirects
  std::string body;
  std::optional<std::string> location; // a redirect not followed (stop_at)
};

class Browser {
public:
  Browser() : curl_(curl_easy_init()) {
    if (!curl_) throw std::runtime_error("curl_easy_init failed");
    CURL *c = curl_.get();
    set(curl_easy_setopt(c, CURLOPT_COOKIEFILE, "")); // in-memory cookie jar
    set(curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L));
    set(curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L));
    set(curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L)); // redirects are followed here, checked
    set(curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http"));
    set(curl_easy_setopt(c, CURLOPT_PROXY, ""));
    set(curl_easy_setopt(c, CURLOPT_NOPROXY, "*"));
    set(curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L));
    set(curl_easy_setopt(c, CURLOPT_USERAGENT, "interkonto-interop-driver"));
    set(curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, append_body));
  }

  // Redirects to a URL starting with `stop_at` are not followed: the page
  // is returned with `location` set (our IdP does not listen on its port).
  Page get(std::string url, std::string_view stop_at = {}) {
    return run(std::move(url), std::nullopt, stop_at);
  }
  Page post_form(std::string url, std::string body, std::string_view stop_at = {}) {
    return run(std::move(url), std::move(body), stop_at);
  }

private:
  static void set(CURLcode rc) {
    if (rc != CURLE_OK) throw std::runtime_error(fmt::format("curl_easy_setopt: {}", curl_easy_strerror(rc)));
  }

  static void require_loopback(std::string_view url) {
    if (!starts_with(url, "http://127.0.0.1:"))
      throw Abort(fmt::format("refusing to leave loopback: {}", shorten(url, 200)));
  }

  Page run(std::string url, std::optional<std::string> post_body, std::string_view stop_at) {
    CURL *c = curl_.get();
    for (int hop = 0; hop <= max_redirects; ++hop) {
      require_loopback(url);
      Page page;
      std::unique_ptr<curl_slist, SlistDeleter> headers;
      set(curl_easy_setopt(c, CURLOPT_URL, url.c_str()));
      set(curl_easy_setopt(c, CURLOPT_WRITEDATA, &page.body));
      if (post_body) {
        headers.reset(curl_slist_append(nullptr, "Content-Type: application/x-www-form-urlencoded"));
        set(curl_easy_setopt(c, CURLOPT_POSTFIELDS, post_body->c_str()));
        set(curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(post_body->size())));
        set(curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get()));
      } else {
        set(curl_easy_setopt(c, CURLOPT_HTTPGET, 1L));
        set(curl_easy_setopt(c, CURLOPT_HTTPHEADER, static_cast<curl_slist *>(nullptr)));
      }
      const CURLcode rc = curl_easy_perform(c);
      set(curl_easy_setopt(c, CURLOPT_HTTPHEADER, static_cast<curl_slist *>(nullptr)));
      if (rc != CURLE_OK)
        throw Abort(fmt::format("HTTP {} failed: {}", shorten(url, 200), curl_easy_strerror(rc)));
      set(curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &page.status));
      page.url = url;
      if (page.status == 301 || page.status == 302 || page.status == 303 || page.status == 307) {
        char *next = nullptr;
        set(curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &next));
        if (next == nullptr) throw Abort(fmt::format("redirect without Location from {}", shorten(url, 200)));
        url = next;
        if (!stop_at.empty() && starts_with(url, stop_at)) {
          page.location = url;
          return page;
        }
        if (page.status != 307) post_body.reset();
        continue;
      }
      return page;
    }
    throw Abort("too many redirects");
  }

  std::unique_ptr<CURL, CurlDeleter> curl_;
};

// ---- just enough HTML for SimpleSAMLphp's two forms ----

std::string html_unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out += s[i];
      continue;
    }
    const std::size_t semi = s.find(';', i);
    if (semi == std::string_view::npos || semi - i > 10) {
      out += s[i];
      continue;
    }
    const std::string_view entity = s.substr(i + 1, semi - i - 1);
    unsigned long code = 0;
    bool numeric = false;
    if (entity == "amp") {
      out += '&';
    } else if (entity == "lt") {
      out += '<';
    } else if (entity == "gt") {
      out += '>';
    } else if (entity == "quot") {
      out += '"';
    } else if (entity == "apos") {
      out += '\'';
    } else if (starts_with(entity, "#x") || starts_with(entity, "#X")) {
      code = std::stoul(std::string(entity.substr(2)), nullptr, 16);
      numeric = true;
    } else if (starts_with(entity, "#")) {
      code = std::stoul(std::string(entity.substr(1)), nullptr, 10);
      numeric = true;
    } else {
      out += s[i];
      continue;
    }
    if (numeric) {
      if (code >= 0x80) throw Abort("non-ASCII numeric character reference in form");
      out += static_cast<char>(code);
    }
    i = semi;
  }
  return out;
}

// Value of attribute `name` in a start tag (text between '<' and '>').
std::optional<std::string> tag_attribute(std::string_view tag, std::string_view name) {
  std::size_t pos = 0;
  while ((pos = tag.find(name, pos)) != std::string_view::npos) {
    const bool boundary = pos > 0 && (tag[pos - 1] == ' ' || tag[pos - 1] == '\t' || tag[pos - 1] == '\n');
    std::size_t p = pos + name.size();
    pos = p;
    if (!boundary) continue;
    while (p < tag.size() && tag[p] == ' ') ++p;
    if (p >= tag.size() || tag[p] != '=') continue;
    ++p;
    while (p < tag.size() && tag[p] == ' ') ++p;
    if (p >= tag.size() || (tag[p] != '"' && tag[p] != '\'')) continue;
    const char quote = tag[p];
    const std::size_t end = tag.find(quote, p + 1);
    if (end == std::string_view::npos) return std::nullopt;
    return html_unescape(tag.substr(p + 1, end - p - 1));
  }
  return std::nullopt;
}

std::vector<std::string_view> start_tags(std::string_view html, std::string_view element) {
  std::vector<std::string_view> tags;
  const std::string open = fmt::format("<{}", element);
  std::size_t pos = 0;
  while ((pos = html.find(open, pos)) != std::string_view::npos) {
    const std::size_t end = html.find('>', pos);
    if (end == std::string_view::npos) break;
    const char after = html[pos + open.size()];
    if (after == ' ' || after == '\t' || after == '\n' || after == '>' || after == '/')
      tags.push_back(html.substr(pos, end - pos));
    pos = end;
  }
  return tags;
}

std::optional<std::string> input_value(std::string_view html, std::string_view name) {
  for (const auto tag : start_tags(html, "input"))
    if (tag_attribute(tag, "name") == std::optional<std::string>(name)) return tag_attribute(tag, "value");
  return std::nullopt;
}

std::optional<std::string> form_action(std::string_view html) {
  const auto forms = start_tags(html, "form");
  if (forms.empty()) return std::nullopt;
  return tag_attribute(forms.front(), "action");
}

std::string form_encode(const std::vector<std::pair<std::string, std::string>> &fields) {
  std::string out;
  for (const auto &[name, value] : fields) {
    if (!out.empty()) out += '&';
    out += ik::url_encode(name);
    out += '=';
    out += ik::url_encode(value);
  }
  return out;
}

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

std::string error_text(const ik::Error &e) {
  return fmt::format("{} ({})", ik::to_string(e.code()), e.detail());
}

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
  using Step = void (*)(const Args &, Report &);
  for (const Step step : {Step{login}, Step{foreign_signer}, Step{unencrypted}}) {
    try {
      step(args, report);
    } catch (const Abort &e) {
      report.check(false, "flow aborted", e.what());
    } catch (const ik::Error &e) {
      report.check(false, "interkonto error", error_text(e));
    } catch (const std::exception &e) {
      report.check(false, "exception", e.what());
    }
  }
  return report.failed() == 0 ? 0 : 1;
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
