// SPDX-License-Identifier: EUPL-1.2
// `interkonto metadata sign|verify|list|show`: the federation operator's and
// the member's view of a signed aggregate.
//
//   interkonto metadata sign   --key FILE --cert FILE --valid-for DURATION
//                              [--cache-duration DURATION] [--name NAME]
//                              [--alg rsa-sha256|rsa-pss-sha256|ecdsa-sha256] INPUT...
//   interkonto metadata verify --cert FILE [--cert FILE]... [--max-validity DURATION] SOURCE
//   interkonto metadata list   [--cert FILE]... [--role idp|sp] [--lang de|en] SOURCE
//   interkonto metadata show   [--cert FILE]... [--xml] SOURCE ENTITY_ID
//
// All accept --now RFC3339 (UTC). SOURCE is a file or an http(s) URL.
// Exit codes: 0 ok; 1 the document failed verification (signature,
// validity, shape; stderr `<code>: <detail>`) or the entity is unknown;
// 2 usage or I/O errors (unreadable files, unreachable URL, bad flags).
#include "metadata_cmd.hpp"

#include "cli_util.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "interkonto/clock.hpp"
#include "interkonto/crypto.hpp"
#include "interkonto/error.hpp"
#include "interkonto/metadata.hpp"
#include "interkonto/metadata_provider.hpp"

namespace interkonto::cli {

namespace {

// The document (or its signature, or its validity) failed: exit 1.
struct Refused {
  std::string code;
  std::string detail;
};

// ------------------------------------------------------------ arguments

struct Common {
  std::optional<std::string> now;
};

struct SignArgs : Common {
  std::string key, cert, valid_for, alg = "rsa-sha256";
  std::optional<std::string> cache_duration;
  std::string name;
  std::vector<std::string> inputs;
  bool alg_given = false;
};

struct ReadArgs : Common {
  std::vector<std::string> certs;
  std::optional<std::string> max_validity;
  std::string ca_file;
  std::string source;
};

struct ListArgs : ReadArgs {
  std::string role;
  std::string lang = "de";
};

struct ShowArgs : ReadArgs {
  std::string entity_id;
  bool xml = false;
};

struct Commands {
  CLI::App *sign = nullptr;
  CLI::App *verify = nullptr;
  CLI::App *list = nullptr;
  CLI::App *show = nullptr;
  SignArgs sign_args;
  ReadArgs verify_args;
  ListArgs list_args;
  ShowArgs show_args;
};

Commands &commands() {
  static Commands c;
  return c;
}

// ------------------------------------------------------------- helpers

std::string read_file(const std::string &path) {
  return read_input(path);
}

TimePoint parse_now(const Common &c) {
  // The system clock to the second: tidy validUntil values from `sign`.
  if (!c.now) return std::chrono::floor<std::chrono::seconds>(SystemClock().now());
  auto t = parse_datetime(*c.now, /*require_utc=*/true);
  if (!t) throw UsageError(fmt::format("--now: '{}' is not an RFC 3339 UTC time (…Z)", *c.now));
  return *t;
}

std::chrono::seconds parse_seconds(const std::string &flag, const std::string &text) {
  auto d = parse_duration(text);
  if (!d) throw UsageError(fmt::format("{}: '{}' is not an ISO 8601 duration (e.g. P7D, PT6H)", flag, text));
  return std::chrono::duration_cast<std::chrono::seconds>(*d);
}

bool is_url(std::string_view s) {
  return s.starts_with("http://") || s.starts_with("https://");
}

// The metadata document from a file or an http(s) URL. Transport problems
// are I/O errors (exit 2).
std::string fetch_source(const ReadArgs &a) {
  if (!is_url(a.source)) return read_file(a.source);
  HttpOptions opt;
  opt.ca_file = a.ca_file;
  HttpResponseData r;
  try {
    r = http_get(a.source, opt);
  } catch (const Error &e) {
    throw UsageError(fmt::format("cannot fetch {}: {}", a.source, e.detail()));
  }
  if (r.status != 200) throw UsageError(fmt::format("cannot fetch {}: HTTP status {}", a.source, r.status));
  return std::move(r.body);
}

std::vector<PublicKey> load_keys(const std::vector<std::string> &paths) {
  std::vector<PublicKey> keys;
  for (const auto &p : paths) {
    const std::string pem = read_file(p);
    try {
      keys.push_back(PublicKey::from_pem(pem));
    } catch (const Error &e) {
      throw UsageError(fmt::format("--cert {}: {}", p, e.detail()));
    }
  }
  return keys;
}

struct Loaded {
  std::string xml;
  SnapshotPtr snapshot;
};

// Fetches SOURCE and loads it: verified with the --cert keys when there are
// any, otherwise parsed without a signature check (and said so on stderr).
Loaded load(const ReadArgs &a, const EntityFilter &filter = {}) {
  const TimePoint now = parse_now(a);
  AggregateTrust trust;
  trust.pinned_keys = load_keys(a.certs);
  if (a.max_validity) trust.max_validity = parse_seconds("--max-validity", *a.max_validity);
  if (trust.pinned_keys.empty()) {
    trust.require_signature = false;
    trust.require_valid_until = false;
  }
  Loaded out;
  out.xml = fetch_source(a);
  if (trust.pinned_keys.empty())
    std::cerr << "interkonto: warning: signature not checked (no --cert given)\n";
  try {
    out.snapshot = load_aggregate(out.xml, trust, now, filter);
  } catch (const Error &e) {
    if (e.code() == ErrorCode::internal) throw UsageError(e.detail());
    throw Refused{std::string(to_string(e.code())), e.detail()};
  }
  if (!out.snapshot) throw Refused{"internal", "no snapshot"};
  for (const auto &why : out.snapshot->skipped())
    std::cerr << "interkonto: skipped: " << one_line(why) << "\n";
  return out;
}

// Names for people: tabs and line breaks become spaces.
std::string clean(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '\r' && i + 1 < s.size() && s[i + 1] == '\n') {
      out += ' ';
      ++i;
    } else if (c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') {
      out += ' ';
    } else if (static_cast<unsigned char>(c) == 0xc2 && i + 1 < s.size() &&
               static_cast<unsigned char>(s[i + 1]) == 0x85) { // U+0085 NEL
      out += ' ';
      ++i;
    } else if (static_cast<unsigned char>(c) == 0xe2 && i + 2 < s.size() &&
               static_cast<unsigned char>(s[i + 1]) == 0x80 &&
               (static_cast<unsigned char>(s[i + 2]) == 0xa8 ||
                static_cast<unsigned char>(s[i + 2]) == 0xa9)) { // U+2028, U+2029
      out += ' ';
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

bool blank(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; });
}

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// xml:lang `have` names language `want`: equal, or `want` with a subtag ("de-DE").
bool lang_matches(std::string_view have, std::string_view want) {
  if (have.size() < want.size()) return false;
  for (std::size_t i = 0; i < want.size(); ++i)
    if (lower(have[i]) != lower(want[i])) return false;
  return have.size() == want.size() || have[want.size()] == '-';
}

const std::string *in_lang(const std::vector<LocalizedString> &values, std::string_view lang) {
  for (const auto &v : values)
    if (lang_matches(v.lang, lang) && !blank(v.value)) return &v.value;
  return nullptr;
}

// The contract's display name: mdui DisplayName in `lang`, else in the other
// language (de <-> en), else OrganizationDisplayName, else the entityID.
std::string list_name(const Entity &e, const std::string &lang, EntityFilter::Role role) {
  const std::string other = lang == "de" ? "en" : "de";
  std::vector<const UiInfo *> uis;
  if (role != EntityFilter::Role::sp && e.idp_ui) uis.push_back(&*e.idp_ui);
  if (role != EntityFilter::Role::idp && e.sp_ui) uis.push_back(&*e.sp_ui);
  for (const std::string &l : {lang, other})
    for (const UiInfo *ui : uis)
      if (const std::string *v = in_lang(ui->display_names, l)) return clean(*v);
  const auto &org = e.organization.display_names;
  for (const std::string &l : {lang, other})
    if (const std::string *v = in_lang(org, l)) return clean(*v);
  for (const auto &v : org)
    if (!blank(v.value)) return clean(v.value);
  return clean(e.entity_id);
}

EntityFilter::Role parse_role(const std::string &r) {
  if (r == "idp") return EntityFilter::Role::idp;
  if (r == "sp") return EntityFilter::Role::sp;
  return EntityFilter::Role::any;
}

std::vector<EntityPtr> sorted(std::vector<EntityPtr> v) {
  std::sort(v.begin(), v.end(),
            [](const EntityPtr &a, const EntityPtr &b) { return a->entity_id < b->entity_id; });
  return v;
}

// ---------------------------------------------------------------- sign

std::string alg_uri(const std::string &name) {
  if (name == "rsa-sha256") return std::string(alg::rsa_sha256);
  if (name == "rsa-pss-sha256") return std::string(alg::rsa_pss_sha256);
  if (name == "ecdsa-sha256") return std::string(alg::ecdsa_sha256);
  throw UsageError(fmt::format("--alg: unknown algorithm '{}'", name));
}

int cmd_sign(const SignArgs &a) {
  const TimePoint now = parse_now(a);
  const std::chrono::seconds valid_for = parse_seconds("--valid-for", a.valid_for);
  if (valid_for <= std::chrono::seconds::zero()) throw UsageError("--valid-for must be positive");
  std::optional<std::chrono::seconds> cache;
  if (a.cache_duration) cache = parse_seconds("--cache-duration", *a.cache_duration);
  const std::string method = alg_uri(a.alg);

  const std::string key_pem = read_file(a.key);
  const std::string cert_pem = read_file(a.cert);
  std::vector<std::string> documents;
  documents.reserve(a.inputs.size());
  for (const auto &in : a.inputs) documents.push_back(read_file(in));
  try {
    PrivateKey key = PrivateKey::from_pem(key_pem);
    if (key.type() == KeyType::ec && !a.alg_given)
      throw UsageError(
          "the key is an EC key: use --alg ecdsa-sha256 (the default rsa-sha256 needs an RSA key)");
    const MetadataSignOptions o{
        std::move(key), Certificate::from_pem(cert_pem), method, valid_for, cache, a.name, now};
    const std::string out = sign_aggregate(documents, o);
    std::cout << out;
    if (!out.empty() && out.back() != '\n') std::cout << '\n';
    std::cout.flush();
    if (!std::cout) throw UsageError("cannot write to stdout");
    return 0;
  } catch (const Error &e) {
    // Unusable keys, inputs that are no metadata, duplicate entityIDs: the
    // operator's input is wrong.
    throw UsageError(fmt::format("{}: {}", to_string(e.code()), e.detail()));
  }
}

// -------------------------------------------------------------- verify

int cmd_verify(const ReadArgs &a) {
  if (a.certs.empty()) throw UsageError("--cert is required");
  const Loaded l = load(a);
  const auto &snap = *l.snapshot;
  std::cout << fmt::format("OK {} entities, {} skipped, validUntil {}\n", snap.entities().size(),
                           snap.skipped().size(),
                           snap.valid_until() ? format_datetime(*snap.valid_until()) : std::string("none"));
  return 0;
}

// ---------------------------------------------------------------- list

int cmd_list(const ListArgs &a) {
  EntityFilter filter;
  filter.role = parse_role(a.role);
  const Loaded l = load(a);
  std::string out;
  for (const EntityPtr &e : sorted(l.snapshot->select(filter)))
    out += fmt::format("{}\t{}\n", clean(e->entity_id), list_name(*e, a.lang, filter.role));
  std::cout << out;
  return 0;
}

// ---------------------------------------------------------------- show

std::string binding_name(const std::string &uri) {
  constexpr std::string_view prefix = "urn:oasis:names:tc:SAML:2.0:bindings:";
  if (uri.starts_with(prefix)) return uri.substr(prefix.size());
  return uri;
}

std::string langs(const std::vector<LocalizedString> &values) {
  std::string out;
  for (const auto &v : values) {
    if (!out.empty()) out += "; ";
    out += v.lang.empty() ? clean(v.value) : fmt::format("{}: {}", v.lang, clean(v.value));
  }
  return out;
}

void show_endpoints(std::string &out, const char *kind, const std::vector<Endpoint> &eps) {
  for (const auto &ep : eps) {
    std::string flags;
    if (ep.index)
      flags = fmt::format(" [{}{}]", *ep.index, ep.is_default ? ", default" : "");
    else if (ep.is_default)
      flags = " [default]";
    out += fmt::format("  {}{}  {}  {}", kind, flags, binding_name(ep.binding), clean(ep.location));
    if (!ep.response_location.empty()) out += fmt::format("  (response: {})", clean(ep.response_location));
    out += "\n";
  }
}

void show_keys(std::string &out, const RoleDescriptor &role) {
  for (const auto &k : role.keys) {
    const char *use = k.use == KeyDescriptor::Use::signing      ? "signing"
                      : k.use == KeyDescriptor::Use::encryption ? "encryption"
                                                                : "signing+encryption";
    std::string what;
    try {
      const PublicKey &pk = k.key();
      what = pk.type() == KeyType::rsa ? fmt::format("RSA {} bit", pk.bits())
                                       : fmt::format("EC {} ({} bit)", pk.curve(), pk.bits());
      out += fmt::format("  key ({})  {}  SHA-256 {}\n", use, what, k.material.fingerprint());
      if (auto c = k.certificate()) out += fmt::format("    certificate  {}\n", clean(c->subject()));
    } catch (const Error &e) {
      out += fmt::format("  key ({})  unusable: {}\n", use, one_line(e.detail()));
    }
    for (const auto &m : k.encryption_methods)
      out += fmt::format("    EncryptionMethod  {}{}\n", m.algorithm,
                         m.digest.empty() ? "" : " digest " + m.digest);
  }
  for (const auto &f : role.name_id_formats) out += fmt::format("  NameIDFormat  {}\n", f);
  for (const auto &m : role.signing_methods) out += fmt::format("  SigningMethod  {}\n", m);
  for (const auto &m : role.digest_methods) out += fmt::format("  DigestMethod  {}\n", m);
}

void show_ui(std::string &out, const std::optional<UiInfo> &ui) {
  if (!ui) return;
  for (const auto &v : ui->display_names)
    out += fmt::format("  DisplayName ({})  {}\n", v.lang, clean(v.value));
  for (const auto &v : ui->descriptions)
    out += fmt::format("  Description ({})  {}\n", v.lang, clean(v.value));
  for (const auto &v : ui->information_urls)
    out += fmt::format("  InformationURL ({})  {}\n", v.lang, clean(v.value));
  for (const auto &v : ui->privacy_statement_urls)
    out += fmt::format("  PrivacyStatementURL ({})  {}\n", v.lang, clean(v.value));
  for (const auto &l : ui->logos)
    out += fmt::format("  Logo{}  {}x{}  {}\n", l.lang.empty() ? "" : " (" + l.lang + ")", l.width, l.height,
                       clean(l.url));
}

std::string summary(const Entity &e, const MetadataSnapshot &snap, TimePoint now) {
  std::string out;
  out += fmt::format("entityID  {}\n", clean(e.entity_id));
  out += fmt::format("SHA-1  {{sha1}}{}\n", e.sha1_hex);
  std::vector<std::string> roles;
  if (e.idp) roles.emplace_back("IdP");
  if (e.sp) roles.emplace_back("SP");
  out += fmt::format("roles  {}\n", roles.empty() ? std::string("none (no SAML 2.0 IdP or SP role)")
                                                  : fmt::format("{}", fmt::join(roles, ", ")));
  out += fmt::format("name (de)  {}\n", list_name(e, "de", EntityFilter::Role::any));
  out += fmt::format("name (en)  {}\n", list_name(e, "en", EntityFilter::Role::any));
  if (e.valid_until)
    out += fmt::format("validUntil  {} ({})\n", format_datetime(*e.valid_until),
                       e.valid_at(now) ? "valid" : "expired");
  else
    out += "validUntil  none\n";
  if (snap.valid_until())
    out += fmt::format("metadata validUntil  {}\n", format_datetime(*snap.valid_until()));
  if (e.cache_duration) out += fmt::format("cacheDuration  {}\n", format_duration(*e.cache_duration));
  if (e.registration) {
    out += fmt::format("registrationAuthority  {}", clean(e.registration->authority));
    if (e.registration->instant) out += fmt::format(" ({})", format_datetime(*e.registration->instant));
    out += "\n";
  }
  if (e.idp) {
    out += "\nIdP (IDPSSODescriptor)\n";
    out += fmt::format("  WantAuthnRequestsSigned  {}\n", e.idp->want_authn_requests_signed);
    show_ui(out, e.idp_ui);
    show_endpoints(out, "SingleSignOnService", e.idp->sso);
    show_endpoints(out, "SingleLogoutService", e.idp->slo);
    show_keys(out, *e.idp);
  }
  if (e.sp) {
    out += "\nSP (SPSSODescriptor)\n";
    out += fmt::format("  AuthnRequestsSigned  {}\n", e.sp->authn_requests_signed);
    out += fmt::format("  WantAssertionsSigned  {}\n", e.sp->want_assertions_signed);
    show_ui(out, e.sp_ui);
    show_endpoints(out, "AssertionConsumerService", e.sp->acs);
    show_endpoints(out, "SingleLogoutService", e.sp->slo);
    show_endpoints(out, "DiscoveryResponse", e.discovery_responses);
    show_keys(out, *e.sp);
    for (const auto &acs : e.attribute_consuming_services) {
      out += fmt::format("  AttributeConsumingService [{}{}]  {}\n", acs.index,
                         acs.is_default ? ", default" : "", langs(acs.service_names));
      for (const auto &r : acs.requested)
        out += fmt::format("    RequestedAttribute  {}{}{}\n", r.name,
                           r.friendly_name.empty() ? "" : " (" + clean(r.friendly_name) + ")",
                           r.is_required ? " required" : "");
    }
  }
  const auto &org = e.organization;
  if (!org.names.empty() || !org.display_names.empty() || !org.urls.empty()) {
    out += "\nOrganization\n";
    for (const auto &v : org.names)
      out += fmt::format("  OrganizationName ({})  {}\n", v.lang, clean(v.value));
    for (const auto &v : org.display_names)
      out += fmt::format("  OrganizationDisplayName ({})  {}\n", v.lang, clean(v.value));
    for (const auto &v : org.urls) out += fmt::format("  OrganizationURL ({})  {}\n", v.lang, clean(v.value));
  }
  if (!e.contacts.empty()) {
    out += "\nContacts\n";
    for (const auto &c : e.contacts) {
      std::vector<std::string> parts;
      const std::string person = clean(fmt::format("{} {}", c.given_name, c.surname));
      if (!blank(person)) parts.push_back(person);
      if (!c.company.empty()) parts.push_back(clean(c.company));
      for (const auto &m : c.emails) parts.push_back(clean(m));
      for (const auto &p : c.phones) parts.push_back(clean(p));
      const std::string type = c.remd_type.empty() ? c.type : fmt::format("{} ({})", c.type, c.remd_type);
      out += fmt::format("  {}  {}\n", clean(type), fmt::join(parts, ", "));
    }
  }
  if (!e.entity_attributes.empty()) {
    out += "\nEntityAttributes\n";
    for (const auto &[name, values] : e.entity_attributes)
      out += fmt::format("  {}  {}\n", clean(name), clean(fmt::format("{}", fmt::join(values, ", "))));
  }
  return out;
}

int cmd_show(const ShowArgs &a) {
  const TimePoint now = parse_now(a);
  const Loaded l = load(a);
  const EntityPtr e = l.snapshot->find(a.entity_id);
  if (!e) {
    std::string detail = fmt::format("{} not in metadata", one_line(a.entity_id));
    for (const auto &why : l.snapshot->skipped())
      if (why.find(a.entity_id) != std::string::npos) detail += fmt::format(" (skipped: {})", one_line(why));
    throw Refused{"unknown_issuer", detail};
  }
  if (a.xml) {
    std::string xml;
    try {
      xml = extract_entity_xml(l.xml, a.entity_id);
    } catch (const Error &err) {
      throw Refused{std::string(to_string(err.code())), err.detail()};
    }
    if (xml.empty())
      throw Refused{"unknown_issuer", fmt::format("{} not in metadata", one_line(a.entity_id))};
    std::cout << xml << "\n";
    return 0;
  }
  std::cout << summary(*e, *l.snapshot, now);
  return 0;
}

void add_read_options(CLI::App *cmd, ReadArgs &a, bool cert_required) {
  auto *cert = cmd->add_option(
      "--cert", a.certs,
      cert_required ? "pinned signer certificate or public key (PEM); repeatable: one must verify"
                    : "verify with this signer certificate or public key (PEM) first; "
                      "repeatable");
  cert->allow_extra_args(false);
  if (cert_required) cert->required();
  cmd->add_option("--max-validity", a.max_validity,
                  "refuse a validUntil further ahead than this ISO 8601 duration (default: no limit)");
  cmd->add_option("--ca-file", a.ca_file, "extra PEM trust anchor for an https SOURCE");
  cmd->add_option("--now", a.now, "RFC 3339 UTC time for every check (default: system clock)");
}

} // namespace

CLI::App *add_metadata_command(CLI::App &app) {
  Commands &c = commands();
  CLI::App *md = app.add_subcommand("metadata", "Federation metadata: sign, verify, list, show");
  md->require_subcommand(1);

  SignArgs &s = c.sign_args;
  c.sign =
      md->add_subcommand("sign", "Build and sign one EntitiesDescriptor from metadata files (to stdout)");
  c.sign->add_option("--key", s.key, "signing key (PEM)")->required();
  c.sign->add_option("--cert", s.cert, "signing certificate (PEM), published in KeyInfo")->required();
  c.sign->add_option("--valid-for", s.valid_for, "validUntil = now + this ISO 8601 duration (P7D, PT6H)")
      ->required();
  c.sign->add_option("--cache-duration", s.cache_duration, "cacheDuration (ISO 8601 duration)");
  c.sign->add_option("--name", s.name, "Name attribute of the EntitiesDescriptor");
  c.sign
      ->add_option_function<std::string>(
          "--alg",
          [&s](const std::string &v) {
            s.alg = v;
            s.alg_given = true;
          },
          "signature method (default rsa-sha256)")
      ->check(CLI::IsMember({"rsa-sha256", "rsa-pss-sha256", "ecdsa-sha256"}));
  c.sign->add_option("--now", s.now, "RFC 3339 UTC time (default: system clock)");
  c.sign->add_option("INPUT", s.inputs, "EntityDescriptor or EntitiesDescriptor files ('-': stdin)")
      ->required();

  c.verify = md->add_subcommand("verify", "Verify a signed aggregate against pinned certificates");
  add_read_options(c.verify, c.verify_args, true);
  c.verify->add_option("SOURCE", c.verify_args.source, "file or http(s) URL")->required();

  ListArgs &la = c.list_args;
  c.list = md->add_subcommand("list", "List the entities, sorted by entityID: entityID TAB display name");
  add_read_options(c.list, la, false);
  c.list->add_option("--role", la.role, "only IdPs or only SPs")->check(CLI::IsMember({"idp", "sp"}));
  c.list->add_option("--lang", la.lang, "language of the display names (default de)")
      ->check(CLI::IsMember({"de", "en"}));
  c.list->add_option("SOURCE", la.source, "file or http(s) URL")->required();

  ShowArgs &sa = c.show_args;
  c.show = md->add_subcommand("show", "Show one entity: roles, endpoints, keys, names, contacts, validity");
  add_read_options(c.show, sa, false);
  c.show->add_flag("--xml", sa.xml, "print the EntityDescriptor instead of the summary");
  c.show->add_option("SOURCE", sa.source, "file or http(s) URL")->required();
  c.show->add_option("ENTITY_ID", sa.entity_id, "entityID")->required();
  return md;
}

int run_metadata_command(CLI::App *) {
  Commands &c = commands();
  try {
    if (*c.sign) return cmd_sign(c.sign_args);
    if (*c.verify) return cmd_verify(c.verify_args);
    if (*c.list) return cmd_list(c.list_args);
    if (*c.show) return cmd_show(c.show_args);
    std::cerr << "interkonto: metadata: choose sign, verify, list or show\n";
    return 2;
  } catch (const Refused &r) {
    std::cerr << r.code << ": " << one_line(r.detail) << "\n";
    return 1;
  } catch (const UsageError &e) {
    std::cerr << "interkonto: " << one_line(e.what()) << "\n";
    return 2;
  } catch (const Error &e) {
    std::cerr << "interkonto: " << to_string(e.code()) << ": " << one_line(e.detail()) << "\n";
    return 2;
  }
}

} // namespace interkonto::cli
