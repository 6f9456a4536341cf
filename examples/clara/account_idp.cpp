// SPDX-License-Identifier: EUPL-1.2
// A Land's user account (Servicekonto.NRW, Servicekonto Hamburg) as IdP:
// login form, consent page, signed and encrypted Response.

#include <fmt/format.h>

#include <algorithm>
#include <mutex>
#include <unordered_map>

#include "clara/internal.hpp"
#include "clara/page.hpp"
#include "clara/parties.hpp"
#include "interkonto/attributes.hpp"
#include "interkonto/bindings.hpp"
#include "interkonto/error.hpp"
#include "interkonto/session.hpp"
#include "interkonto/sp.hpp"

namespace clara {

using interkonto::HttpRequest;
using interkonto::HttpResponse;
using namespace detail;

namespace {

constexpr std::string_view kLoginPath = "/idp/login";
constexpr std::string_view kConsentPath = "/idp/consent";
constexpr std::string_view kCancelPath = "/idp/cancel";
constexpr std::string_view kBrowserCookie = "konto_browser";
constexpr auto kLifetime = std::chrono::minutes(15);
constexpr std::size_t kMaxPending = 10'000;
constexpr int kMaxFailures = 5;

constexpr std::string_view kExpired =
    "Dieser Anmeldevorgang ist abgelaufen oder bereits abgeschlossen. Bitte starten Sie die Anmeldung "
    "beim Online-Dienst erneut.";

std::string value_text(const std::string &name, const std::string &value) {
  if (name == oid::birthdate) return german_date(value);
  if (name == oid::trust_level)
    if (const auto l = interkonto::parse_stork_level(value)) return std::string(trust_word(*l));
  if (name == oid::country && value == "DE") return "Deutschland";
  return value;
}

} // namespace

struct AccountIdp::Impl {
  Common c;
  std::vector<DemoUser> users;
  std::string entity_id;
  std::string pairwise_secret = interkonto::random_id() + interkonto::random_id();
  std::shared_ptr<const interkonto::Clock> clock;

  // The IdentityProvider for the current snapshot (its SPs come from it).
  mutable std::mutex idp_mu;
  mutable interkonto::SnapshotPtr built_for;
  mutable std::shared_ptr<const interkonto::IdentityProvider> idp;
  std::shared_ptr<interkonto::ReplayCache> request_ids = std::make_shared<interkonto::InMemoryReplayCache>();

  struct Pending {
    interkonto::ReceivedAuthnRequest request;
    std::string browser; // value of the browser cookie it is bound to
    interkonto::TimePoint expires;
    std::string requester; // display name of the SP that asked
    std::optional<int> min_level;
    std::optional<std::size_t> user; // set once the password was right
    int failures = 0;
  };
  mutable std::mutex pending_mu;
  mutable std::unordered_map<std::string, Pending> pending;

  Impl(Common common, std::vector<DemoUser> u)
      : c(std::move(common)), users(std::move(u)), entity_id(idp_entity_id(c.base_url)),
        clock(c.clock ? c.clock : std::make_shared<interkonto::SystemClock>()) {}

  interkonto::TimePoint now() const { return clock->now(); }

  std::shared_ptr<const interkonto::IdentityProvider> idp_for(const interkonto::SnapshotPtr &snap) const {
    const std::lock_guard<std::mutex> lock(idp_mu);
    if (snap != built_for || !idp) {
      interkonto::EntityFilter sps;
      sps.role = interkonto::EntityFilter::Role::sp;
      interkonto::IdpConfig cfg = idp_config(c, snap, sps);
      cfg.default_response.encrypt_assertion = true; // signed (PSS/ECDSA), then AES-GCM encrypted
      cfg.pairwise_secret = pairwise_secret;
      cfg.request_replay_cache = request_ids; // request IDs stay used across rebuilds
      cfg.subject_id_scope = host_of(c.base_url);
      idp = std::make_shared<const interkonto::IdentityProvider>(std::move(cfg), clock);
      built_for = snap;
    }
    return idp;
  }

  void note(interkonto::LogLevel level, const std::string &m) const {
    if (c.log) c.log(level, m);
  }

  Page page(std::string title, std::string content, int status = 200) const {
    return Page{c.display_name, std::move(title), std::move(content), status};
  }

  HttpResponse problem(int status, std::string_view title, std::string_view message) const {
    return detail::problem(c.display_name, status, title, message);
  }

  void put(std::string id, Pending p) const {
    const std::lock_guard<std::mutex> lock(pending_mu);
    const auto t = now();
    std::erase_if(pending, [&](const auto &kv) { return kv.second.expires <= t; });
    if (pending.size() >= kMaxPending) {
      const auto oldest = std::min_element(pending.begin(), pending.end(), [](const auto &a, const auto &b) {
        return a.second.expires < b.second.expires;
      });
      if (oldest != pending.end()) pending.erase(oldest);
    }
    pending.insert_or_assign(std::move(id), std::move(p));
  }

  // The pending login of this form post, bound to this browser; nullopt when
  // unknown, expired or posted from another browser.
  std::optional<std::pair<std::string, Pending>> find(const HttpRequest &req) const {
    const auto id = req.method == "GET" ? req.query_param("vorgang") : form(req, "vorgang");
    const auto browser = req.cookie(kBrowserCookie);
    if (!id || !browser) return std::nullopt;
    const std::lock_guard<std::mutex> lock(pending_mu);
    const auto it = pending.find(*id);
    if (it == pending.end() || it->second.browser != *browser) return std::nullopt;
    if (it->second.expires <= now()) {
      pending.erase(it);
      return std::nullopt;
    }
    return std::make_pair(*id, it->second);
  }
  // The same, removed (single use, atomic: two concurrent posts cannot both
  // answer); with `needs_user`, only once the password was right.
  std::optional<Pending> take(const HttpRequest &req, bool needs_user) const {
    const auto id = form(req, "vorgang");
    const auto browser = req.cookie(kBrowserCookie);
    if (!id || !browser) return std::nullopt;
    const std::lock_guard<std::mutex> lock(pending_mu);
    const auto it = pending.find(*id);
    if (it == pending.end() || it->second.browser != *browser || (needs_user && !it->second.user))
      return std::nullopt;
    Pending p = std::move(it->second);
    pending.erase(it);
    if (p.expires <= now()) return std::nullopt;
    return p;
  }
  void update(const std::string &id, const Pending &p) const {
    const std::lock_guard<std::mutex> lock(pending_mu);
    if (const auto it = pending.find(id); it != pending.end()) it->second = p;
  }
  void erase(const std::string &id) const {
    const std::lock_guard<std::mutex> lock(pending_mu);
    pending.erase(id);
  }

  HttpResponse login_page(const std::string &id, const Pending &p, bool wrong) const {
    std::string content = fmt::format("<h1>Anmelden beim {}</h1>\n", esc(c.display_name));
    content += fmt::format("<p class=\"info\" id=\"anfrage\"><strong>{}</strong> bittet um Ihre Anmeldung.",
                           esc(p.requester));
    if (p.min_level)
      content += fmt::format(" Erforderliches Vertrauensniveau: {}.", trust_word(*p.min_level));
    content += "</p>\n";
    if (wrong) content += "<p role=\"alert\">Benutzername oder Passwort ist falsch.</p>\n";
    content += fmt::format("<form method=\"post\" action=\"{}\">\n"
                           "<input type=\"hidden\" name=\"vorgang\" value=\"{}\">\n"
                           "<div class=\"field\"><label for=\"username\">Benutzername</label>"
                           "<input id=\"username\" name=\"username\" autocomplete=\"username\"></div>\n"
                           "<div class=\"field\"><label for=\"password\">Passwort</label>"
                           "<input id=\"password\" name=\"password\" type=\"password\" "
                           "autocomplete=\"current-password\"></div>\n"
                           "<button type=\"submit\">Anmelden</button>\n"
                           "</form>\n"
                           "<form method=\"post\" action=\"{}\">\n"
                           "<input type=\"hidden\" name=\"vorgang\" value=\"{}\">\n"
                           "<button type=\"submit\" class=\"secondary\">Anmeldung abbrechen</button>\n"
                           "</form>\n",
                           kLoginPath, esc(id), kCancelPath, esc(id));
    std::string demo;
    for (const DemoUser &u : users) {
      const auto l = interkonto::parse_stork_level(u.trust_level);
      demo += fmt::format("{}<code>{}</code> / <code>{}</code> ({})", demo.empty() ? "" : ", ",
                          esc(u.username), esc(u.password), trust_word(l.value_or(0)));
    }
    content += "<p class=\"hint\">Demo-Zugänge: " + demo + "</p>\n";
    return render(page("Anmelden beim " + c.display_name, std::move(content)));
  }

  // The attributes the request may receive: those it asked for (AKDB
  // RequestedAttributes), else all of the user's.
  std::vector<interkonto::AuthenticatedSubject::Attribute> released(const Pending &p) const {
    const DemoUser &u = users.at(*p.user);
    const auto &asked = p.request.requested_attributes;
    std::vector<interkonto::AuthenticatedSubject::Attribute> out;
    for (const auto &a : u.attributes)
      if (asked.empty() ||
          std::any_of(asked.begin(), asked.end(), [&](const auto &r) { return r.name == a.name; }))
        out.push_back(a);
    return out;
  }

  HttpResponse consent_page(const std::string &id, const Pending &p) const {
    const DemoUser &u = users.at(*p.user);
    std::string name;
    for (const auto &a : u.attributes)
      if ((a.name == oid::given_name || a.name == oid::surname) && !a.values.empty())
        name += (name.empty() ? "" : " ") + a.values.front();
    std::string content = "<h1>Einwilligung zur Datenübermittlung</h1>\n";
    content += fmt::format("<p>Sie sind angemeldet als <strong>{}</strong>.</p>\n", esc(name));
    content += fmt::format("<p><strong>{}</strong> erhält die folgenden Daten aus Ihrem {}:</p>\n",
                           esc(p.requester), esc(c.display_name));
    content += "<ul id=\"attributes\">\n";
    for (const auto &a : released(p)) {
      std::string values;
      for (const auto &v : a.values) values += (values.empty() ? "" : ", ") + value_text(a.name, v);
      content += fmt::format("<li><span class=\"label\">{}</span> <span class=\"value\">{}</span></li>\n",
                             esc(attribute_label(a.name, a.friendly_name)), esc(values));
    }
    content += "</ul>\n";
    content += fmt::format("<form method=\"post\" action=\"{}\">\n"
                           "<input type=\"hidden\" name=\"vorgang\" value=\"{}\">\n"
                           "<button name=\"decision\" value=\"consent\">Zustimmen und weiter</button>\n"
                           "<button name=\"decision\" value=\"cancel\">Abbrechen</button>\n"
                           "</form>\n",
                           kConsentPath, esc(id));
    return render(page("Einwilligung zur Datenübermittlung", std::move(content)));
  }

  HttpResponse error_response(const interkonto::IdentityProvider &i, const Pending &p,
                              std::string_view second_level) const {
    return i.post_response(p.request,
                           i.build_error_response(p.request, interkonto::status::responder, second_level));
  }

  HttpResponse handle_sso(const HttpRequest &req, const interkonto::SnapshotPtr &snap) const {
    const auto i = idp_for(snap);
    interkonto::ReceivedAuthnRequest r;
    try {
      r = i->receive_authn_request(req);
    } catch (const interkonto::Error &e) {
      note(interkonto::LogLevel::warning,
           fmt::format("clara idp {}: AuthnRequest refused: {}", entity_id, e.what()));
      return problem(400, "Anmeldeanfrage abgelehnt",
                     fmt::format("Die Anmeldeanfrage des Online-Dienstes wurde nicht angenommen (sie ist "
                                 "ungültig, abgelaufen oder wurde bereits verwendet; Fehlercode: {}). Bitte "
                                 "starten Sie die Anmeldung beim Online-Dienst erneut.",
                                 interkonto::to_string(e.code())));
    }
    Pending p;
    p.requester = display_name(snap.get(), r.issuer, false);
    p.min_level = interkonto::requested_minimum_level(r);
    p.expires = now() + std::chrono::duration_cast<std::chrono::milliseconds>(kLifetime);
    p.request = std::move(r);
    if (p.request.is_passive) // no login session here: the user would have to log in
      return error_response(*i, p, interkonto::status::no_passive);
    const auto existing = req.cookie(kBrowserCookie);
    p.browser = existing && existing->size() == 22 ? *existing : interkonto::random_id();
    const std::string id = interkonto::random_id();
    HttpResponse out = login_page(id, p, false);
    out.add_header("Set-Cookie",
                   cookie(kBrowserCookie, p.browser, "/idp", !c.development_insecure_http, "Lax"));
    put(id, std::move(p));
    return out;
  }

  HttpResponse handle_login(const HttpRequest &req, const interkonto::SnapshotPtr &snap) const {
    auto found = find(req);
    if (!found) return problem(400, "Anmeldung abgelaufen", kExpired);
    auto &[id, p] = *found;
    const std::string username = form(req, "username").value_or("");
    const std::string password = form(req, "password").value_or("");
    const auto it = std::find_if(users.begin(), users.end(), [&](const DemoUser &u) {
      return !username.empty() && u.username == username && u.password == password;
    });
    if (it == users.end()) {
      if (++p.failures >= kMaxFailures) {
        erase(id);
        note(interkonto::LogLevel::warning, fmt::format("clara idp {}: too many wrong passwords", entity_id));
        return error_response(*idp_for(snap), p, interkonto::status::authn_failed);
      }
      update(id, p);
      return login_page(id, p, true);
    }
    p.user = static_cast<std::size_t>(it - users.begin());
    const int level = interkonto::parse_stork_level(it->trust_level).value_or(0);
    if (p.min_level && level < *p.min_level) {
      // The account cannot deliver the level asked for: say so in SAML.
      erase(id);
      note(interkonto::LogLevel::info,
           fmt::format("clara idp {}: level {} below the requested {}", entity_id, level, *p.min_level));
      return error_response(*idp_for(snap), p, interkonto::status::no_authn_context);
    }
    update(id, p);
    // Post/Redirect/Get: the consent page is a GET, so the browser's Back
    // button re-fetches it (and finds the login finished) instead of
    // offering to resubmit the password form.
    HttpResponse r;
    r.status = 303;
    r.set_header("Location", fmt::format("{}?vorgang={}", kConsentPath, interkonto::url_encode(id)));
    r.set_header("Cache-Control", "no-store");
    return r;
  }

  HttpResponse show_consent(const HttpRequest &req) const {
    auto found = find(req);
    if (!found || !found->second.user) return problem(400, "Anmeldung abgelaufen", kExpired);
    return consent_page(found->first, found->second);
  }

  HttpResponse handle_decision(const HttpRequest &req, const interkonto::SnapshotPtr &snap,
                               bool from_login_page) const {
    const std::string decision = from_login_page ? "cancel" : form(req, "decision").value_or("");
    if (decision != "consent" && decision != "cancel")
      return problem(400, "Ungültige Auswahl", "Bitte wählen Sie „Zustimmen und weiter“ oder „Abbrechen“.");
    // Single use: Back and a second click end on the "expired" page.
    const std::optional<Pending> found = take(req, !from_login_page);
    if (!found) return problem(400, "Anmeldung abgelaufen", kExpired);
    const Pending &p = *found;
    const auto i = idp_for(snap);
    if (decision == "cancel") return error_response(*i, p, interkonto::status::authn_failed);

    const DemoUser &u = users.at(*p.user);
    interkonto::AuthenticatedSubject s;
    s.authn_context_class_ref = u.trust_level;
    s.stable_key = u.stable_id;
    s.session_index = interkonto::random_id();
    const auto level = interkonto::parse_trust_level(u.trust_level);
    for (auto a : released(p)) {
      if (level) a.trust_level = std::string(to_string(*level, interkonto::TrustVocabulary::akdb));
      s.attributes.push_back(std::move(a));
    }
    note(interkonto::LogLevel::info,
         fmt::format("clara idp {}: login for {} (request {})", entity_id, p.request.issuer, p.request.id));
    return i->post_response(p.request, i->build_response(p.request, s));
  }

  HttpResponse start_page() const {
    return render(
        page(c.display_name, fmt::format("<h1>{}</h1>\n<p>Dies ist das Nutzerkonto {} der Demonstration. Die "
                                         "Anmeldung beginnt bei einem Online-Dienst, zum Beispiel der "
                                         "Bauvoranfrage des Thüringer Portals.</p>\n",
                                         esc(c.display_name), esc(c.display_name))));
  }
};

AccountIdp::AccountIdp(Common common, std::vector<DemoUser> users)
    : impl_(std::make_unique<Impl>(std::move(common), std::move(users))) {}

AccountIdp::~AccountIdp() = default;

HttpResponse AccountIdp::handle(const HttpRequest &req) const {
  const Impl &m = *impl_;
  try {
    if (req.path == kIdpMetadata) return metadata_document(metadata_xml(m.c));
    const interkonto::SnapshotPtr snap = m.c.federation ? m.c.federation->snapshot() : nullptr;
    if (!snap) return federation_unavailable(m.c.display_name);
    if (req.path == "/") return m.start_page();
    if (req.path == kIdpSso) {
      if (req.method != "GET" && req.method != "POST")
        return m.problem(405, "Methode nicht erlaubt", "Diese Adresse nimmt nur GET und POST an.");
      return m.handle_sso(req, snap);
    }
    const bool post = req.method == "POST";
    if (req.path == kLoginPath && post) return m.handle_login(req, snap);
    if (req.path == kConsentPath && post) return m.handle_decision(req, snap, false);
    if (req.path == kCancelPath && post) return m.handle_decision(req, snap, true);
    if (req.path == kConsentPath && req.method == "GET") return m.show_consent(req);
    if (req.path == kLoginPath || req.path == kConsentPath || req.path == kCancelPath)
      return m.problem(400, "Anmeldung abgelaufen", kExpired); // GET (Back, reload, bookmark)
    return m.problem(404, "Seite nicht gefunden", "Diese Seite gibt es nicht.");
  } catch (const std::exception &e) {
    return internal_error(m.c.display_name, m.c.log, fmt::format("clara idp {}", m.entity_id), e);
  }
}

} // namespace clara
