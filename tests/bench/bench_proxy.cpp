// SPDX-License-Identifier: EUPL-1.2
// bench_proxy: CPU time of one complete proxy login on one core, in-process,
// with RSA-3072 keys: portal request -> upstream request, upstream response
// -> portal response. Compared in the same run with the floor of its
// unavoidable public-key operations done directly with OpenSSL EVP. Prints
// numbers and ratios only; no pass/fail threshold (compare within one run).
// See tests/bench/README.md.
//
// The world (like tests/unit/test_proxy.cpp):
//   portal (ServiceProvider) -> Proxy (IdP toward the portal, SP toward NRW)
//   -> upstream IdentityProvider "NRW", all keys RSA-3072.
// Measured per login: proxy.handle(SSO request) + proxy.handle(ACS POST),
// thread CPU time. The portal's request and NRW's response are made per
// login (IDs are single-use) outside the measured region.
//
// Floor per login (EVP contexts set up once, one operation each):
//   sso: sign the upstream AuthnRequest (Redirect query signature),
//        verify the portal's request signature
//   acs: RSA-OAEP decrypt the upstream content key, verify the upstream
//        assertion (RSASSA-PSS), sign the portal's assertion (RSASSA-PSS),
//        RSA-OAEP encrypt the portal's content key

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <sched.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "interkonto/attributes.hpp"
#include "interkonto/bindings.hpp"
#include "interkonto/crypto.hpp"
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

namespace {

using namespace interkonto;

// ---------------------------------------------------------------- options

struct Options {
  int rounds = 7;
  int logins = 150; // per variant and round
  int split_logins = 150;
  int cpu = 0; // -1: do not pin
  bool schema_off = true;
  std::string request_sig = "rsa-sha256"; // or "pss": portal and proxy AuthnRequest signatures
  std::string only;                       // proxy-on | proxy-off | floor: one variant (profilers)
};

[[noreturn]] void usage(int rc) {
  std::fputs("usage: bench_proxy [--rounds N] [--logins N] [--split-logins N] [--cpu C|-1]\n"
             "                   [--request-sig rsa-sha256|pss] [--no-schema-off] [--quick]\n"
             "                   [--only proxy-on|proxy-off|floor]\n"
             "Prints CPU microseconds per proxy login (median of interleaved rounds), the\n"
             "OpenSSL floor of its public-key operations, and the ratios.\n",
             rc == 0 ? stdout : stderr);
  std::exit(rc);
}

Options parse_options(int argc, char **argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(2);
      return argv[++i];
    };
    if (a == "--rounds")
      o.rounds = std::max(1, std::stoi(value()));
    else if (a == "--logins")
      o.logins = std::max(1, std::stoi(value()));
    else if (a == "--split-logins")
      o.split_logins = std::max(0, std::stoi(value()));
    else if (a == "--cpu")
      o.cpu = std::stoi(value());
    else if (a == "--request-sig") {
      o.request_sig = value();
      if (o.request_sig != "rsa-sha256" && o.request_sig != "pss") usage(2);
    } else if (a == "--no-schema-off")
      o.schema_off = false;
    else if (a == "--only") {
      o.only = value();
      if (o.only != "proxy-on" && o.only != "proxy-off" && o.only != "floor") usage(2);
    } else if (a == "--quick") {
      o.rounds = 2;
      o.logins = 15;
      o.split_logins = 15;
    } else if (a == "--help" || a == "-h")
      usage(0);
    else {
      std::fprintf(stderr, "bench_proxy: unknown option %s\n", a.c_str());
      usage(2);
    }
  }
  return o;
}

void pin_cpu(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(static_cast<std::size_t>(cpu), &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0)
    throw std::runtime_error(fmt::format("sched_setaffinity(CPU {}) failed: {}", cpu, std::strerror(errno)));
}

// ---------------------------------------------------------------- timing

double thread_cpu_us() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) * 1e-3;
}

double wall_us() {
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// CPU (and wall) microseconds of one call.
template <class F> auto timed(double &cpu_acc, double &wall_acc, F &&fn) {
  const double w0 = wall_us();
  const double c0 = thread_cpu_us();
  auto r = fn();
  cpu_acc += thread_cpu_us() - c0;
  wall_acc += wall_us() - w0;
  return r;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

void require(bool ok, const std::string &what) {
  if (!ok) throw std::runtime_error(what);
}

// ---------------------------------------------------------------- HTML / HTTP helpers

using test::cookie_header;
using test::form_action;
using test::form_value;
using test::get_request;
using test::post_form;
using test::query_of;

// ---------------------------------------------------------------- the world

// tests/unit/proxy_world.hpp, with RSA-3072 keys and this file's release policy.
using test::proxy_world::idp_entity;
using test::proxy_world::kNrw;
using test::proxy_world::kNrwSso;
using test::proxy_world::kPortal;
using test::proxy_world::kPortalBase;
using test::proxy_world::kProxyAcsPath;
using test::proxy_world::kProxyBase;
using test::proxy_world::kProxyIdp;
using test::proxy_world::kProxySp;
using test::proxy_world::kProxySso;
using test::proxy_world::portal_config;
using test::proxy_world::proxy_config;

constexpr unsigned kBits = 3072;

// Servicekonto: the portal may see name, birth date, address, mail, trust
// level and login method; place of birth, bPK2 and the Postfach handle are
// withheld.
constexpr const char *kAttributeMap = R"(
profiles: [servicekonto]
release:
  "https://portal.thueringen.example/sp":
    allow: [givenName, surname, birthdate, postalAddress, postalCode, localityName, country, mail,
            trustLevel, authMethod]
    require: [givenName, surname]
)";

struct Keys {
  Credential nrw;          // NRW signs its assertions
  Credential proxy_idp;    // the proxy signs the portal's assertions
  Credential proxy_sp;     // the proxy signs its upstream AuthnRequests
  Credential proxy_sp_enc; // NRW encrypts for the proxy
  Credential portal;       // the portal signs its AuthnRequests
  Credential portal_enc;   // the proxy encrypts for the portal
};

Keys make_keys() {
  auto c = [](int i, const char *cn) { return test::self_signed_cert(test::rsa_key(kBits, i), cn); };
  return Keys{c(0, "idp.nrw.example"),
              c(1, "sk.thueringen.example idp"),
              c(2, "sk.thueringen.example sp signing"),
              c(3, "sk.thueringen.example sp encryption"),
              c(4, "portal.thueringen.example signing"),
              c(5, "portal.thueringen.example encryption")};
}

std::string request_sig_uri(const Options &opt) {
  return std::string(opt.request_sig == "pss" ? alg::rsa_pss_sha256 : alg::rsa_sha256);
}

IdpConfig idp_config(const char *entity, const char *sso, const Credential &signing) {
  IdpConfig c = test::idp_config(entity, sso, signing);
  // Sign the assertion with RSASSA-PSS, encrypt it (AES-256-GCM, xmlenc11 rsa-oaep).
  c.default_response.signature_method = std::string(alg::rsa_pss_sha256);
  c.default_response.sign_assertion = true;
  c.default_response.encrypt_assertion = true;
  c.default_response.data_encryption = std::string(alg::aes256_gcm);
  c.default_response.key_transport = std::string(alg::rsa_oaep);
  return c;
}

AuthenticatedSubject clara() {
  AuthenticatedSubject s;
  s.name_id = "AAdzZWNyZXQxMjM0NTY3ODkw";
  s.name_id_format = std::string(nameid::persistent);
  s.authn_context_class_ref = "STORK-QAA-Level-3";
  s.session_index = "_nrw-session-1";
  s.attributes = {
      {"urn:oid:2.5.4.42", {"Clara"}, "givenName", ""},
      {"urn:oid:2.5.4.4", {"Schmidt"}, "surname", ""},
      {"urn:oid:1.2.40.0.10.2.1.1.55", {"1984-03-17"}, "birthdate", ""},
      {"urn:oid:1.3.6.1.5.5.7.9.2", {"Köln"}, "placeOfBirth", ""},
      {"urn:oid:2.5.4.16", {"Königsallee 12"}, "postalAddress", ""},
      {"urn:oid:2.5.4.17", {"40212"}, "postalCode", ""},
      {"urn:oid:2.5.4.7", {"Düsseldorf"}, "localityName", ""},
      {"urn:oid:1.2.40.0.10.2.1.1.225599", {"D"}, "country", ""},
      {"urn:oid:0.9.2342.19200300.100.1.3", {"clara.schmidt@example.de"}, "mail", ""},
      {"urn:oid:1.3.6.1.4.1.25484.494450.3", {"Qm9yZ2VyLVBLMi1kZXItQ2xhcmEtU2NobWlkdC0xOTg0"}, "bPK2", ""},
      {"urn:oid:1.2.40.0.10.2.1.1.261.94", {"STORK-QAA-Level-3"}, "trustLevel", ""},
      {"urn:oid:1.3.6.1.4.1.25484.494450.2", {"eID"}, "authMethod", ""},
      {"urn:oid:2.5.4.18", {"6f1c2e9a-3b7d-4c52-9e0a-7d4b2f8c1a63"}, "mailboxHandle", ""},
  };
  return s;
}

struct World {
  bool schema = true;
  AttributeMap attributes = AttributeMap::from_yaml(kAttributeMap);
  std::unique_ptr<ServiceProvider> portal;
  std::unique_ptr<Proxy> proxy;
  std::unique_ptr<IdentityProvider> nrw;
  std::shared_ptr<InMemoryPendingStore> pending = std::make_shared<InMemoryPendingStore>();
  AuthenticatedSubject subject = clara();
  std::size_t upstream_bytes = 0, portal_bytes = 0; // Response XML sizes (check_world)

  World(const Keys &k, const Options &opt, bool schema_validation) : schema(schema_validation) {
    // Real clocks: the replay caches and trackers expire their entries.
    const EntityPtr nrw_entity = idp_entity(idp_config(kNrw, kNrwSso, k.nrw));
    const EntityPtr proxy_idp_entity = idp_entity(idp_config(kProxyIdp, kProxySso, k.proxy_idp));

    SpConfig pc = portal_config(k.portal, proxy_idp_entity);
    pc.decryption = {k.portal_enc}; // published as the encryption certificate
    IdpSettings &to_proxy = pc.idps.front();
    to_proxy.authn_request_binding = std::string(binding::redirect);
    to_proxy.authn_request_signature_method = request_sig_uri(opt);
    to_proxy.require_encrypted_assertion = true;
    pc.min_trust_level = 3;
    portal = std::make_unique<ServiceProvider>(pc, std::make_shared<InMemorySessionStore>(),
                                               std::make_shared<InMemoryRequestTracker>(),
                                               std::make_shared<InMemoryReplayCache>());

    ProxyConfig c =
        proxy_config(idp_config(kProxyIdp, kProxySso, k.proxy_idp),
                     parse_metadata(portal->metadata_xml()).front(), k.proxy_sp, nrw_entity, attributes);
    c.sso_path = "/proxy/sso";
    c.sp.decryption = {k.proxy_sp_enc};
    c.sp.schema_validation = schema_validation;
    IdpSettings &upstream = c.sp.idps.front();
    upstream.authn_request_binding = std::string(binding::redirect);
    upstream.authn_request_signature_method = request_sig_uri(opt);
    upstream.require_encrypted_assertion = true;
    proxy = std::make_unique<Proxy>(c, pending, std::make_shared<InMemorySessionStore>(),
                                    std::make_shared<InMemoryRequestTracker>(),
                                    std::make_shared<InMemoryReplayCache>());

    IdpConfig nc = idp_config(kNrw, kNrwSso, k.nrw);
    nc.sps = {parse_metadata(proxy->sp().metadata_xml()).front()};
    nrw = std::make_unique<IdentityProvider>(nc);
  }

  // The portal's AuthnRequest, as the browser brings it to the proxy's SSO URL.
  struct PortalStart {
    HttpRequest sso;
    std::string cookies;
  };
  PortalStart portal_start() const {
    LoginOptions lo;
    lo.return_to = "/bauvoranfrage";
    const HttpResponse start = portal->start_login(lo);
    require(start.status == 302, "portal: start_login is not a 302");
    const auto loc = start.header("Location");
    require(loc && loc->starts_with(std::string(kProxySso) + "?"), "portal: not redirected to the proxy");
    return {get_request("/proxy/sso", query_of(*loc)), cookie_header(start)};
  }

  // NRW answers the proxy's upstream request (302 from the proxy's SSO).
  HttpRequest nrw_answer(const HttpResponse &to_nrw) const {
    const auto loc = to_nrw.header("Location");
    require(to_nrw.status == 302 && loc && loc->starts_with(std::string(kNrwSso) + "?"),
            fmt::format("proxy SSO: expected a 302 to NRW, got {}: {}", to_nrw.status,
                        to_nrw.body.substr(0, 200)));
    const ReceivedAuthnRequest rec = nrw->receive_authn_request(get_request("/saml/sso", query_of(*loc)));
    const HttpResponse page = nrw->post_response(rec, nrw->build_response(rec, subject));
    require(page.status == 200, "NRW: post_response is not a 200");
    const auto saml = form_value(page.body, "SAMLResponse");
    const auto rs = form_value(page.body, "RelayState");
    require(saml.has_value(), "NRW: no SAMLResponse");
    return post_form(kProxyAcsPath, *saml, rs.value_or(""), cookie_header(to_nrw));
  }
};

// The proxy's ACS answer must be a 200 POST form to the portal's ACS
// carrying a successful Response with an encrypted assertion.
void check_portal_answer(const HttpResponse &r) {
  require(r.status == 200, fmt::format("proxy ACS: status {}: {}", r.status, r.body.substr(0, 200)));
  require(form_action(r.body) == std::optional<std::string>(std::string(kPortalBase) + "/saml/acs"),
          "proxy ACS: the form does not post to the portal's ACS");
  const auto saml = form_value(r.body, "SAMLResponse");
  require(saml.has_value(), "proxy ACS: no SAMLResponse");
  const std::string xml = base64_decode(*saml);
  require(xml.find("EncryptedAssertion") != std::string::npos &&
              xml.find("urn:oasis:names:tc:SAML:2.0:status:Success") != std::string::npos,
          "proxy ACS: not a successful Response with an encrypted assertion");
}

// One complete login through to the portal, checked in detail (once per world).
void check_world(World &w) {
  const World::PortalStart ps = w.portal_start();
  const HttpResponse to_nrw = w.proxy->handle(ps.sso);
  const HttpRequest acs = w.nrw_answer(to_nrw);
  const std::string upstream_xml = base64_decode(*acs.form_param("SAMLResponse"));
  require(upstream_xml.find("EncryptedAssertion") != std::string::npos &&
              upstream_xml.find(std::string(alg::rsa_oaep)) != std::string::npos &&
              upstream_xml.find(std::string(alg::aes256_gcm)) != std::string::npos,
          "NRW's response is not encrypted with aes256-gcm + xmlenc11 rsa-oaep");
  const HttpResponse answer = w.proxy->handle(acs);
  check_portal_answer(answer);
  const std::string portal_xml = base64_decode(*form_value(answer.body, "SAMLResponse"));
  w.upstream_bytes = upstream_xml.size();
  w.portal_bytes = portal_xml.size();
  require(portal_xml.find(std::string(alg::rsa_oaep)) != std::string::npos &&
              portal_xml.find(std::string(alg::aes256_gcm)) != std::string::npos,
          "the proxy's response is not encrypted with aes256-gcm + xmlenc11 rsa-oaep");
  const AcsOutcome out =
      w.portal->handle_acs(post_form("/saml/acs", *form_value(answer.body, "SAMLResponse"),
                                     form_value(answer.body, "RelayState").value_or(""), ps.cookies));
  require(!out.error, out.error ? fmt::format("portal refused the proxy's response: {}: {}",
                                              to_string(out.error->code()), out.error->detail())
                                : std::string());
  require(out.result && out.session, "portal: no result");
  require(out.result->was_encrypted, "portal: assertion was not encrypted");
  require(out.result->issuer == kProxyIdp, "portal: wrong issuer");
  require(effective_trust_level(*out.result) == 3, "portal: trust level is not 3");
  const auto *given = out.result->attribute("urn:oid:2.5.4.42");
  require(given && given->values == std::vector<std::string>{"Clara"}, "portal: givenName missing");
  const auto *country = out.result->attribute("urn:oid:1.2.40.0.10.2.1.1.225599");
  require(country && country->values == std::vector<std::string>{"DE"}, "portal: country not normalised");
  require(out.result->attribute("urn:oid:1.3.6.1.5.5.7.9.2") == nullptr, "portal: placeOfBirth released");
  require(out.result->attribute("urn:oid:1.3.6.1.4.1.25484.494450.3") == nullptr, "portal: bPK2 released");
  require(out.result->attribute("urn:oid:2.5.4.18") == nullptr, "portal: mailboxHandle released");
  require(w.pending->size() == 0, "proxy: pending request not consumed");
}

// ---------------------------------------------------------------- proxy variant

struct ProxySample {
  int n = 0;
  double sso_cpu = 0, acs_cpu = 0, sso_wall = 0, acs_wall = 0; // sums, µs
  double sso() const { return sso_cpu / n; }
  double acs() const { return acs_cpu / n; }
  double total() const { return (sso_cpu + acs_cpu) / n; }
  double wall() const { return (sso_wall + acs_wall) / n; }
};

ProxySample run_proxy(const World &w, int n) {
  ProxySample s;
  for (int i = 0; i < n; ++i) {
    const World::PortalStart ps = w.portal_start();
    const HttpResponse to_nrw = timed(s.sso_cpu, s.sso_wall, [&] { return w.proxy->handle(ps.sso); });
    const HttpRequest acs = w.nrw_answer(to_nrw);
    const HttpResponse answer = timed(s.acs_cpu, s.acs_wall, [&] { return w.proxy->handle(acs); });
    check_portal_answer(answer);
    ++s.n;
  }
  return s;
}

// ---------------------------------------------------------------- the floor

struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX *p) const noexcept { EVP_PKEY_CTX_free(p); }
};
using CtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;

enum class Pad { pkcs1, pss, oaep };

CtxPtr make_ctx(EVP_PKEY *key, int (*init)(EVP_PKEY_CTX *), Pad pad) {
  CtxPtr ctx{EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr)};
  bool ok = ctx && init(ctx.get()) == 1;
  if (ok && pad == Pad::oaep)
    ok = EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) > 0 &&
         EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), EVP_sha256()) > 0 &&
         EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), EVP_sha256()) > 0;
  else if (ok && pad == Pad::pss)
    ok = EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256()) > 0 &&
         EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PSS_PADDING) > 0 &&
         EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), EVP_sha256()) > 0 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), 32) > 0;
  else if (ok)
    ok = EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256()) > 0 &&
         EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) > 0;
  if (!ok) throw std::runtime_error("EVP_PKEY_CTX setup failed");
  return ctx;
}

// The six public-key operations of one proxied login, each with its own
// context set up once, the same keys and parameters as the proxy's.
class Floor {
public:
  static constexpr std::size_t kOps = 6;
  static constexpr std::array<const char *, kOps> kNames = {
      "sign upstream AuthnRequest",      "verify portal's AuthnRequest", "RSA-OAEP decrypt upstream key",
      "verify upstream assertion (PSS)", "sign portal assertion (PSS)",  "RSA-OAEP encrypt portal key"};
  static constexpr std::size_t kSsoOps = 2; // the first two belong to the SSO part

  Floor(const Keys &k, const Options &opt) {
    const Pad req = opt.request_sig == "pss" ? Pad::pss : Pad::pkcs1;
    for (std::size_t i = 0; i < digest_.size(); ++i) digest_[i] = static_cast<unsigned char>(i * 7 + 1);
    for (std::size_t i = 0; i < content_key_.size(); ++i)
      content_key_[i] = static_cast<unsigned char>(i * 13 + 5);
    sign_up_ = make_ctx(k.proxy_sp.key.native(), EVP_PKEY_sign_init, req);
    const PublicKey portal_pub = k.portal.certificate->public_key();
    verify_portal_ = make_ctx(portal_pub.native(), EVP_PKEY_verify_init, req);
    decrypt_up_ = make_ctx(k.proxy_sp_enc.key.native(), EVP_PKEY_decrypt_init, Pad::oaep);
    const PublicKey nrw_pub = k.nrw.certificate->public_key();
    verify_up_ = make_ctx(nrw_pub.native(), EVP_PKEY_verify_init, Pad::pss);
    sign_portal_ = make_ctx(k.proxy_idp.key.native(), EVP_PKEY_sign_init, Pad::pss);
    const PublicKey portal_enc_pub = k.portal_enc.certificate->public_key();
    encrypt_portal_ = make_ctx(portal_enc_pub.native(), EVP_PKEY_encrypt_init, Pad::oaep);

    // What the verifications and the decryption work on: made with the other halves.
    portal_sig_ = sign_with(k.portal.key.native(), req);
    nrw_sig_ = sign_with(k.nrw.key.native(), Pad::pss);
    CtxPtr enc =
        make_ctx(k.proxy_sp_enc.certificate->public_key().native(), EVP_PKEY_encrypt_init, Pad::oaep);
    std::size_t len = buf_.size();
    if (EVP_PKEY_encrypt(enc.get(), buf_.data(), &len, content_key_.data(), content_key_.size()) != 1)
      throw std::runtime_error("OAEP encrypt failed");
    upstream_ct_.assign(buf_.data(), buf_.data() + len);
    run_once(nullptr); // and check that every operation succeeds
  }

  // Runs the six operations; adds each one's CPU µs to times (if given).
  void run_once(std::array<double, kOps> *times) {
    std::size_t op = 0;
    auto step = [&](const char *what, auto &&fn) {
      const double c0 = times ? thread_cpu_us() : 0;
      if (!fn()) throw std::runtime_error(std::string("floor: ") + what + " failed");
      if (times) (*times)[op] += thread_cpu_us() - c0;
      ++op;
    };
    std::size_t len = 0;
    step(kNames[0], [&] {
      len = buf_.size();
      return EVP_PKEY_sign(sign_up_.get(), buf_.data(), &len, digest_.data(), digest_.size()) == 1;
    });
    step(kNames[1], [&] {
      return EVP_PKEY_verify(verify_portal_.get(), portal_sig_.data(), portal_sig_.size(), digest_.data(),
                             digest_.size()) == 1;
    });
    step(kNames[2], [&] {
      len = buf_.size();
      return EVP_PKEY_decrypt(decrypt_up_.get(), buf_.data(), &len, upstream_ct_.data(),
                              upstream_ct_.size()) == 1 &&
             len == content_key_.size() && std::memcmp(buf_.data(), content_key_.data(), len) == 0;
    });
    step(kNames[3], [&] {
      return EVP_PKEY_verify(verify_up_.get(), nrw_sig_.data(), nrw_sig_.size(), digest_.data(),
                             digest_.size()) == 1;
    });
    step(kNames[4], [&] {
      len = buf_.size();
      return EVP_PKEY_sign(sign_portal_.get(), buf_.data(), &len, digest_.data(), digest_.size()) == 1;
    });
    step(kNames[5], [&] {
      len = buf_.size();
      return EVP_PKEY_encrypt(encrypt_portal_.get(), buf_.data(), &len, content_key_.data(),
                              content_key_.size()) == 1;
    });
  }

private:
  std::vector<unsigned char> sign_with(EVP_PKEY *key, Pad pad) {
    CtxPtr ctx = make_ctx(key, EVP_PKEY_sign_init, pad);
    std::size_t len = buf_.size();
    if (EVP_PKEY_sign(ctx.get(), buf_.data(), &len, digest_.data(), digest_.size()) != 1)
      throw std::runtime_error("sign failed");
    return {buf_.data(), buf_.data() + len};
  }

  std::array<unsigned char, 32> digest_{};      // SHA-256 of the signed data
  std::array<unsigned char, 32> content_key_{}; // AES-256 key
  std::array<unsigned char, 1024> buf_{};
  CtxPtr sign_up_, verify_portal_, decrypt_up_, verify_up_, sign_portal_, encrypt_portal_;
  std::vector<unsigned char> portal_sig_, nrw_sig_, upstream_ct_;
};

struct FloorSample {
  int n = 0;
  std::array<double, Floor::kOps> op{}; // sums, µs
  double wall = 0;
  double op_us(std::size_t i) const { return op[i] / n; }
  double sso() const {
    double s = 0;
    for (std::size_t i = 0; i < Floor::kSsoOps; ++i) s += op[i];
    return s / n;
  }
  double total() const {
    double s = 0;
    for (double v : op) s += v;
    return s / n;
  }
  double acs() const { return total() - sso(); }
};

FloorSample run_floor(Floor &f, int n) {
  FloorSample s;
  const double w0 = wall_us();
  for (int i = 0; i < n; ++i) {
    f.run_once(&s.op);
    ++s.n;
  }
  s.wall = (wall_us() - w0) / n;
  return s;
}

// ---------------------------------------------------------------- stages (public API)

// The proxy's steps called one by one through the public API of its IdP and
// SP halves (what Proxy::handle does, minus its glue).
struct StageSample {
  int n = 0;
  double portal_in = 0;    // idp().receive_authn_request
  double upstream_out = 0; // sp().start_login
  double upstream_in = 0;  // sp().handle_acs
  double mapping = 0;      // map_inbound + release + map_outbound + subject
  double portal_out = 0;   // idp().build_response + post_response
};

StageSample run_stages(const World &w, int n) {
  StageSample s;
  double wall = 0;
  for (int i = 0; i < n; ++i) {
    const World::PortalStart ps = w.portal_start();
    const ReceivedAuthnRequest rec =
        timed(s.portal_in, wall, [&] { return w.proxy->idp().receive_authn_request(ps.sso); });
    const HttpResponse to_nrw = timed(s.upstream_out, wall, [&] {
      LoginOptions lo;
      lo.return_to = "/proxy/continue?key=" + random_id();
      lo.min_trust_level = 3;
      return w.proxy->sp().start_login(lo);
    });
    const HttpRequest acs = w.nrw_answer(to_nrw);
    const AcsOutcome out = timed(s.upstream_in, wall, [&] { return w.proxy->sp().handle_acs(acs); });
    require(out.result.has_value(), "stages: the proxy's SP refused NRW's response");
    const AuthenticatedSubject subject = timed(s.mapping, wall, [&] {
      const AuthnResult &res = *out.result;
      const int level = effective_trust_level(res);
      const MappedAttributes mapped = w.attributes.map_inbound(res);
      const ReleaseResult released = w.attributes.release(mapped, rec.issuer);
      AuthenticatedSubject sub;
      if (level > 0) sub.authn_context_class_ref = stork_level_uri(level);
      sub.stable_key = res.issuer + "!" + res.name_id;
      sub.session_index = random_id();
      for (const auto &a : w.attributes.map_outbound(released.attributes))
        sub.attributes.push_back({a.name, a.values, a.friendly_name, a.trust_level});
      return sub;
    });
    const HttpResponse answer = timed(s.portal_out, wall, [&] {
      return w.proxy->idp().post_response(rec, w.proxy->idp().build_response(rec, subject));
    });
    check_portal_answer(answer);
    ++s.n;
  }
  return s;
}

// ---------------------------------------------------------------- main

// The fragment of an algorithm URI ("...#rsa-sha256" -> "rsa-sha256").
std::string short_uri(std::string_view uri) {
  const auto h = uri.rfind('#');
  return std::string(h == std::string_view::npos ? uri : uri.substr(h + 1));
}

std::string us(double v) {
  return fmt::format("{:.0f}", v);
}

int run(const Options &opt) {
  pin_cpu(opt.cpu);
  const double t_start = wall_us();
  std::printf("bench_proxy: CPU per complete proxy login, one core, RSA-%u\n", kBits);
  std::printf("  generating 6 RSA-%u keys ...", kBits);
  std::fflush(stdout);
  const Keys keys = make_keys();
  std::printf(" %.1f s\n", (wall_us() - t_start) / 1e6);

  World on(keys, opt, true);
  std::unique_ptr<World> off;
  if (opt.schema_off || opt.only == "proxy-off") off = std::make_unique<World>(keys, opt, false);
  Floor floor(keys, opt);
  check_world(on);
  if (off) check_world(*off);

  if (!opt.only.empty()) {
    const double c0 = thread_cpu_us();
    if (opt.only == "floor") {
      const FloorSample f = run_floor(floor, opt.logins);
      std::printf("floor: %s us per login (%d logins)\n", us(f.total()).c_str(), f.n);
    } else {
      const ProxySample p = run_proxy(opt.only == "proxy-on" ? on : *off, opt.logins);
      std::printf("%s: %s us per login (sso %s + acs %s), %d logins\n", opt.only.c_str(),
                  us(p.total()).c_str(), us(p.sso()).c_str(), us(p.acs()).c_str(), p.n);
    }
    std::printf("process thread CPU %.2f s\n", (thread_cpu_us() - c0) / 1e6);
    return 0;
  }

  const ResponseOptions portal_opts = on.proxy->idp().options_for(kPortal);
  const ResponseOptions nrw_opts = on.nrw->options_for(kProxySp);
  std::printf(
      "  world        portal SP -> Proxy (IdP + SP) -> upstream IdP \"NRW\", in-process, RSA-%u keys\n",
      kBits);
  std::printf("  requests     portal -> proxy and proxy -> NRW: HTTP-Redirect, signed %s; both IdPs\n"
              "               require signed requests\n",
              short_uri(request_sig_uri(opt)).c_str());
  std::printf("  NRW -> proxy     assertion signed %s, encrypted %s + xmlenc11 %s (required)\n",
              short_uri(on.nrw->signature_method_for(kProxySp, nrw_opts)).c_str(),
              short_uri(nrw_opts.data_encryption).c_str(), short_uri(nrw_opts.key_transport).c_str());
  std::printf("  proxy -> portal  assertion signed %s, encrypted %s + xmlenc11 %s (required)\n",
              short_uri(on.proxy->idp().signature_method_for(kPortal, portal_opts)).c_str(),
              short_uri(portal_opts.data_encryption).c_str(), short_uri(portal_opts.key_transport).c_str());
  std::printf(
      "  attributes   builtin servicekonto, 13 from NRW, release policy for the portal (10 allowed)\n");
  std::printf("  responses    NRW -> proxy %zu bytes XML, proxy -> portal %zu bytes XML\n", on.upstream_bytes,
              on.portal_bytes);
  std::printf(
      "  measured     thread CPU of proxy.handle(SSO GET) + proxy.handle(ACS POST) per login; the\n"
      "               portal's request and NRW's response are made per login outside the timed calls\n");
  std::printf("  floor        the 6 public-key operations with OpenSSL EVP (contexts set up once): %s\n",
              OpenSSL_version(OPENSSL_VERSION));
  std::printf("  CPU          %s\n",
              opt.cpu < 0 ? "not pinned" : fmt::format("pinned to CPU {}", opt.cpu).c_str());
  std::printf("  %d rounds x %d logins per variant, interleaved; order rotates each round\n\n", opt.rounds,
              opt.logins);
  std::fflush(stdout);

  // Warm-up: a few of each.
  (void)run_proxy(on, 3);
  if (off) (void)run_proxy(*off, 3);
  (void)run_floor(floor, 3);

  std::vector<ProxySample> s_on, s_off;
  std::vector<FloorSample> s_floor;
  const std::size_t nv = off ? 3 : 2;
  for (int r = 0; r < opt.rounds; ++r) {
    for (std::size_t k = 0; k < nv; ++k) {
      const std::size_t v = (k + static_cast<std::size_t>(r)) % nv;
      if (v == 0)
        s_on.push_back(run_proxy(on, opt.logins));
      else if (v == 1)
        s_floor.push_back(run_floor(floor, opt.logins));
      else
        s_off.push_back(run_proxy(*off, opt.logins));
    }
    std::printf("round %d:  proxy_on=%s us (sso %s + acs %s)", r + 1, us(s_on.back().total()).c_str(),
                us(s_on.back().sso()).c_str(), us(s_on.back().acs()).c_str());
    if (off)
      std::printf("  proxy_off=%s us (sso %s + acs %s)", us(s_off.back().total()).c_str(),
                  us(s_off.back().sso()).c_str(), us(s_off.back().acs()).c_str());
    std::printf("  floor=%s us (sso %s + acs %s)\n", us(s_floor.back().total()).c_str(),
                us(s_floor.back().sso()).c_str(), us(s_floor.back().acs()).c_str());
    std::fflush(stdout);
  }

  auto med = [](const auto &v, auto f) {
    std::vector<double> x;
    for (const auto &s : v) x.push_back(f(s));
    return median(x);
  };
  // Median over rounds of the per-round ratio (paired: drift cancels).
  auto ratio = [](const auto &a, auto fa, const auto &b, auto fb) {
    std::vector<double> x;
    for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i)
      if (fb(b[i]) > 0) x.push_back(fa(a[i]) / fb(b[i]));
    return median(x);
  };
  const auto total = [](const auto &s) { return s.total(); };
  const auto sso = [](const auto &s) { return s.sso(); };
  const auto acs = [](const auto &s) { return s.acs(); };
  const auto wall = [](const auto &s) { return s.wall(); };

  std::printf("\n  %-48s %7s    %7s    %7s    %7s   %s\n", "CPU us per login (median over rounds)", "total",
              "sso", "acs", "wall", "(min..max total)");
  auto row = [&](const char *label, const std::vector<ProxySample> &v) {
    std::vector<double> t;
    for (const auto &s : v) t.push_back(s.total());
    std::printf("  %-48s %7s    %7s    %7s    %7s   (%s..%s)\n", label, us(med(v, total)).c_str(),
                us(med(v, sso)).c_str(), us(med(v, acs)).c_str(), us(med(v, wall)).c_str(),
                us(*std::min_element(t.begin(), t.end())).c_str(),
                us(*std::max_element(t.begin(), t.end())).c_str());
  };
  row("proxy, schema validation on", s_on);
  if (off) row("proxy, schema validation off (proxy SP side)", s_off);
  {
    std::vector<double> t;
    for (const auto &s : s_floor) t.push_back(s.total());
    std::printf("  %-48s %7s    %7s    %7s    %7s   (%s..%s)\n", "floor: 6 public-key operations (OpenSSL)",
                us(med(s_floor, total)).c_str(), us(med(s_floor, sso)).c_str(), us(med(s_floor, acs)).c_str(),
                us(med(s_floor, [](const FloorSample &s) { return s.wall; })).c_str(),
                us(*std::min_element(t.begin(), t.end())).c_str(),
                us(*std::max_element(t.begin(), t.end())).c_str());
  }
  std::printf("\nfloor operations (median CPU us):\n");
  for (std::size_t i = 0; i < Floor::kOps; ++i)
    std::printf("  %-36s %7.1f   (%s)\n", Floor::kNames[i],
                med(s_floor, [i](const FloorSample &s) { return s.op_us(i); }),
                i < Floor::kSsoOps ? "sso" : "acs");

  const double r_on = ratio(s_on, total, s_floor, total);
  const double r_on_sso = ratio(s_on, sso, s_floor, sso);
  const double r_on_acs = ratio(s_on, acs, s_floor, acs);
  std::printf(
      "\nratios (median over rounds of the per-round ratio; issue target in brackets, for reading only)\n");
  std::printf("  proxy schema on  / floor                                     %5.2fx   [<= 1.5x]\n", r_on);
  std::printf("    sso part / its floor (sign + verify)                       %5.2fx\n", r_on_sso);
  std::printf("    acs part / its floor (decrypt + verify + sign + encrypt)   %5.2fx\n", r_on_acs);
  double r_off = 0;
  if (off) {
    r_off = ratio(s_off, total, s_floor, total);
    std::printf("  proxy schema off / floor                                     %5.2fx\n", r_off);
    std::printf("    sso part / its floor                                       %5.2fx\n",
                ratio(s_off, sso, s_floor, sso));
    std::printf("    acs part / its floor                                       %5.2fx\n",
                ratio(s_off, acs, s_floor, acs));
    std::printf("  proxy schema on / schema off                                  %5.3f\n",
                ratio(s_on, total, s_off, total));
  }
  const double beyond = med(s_on, total) - med(s_floor, total);
  std::printf("  beyond the floor (schema on): %s us per login (sso %s, acs %s)\n", us(beyond).c_str(),
              us(med(s_on, sso) - med(s_floor, sso)).c_str(), us(med(s_on, acs) - med(s_floor, acs)).c_str());

  // ---- where the time goes: the proxy's steps one by one (public API),
  // paired login by login with whole proxy logins and floor iterations.
  if (opt.split_logins > 0) {
    StageSample st;
    ProxySample whole;
    FloorSample fl;
    for (int i = 0; i < opt.split_logins; ++i) {
      const StageSample a = run_stages(on, 1);
      const ProxySample b = run_proxy(on, 1);
      const FloorSample c = run_floor(floor, 1);
      st.portal_in += a.portal_in;
      st.upstream_out += a.upstream_out;
      st.upstream_in += a.upstream_in;
      st.mapping += a.mapping;
      st.portal_out += a.portal_out;
      ++st.n;
      whole.sso_cpu += b.sso_cpu;
      whole.acs_cpu += b.acs_cpu;
      ++whole.n;
      for (std::size_t k = 0; k < Floor::kOps; ++k) fl.op[k] += c.op[k];
      ++fl.n;
    }
    const double n = st.n;
    struct Line {
      const char *name;
      double cpu;
      double floor;
    };
    const std::vector<Line> lines = {
        {"idp().receive_authn_request (portal request)", st.portal_in / n, fl.op_us(1)},
        {"sp().start_login (upstream request)", st.upstream_out / n, fl.op_us(0)},
        {"sp().handle_acs (upstream response)", st.upstream_in / n, fl.op_us(2) + fl.op_us(3)},
        {"attribute mapping + release", st.mapping / n, 0},
        {"idp().build_response + post_response (portal)", st.portal_out / n, fl.op_us(4) + fl.op_us(5)},
    };
    std::printf("\nwhere the time goes (schema on): the proxy's steps called one by one through the public\n"
                "API, alternating login by login with whole proxy logins and floor iterations, %d each\n"
                "(one pass: indicative); floor = the floor operations of that step\n",
                st.n);
    std::printf("  %-50s %8s %8s %8s\n", "step", "CPU us", "floor us", "beyond");
    double sum = 0;
    for (const Line &l : lines) {
      sum += l.cpu;
      std::printf("  %-50s %8.0f %8.0f %8.0f\n", l.name, l.cpu, l.floor, l.cpu - l.floor);
    }
    std::printf("  %-50s %8.0f %8s %8.0f\n", "rest: Proxy::handle glue (whole login - steps)",
                whole.total() - sum, "", whole.total() - sum);
    std::printf("  %-50s %8.0f %8.0f %8.0f\n", "whole login (proxy.handle x 2) in this pass", whole.total(),
                fl.total(), whole.total() - fl.total());
    if (off)
      std::printf("  of the above, schema validation (rounds: schema on - off)          %8.0f\n",
                  med(s_on, total) - med(s_off, total));
  }

  std::printf("\nRESULT proxy_on_us=%.0f\nRESULT proxy_on_sso_us=%.0f\nRESULT proxy_on_acs_us=%.0f\n",
              med(s_on, total), med(s_on, sso), med(s_on, acs));
  if (off) std::printf("RESULT proxy_off_us=%.0f\n", med(s_off, total));
  std::printf("RESULT floor_us=%.0f\nRESULT floor_sso_us=%.0f\nRESULT floor_acs_us=%.0f\n",
              med(s_floor, total), med(s_floor, sso), med(s_floor, acs));
  std::printf("RESULT ratio_on_over_floor=%.3f\n", r_on);
  if (off) std::printf("RESULT ratio_off_over_floor=%.3f\n", r_off);
  std::printf("run time %.0f s\n", (wall_us() - t_start) / 1e6);
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  try {
    return run(parse_options(argc, argv));
  } catch (const Error &e) {
    std::fprintf(stderr, "bench_proxy: %s: %s\n", to_string(e.code()).data(), e.detail().c_str());
    return 2;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "bench_proxy: %s\n", e.what());
    return 2;
  }
}
