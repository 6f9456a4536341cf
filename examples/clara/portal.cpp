// SPDX-License-Identifier: EUPL-1.2
// The Thüringen portal: the online service "Bauvoranfrage", an SP of
// Servicekonto Thüringen.

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <unordered_map>

#include "clara/internal.hpp"
#include "clara/page.hpp"
#include "clara/parties.hpp"
#include "interkonto/attributes.hpp"
#include "interkonto/error.hpp"
#include "interkonto/idp.hpp"
#include "interkonto/session.hpp"
#include "interkonto/sp.hpp"

namespace clara {

using interkonto::HttpRequest;
using interkonto::HttpResponse;
using namespace detail;

namespace {

constexpr std::string_view kService = "/bauvoranfrage";
constexpr std::string_view kReceived = "/bauvoranfrage/eingegangen";
constexpr std::string_view kLogout = "/abmelden";
// Sent with the cross-site ACS POST (SameSite=None, path /sp/acs): lets a
// repeated POST (browser Back) of a browser that is already logged in go
// back to the form. It names the session only through a server-side table.
constexpr std::string_view kMarkerCookie = "portal_angemeldet";
constexpr std::size_t kMaxEntries = 100'000;

constexpr std::string_view kCancelled = "Sie haben die Anmeldung abgebrochen oder sie ist fehlgeschlagen.";
constexpr std::string_view kGeneric =
    "Die Anmeldung konnte nicht abgeschlossen werden. Bitte versuchen Sie es erneut.";
constexpr std::string_view kStale =
    "Diese Anmeldung ist abgelaufen oder wurde bereits verwendet. Bitte melden Sie sich erneut an.";

std::string first_value(const interkonto::Session &s, std::string_view name) {
  for (const auto &[n, v] : s.attributes)
    if (n == name && !v.empty()) return v.front();
  return {};
}

// STORK level of the session: the class ref and the trust-level attribute, the lower one.
std::optional<int> session_level(const interkonto::Session &s) {
  std::optional<int> out = interkonto::parse_stork_level(s.authn_context_class_ref);
  for (const auto &[n, values] : s.attributes) {
    if (n != oid::trust_level) continue;
    for (const auto &v : values) {
      const auto l = interkonto::parse_trust_level(v);
      if (!l) return std::nullopt;
      const int stork = interkonto::to_stork_level(*l);
      out = out ? std::min(*out, stork) : stork;
    }
  }
  return out;
}

struct Submission {
  std::string file_number;
  std::string name;
  std::string vorhaben;
};

} // namespace

struct Portal::Impl {
  Common c;
  std::string sk_idp;
  int min_level;
  std::shared_ptr<const interkonto::Clock> clock;
  std::shared_ptr<interkonto::InMemorySessionStore> sessions =
      std::make_shared<interkonto::InMemorySessionStore>();
  std::unique_ptr<interkonto::ServiceProvider> sp; // null without a metadata provider

  mutable std::mutex mu;
  struct Marker {
    std::string session_id;
    interkonto::TimePoint expires;
  };
  mutable std::unordered_map<std::string, Marker> markers;
  mutable std::unordered_map<std::string, Submission> submissions; // by session ID
  mutable std::atomic<unsigned> next_file_number{1};

  Impl(Common common, std::string servicekonto, int level)
      : c(std::move(common)), sk_idp(std::move(servicekonto)), min_level(level),
        clock(c.clock ? c.clock : std::make_shared<interkonto::SystemClock>()) {
    if (!c.federation) return;
    interkonto::SpConfig cfg;
    cfg.entity_id = sp_entity_id(c.base_url);
    cfg.base_url = c.base_url;
    cfg.acs_path = std::string(kSpAcs);
    cfg.login_path = std::string(kSpLogin);
    cfg.metadata_path = std::string(kSpMetadata);
    cfg.signing = c.saml;
    cfg.decryption = {encryption_credential(c)};
    if (c.encryption) cfg.decryption.push_back(c.saml);
    interkonto::IdpSettings defaults;
    defaults.authn_request_binding = std::string(interkonto::binding::redirect);
    defaults.authn_request_signature_method = signature_method_for(c.saml);
    defaults.sign_authn_requests = true;
    defaults.require_encrypted_assertion = true;
    interkonto::EntityFilter only;
    only.role = interkonto::EntityFilter::Role::idp;
    only.include = {sk_idp};
    cfg.idp_directory = interkonto::make_federation_idp_directory(c.federation, defaults, only);
    cfg.default_idp = sk_idp;
    cfg.min_trust_level = min_level;
    interkonto::AkdbRequestExtension ext;
    ext.version = 2;
    for (const PortalAttribute &a : portal_attributes())
      ext.requested_attributes.push_back({std::string(a.name), a.required});
    cfg.akdb_extension = std::move(ext);
    cfg.default_return_to = std::string(kService);
    cfg.development_insecure_http = c.development_insecure_http;
    sp = std::make_unique<interkonto::ServiceProvider>(
        cfg, sessions, std::make_shared<interkonto::InMemoryRequestTracker>(),
        std::make_shared<interkonto::InMemoryReplayCache>(), clock, c.log);
  }

  bool secure() const { return !c.development_insecure_http; }

  Page page(std::string title, std::string content, int status = 200) const {
    return Page{c.display_name, std::move(title), std::move(content), status};
  }

  std::optional<interkonto::Session> session_of(const HttpRequest &req) const {
    if (auto s = sp->current_session(req)) return s;
    // The marker cookie (cross-site POSTs carry it; the Lax session cookie they do not).
    const auto marker = req.cookie(kMarkerCookie);
    if (!marker) return std::nullopt;
    std::string sid;
    {
      const std::lock_guard<std::mutex> lock(mu);
      const auto it = markers.find(*marker);
      if (it == markers.end()) return std::nullopt;
      sid = it->second.session_id;
    }
    HttpRequest probe;
    probe.headers.emplace_back("Cookie", sp->config().session_cookie_name + "=" + sid);
    return sp->current_session(probe);
  }

  std::string remember_marker(const interkonto::Session &s) const {
    const std::string m = interkonto::random_id();
    const std::lock_guard<std::mutex> lock(mu);
    const auto now = clock->now();
    std::erase_if(markers, [&](const auto &kv) { return kv.second.expires <= now; });
    if (markers.size() >= kMaxEntries) markers.clear();
    markers.insert_or_assign(m, Marker{s.id, s.expires});
    return m;
  }

  HttpResponse start_page() const {
    return render(page("Online-Dienste",
                       "<h1>Online-Dienste des Freistaats Thüringen</h1>\n"
                       "<p>Stellen Sie Ihre Bauvoranfrage online. Sie melden sich über das Servicekonto "
                       "Thüringen an – auch mit dem Nutzerkonto eines anderen Landes, zum Beispiel dem "
                       "Servicekonto.NRW.</p>\n"
                       "<p><a href=\"/bauvoranfrage\">Bauvoranfrage stellen</a></p>\n"));
  }

  static std::string field(std::string_view id, std::string_view label, const std::string &value,
                           std::string_view type, std::string_view autocomplete) {
    return fmt::format("<div class=\"field\"><label for=\"{0}\">{1}</label>"
                       "<input id=\"{0}\" name=\"{0}\"{2} value=\"{3}\" autocomplete=\"{4}\"></div>\n",
                       id, label, type.empty() ? std::string() : fmt::format(" type=\"{}\"", type),
                       esc(value), autocomplete);
  }

  struct FormValues {
    std::string vorname, nachname, geburtsdatum, strasse, plz, ort, vorhaben;
  };

  HttpResponse form_page(const interkonto::Session &s, const FormValues &v, bool missing_vorhaben) const {
    const auto level = session_level(s);
    const std::string account_id =
        s.authenticating_authorities.empty() ? s.idp_entity_id : s.authenticating_authorities.front();
    const interkonto::SnapshotPtr snap = c.federation->snapshot();
    std::string content = "<h1>Bauvoranfrage</h1>\n";
    content +=
        fmt::format("<p id=\"vertrauensniveau\">Vertrauensniveau: {}</p>\n", trust_word(level.value_or(0)));
    content += fmt::format("<p id=\"nutzerkonto\">Nutzerkonto: {}</p>\n",
                           esc(display_name(snap.get(), account_id, true)));
    if (missing_vorhaben) content += "<p role=\"alert\">Bitte beschreiben Sie Ihr Vorhaben.</p>\n";
    content += fmt::format("<form method=\"post\" action=\"{}\">\n", kService);
    content += "<fieldset>\n<legend>Antragstellerin oder Antragsteller</legend>\n";
    content += "<p class=\"hint\">Aus Ihrem Nutzerkonto übernommen. Bitte prüfen Sie die Angaben.</p>\n";
    content += field("vorname", "Vorname", v.vorname, "", "given-name");
    content += field("nachname", "Nachname", v.nachname, "", "family-name");
    content += field("geburtsdatum", "Geburtsdatum", v.geburtsdatum, "date", "bday");
    content += field("strasse", "Straße und Hausnummer", v.strasse, "", "street-address");
    content += field("plz", "Postleitzahl", v.plz, "", "postal-code");
    content += field("ort", "Ort", v.ort, "", "address-level2");
    content += "</fieldset>\n<fieldset>\n<legend>Vorhaben</legend>\n";
    content += fmt::format("<div class=\"field\"><label for=\"vorhaben\">Beschreibung des Vorhabens</label>"
                           "<textarea id=\"vorhaben\" name=\"vorhaben\" rows=\"6\">{}</textarea></div>\n",
                           esc(v.vorhaben));
    content += "</fieldset>\n<button type=\"submit\">Bauvoranfrage absenden</button>\n</form>\n";
    content += fmt::format("<form method=\"post\" action=\"{}\">\n"
                           "<button type=\"submit\" class=\"secondary\">Abmelden</button>\n</form>\n",
                           kLogout);
    return render(page("Bauvoranfrage", std::move(content)));
  }

  HttpResponse service(const HttpRequest &req) const {
    const auto s = session_of(req);
    if (req.method == "GET") {
      if (!s) {
        interkonto::LoginOptions o;
        o.return_to = std::string(kService);
        HttpResponse r = sp->start_login(o);
        if (r.status >= 400) return login_unavailable(r.status);
        return r;
      }
      FormValues v;
      v.vorname = first_value(*s, oid::given_name);
      v.nachname = first_value(*s, oid::surname);
      v.geburtsdatum = first_value(*s, oid::birthdate);
      v.strasse = first_value(*s, oid::postal_address);
      v.plz = first_value(*s, oid::postal_code);
      v.ort = first_value(*s, oid::locality);
      return form_page(*s, v, false);
    }
    if (req.method != "POST")
      return problem(405, "Methode nicht erlaubt", "Diese Adresse nimmt nur GET und POST an.");
    if (!s) return see_other(std::string(kService)); // logged out meanwhile: log in again
    FormValues v;
    v.vorname = form(req, "vorname").value_or("");
    v.nachname = form(req, "nachname").value_or("");
    v.geburtsdatum = form(req, "geburtsdatum").value_or("");
    v.strasse = form(req, "strasse").value_or("");
    v.plz = form(req, "plz").value_or("");
    v.ort = form(req, "ort").value_or("");
    v.vorhaben = form(req, "vorhaben").value_or("");
    if (v.vorhaben.find_first_not_of(" \t\r\n") == std::string::npos) return form_page(*s, v, true);
    Submission sub;
    sub.file_number = fmt::format("BV-{:06}", next_file_number.fetch_add(1));
    sub.name = v.vorname + " " + v.nachname;
    sub.vorhaben = v.vorhaben.substr(0, 4000);
    {
      const std::lock_guard<std::mutex> lock(mu);
      if (submissions.size() >= kMaxEntries) submissions.clear();
      submissions.insert_or_assign(s->id, std::move(sub));
    }
    return see_other(std::string(kReceived)); // post/redirect/get: reload does not file it twice
  }

  HttpResponse received(const HttpRequest &req) const {
    const auto s = session_of(req);
    std::optional<Submission> sub;
    if (s) {
      const std::lock_guard<std::mutex> lock(mu);
      if (const auto it = submissions.find(s->id); it != submissions.end()) sub = it->second;
    }
    if (!sub) return see_other(std::string(kService));
    return render(page("Ihre Bauvoranfrage ist eingegangen",
                       fmt::format("<h1>Ihre Bauvoranfrage ist eingegangen</h1>\n"
                                   "<p id=\"aktenzeichen\">Aktenzeichen: {}</p>\n"
                                   "<p>Vielen Dank, {}. Die untere Bauaufsichtsbehörde prüft Ihr Vorhaben "
                                   "und meldet sich bei Ihnen.</p>\n"
                                   "<p><a href=\"/\">Zur Startseite</a></p>\n",
                                   esc(sub->file_number), esc(sub->name))));
  }

  HttpResponse problem(int status, std::string_view title, std::string_view message) const {
    return detail::problem(c.display_name, status, title, message);
  }

  HttpResponse login_unavailable(int library_status) const {
    if (library_status == 503) return federation_unavailable(c.display_name);
    return problem(
        503, "Anmeldung derzeit nicht möglich",
        "Das Servicekonto Thüringen ist derzeit nicht erreichbar. Bitte versuchen Sie es später erneut.");
  }

  std::string reason(const interkonto::AcsOutcome &out, std::string &code) const {
    const interkonto::ErrorCode e = out.error ? out.error->code() : interkonto::ErrorCode::internal;
    code = std::string(interkonto::to_string(e));
    const std::string level_text = fmt::format(
        "Das Vertrauensniveau Ihres Nutzerkontos ist für diesen Dienst zu niedrig. Die Bauvoranfrage "
        "erfordert mindestens das Vertrauensniveau „{}“.",
        trust_word(min_level));
    switch (e) {
    case interkonto::ErrorCode::status_not_success: {
      const std::string second = out.status ? out.status->second_level : std::string();
      code = second.substr(second.rfind(':') == std::string::npos ? 0 : second.rfind(':') + 1);
      if (code.empty()) code = "status_not_success";
      if (second == interkonto::status::authn_failed) return std::string(kCancelled);
      if (second == interkonto::status::no_authn_context) return level_text;
      if (second == interkonto::status::request_denied)
        return "Ihr Nutzerkonto hat nicht alle Angaben übermittelt, die für die Bauvoranfrage nötig sind.";
      if (second == interkonto::status::no_supported_idp || second == interkonto::status::no_available_idp)
        return "Mit dem gewählten Nutzerkonto ist eine Anmeldung bei diesem Dienst nicht möglich.";
      return std::string(kGeneric);
    }
    case interkonto::ErrorCode::authn_context_insufficient:
      return level_text;
    case interkonto::ErrorCode::replayed:
    case interkonto::ErrorCode::in_response_to_mismatch:
    case interkonto::ErrorCode::unsolicited:
    case interkonto::ErrorCode::expired:
      return std::string(kStale);
    default:
      return std::string(kGeneric);
    }
  }

  HttpResponse acs(const HttpRequest &req) const {
    if (req.method != "POST") return see_other(std::string(kService));
    interkonto::AcsOutcome out = sp->handle_acs(req);
    if (out.session) {
      HttpResponse r = std::move(out.response); // 303 to /bauvoranfrage with the session cookie
      r.add_header("Set-Cookie",
                   cookie(kMarkerCookie, remember_marker(*out.session), kSpAcs, secure(), "None",
                          static_cast<long>(sp->config().session_absolute_timeout.count())));
      return r;
    }
    // Browser Back / a second POST of a browser that is logged in already: back to the form.
    if (session_of(req)) return see_other(std::string(kService));
    std::string code;
    const std::string why = reason(out, code);
    const int status = out.error && out.error->code() == interkonto::ErrorCode::request_invalid ? 400 : 403;
    return render(page("Anmeldung nicht möglich",
                       fmt::format("<h1>Anmeldung nicht möglich</h1>\n<p id=\"grund\">{}</p>\n"
                                   "<p class=\"hint\" id=\"fehlercode\">Fehlercode: <code>{}</code></p>\n"
                                   "<p><a href=\"{}\">Erneut versuchen</a></p>\n",
                                   esc(why), esc(code), kService),
                       status));
  }

  HttpResponse logout(const HttpRequest &req) const {
    const std::string name = sp->config().session_cookie_name;
    if (const auto id = req.cookie(name)) {
      sessions->remove(*id);
      const std::lock_guard<std::mutex> lock(mu);
      submissions.erase(*id);
    }
    HttpResponse r = see_other("/");
    r.add_header("Set-Cookie", cookie(name, "", "/", secure(), "Lax", 0));
    r.add_header("Set-Cookie", cookie(kMarkerCookie, "", kSpAcs, secure(), "None", 0));
    return r;
  }
};

Portal::Portal(Common common, std::string servicekonto_idp_entity_id, int min_trust_level)
    : impl_(std::make_unique<Impl>(std::move(common), std::move(servicekonto_idp_entity_id),
                                   min_trust_level)) {}

Portal::~Portal() = default;

HttpResponse Portal::handle(const HttpRequest &req) const {
  const Impl &m = *impl_;
  try {
    if (req.path == kSpMetadata) return metadata_document(metadata_xml(m.c));
    const interkonto::SnapshotPtr snap = m.c.federation ? m.c.federation->snapshot() : nullptr;
    if (!snap || !m.sp) return federation_unavailable(m.c.display_name);
    if (req.path == "/") return m.start_page();
    if (req.path == kService) return m.service(req);
    if (req.path == kReceived) return m.received(req);
    if (req.path == kSpAcs) return m.acs(req);
    if (req.path == kSpLogin) {
      HttpResponse r = m.sp->handle_login(req);
      return r.status >= 400 ? m.login_unavailable(r.status) : r;
    }
    if (req.path == kLogout && req.method == "POST") return m.logout(req);
    return m.problem(404, "Seite nicht gefunden", "Diese Seite gibt es nicht.");
  } catch (const std::exception &e) {
    return internal_error(m.c.display_name, m.c.log, "clara portal", e);
  }
}

} // namespace clara
