// SPDX-License-Identifier: EUPL-1.2
#include "clara/page.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <stdexcept>
#include <utility>

#include "interkonto/bindings.hpp"
#include "interkonto/error.hpp"

namespace clara::detail {

namespace {

// Colours (WCAG 2.1 AA): text #1a1a1a on #ffffff (17.4:1); links, borders
// and buttons #0b4f9c (8.3:1; white on it 8.3:1); header white on #0b3d6e
// (11.6:1); secondary text #4d4d4d (8.5:1); alert text #7a0000 on #fdf0f0 (10.5:1).
constexpr std::string_view kCss =
    "\n*{box-sizing:border-box}\n"
    "html{font-family:system-ui,-apple-system,\"Segoe UI\",Roboto,\"Helvetica Neue\",Arial,sans-serif;"
    "font-size:100%;line-height:1.5;color:#1a1a1a;background:#ffffff}\n"
    "body{margin:0;padding:0}\n"
    ".skip{position:absolute;left:-10000px;top:0}\n"
    ".skip:focus{left:1rem;top:0.5rem;background:#ffffff;color:#0b4f9c;padding:0.5rem;z-index:1}\n"
    "header{background:#0b3d6e;color:#ffffff;padding:0.75rem 1rem}\n"
    "header p{max-width:40rem;margin:0 auto;font-weight:700;font-size:1.125rem}\n"
    "main{max-width:40rem;margin:0 auto;padding:0.5rem 1rem 2rem}\n"
    "footer{max-width:40rem;margin:0 auto;padding:1rem;color:#4d4d4d;border-top:1px solid #c8c8c8;"
    "font-size:0.875rem}\n"
    "h1{font-size:1.75rem;line-height:1.25;margin:1rem 0 1.25rem}\n"
    "h2{font-size:1.25rem;margin:1.5rem 0 0.75rem}\n"
    "a{color:#0b4f9c;text-decoration:underline}\n"
    ".field{margin:0 0 1rem}\n"
    "label{display:block;font-weight:600;margin:0 0 0.25rem}\n"
    "input,textarea{display:block;width:100%;font:inherit;padding:0.5rem;color:#1a1a1a;background:#ffffff;"
    "border:2px solid #5a5a5a;border-radius:4px}\n"
    "textarea{min-height:8rem}\n"
    "fieldset{border:1px solid #8c8c8c;border-radius:4px;margin:0 0 1.5rem;padding:1rem}\n"
    "legend{font-weight:700;padding:0 0.25rem}\n"
    "button{font:inherit;cursor:pointer;border-radius:4px;padding:0.625rem 1.25rem;border:2px solid #0b4f9c;"
    "background:#0b4f9c;color:#ffffff;margin:0 0.5rem 0.5rem 0}\n"
    "button.secondary{background:#ffffff;color:#0b4f9c}\n"
    "a:focus,button:focus,input:focus,textarea:focus{outline:3px solid #1a1a1a;outline-offset:2px}\n"
    "[role=alert]{border-left:4px solid #a30000;background:#fdf0f0;color:#7a0000;padding:0.75rem 1rem}\n"
    ".info{border-left:4px solid #0b4f9c;background:#eef3fa;padding:0.75rem 1rem}\n"
    "ul#attributes{list-style:none;padding:0;margin:0 0 1.5rem;border-top:1px solid #c8c8c8}\n"
    "ul#attributes li{display:flex;flex-wrap:wrap;gap:0 1rem;padding:0.5rem 0;border-bottom:1px solid "
    "#c8c8c8}\n"
    "ul#attributes .label{font-weight:600;min-width:12rem}\n"
    ".hint{color:#4d4d4d}\n";

std::string sha256_base64(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("SHA-256 failed");
  return interkonto::base64_encode(std::string_view(reinterpret_cast<const char *>(md), len));
}

const std::string &csp() {
  static const std::string value = "default-src 'none'; style-src 'sha256-" + sha256_base64(kCss) +
                                   "'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
  return value;
}

} // namespace

std::string esc(std::string_view s) {
  return interkonto::html_escape(s);
}

interkonto::HttpResponse render(const Page &p) {
  interkonto::HttpResponse r;
  r.status = p.status;
  r.set_header("Content-Type", "text/html; charset=utf-8");
  r.set_header("Content-Language", "de");
  r.set_header("Cache-Control", "no-store");
  r.set_header("Pragma", "no-cache");
  r.set_header("Content-Security-Policy", csp());
  r.set_header("X-Content-Type-Options", "nosniff");
  r.set_header("Referrer-Policy", "no-referrer");
  r.body = fmt::format("<!DOCTYPE html>\n<html lang=\"de\">\n<head>\n<meta charset=\"utf-8\">\n"
                       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                       "<title>{0} – {1}</title>\n<style>{2}</style>\n</head>\n<body>\n"
                       "<a class=\"skip\" href=\"#inhalt\">Zum Inhalt springen</a>\n"
                       "<header>\n<p>{1}</p>\n</header>\n"
                       "<main id=\"inhalt\">\n{3}</main>\n"
                       "<footer>\n<p>Demonstration der Bibliothek interkonto (Clara-Szenario) – "
                       "alle Personen und Daten sind erfunden.</p>\n</footer>\n</body>\n</html>\n",
                       esc(p.title), esc(p.party), kCss, p.content);
  return r;
}

interkonto::HttpResponse federation_unavailable(std::string_view party) {
  Page p;
  p.party = std::string(party);
  p.title = "Föderationsdienst nicht erreichbar";
  p.status = 503;
  p.content = "<h1>Föderationsdienst nicht erreichbar</h1>\n"
              "<p id=\"grund\">Der Föderationsdienst (FINK) ist derzeit nicht erreichbar. Ohne ihn kann "
              "diese Stelle den anderen Servicekonten und Online-Diensten nicht vertrauen, deshalb ist "
              "eine Anmeldung gerade nicht möglich.</p>\n"
              "<p>Die Verbindung wird automatisch erneut versucht. Bitte laden Sie diese Seite in einigen "
              "Minuten neu.</p>\n";
  interkonto::HttpResponse r = render(p);
  r.set_header("Retry-After", "30");
  return r;
}

interkonto::HttpResponse problem(std::string_view party, int status, std::string_view title,
                                 std::string_view message) {
  return render(Page{std::string(party), std::string(title),
                     fmt::format("<h1>{}</h1>\n<p id=\"grund\">{}</p>\n", esc(title), esc(message)), status});
}

interkonto::HttpResponse internal_error(std::string_view party, const interkonto::LogSink &log,
                                        std::string_view who, const std::exception &e) {
  if (log) log(interkonto::LogLevel::error, fmt::format("{}: internal error: {}", who, e.what()));
  return problem(party, 500, "Technischer Fehler",
                 "Ein interner Fehler ist aufgetreten. Bitte versuchen Sie es später erneut.");
}

interkonto::HttpResponse metadata_document(std::string xml) {
  interkonto::HttpResponse r;
  r.set_header("Content-Type", "application/samlmetadata+xml");
  r.body = std::move(xml);
  return r;
}

interkonto::HttpResponse see_other(std::string location) {
  interkonto::HttpResponse r;
  r.status = 303;
  r.set_header("Location", std::move(location));
  r.set_header("Cache-Control", "no-store");
  return r;
}

std::string cookie(std::string_view name, std::string_view value, std::string_view path, bool secure,
                   std::string_view same_site, std::optional<long> max_age_seconds) {
  interkonto::CookieOptions o;
  o.path = std::string(path);
  o.secure = secure;
  o.http_only = true;
  // SameSite=None needs Secure; without it (development switch) fall back to Lax.
  o.same_site = (same_site == "None" && !secure) ? "Lax" : std::string(same_site);
  o.max_age_seconds = max_age_seconds;
  return interkonto::make_set_cookie(name, value, o);
}

std::optional<std::string> form(const interkonto::HttpRequest &req, std::string_view name) {
  try {
    return req.form_param(name);
  } catch (const std::exception &) {
    return std::nullopt;
  }
}

std::string german_date(std::string_view iso) {
  if (iso.size() == 10 && iso[4] == '-' && iso[7] == '-')
    return fmt::format("{}.{}.{}", iso.substr(8, 2), iso.substr(5, 2), iso.substr(0, 4));
  return std::string(iso);
}

std::string_view trust_word(int stork_level) {
  switch (stork_level) {
  case 1:
    return "untergeordnet";
  case 2:
    return "niedrig";
  case 3:
    return "substanziell";
  case 4:
    return "hoch";
  default:
    return "unbekannt";
  }
}

std::string display_name(const interkonto::MetadataSnapshot *snap, std::string_view entity_id,
                         bool prefer_idp) {
  if (snap != nullptr)
    if (const interkonto::EntityPtr e = snap->find(entity_id)) return e->display_name("de", prefer_idp);
  return std::string(entity_id);
}

std::string host_of(std::string_view base_url) {
  std::string_view s = base_url;
  if (const auto p = s.find("://"); p != std::string_view::npos) s = s.substr(p + 3);
  s = s.substr(0, s.find('/'));
  if (!s.empty() && s.front() == '[') return std::string(s.substr(0, s.find(']') + 1));
  return std::string(s.substr(0, s.find(':')));
}

} // namespace clara::detail
