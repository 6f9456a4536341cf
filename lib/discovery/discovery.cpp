// SPDX-License-Identifier: EUPL-1.2
// IdP discovery: the list of IdPs from metadata, search, the server-rendered
// choice page, the JSON feed, the remembered choice (HMAC-signed cookie),
// the IdP hint, and the SAML IdP Discovery Protocol (service and client).
// Routes and formats are documented in docs/discovery.md.

#include "interkonto/discovery.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <set>
#include <span>
#include <stdexcept>
#include <tuple>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "discovery/fold.hpp"
#include "discovery/page_template.hpp"
#include "interkonto/bindings.hpp"
#include "interkonto/error.hpp"
#include "interkonto/metadata_provider.hpp"

namespace interkonto {

namespace {

using discovery_detail::fold;

constexpr std::string_view kIdpDiscBinding = "urn:oasis:names:tc:SAML:profiles:SSO:idp-discovery-protocol";
constexpr std::string_view kSinglePolicy =
    "urn:oasis:names:tc:SAML:profiles:SSO:idp-discovery-protocol:single";
constexpr std::size_t kMaxTemplateSize = 1024 * 1024;
constexpr std::size_t kMaxDataLogo = 32 * 1024;
constexpr std::size_t kMaxReturnTo = 2048;
constexpr std::size_t kMaxSearch = 200;
constexpr std::size_t kMaxFormActionOrigins = 64;
constexpr unsigned kLogoMaxHeight = 40; // rendered size on the page (CSS px)
constexpr unsigned kLogoMaxWidth = 120;

// ------------------------------------------------------------------ text

enum class Lang { de, en };

std::string_view code(Lang l) {
  return l == Lang::de ? "de" : "en";
}

struct Text {
  std::string_view de;
  std::string_view en;
  std::string_view operator()(Lang l) const { return l == Lang::de ? de : en; }
};

constexpr Text kHeading{"Mit welchem Nutzerkonto möchten Sie sich anmelden?",
                        "Which user account do you want to log in with?"};
constexpr Text kSearchLabel{"Nutzerkonto suchen", "Search for a user account"};
constexpr Text kSearchButton{"Suchen", "Search"};
constexpr Text kSearchReset{"Alle Nutzerkonten anzeigen", "Show all user accounts"};
constexpr Text kRemember{"Auswahl merken", "Remember my choice"};
constexpr Text kLangNav{"Sprache", "Language"};
constexpr Text kNoneOffered{"Derzeit werden hier keine Nutzerkonten angeboten.",
                            "No user accounts are currently offered here."};
constexpr Text kCodeLabel{"Fehlercode:", "Error code:"};
constexpr Text kBackToChoice{"Zur Auswahl der Nutzerkonten", "To the choice of user accounts"};

std::string no_match_text(Lang l, std::string_view q) {
  return l == Lang::de ? fmt::format("Kein Nutzerkonto gefunden für „{}“.", q)
                       : fmt::format("No user account found for “{}”.", q);
}

std::string found_text(Lang l, std::size_t n) {
  if (l == Lang::de) return n == 1 ? "1 Nutzerkonto gefunden." : fmt::format("{} Nutzerkonten gefunden.", n);
  return n == 1 ? "1 user account found." : fmt::format("{} user accounts found.", n);
}

// ------------------------------------------------------------------ refusals

enum class Problem {
  bad_request,
  too_long,
  unknown_idp,
  unknown_sp,
  return_not_listed,
  bad_return_to,
  tampered_cookie,
  not_found,
  method_not_allowed,
  unavailable,
  internal,
};

std::string_view problem_code(Problem p) {
  switch (p) {
  case Problem::bad_request:
    return "bad_request";
  case Problem::too_long:
    return "too_long";
  case Problem::unknown_idp:
    return "unknown_idp";
  case Problem::unknown_sp:
    return "unknown_sp";
  case Problem::return_not_listed:
    return "return_not_listed";
  case Problem::bad_return_to:
    return "bad_return_to";
  case Problem::tampered_cookie:
    return "tampered_cookie";
  case Problem::not_found:
    return "not_found";
  case Problem::method_not_allowed:
    return "method_not_allowed";
  case Problem::unavailable:
    return "metadata_unavailable";
  case Problem::internal:
    break;
  }
  return "internal";
}

int problem_status(Problem p) {
  switch (p) {
  case Problem::not_found:
    return 404;
  case Problem::method_not_allowed:
    return 405;
  case Problem::unavailable:
    return 503;
  case Problem::internal:
    return 500;
  default:
    return 400;
  }
}

Text problem_heading(Problem p) {
  switch (p) {
  case Problem::not_found:
    return {"Seite nicht gefunden", "Page not found"};
  case Problem::method_not_allowed:
    return {"Methode nicht erlaubt", "Method not allowed"};
  case Problem::unavailable:
    return {"Derzeit nicht verfügbar", "Currently unavailable"};
  case Problem::internal:
    return {"Interner Fehler", "Internal error"};
  case Problem::tampered_cookie:
    return {"Gespeicherte Auswahl ungültig", "Saved choice invalid"};
  default:
    return {"Ungültige Anfrage", "Invalid request"};
  }
}

Text problem_message(Problem p) {
  switch (p) {
  case Problem::bad_request:
    return {"Die Anfrage enthält ungültige oder unvollständige Angaben.",
            "The request contains invalid or incomplete parameters."};
  case Problem::too_long:
    return {"Die Anfrage ist zu lang und wurde deshalb nicht bearbeitet.",
            "The request is too long and was not processed."};
  case Problem::unknown_idp:
    return {"Das gewählte Nutzerkonto ist unbekannt oder wird hier nicht angeboten.",
            "The chosen user account is unknown or not offered here."};
  case Problem::unknown_sp:
    return {"Der Dienst, von dem Sie kommen, ist in der Föderation nicht bekannt. Sie werden daher nicht "
            "weitergeleitet.",
            "The service you came from is not known in the federation. You are therefore not redirected."};
  case Problem::return_not_listed:
    return {
        "Die Rücksprungadresse ist für diesen Dienst nicht in den Metadaten der Föderation hinterlegt. Aus "
        "Sicherheitsgründen werden Sie nicht dorthin weitergeleitet.",
        "The return address is not registered for this service in the federation metadata. For your "
        "security you are not redirected there."};
  case Problem::bad_return_to:
    return {"Die Zieladresse für die Zeit nach der Anmeldung ist ungültig.",
            "The address to continue to after the login is invalid."};
  case Problem::tampered_cookie:
    return {
        "Ihre gespeicherte Auswahl eines Nutzerkontos ist ungültig und wurde gelöscht. Bitte wählen Sie Ihr "
        "Nutzerkonto erneut aus.",
        "Your saved choice of a user account is invalid and has been deleted. Please choose your user "
        "account again."};
  case Problem::not_found:
    return {"Die angeforderte Seite gibt es hier nicht.", "The requested page does not exist here."};
  case Problem::method_not_allowed:
    return {"Diese Seite kann so nicht aufgerufen werden.", "This page cannot be requested this way."};
  case Problem::unavailable:
    return {"Die Liste der Nutzerkonten ist derzeit nicht verfügbar. Bitte versuchen Sie es später erneut.",
            "The list of user accounts is currently unavailable. Please try again later."};
  case Problem::internal:
    break;
  }
  return {"Bei der Bearbeitung ist ein Fehler aufgetreten. Bitte versuchen Sie es später erneut.",
          "An error occurred while processing the request. Please try again later."};
}

// Thrown inside the request handlers; handle() turns it into an error page.
struct Refused : std::runtime_error {
  Refused(Problem p, const std::string &detail) : std::runtime_error(detail), problem(p) {}
  Problem problem;
  std::string link;          // a same-site link offered on the page (tampered cookie)
  bool clear_cookie = false; // expire the remembered-choice cookie
  std::string allow;         // Allow header for 405
};

// Input quoted in a log line: bounded, control characters replaced.
std::string clip(std::string_view s, std::size_t n = 200) {
  std::string out(s.substr(0, std::min(n, s.size())));
  for (char &c : out)
    if (static_cast<unsigned char>(c) < 0x20U || c == '\x7f') c = '?';
  if (s.size() > n) out += "...";
  return out;
}

// ------------------------------------------------------------------ helpers

std::string esc(std::string_view s) {
  return html_escape(s);
}

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool istarts_with(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (lower(s[i]) != lower(prefix[i])) return false;
  return true;
}

bool has_unsafe_url_chars(std::string_view s) {
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x21U || u == 0x7FU || c == '\\') return true;
  }
  return false;
}

// A local path: "/..." but not "//..." or "/\...", no controls, spaces or backslashes.
bool is_local_path(std::string_view p) {
  if (p.empty() || p.size() > kMaxReturnTo || p.front() != '/') return false;
  if (p.size() > 1 && (p[1] == '/' || p[1] == '\\')) return false;
  return !has_unsafe_url_chars(p);
}

bool is_token(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

bool is_cookie_name(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return true;
    return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

// "scheme://authority" of an absolute http(s) URL, when it can be written
// into a CSP source list safely; empty otherwise.
std::string csp_origin(std::string_view url) {
  std::size_t start = 0;
  if (istarts_with(url, "https://"))
    start = 8;
  else if (istarts_with(url, "http://"))
    start = 7;
  else
    return {};
  std::size_t end = url.find_first_of("/?#", start);
  if (end == std::string_view::npos) end = url.size();
  const std::string_view authority = url.substr(start, end - start);
  if (authority.empty()) return {};
  for (const char c : authority)
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
          c == '-' || c == ':' || c == '[' || c == ']'))
      return {}; // userinfo, percent-escapes, anything odd
  std::string out;
  for (const char c : url.substr(0, end)) out.push_back(lower(c));
  return out;
}

std::string base64url_decode(std::string_view s) {
  std::string b;
  b.reserve(s.size() + 3);
  for (const char c : s) {
    if (c == '-')
      b.push_back('+');
    else if (c == '_')
      b.push_back('/');
    else if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
      b.push_back(c);
    else
      throw Error(ErrorCode::malformed, "not base64url");
  }
  while (b.size() % 4 != 0) b.push_back('=');
  return base64_decode(b);
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char *>(data.data()), data.size(), md.data(), &len) == nullptr)
    throw Error(ErrorCode::internal, "HMAC-SHA256 failed");
  return std::string(reinterpret_cast<const char *>(md.data()), len);
}

std::string sha256_base64(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned len = 0;
  if (EVP_Digest(data.data(), data.size(), md.data(), &len, EVP_sha256(), nullptr) != 1)
    throw Error(ErrorCode::internal, "SHA-256 failed");
  return base64_encode(std::string_view(reinterpret_cast<const char *>(md.data()), len));
}

std::int64_t unix_seconds(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// ------------------------------------------------------------------ templates

class Template {
public:
  Template() = default;
  Template(std::string_view text, std::span<const std::string_view> known, std::string_view what) {
    std::size_t pos = 0;
    std::string literal;
    while (pos < text.size()) {
      const std::size_t open = text.find("{{", pos);
      if (open == std::string_view::npos) {
        literal.append(text.substr(pos));
        break;
      }
      literal.append(text.substr(pos, open - pos));
      const std::size_t close = text.find("}}", open + 2);
      const std::string_view name =
          close == std::string_view::npos ? std::string_view{} : text.substr(open + 2, close - open - 2);
      const bool name_like =
          !name.empty() && name.size() <= 40 &&
          std::all_of(name.begin(), name.end(), [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; });
      if (!name_like) { // not a placeholder: keep the braces as text
        literal.append("{{");
        pos = open + 2;
        continue;
      }
      if (std::find(known.begin(), known.end(), name) == known.end())
        throw Error(ErrorCode::config_invalid, fmt::format("{}: unknown placeholder {{{{{}}}}}", what, name));
      segments_.push_back({std::move(literal), std::string(name)});
      literal.clear();
      names_.insert(std::string(name));
      pos = close + 2;
    }
    segments_.push_back({std::move(literal), {}});
    hash_styles(text, what);
  }

  bool uses(std::string_view name) const { return names_.count(std::string(name)) != 0; }
  const std::vector<std::string> &style_hashes() const { return style_hashes_; }

  std::string render(const std::map<std::string, std::string, std::less<>> &values) const {
    std::string out;
    for (const auto &s : segments_) {
      out.append(s.literal);
      if (s.name.empty()) continue;
      if (auto it = values.find(s.name); it != values.end()) out.append(it->second);
    }
    return out;
  }

private:
  struct Segment {
    std::string literal;
    std::string name; // placeholder after the literal; empty: none
  };

  // The content of every <style> element is allowed by its hash.
  void hash_styles(std::string_view text, std::string_view what) {
    std::string low;
    low.reserve(text.size());
    for (const char c : text) low.push_back(lower(c));
    std::size_t pos = 0;
    while ((pos = low.find("<style", pos)) != std::string::npos) {
      const std::size_t after = pos + 6;
      if (after < low.size() && low[after] != '>' && low[after] != ' ' && low[after] != '\t' &&
          low[after] != '\n' && low[after] != '\r') {
        pos = after;
        continue;
      }
      const std::size_t gt = low.find('>', after);
      if (gt == std::string::npos) break;
      const std::size_t end = low.find("</style", gt + 1);
      if (end == std::string::npos)
        throw Error(ErrorCode::config_invalid, fmt::format("{}: <style> element not closed", what));
      const std::string_view content = text.substr(gt + 1, end - gt - 1);
      if (content.find("{{") != std::string_view::npos)
        throw Error(ErrorCode::config_invalid,
                    fmt::format("{}: placeholders inside <style> are not supported", what));
      std::string h = "'sha256-" + sha256_base64(content) + "'";
      if (std::find(style_hashes_.begin(), style_hashes_.end(), h) == style_hashes_.end())
        style_hashes_.push_back(std::move(h));
      pos = end;
    }
  }

  std::vector<Segment> segments_;
  std::set<std::string> names_;
  std::vector<std::string> style_hashes_;
};

constexpr std::array<std::string_view, 14> kPagePlaceholders = {
    "lang",          "title",        "heading",      "lang_switch",   "lang_switch_label",
    "search_action", "search_label", "search_value", "search_button", "search_reset",
    "hidden_state",  "status",       "results",      "remember_label"};
constexpr std::array<std::string_view, 7> kErrorPlaceholders = {"lang", "title", "heading",   "message",
                                                                "link", "code",  "code_label"};

std::string read_template_file(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::config_invalid, fmt::format("discovery template {} cannot be read", path));
  std::string text;
  std::array<char, 8192> buf{};
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const auto got = static_cast<std::size_t>(in.gcount());
    text.append(buf.data(), got);
    if (text.size() > kMaxTemplateSize)
      throw Error(ErrorCode::config_invalid, fmt::format("discovery template {} is larger than 1 MiB", path));
  }
  if (in.bad())
    throw Error(ErrorCode::config_invalid, fmt::format("discovery template {} cannot be read", path));
  return text;
}

// ------------------------------------------------------------------ entries

struct Item {
  DiscoveryEntry entry;
  std::string name_lang; // xml:lang of the display name ("" for entityID)
  std::string sort_key;
};

// The display name with the language it is in; same order as
// Entity::display_name: mdui of the IdP role (then the SP role) in `lang`,
// mdui in another language, OrganizationDisplayName, entityID.
std::pair<std::string, std::string> name_for(const Entity &e, std::string_view lang) {
  const std::optional<UiInfo> *roles[] = {&e.idp_ui, &e.sp_ui};
  for (const auto *ui : roles)
    if (ui->has_value())
      for (const auto &v : (*ui)->display_names)
        if (v.lang == lang && !v.value.empty()) return {v.value, v.lang};
  for (const auto *ui : roles)
    if (ui->has_value())
      if (const LocalizedString *s = pick_lang((*ui)->display_names, lang)) return {s->value, s->lang};
  if (const LocalizedString *s = pick_lang(e.organization.display_names, lang)) return {s->value, s->lang};
  return {e.entity_id, {}};
}

bool logo_url_ok(std::string_view url) {
  if (has_unsafe_url_chars(url)) return false;
  if (istarts_with(url, "https://")) return url.size() > 8 && url.size() <= 2048;
  if (istarts_with(url, "data:image/")) return url.size() <= kMaxDataLogo;
  return false;
}

const Logo *pick_logo(const Entity &e, std::string_view lang) {
  if (!e.idp_ui) return nullptr;
  const Logo *best = nullptr;
  std::tuple<int, int, unsigned> best_rank{};
  for (const Logo &l : e.idp_ui->logos) {
    if (l.width == 0 || l.height == 0 || !logo_url_ok(l.url)) continue;
    const bool small = l.height >= 16 && l.height <= 80;
    const unsigned distance = small ? 0U : (l.height < 16 ? 16U - l.height : l.height - 80U);
    const int lang_rank = l.lang == lang ? 0 : (l.lang.empty() ? 1 : 2);
    const std::tuple<int, int, unsigned> rank{small ? 0 : 1, lang_rank, distance};
    if (best == nullptr || rank < best_rank) {
      best = &l;
      best_rank = rank;
    }
  }
  return best;
}

std::pair<unsigned, unsigned> rendered_logo_size(unsigned w, unsigned h) {
  double scale = 1.0;
  if (h > kLogoMaxHeight) scale = std::min(scale, static_cast<double>(kLogoMaxHeight) / h);
  if (w > kLogoMaxWidth) scale = std::min(scale, static_cast<double>(kLogoMaxWidth) / w);
  const auto rw = static_cast<unsigned>(std::max(1.0, static_cast<double>(w) * scale + 0.5));
  const auto rh = static_cast<unsigned>(std::max(1.0, static_cast<double>(h) * scale + 0.5));
  return {rw, rh};
}

// Words of a folded query; each must occur in the haystack.
std::vector<std::string> query_words(std::string_view q) {
  const std::string f = fold(q, false);
  std::vector<std::string> words;
  std::size_t pos = 0;
  while (pos < f.size()) {
    const std::size_t sp = f.find_first_of(" \t\r\n", pos);
    const std::size_t end = sp == std::string::npos ? f.size() : sp;
    if (end > pos) words.emplace_back(f.substr(pos, end - pos));
    pos = end + 1;
  }
  return words;
}

// ------------------------------------------------------------------ request state

struct DsState {
  std::string sp;
  std::string ret;
  std::optional<std::string> return_id_param;
  bool passive = false;
  std::string id_param() const { return return_id_param.value_or("entityID"); }
};

struct State {
  Lang lang = Lang::de;
  std::string q;
  std::optional<std::string> return_to;
  std::optional<DsState> ds;
};

std::string append_param(std::string url, std::string_view name, std::string_view value) {
  if (url.find('?') == std::string::npos)
    url.push_back('?');
  else if (url.back() != '?' && url.back() != '&')
    url.push_back('&');
  url.append(name);
  url.push_back('=');
  url.append(url_encode(value));
  return url;
}

std::string state_query(const State &s, Lang lang, bool with_q) {
  std::string q = "lang=" + std::string(code(lang));
  if (with_q && !s.q.empty()) q += "&q=" + url_encode(s.q);
  if (s.ds) {
    q += "&entityID=" + url_encode(s.ds->sp) + "&return=" + url_encode(s.ds->ret);
    if (s.ds->return_id_param) q += "&returnIDParam=" + url_encode(*s.ds->return_id_param);
  } else if (s.return_to) {
    q += "&return_to=" + url_encode(*s.return_to);
  }
  return q;
}

std::string hidden(std::string_view name, std::string_view value) {
  return fmt::format("<input type=\"hidden\" name=\"{}\" value=\"{}\">\n", esc(name), esc(value));
}

std::string hidden_state(const State &s) {
  std::string out = hidden("lang", code(s.lang));
  if (s.ds) {
    out += hidden("entityID", s.ds->sp);
    out += hidden("return", s.ds->ret);
    if (s.ds->return_id_param) out += hidden("returnIDParam", *s.ds->return_id_param);
  } else if (s.return_to) {
    out += hidden("return_to", *s.return_to);
  }
  return out;
}

enum class CookieStatus { absent, valid, tampered, expired, not_offered };

struct CookieCheck {
  CookieStatus status = CookieStatus::absent;
  std::string entity_id;
};

HttpResponse html_response(int status, std::string body, std::string csp, Lang lang) {
  HttpResponse r;
  r.status = status;
  r.set_header("Content-Type", "text/html; charset=utf-8");
  r.set_header("Content-Language", std::string(code(lang)));
  r.set_header("Cache-Control", "no-store");
  r.set_header("Content-Security-Policy", std::move(csp));
  r.set_header("X-Content-Type-Options", "nosniff");
  r.set_header("X-Frame-Options", "DENY");
  r.set_header("Referrer-Policy", "same-origin");
  r.body = std::move(body);
  return r;
}

HttpResponse json_response(int status, const nlohmann::ordered_json &j, std::string cache_control) {
  HttpResponse r;
  r.status = status;
  r.set_header("Content-Type", "application/json; charset=utf-8");
  r.set_header("Cache-Control", std::move(cache_control));
  r.set_header("X-Content-Type-Options", "nosniff");
  r.body = j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  return r;
}

} // namespace

// ====================================================================== Impl

struct Discovery::Impl {
  std::shared_ptr<const MetadataProvider> provider;
  SnapshotPtr fixed;
  DiscoveryConfig cfg;
  EntityFilter filter;
  std::shared_ptr<const Clock> clock;
  LogSink log;
  Template page;
  Template error;

  void init(DiscoveryConfig c);

  SnapshotPtr snapshot() const { return provider ? provider->snapshot() : fixed; }
  TimePoint now() const { return clock->now(); }
  bool remember_enabled() const { return !cfg.cookie_secret.empty(); }
  void warn(const std::string &msg) const {
    if (log) log(LogLevel::warning, msg);
  }

  Lang lang_of(std::string_view v) const {
    if (v.size() == 2 || (v.size() > 2 && v[2] == '-')) {
      const char a = lower(v[0]);
      const char b = lower(v[1]);
      if (a == 'd' && b == 'e') return Lang::de;
      if (a == 'e' && b == 'n') return Lang::en;
    }
    return cfg.default_lang == "en" ? Lang::en : Lang::de;
  }
  Lang request_lang(const HttpRequest &req) const {
    try {
      auto v = req.method == "POST" ? req.form_param("lang") : req.query_param("lang");
      if (!v && req.method == "POST") v = req.query_param("lang");
      return lang_of(v.value_or(""));
    } catch (const std::exception &) {
      return lang_of("");
    }
  }

  EntityPtr offered(const MetadataSnapshot &snap, std::string_view id, TimePoint t) const {
    EntityPtr e = snap.find(id);
    if (!e || !e->idp || !e->valid_at(t) || !filter.matches(*e)) return nullptr;
    return e;
  }

  std::vector<Item> items(const MetadataSnapshot &snap, Lang lang, std::string_view query, TimePoint t) const;
  CookieCheck check_cookie(const HttpRequest &req, const MetadataSnapshot &snap, TimePoint t) const;
  std::string cookie_value(std::string_view entity_id, TimePoint t) const;
  std::string set_cookie(std::string_view value, long max_age) const {
    CookieOptions o;
    o.path = "/";
    o.same_site = "Lax";
    o.http_only = true;
    o.secure = !cfg.development_insecure_http;
    o.max_age_seconds = max_age;
    return make_set_cookie(cfg.cookie_name, value, o);
  }
  std::string clear_cookie() const { return set_cookie("", 0); }

  State parse_state(const std::function<std::optional<std::string>(std::string_view)> &get, Lang lang,
                    const MetadataSnapshot &snap, TimePoint t) const;
  std::string continue_url(const State &s, std::string_view idp) const;
  std::string page_csp(const State &s, const std::vector<Item> &shown, const MetadataSnapshot &snap) const;

  HttpResponse serve_page(const HttpRequest &req, Lang lang) const;
  HttpResponse serve_json(const HttpRequest &req, Lang lang) const;
  HttpResponse serve_choose(const HttpRequest &req, Lang lang) const;
  HttpResponse error_page(const Refused &r, Lang lang) const;
};

void Discovery::Impl::init(DiscoveryConfig c) {
  const auto &pp = c.page_path;
  if (pp.size() < 2 || pp.front() != '/' || pp.back() == '/' || pp[1] == '/' || has_unsafe_url_chars(pp) ||
      pp.find_first_of("?#\"'<>") != std::string::npos)
    throw Error(ErrorCode::config_invalid, "discovery page_path must be a local path like /saml/discovery");
  if (!is_local_path(c.login_path) || c.login_path.find_first_of("#\"'<>") != std::string::npos)
    throw Error(ErrorCode::config_invalid, "discovery login_path must be a local path like /saml/login");
  if (!is_cookie_name(c.cookie_name))
    throw Error(ErrorCode::config_invalid, "discovery cookie_name is not a token");
  if (!c.cookie_secret.empty() && c.cookie_secret.size() < 32)
    throw Error(ErrorCode::config_invalid, "discovery cookie_secret must have at least 32 bytes");
  if (c.remember_for.count() <= 0)
    throw Error(ErrorCode::config_invalid, "discovery remember_for must be positive");
  if (c.max_query == 0) throw Error(ErrorCode::config_invalid, "discovery max_query must be positive");
  if (c.default_lang != "de" && c.default_lang != "en")
    throw Error(ErrorCode::config_invalid, "discovery default_lang must be \"de\" or \"en\"");
  if (c.template_path.empty()) {
    page = Template(discovery_detail::kPageTemplate, kPagePlaceholders, "built-in discovery template");
  } else {
    page = Template(read_template_file(c.template_path), kPagePlaceholders,
                    fmt::format("discovery template {}", c.template_path));
    if (!page.uses("results"))
      throw Error(
          ErrorCode::config_invalid,
          fmt::format("discovery template {} lacks the {{{{results}}}} placeholder", c.template_path));
  }
  error = Template(discovery_detail::kErrorTemplate, kErrorPlaceholders, "built-in discovery error template");
  filter = c.filter;
  filter.role = EntityFilter::Role::idp;
  if (c.filter.role == EntityFilter::Role::sp) // nothing could match: a configuration mistake
    throw Error(ErrorCode::config_invalid, "discovery filter role must be idp or any");
  cfg = std::move(c);
}

std::vector<Item> Discovery::Impl::items(const MetadataSnapshot &snap, Lang lang, std::string_view query,
                                         TimePoint t) const {
  const std::vector<std::string> words = query_words(query);
  const std::string_view l = code(lang);
  std::vector<Item> out;
  for (const EntityPtr &e : snap.entities()) {
    if (!e->idp || !e->valid_at(t) || !filter.matches(*e)) continue;
    auto [name, name_lang] = name_for(*e, l);
    if (!words.empty()) {
      const std::string de = lang == Lang::de ? name : name_for(*e, "de").first;
      const std::string en = lang == Lang::en ? name : name_for(*e, "en").first;
      const std::string hay = de + '\n' + en + '\n' + e->entity_id;
      const std::string h1 = fold(hay, false);
      const std::string h2 = fold(hay, true);
      const bool all = std::all_of(words.begin(), words.end(), [&](const std::string &w) {
        return h1.find(w) != std::string::npos || h2.find(w) != std::string::npos;
      });
      if (!all) continue;
    }
    Item it;
    it.entry.entity_id = e->entity_id;
    it.entry.display_name = std::move(name);
    it.name_lang = std::move(name_lang);
    if (const Logo *logo = pick_logo(*e, l)) {
      it.entry.logo_url = logo->url;
      it.entry.logo_width = logo->width;
      it.entry.logo_height = logo->height;
    }
    it.sort_key = fold(it.entry.display_name, false);
    out.push_back(std::move(it));
  }
  std::sort(out.begin(), out.end(), [](const Item &a, const Item &b) {
    if (a.sort_key != b.sort_key) return a.sort_key < b.sort_key;
    if (a.entry.display_name != b.entry.display_name) return a.entry.display_name < b.entry.display_name;
    return a.entry.entity_id < b.entry.entity_id;
  });
  return out;
}

std::string Discovery::Impl::cookie_value(std::string_view entity_id, TimePoint t) const {
  const std::int64_t expiry = unix_seconds(t) + static_cast<std::int64_t>(cfg.remember_for.count());
  const std::string exp = std::to_string(expiry);
  const std::string mac = hmac_sha256(cfg.cookie_secret, std::string(entity_id) + "|" + exp);
  return base64url_encode_nopad(entity_id) + "." + exp + "." + base64url_encode_nopad(mac);
}

CookieCheck Discovery::Impl::check_cookie(const HttpRequest &req, const MetadataSnapshot &snap,
                                          TimePoint t) const {
  CookieCheck out;
  if (!remember_enabled()) return out;
  const std::optional<std::string> raw = req.cookie(cfg.cookie_name);
  if (!raw || raw->empty()) return out; // an emptied cookie is no cookie
  out.status = CookieStatus::tampered;
  const std::string &v = *raw;
  const std::size_t d1 = v.find('.');
  const std::size_t d2 = d1 == std::string::npos ? std::string::npos : v.find('.', d1 + 1);
  if (d2 == std::string::npos || v.find('.', d2 + 1) != std::string::npos || v.size() > 4096) return out;
  const std::string_view exp_text = std::string_view(v).substr(d1 + 1, d2 - d1 - 1);
  if (exp_text.empty() || exp_text.size() > 12 ||
      !std::all_of(exp_text.begin(), exp_text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return out;
  std::string entity_id;
  std::string mac;
  try {
    entity_id = base64url_decode(std::string_view(v).substr(0, d1));
    mac = base64url_decode(std::string_view(v).substr(d2 + 1));
  } catch (const std::exception &) {
    return out;
  }
  const std::string expected = hmac_sha256(cfg.cookie_secret, entity_id + "|" + std::string(exp_text));
  if (entity_id.empty() || mac.size() != expected.size() ||
      CRYPTO_memcmp(mac.data(), expected.data(), expected.size()) != 0)
    return out;
  std::int64_t expiry = 0;
  std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), expiry);
  out.entity_id = std::move(entity_id);
  if (unix_seconds(t) >= expiry) {
    out.status = CookieStatus::expired;
  } else if (!offered(snap, out.entity_id, t)) {
    out.status = CookieStatus::not_offered;
  } else {
    out.status = CookieStatus::valid;
  }
  return out;
}

State Discovery::Impl::parse_state(const std::function<std::optional<std::string>(std::string_view)> &get_raw,
                                   Lang lang, const MetadataSnapshot &snap, TimePoint t) const {
  auto get = [&](std::string_view name) -> std::optional<std::string> {
    try {
      return get_raw(name);
    } catch (const Error &e) {
      throw Refused(Problem::bad_request, fmt::format("parameter {}: {}", name, e.detail()));
    }
  };
  State s;
  s.lang = lang;
  s.q = get("q").value_or("");
  if (s.q.size() > kMaxSearch) throw Refused(Problem::too_long, "search text longer than 200 bytes");
  const auto sp = get("entityID");
  const auto ret = get("return");
  if (sp || ret) {
    if (!sp || !ret) throw Refused(Problem::bad_request, "SAMLDS request needs both entityID and return");
    DsState ds;
    ds.sp = *sp;
    ds.ret = *ret;
    const EntityPtr e = snap.find(ds.sp);
    const bool allowed = cfg.allowed_sps.empty() || std::find(cfg.allowed_sps.begin(), cfg.allowed_sps.end(),
                                                              ds.sp) != cfg.allowed_sps.end();
    if (!e || !e->sp || !e->valid_at(t) || !allowed)
      throw Refused(Problem::unknown_sp, fmt::format("SAMLDS request from unknown SP '{}'", clip(ds.sp)));
    bool listed = false;
    if (!has_unsafe_url_chars(ds.ret) && ds.ret.find('#') == std::string::npos &&
        (istarts_with(ds.ret, "https://") || istarts_with(ds.ret, "http://"))) {
      const std::string_view base = std::string_view(ds.ret).substr(0, ds.ret.find('?'));
      for (const Endpoint &ep : e->discovery_responses) {
        if (ep.binding != kIdpDiscBinding) continue;
        if (ds.ret == ep.location || (ep.location.find('?') == std::string::npos && base == ep.location)) {
          listed = true;
          break;
        }
      }
    }
    if (!listed)
      throw Refused(
          Problem::return_not_listed,
          fmt::format("SAMLDS return '{}' is not a DiscoveryResponse of {}", clip(ds.ret), clip(ds.sp)));
    if (auto rip = get("returnIDParam")) {
      if (!is_token(*rip)) throw Refused(Problem::bad_request, "returnIDParam is not a safe token");
      ds.return_id_param = *rip;
    }
    if (auto p = get("isPassive")) {
      if (*p == "true" || *p == "1")
        ds.passive = true;
      else if (*p != "false" && *p != "0")
        throw Refused(Problem::bad_request, "isPassive is neither true nor false");
    }
    if (auto pol = get("policy"); pol && *pol != kSinglePolicy)
      throw Refused(Problem::bad_request, "unsupported SAMLDS policy");
    s.ds = std::move(ds);
  } else if (auto rt = get("return_to"); rt && !rt->empty()) {
    if (!is_local_path(*rt))
      throw Refused(Problem::bad_return_to, fmt::format("return_to '{}' is not a local path", clip(*rt)));
    s.return_to = *rt;
  }
  return s;
}

std::string Discovery::Impl::continue_url(const State &s, std::string_view idp) const {
  if (s.ds) return append_param(s.ds->ret, s.ds->id_param(), idp);
  std::string url = append_param(cfg.login_path, "idp", idp);
  if (s.return_to) url = append_param(std::move(url), "return_to", *s.return_to);
  return url;
}

std::string Discovery::Impl::page_csp(const State &s, const std::vector<Item> &shown,
                                      const MetadataSnapshot &snap) const {
  std::string csp = "default-src 'none'; img-src https: data:";
  if (!page.style_hashes().empty()) {
    csp += "; style-src";
    for (const auto &h : page.style_hashes()) csp += " " + h;
  }
  // Chromium applies form-action to the redirects after a form submission:
  // allow where the choice continues (the SAMLDS return URL, or the IdPs'
  // SSO endpoints the login path redirects to).
  std::set<std::string> origins;
  bool overflow = false;
  if (s.ds) {
    if (auto o = csp_origin(s.ds->ret); !o.empty()) origins.insert(std::move(o));
  } else {
    for (const Item &it : shown) {
      const EntityPtr e = snap.find(it.entry.entity_id);
      if (!e || !e->idp) continue;
      for (const Endpoint &ep : e->idp->sso)
        if (auto o = csp_origin(ep.location); !o.empty()) origins.insert(std::move(o));
      if (origins.size() > kMaxFormActionOrigins) {
        overflow = true;
        break;
      }
    }
  }
  csp += "; form-action 'self'";
  if (overflow) {
    csp += " https:";
  } else {
    for (const auto &o : origins) csp += " " + o;
  }
  csp += "; frame-ancestors 'none'; base-uri 'none'";
  return csp;
}

HttpResponse Discovery::Impl::error_page(const Refused &r, Lang lang) const {
  const Text heading = problem_heading(r.problem);
  std::map<std::string, std::string, std::less<>> v;
  v["lang"] = std::string(code(lang));
  v["title"] = esc(heading(lang));
  v["heading"] = esc(heading(lang));
  v["message"] = esc(problem_message(r.problem)(lang));
  v["code_label"] = esc(kCodeLabel(lang));
  v["code"] = esc(problem_code(r.problem));
  if (!r.link.empty())
    v["link"] = fmt::format("<p><a href=\"{}\">{}</a></p>\n", esc(r.link), esc(kBackToChoice(lang)));
  std::string csp = "default-src 'none'";
  if (!error.style_hashes().empty()) {
    csp += "; style-src";
    for (const auto &h : error.style_hashes()) csp += " " + h;
  }
  csp += "; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";
  HttpResponse resp = html_response(problem_status(r.problem), error.render(v), std::move(csp), lang);
  if (r.clear_cookie) resp.add_header("Set-Cookie", clear_cookie());
  if (!r.allow.empty()) resp.set_header("Allow", r.allow);
  return resp;
}

HttpResponse Discovery::Impl::serve_page(const HttpRequest &req, Lang lang) const {
  if (req.method != "GET" && req.method != "HEAD") {
    Refused r(Problem::method_not_allowed, fmt::format("{} on the discovery page", clip(req.method, 16)));
    r.allow = "GET, HEAD";
    throw r;
  }
  if (req.raw_query.size() > cfg.max_query)
    throw Refused(Problem::too_long, fmt::format("query of {} bytes", req.raw_query.size()));
  const SnapshotPtr snap = snapshot();
  if (!snap) throw Refused(Problem::unavailable, "no usable metadata snapshot");
  const TimePoint t = now();
  const State s = parse_state([&](std::string_view n) { return req.query_param(n); }, lang, *snap, t);
  const CookieCheck cookie = check_cookie(req, *snap, t);
  const bool clear = cookie.status == CookieStatus::expired || cookie.status == CookieStatus::not_offered ||
                     cookie.status == CookieStatus::tampered;

  std::optional<std::string> hint;
  try {
    if (auto h = req.query_param("idp"); h && offered(*snap, *h, t)) hint = *h;
  } catch (const Error &) {
  }

  // isPassive: answer at once, with the hint or the remembered choice, or without an IdP.
  if (s.ds && s.ds->passive) {
    HttpResponse r;
    r.status = 303;
    std::optional<std::string> idp = hint;
    if (!idp && cookie.status == CookieStatus::valid) idp = cookie.entity_id;
    r.set_header("Location", idp ? continue_url(s, *idp) : s.ds->ret);
    r.set_header("Cache-Control", "no-store");
    if (clear) r.add_header("Set-Cookie", clear_cookie());
    return r;
  }
  // An IdP hint naming an offered IdP skips the page.
  if (hint) {
    HttpResponse r;
    r.status = 303;
    r.set_header("Location", continue_url(s, *hint));
    r.set_header("Cache-Control", "no-store");
    if (clear) r.add_header("Set-Cookie", clear_cookie());
    return r;
  }
  if (cookie.status == CookieStatus::tampered) {
    Refused r(Problem::tampered_cookie, "remembered-choice cookie failed the HMAC check");
    r.clear_cookie = true;
    r.link = cfg.page_path + "?" + state_query(s, lang, true);
    throw r;
  }

  const std::vector<Item> shown = items(*snap, lang, s.q, t);
  const bool searching = !query_words(s.q).empty();
  const std::string_view l = code(lang);

  std::string status;
  if (searching && shown.empty())
    status = esc(no_match_text(lang, s.q));
  else if (searching)
    status = esc(found_text(lang, shown.size()));
  else if (shown.empty())
    status = esc(kNoneOffered(lang));

  const std::string state_fields = hidden_state(s);
  std::string results;
  if (!shown.empty()) {
    results += fmt::format("<form class=\"choose\" method=\"post\" action=\"{}\">\n",
                           esc(cfg.page_path + "/choose"));
    results += state_fields;
    if (remember_enabled())
      results +=
          fmt::format("<p class=\"remember\"><input type=\"checkbox\" id=\"remember\" name=\"remember\" "
                      "value=\"1\"{}><label for=\"remember\">{}</label></p>\n",
                      cookie.status == CookieStatus::valid ? " checked" : "", esc(kRemember(lang)));
    results += "<ul class=\"idps\">\n";
    for (const Item &it : shown) {
      results +=
          fmt::format("<li><button type=\"submit\" name=\"idp\" value=\"{}\">", esc(it.entry.entity_id));
      if (!it.entry.logo_url.empty()) {
        const auto [w, h] = rendered_logo_size(it.entry.logo_width, it.entry.logo_height);
        results +=
            fmt::format("<img src=\"{}\" alt=\"\" width=\"{}\" height=\"{}\">", esc(it.entry.logo_url), w, h);
      }
      const bool other_lang = !it.name_lang.empty() && it.name_lang != l && is_token(it.name_lang);
      results += fmt::format("<span{}>{}</span></button></li>\n",
                             other_lang ? fmt::format(" lang=\"{}\"", esc(it.name_lang)) : std::string(),
                             esc(it.entry.display_name));
    }
    results += "</ul>\n</form>\n";
  }

  const Lang other = lang == Lang::de ? Lang::en : Lang::de;
  std::map<std::string, std::string, std::less<>> v;
  v["lang"] = std::string(l);
  v["title"] = esc(kHeading(lang));
  v["heading"] = esc(kHeading(lang));
  v["lang_switch_label"] = esc(kLangNav(lang));
  v["lang_switch"] = fmt::format("<a href=\"{}\" lang=\"{}\" hreflang=\"{}\">{}</a>",
                                 esc(cfg.page_path + "?" + state_query(s, other, true)), code(other),
                                 code(other), other == Lang::de ? "Deutsch" : "English");
  v["search_action"] = esc(cfg.page_path);
  v["search_label"] = esc(kSearchLabel(lang));
  v["search_value"] = esc(s.q);
  v["search_button"] = esc(kSearchButton(lang));
  if (!s.q.empty())
    v["search_reset"] =
        fmt::format("<p class=\"reset\"><a href=\"{}\">{}</a></p>\n",
                    esc(cfg.page_path + "?" + state_query(s, lang, false)), esc(kSearchReset(lang)));
  v["hidden_state"] = state_fields;
  v["status"] = std::move(status);
  v["results"] = std::move(results);
  v["remember_label"] = esc(kRemember(lang));

  HttpResponse r = html_response(200, page.render(v), page_csp(s, shown, *snap), lang);
  if (clear) r.add_header("Set-Cookie", clear_cookie());
  return r;
}

HttpResponse Discovery::Impl::serve_json(const HttpRequest &req, Lang lang) const {
  auto fail = [&](Problem p, const std::string &detail) {
    warn(fmt::format("interkonto discovery: {} ({})", problem_code(p), detail));
    nlohmann::ordered_json j;
    j["error"] = std::string(problem_code(p));
    HttpResponse r = json_response(problem_status(p), j, "no-store");
    if (p == Problem::method_not_allowed) r.set_header("Allow", "GET, HEAD");
    return r;
  };
  if (req.method != "GET" && req.method != "HEAD") return fail(Problem::method_not_allowed, "method");
  if (req.raw_query.size() > cfg.max_query) return fail(Problem::too_long, "query too long");
  std::string q;
  try {
    q = req.query_param("q").value_or("");
  } catch (const Error &e) {
    return fail(Problem::bad_request, e.detail());
  }
  if (q.size() > kMaxSearch) return fail(Problem::too_long, "search text longer than 200 bytes");
  const SnapshotPtr snap = snapshot();
  if (!snap) return fail(Problem::unavailable, "no usable metadata snapshot");
  nlohmann::ordered_json j;
  j["lang"] = std::string(code(lang));
  j["idps"] = nlohmann::ordered_json::array();
  for (const Item &it : items(*snap, lang, q, now())) {
    nlohmann::ordered_json e;
    e["entityID"] = it.entry.entity_id;
    e["displayName"] = it.entry.display_name;
    if (it.entry.logo_url.empty()) {
      e["logo"] = nullptr;
    } else {
      e["logo"] = {
          {"url", it.entry.logo_url}, {"width", it.entry.logo_width}, {"height", it.entry.logo_height}};
    }
    j["idps"].push_back(std::move(e));
  }
  HttpResponse r = json_response(200, j, "max-age=300");
  r.set_header("Content-Language", std::string(code(lang)));
  return r;
}

HttpResponse Discovery::Impl::serve_choose(const HttpRequest &req, Lang lang) const {
  const bool post = req.method == "POST";
  if (!post && req.method != "GET") {
    Refused r(Problem::method_not_allowed, fmt::format("{} on the discovery choice", clip(req.method, 16)));
    r.allow = "GET, POST";
    throw r;
  }
  if (req.raw_query.size() > cfg.max_query || req.body.size() > cfg.max_query)
    throw Refused(Problem::too_long,
                  fmt::format("query of {} / body of {} bytes", req.raw_query.size(), req.body.size()));
  const SnapshotPtr snap = snapshot();
  if (!snap) throw Refused(Problem::unavailable, "no usable metadata snapshot");
  const TimePoint t = now();
  auto get = [&](std::string_view n) { return post ? req.form_param(n) : req.query_param(n); };
  const State s = parse_state(get, lang, *snap, t);
  std::optional<std::string> idp;
  try {
    idp = get("idp");
  } catch (const Error &e) {
    throw Refused(Problem::bad_request, fmt::format("parameter idp: {}", e.detail()));
  }
  if (!idp || !offered(*snap, *idp, t))
    throw Refused(Problem::unknown_idp,
                  fmt::format("choice of an IdP not offered: '{}'", clip(idp.value_or(""))));
  std::string remember;
  try {
    remember = get("remember").value_or("");
  } catch (const Error &) {
  }
  HttpResponse r;
  r.status = 303;
  r.set_header("Location", continue_url(s, *idp));
  r.set_header("Cache-Control", "no-store");
  if (remember_enabled()) {
    if (remember == "1" || remember == "on" || remember == "true")
      r.add_header("Set-Cookie",
                   set_cookie(cookie_value(*idp, t), static_cast<long>(cfg.remember_for.count())));
    else if (req.cookie(cfg.cookie_name))
      r.add_header("Set-Cookie", clear_cookie()); // "remember" unticked: forget the earlier choice
  }
  if (log)
    log(LogLevel::info,
        fmt::format("interkonto discovery: IdP {} chosen{}", clip(*idp), s.ds ? " (SAMLDS)" : ""));
  return r;
}

// ====================================================================== Discovery

Discovery::Discovery(std::shared_ptr<const MetadataProvider> provider, DiscoveryConfig config,
                     std::shared_ptr<const Clock> clock, LogSink log)
    : impl_(std::make_unique<Impl>()) {
  if (!provider) throw Error(ErrorCode::config_invalid, "discovery needs a metadata provider");
  impl_->init(std::move(config));
  impl_->provider = std::move(provider);
  impl_->clock = clock ? std::move(clock) : std::make_shared<SystemClock>();
  impl_->log = std::move(log);
}

Discovery::Discovery(std::vector<EntityPtr> entities, DiscoveryConfig config,
                     std::shared_ptr<const Clock> clock, LogSink log)
    : impl_(std::make_unique<Impl>()) {
  for (const auto &e : entities)
    if (!e) throw Error(ErrorCode::config_invalid, "discovery: null entity in the fixed list");
  impl_->init(std::move(config));
  impl_->clock = clock ? std::move(clock) : std::make_shared<SystemClock>();
  impl_->log = std::move(log);
  impl_->fixed = std::make_shared<const MetadataSnapshot>(
      std::move(entities), std::nullopt, std::nullopt, "discovery", std::vector<std::string>{}, impl_->now());
}

Discovery::~Discovery() = default;

std::vector<DiscoveryEntry> Discovery::list(std::string_view lang, std::string_view query) const {
  const SnapshotPtr snap = impl_->snapshot();
  if (!snap) return {};
  std::vector<DiscoveryEntry> out;
  for (Item &it : impl_->items(*snap, impl_->lang_of(lang), query, impl_->now()))
    out.push_back(std::move(it.entry));
  return out;
}

HttpResponse Discovery::handle(const HttpRequest &req) const {
  const Lang lang = impl_->request_lang(req);
  const std::string &pp = impl_->cfg.page_path;
  try {
    if (req.path == pp) return impl_->serve_page(req, lang);
    if (req.path.size() == pp.size() + 10 && req.path.starts_with(pp) && req.path.ends_with("/idps.json"))
      return impl_->serve_json(req, lang);
    if (req.path.size() == pp.size() + 7 && req.path.starts_with(pp) && req.path.ends_with("/choose"))
      return impl_->serve_choose(req, lang);
    throw Refused(Problem::not_found, fmt::format("no discovery route {}", clip(req.path)));
  } catch (const Refused &r) {
    if (r.problem != Problem::not_found)
      impl_->warn(fmt::format("interkonto discovery: refused ({}): {}", problem_code(r.problem), r.what()));
    return impl_->error_page(r, lang);
  } catch (const std::exception &e) {
    if (impl_->log)
      impl_->log(LogLevel::error, fmt::format("interkonto discovery: internal error: {}", e.what()));
    return impl_->error_page(Refused(Problem::internal, e.what()), lang);
  }
}

std::optional<std::string> Discovery::remembered_idp(const HttpRequest &req) const {
  const SnapshotPtr snap = impl_->snapshot();
  if (!snap) return std::nullopt;
  CookieCheck c = impl_->check_cookie(req, *snap, impl_->now());
  if (c.status != CookieStatus::valid) return std::nullopt;
  return std::move(c.entity_id);
}

std::optional<std::string> Discovery::preselected_idp(const HttpRequest &req) const {
  const SnapshotPtr snap = impl_->snapshot();
  if (!snap) return std::nullopt;
  try {
    if (auto h = req.query_param("idp"); h && impl_->offered(*snap, *h, impl_->now())) return h;
  } catch (const Error &) {
  }
  return remembered_idp(req);
}

std::string Discovery::page_url(std::string_view return_to, std::string_view lang) const {
  std::string url = impl_->cfg.page_path;
  char sep = '?';
  if (!lang.empty()) {
    url += sep + std::string("lang=") + std::string(code(impl_->lang_of(lang)));
    sep = '&';
  }
  if (!return_to.empty()) url += sep + std::string("return_to=") + url_encode(return_to);
  return url;
}

const std::string &Discovery::page_path() const {
  return impl_->cfg.page_path;
}

std::string external_discovery_url(std::string_view ds_url, std::string_view sp_entity_id,
                                   std::string_view return_url, std::string_view return_id_param,
                                   bool is_passive) {
  if (ds_url.empty() || has_unsafe_url_chars(ds_url) || ds_url.find('#') != std::string_view::npos)
    throw Error(ErrorCode::config_invalid, "discovery service URL is empty or not a plain URL");
  if (sp_entity_id.empty() || return_url.empty())
    throw Error(ErrorCode::config_invalid, "external discovery needs the SP entityID and a return URL");
  if (!return_id_param.empty() && !is_token(return_id_param))
    throw Error(ErrorCode::config_invalid, "returnIDParam must match [A-Za-z0-9._-]{1,64}");
  std::string url = append_param(std::string(ds_url), "entityID", sp_entity_id);
  url = append_param(std::move(url), "return", return_url);
  if (!return_id_param.empty() && return_id_param != "entityID")
    url = append_param(std::move(url), "returnIDParam", return_id_param);
  if (is_passive) url += "&isPassive=true";
  return url;
}

} // namespace interkonto
