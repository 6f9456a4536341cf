// SPDX-License-Identifier: EUPL-1.2
// The attribute mapping engine: YAML configuration, inbound mapping with
// normalisation, outbound SAML / environment / JSON, release policy.
#include "interkonto/attributes.hpp"
#include "attributes/internal.hpp"

#include <algorithm>
#include <array>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

namespace interkonto {

namespace {

using attributes::Normalizer;
using attributes::ValueFormat;

constexpr std::string_view kTrustLevel = "trustLevel";
constexpr std::size_t kMaxFileSize = 4 * 1024 * 1024;

constexpr std::array<std::string_view, 5> kPersonIdentifiers{"bPK2", "bPK", "eidasPersonIdentifier",
                                                             "pseudonym", "applicationId"};

struct InRule {
  std::string from; // SAML attribute Name, spaces removed
  std::string to;   // canonical name (empty for drop)
  std::vector<Normalizer> normalize;
  bool required = false;
  bool drop = false;
};
// Rules by (space-stripped) Name; `order` keeps the Names as configured.
struct RuleIndex {
  std::map<std::string, std::vector<InRule>, std::less<>> by_name;
  std::vector<std::string> order;

  void add(InRule r) {
    auto &v = by_name[r.from];
    if (v.empty()) order.push_back(r.from);
    v.push_back(std::move(r));
  }
  const std::vector<InRule> *find(std::string_view name) const {
    auto i = by_name.find(name);
    return i == by_name.end() ? nullptr : &i->second;
  }
};

struct OutRule {
  std::string from; // canonical name
  std::string name;
  std::string name_format;
  std::string friendly_name;
  bool akdb_trust_level = false;
  ValueFormat format = ValueFormat::as_is;
};

struct Policy {
  bool allow_all = false;
  std::set<std::string, std::less<>> allow;
  std::vector<std::string> require;
  bool allow_person_identifiers = false;
  bool allow_mailbox_handle = false;
};

std::string clip(std::string_view s, std::size_t n = 120) {
  return s.size() <= n ? std::string(s) : std::string(s.substr(0, n)) + "...";
}

std::string join(const std::vector<std::string> &v, std::string_view sep) {
  std::string out;
  for (const auto &s : v) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

bool valid_canonical(std::string_view n) {
  if (n.empty() || n.size() > 64) return false;
  if (!((n[0] >= 'A' && n[0] <= 'Z') || (n[0] >= 'a' && n[0] <= 'z'))) return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  });
}

bool env_chars(std::string_view n) {
  return std::all_of(n.begin(), n.end(),
                     [](char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'; });
}

bool valid_env_prefix(std::string_view p) {
  return env_chars(p) && (p.empty() || !(p[0] >= '0' && p[0] <= '9'));
}

// givenName -> GIVEN_NAME, eidasIssuingCountry -> EIDAS_ISSUING_COUNTRY, bPK2 -> BPK2.
std::string env_name_of(std::string_view canonical) {
  std::string out;
  auto lower = [](char c) { return c >= 'a' && c <= 'z'; };
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  for (std::size_t i = 0; i < canonical.size(); ++i) {
    const char c = canonical[i];
    const bool upper = c >= 'A' && c <= 'Z';
    if (upper && i > 0 && (lower(canonical[i - 1]) || digit(canonical[i - 1])) && i + 1 < canonical.size() &&
        lower(canonical[i + 1]))
      out += '_';
    out += lower(c) ? static_cast<char>(c - 'a' + 'A') : c;
  }
  return out;
}

void append_json_string(std::string &out, std::string_view raw) {
  const std::string s = attributes::sanitize_utf8(raw);
  out += '"';
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    default:
      if (u < 0x20 || u == 0x7f)
        out += fmt::format("\\u{:04x}", static_cast<unsigned>(u));
      else
        out += c;
    }
  }
  out += '"';
}

// ------------------------------------------------------------ YAML helpers

[[noreturn]] void bad(const YAML::Node &n, std::string_view msg) {
  const YAML::Mark m = n.Mark();
  if (m.line >= 0)
    throw Error(ErrorCode::config_invalid, fmt::format("attribute map, line {}: {}", m.line + 1, msg));
  throw Error(ErrorCode::config_invalid, fmt::format("attribute map: {}", msg));
}

void check_keys(const YAML::Node &n, std::initializer_list<std::string_view> allowed, std::string_view what) {
  if (!n.IsMap()) bad(n, fmt::format("{} must be a mapping", what));
  for (const auto &kv : n) {
    if (!kv.first.IsScalar()) bad(kv.first, fmt::format("{}: keys must be strings", what));
    const std::string k = kv.first.Scalar();
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
      std::vector<std::string> names(allowed.begin(), allowed.end());
      bad(kv.first, fmt::format("{}: unknown key '{}' (known: {})", what, clip(k, 40), join(names, ", ")));
    }
  }
}

std::string scalar(const YAML::Node &n, std::string_view what) {
  if (!n.IsScalar()) bad(n, fmt::format("{} must be a string", what));
  return n.Scalar();
}

std::vector<std::string> string_list(const YAML::Node &n, std::string_view what) {
  std::vector<std::string> out;
  if (n.IsNull()) return out;
  if (n.IsScalar()) {
    out.push_back(n.Scalar());
    return out;
  }
  if (!n.IsSequence()) bad(n, fmt::format("{} must be a list of strings", what));
  for (const auto &e : n) out.push_back(scalar(e, what));
  return out;
}

bool boolean(const YAML::Node &n, std::string_view what) {
  bool b = false;
  if (!n.IsScalar() || !YAML::convert<bool>::decode(n, b))
    bad(n, fmt::format("{} must be true or false", what));
  return b;
}

std::string canonical(const YAML::Node &n, std::string_view what) {
  std::string s = scalar(n, what);
  if (!valid_canonical(s))
    bad(n, fmt::format("{}: '{}' is no canonical name (letters and digits, starting with a letter)", what,
                       clip(s, 64)));
  return s;
}

std::string saml_name(const YAML::Node &n, std::string_view what) {
  std::string s = attributes::strip_spaces(scalar(n, what));
  if (s.empty()) bad(n, fmt::format("{} is empty", what));
  return s;
}

std::string known_profiles() {
  std::vector<std::string> names;
  for (const auto &p : attributes::builtin_profile_table()) names.emplace_back(p.name);
  return join(names, ", ");
}

std::vector<Normalizer> split_normalizers(std::string_view list) {
  std::vector<Normalizer> out;
  while (!list.empty()) {
    const auto comma = list.find(',');
    const std::string_view item = list.substr(0, comma);
    if (auto n = attributes::parse_normalizer(item)) out.push_back(*n);
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
  }
  return out;
}

} // namespace

// ------------------------------------------------------------------- Impl

struct AttributeMap::Impl {
  std::vector<std::string> profiles;
  RuleIndex profile_rules;                           // level 0
  RuleIndex all_rules;                               // level 1: "*"
  std::map<std::string, RuleIndex, std::less<>> idp; // level 2: per IdP
  std::vector<OutRule> outbound;
  std::string env_prefix = "INTERKONTO_";
  std::map<std::string, std::string, std::less<>> env_names;
  std::map<std::string, std::string, std::less<>> json_names;
  std::map<std::string, Policy, std::less<>> release;

  // The rules that apply to a (space-stripped) Name for an IdP: the IdP's
  // own, else the "*" ones, else the profiles'. `level` receives 2, 1, 0 or -1.
  const std::vector<InRule> *rules_for(std::string_view from, std::string_view idp_id, int *level) const {
    if (auto i = idp.find(idp_id); i != idp.end())
      if (const auto *r = i->second.find(from)) {
        if (level) *level = 2;
        return r;
      }
    if (const auto *r = all_rules.find(from)) {
      if (level) *level = 1;
      return r;
    }
    if (const auto *r = profile_rules.find(from)) {
      if (level) *level = 0;
      return r;
    }
    if (level) *level = -1;
    return nullptr;
  }

  // Canonical names marked required by a rule in effect for the IdP.
  std::vector<std::string> required_for(std::string_view idp_id) const {
    std::vector<std::string> out;
    auto collect = [&](const RuleIndex &index, int lvl) {
      for (const std::string &from : index.order) {
        int winner = -1;
        const std::vector<InRule> *rules = rules_for(from, idp_id, &winner);
        if (winner != lvl || rules == nullptr) continue;
        for (const InRule &r : *rules)
          if (r.required && !r.drop && std::find(out.begin(), out.end(), r.to) == out.end())
            out.push_back(r.to);
      }
    };
    if (auto i = idp.find(idp_id); i != idp.end()) collect(i->second, 2);
    collect(all_rules, 1);
    collect(profile_rules, 0);
    return out;
  }

  std::string env_name(std::string_view canonical_name) const {
    if (auto i = env_names.find(canonical_name); i != env_names.end()) return i->second;
    return env_name_of(canonical_name);
  }
};

namespace {

InRule parse_in_rule(const YAML::Node &n, std::string_view where) {
  const std::string what = fmt::format("inbound rule for {}", clip(where, 80));
  check_keys(n, {"from", "to", "normalize", "required", "drop"}, what);
  InRule r;
  if (!n["from"]) bad(n, what + ": 'from' (the SAML attribute Name) is required");
  r.from = saml_name(n["from"], what + ": from");
  if (n["drop"]) r.drop = boolean(n["drop"], what + ": drop");
  if (n["to"]) r.to = canonical(n["to"], what + ": to");
  if (r.to.empty() && !r.drop) bad(n, what + ": 'to' (a canonical name) is required unless 'drop: true'");
  if (!r.to.empty() && r.drop) bad(n, what + ": 'to' and 'drop' together");
  if (n["required"]) r.required = boolean(n["required"], what + ": required");
  if (r.required && r.drop) bad(n, what + ": a dropped attribute cannot be required");
  if (n["normalize"]) {
    for (const std::string &name : string_list(n["normalize"], what + ": normalize")) {
      auto norm = attributes::parse_normalizer(name);
      if (!norm)
        bad(n["normalize"],
            fmt::format("{}: unknown normaliser '{}' (known: trim, nfc, date, country, upper, "
                        "lower, titlecase, casefold, trust_level, gender)",
                        what, clip(name, 40)));
      r.normalize.push_back(*norm);
    }
  } else {
    r.normalize = {Normalizer::trim, Normalizer::nfc};
  }
  return r;
}

OutRule parse_out_rule(const YAML::Node &n) {
  const std::string what = "outbound saml rule";
  check_keys(n, {"from", "name", "name_format", "friendly_name", "akdb_trust_level", "value_format"}, what);
  OutRule r;
  if (!n["from"] || !n["name"]) bad(n, what + ": 'from' (a canonical name) and 'name' are required");
  r.from = canonical(n["from"], what + ": from");
  r.name = saml_name(n["name"], what + ": name");
  r.name_format = std::string(attributes::name_format_uri);
  if (n["name_format"]) {
    const std::string f = scalar(n["name_format"], what + ": name_format");
    if (f == "uri")
      r.name_format = std::string(attributes::name_format_uri);
    else if (f == "basic")
      r.name_format = std::string(attributes::name_format_basic);
    else if (f == "unspecified")
      r.name_format = std::string(attributes::name_format_unspecified);
    else if (f.find(':') != std::string::npos)
      r.name_format = f;
    else
      bad(n["name_format"], what + ": name_format must be uri, basic, unspecified or a URI");
  }
  if (n["friendly_name"]) r.friendly_name = scalar(n["friendly_name"], what + ": friendly_name");
  if (n["akdb_trust_level"]) r.akdb_trust_level = boolean(n["akdb_trust_level"], what + ": akdb_trust_level");
  if (n["value_format"]) {
    const std::string f = scalar(n["value_format"], what + ": value_format");
    auto vf = attributes::parse_value_format(f);
    if (!vf)
      bad(n["value_format"],
          fmt::format("{}: unknown value_format '{}' (known: as-is, canonical, stork, eidas, "
                      "german, akdb, elster, eidas-gender)",
                      what, clip(f, 40)));
    r.format = *vf;
  }
  return r;
}

std::map<std::string, std::string, std::less<>> parse_names(const YAML::Node &n, std::string_view what,
                                                            bool env) {
  std::map<std::string, std::string, std::less<>> out;
  if (!n.IsMap()) bad(n, fmt::format("{} must be a mapping of canonical name to name", what));
  for (const auto &kv : n) {
    const std::string from = canonical(kv.first, what);
    const std::string to = scalar(kv.second, what);
    if (env ? (to.empty() || !env_chars(to) || (to[0] >= '0' && to[0] <= '9')) : to.empty())
      bad(kv.second,
          env ? fmt::format("{}: '{}' is not a variable name of A-Z, 0-9 and _", what, clip(to, 64))
              : fmt::format("{}: empty name", what));
    out[from] = to;
  }
  return out;
}

Policy parse_policy(const YAML::Node &n, std::string_view sp) {
  const std::string what = fmt::format("release policy for {}", clip(sp, 80));
  check_keys(n, {"allow", "require", "allow_person_identifiers", "allow_mailbox_handle"}, what);
  Policy p;
  if (n["allow_person_identifiers"])
    p.allow_person_identifiers = boolean(n["allow_person_identifiers"], what + ": allow_person_identifiers");
  if (n["allow_mailbox_handle"])
    p.allow_mailbox_handle = boolean(n["allow_mailbox_handle"], what + ": allow_mailbox_handle");
  if (n["allow"]) {
    for (const std::string &a : string_list(n["allow"], what + ": allow")) {
      if (a == "*") {
        p.allow_all = true;
        continue;
      }
      if (!valid_canonical(a))
        bad(n["allow"], fmt::format("{}: '{}' is no canonical name", what, clip(a, 64)));
      if (is_person_identifier(a) && !p.allow_person_identifiers)
        bad(n["allow"], fmt::format("{}: {} is a person identifier; set allow_person_identifiers: true to "
                                    "release it",
                                    what, a));
      if (a == mailbox_handle_attribute && !p.allow_mailbox_handle)
        bad(n["allow"], fmt::format("{}: mailboxHandle needs allow_mailbox_handle: true", what));
      p.allow.insert(a);
    }
  }
  if (n["require"]) {
    for (const std::string &r : string_list(n["require"], what + ": require")) {
      if (!valid_canonical(r))
        bad(n["require"], fmt::format("{}: '{}' is no canonical name", what, clip(r, 64)));
      if (!p.allow_all && p.allow.count(r) == 0)
        bad(n["require"], fmt::format("{}: {} is required but not allowed", what, r));
      if (is_person_identifier(r) && !p.allow_person_identifiers)
        bad(n["require"],
            fmt::format("{}: {} is a person identifier; set allow_person_identifiers: true", what, r));
      if (r == mailbox_handle_attribute && !p.allow_mailbox_handle)
        bad(n["require"], fmt::format("{}: mailboxHandle needs allow_mailbox_handle: true", what));
      if (std::find(p.require.begin(), p.require.end(), r) == p.require.end()) p.require.push_back(r);
    }
  }
  return p;
}

const attributes::Profile &profile_or_fail(const YAML::Node &n, const std::string &name) {
  const attributes::Profile *p = attributes::find_profile(name);
  if (p == nullptr)
    bad(n, fmt::format("unknown profile '{}' (built in: {})", clip(name, 40), known_profiles()));
  return *p;
}

} // namespace

// ------------------------------------------------------------ construction

AttributeMap::AttributeMap(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

AttributeMap AttributeMap::from_yaml(std::string_view yaml_text) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception &e) {
    throw Error(ErrorCode::config_invalid, fmt::format("attribute map: {}", clip(e.what(), 200)));
  }
  if (!root.IsMap()) bad(root, "the attribute map must be a mapping (profiles, inbound, outbound, release)");
  auto impl = std::make_shared<Impl>();
  try {
    check_keys(root, {"profiles", "inbound", "outbound", "release"}, "attribute map");

    if (root["profiles"]) {
      for (const std::string &name : string_list(root["profiles"], "profiles")) {
        const attributes::Profile &p = profile_or_fail(root["profiles"], name);
        if (std::find(impl->profiles.begin(), impl->profiles.end(), name) != impl->profiles.end()) continue;
        impl->profiles.push_back(name);
        for (const attributes::ProfileRow &row : p.rows) {
          InRule r;
          r.from = attributes::strip_spaces(row.saml_name);
          r.to = std::string(row.canonical);
          r.normalize = split_normalizers(row.normalizers);
          impl->profile_rules.add(std::move(r));
        }
      }
    }

    if (const YAML::Node in = root["inbound"]) {
      if (!in.IsMap()) bad(in, "inbound must map an IdP entityID (or \"*\") to a list of rules");
      for (const auto &kv : in) {
        const std::string idp = scalar(kv.first, "inbound: IdP entityID");
        if (idp.empty()) bad(kv.first, "inbound: empty IdP entityID");
        if (!kv.second.IsSequence())
          bad(kv.second, fmt::format("inbound {}: a list of rules", clip(idp, 80)));
        RuleIndex &index = idp == "*" ? impl->all_rules : impl->idp[idp];
        for (const auto &rule : kv.second) {
          index.add(parse_in_rule(rule, idp));
        }
      }
    }

    std::vector<std::string> out_profiles = impl->profiles;
    if (const YAML::Node out = root["outbound"]) {
      check_keys(out, {"profiles", "saml", "env", "json"}, "outbound");
      if (out["profiles"]) {
        out_profiles.clear();
        for (const std::string &name : string_list(out["profiles"], "outbound: profiles")) {
          (void)profile_or_fail(out["profiles"], name);
          out_profiles.push_back(name);
        }
      }
      if (const YAML::Node saml = out["saml"]) {
        if (!saml.IsSequence()) bad(saml, "outbound: saml must be a list of rules");
        for (const auto &rule : saml) impl->outbound.push_back(parse_out_rule(rule));
      }
      if (const YAML::Node env = out["env"]) {
        check_keys(env, {"prefix", "names"}, "outbound: env");
        if (env["prefix"]) {
          impl->env_prefix = scalar(env["prefix"], "outbound: env: prefix");
          if (!valid_env_prefix(impl->env_prefix))
            bad(env["prefix"], "outbound: env: prefix must be of A-Z, 0-9 and _ and not start with a digit");
        }
        if (env["names"]) impl->env_names = parse_names(env["names"], "outbound: env: names", true);
      }
      if (const YAML::Node json = out["json"]) {
        check_keys(json, {"names"}, "outbound: json");
        if (json["names"]) impl->json_names = parse_names(json["names"], "outbound: json: names", false);
      }
    }
    // The profiles' outbound rules, for canonical names no earlier rule covers.
    for (const std::string &name : out_profiles) {
      std::set<std::string, std::less<>> covered;
      for (const OutRule &r : impl->outbound) covered.insert(r.from);
      for (const attributes::ProfileRow &row : attributes::find_profile(name)->rows) {
        if (covered.count(row.canonical) != 0) continue;
        OutRule r;
        r.from = std::string(row.canonical);
        r.name = attributes::strip_spaces(row.saml_name);
        r.name_format = std::string(row.name_format);
        r.friendly_name = std::string(row.friendly_name);
        r.format = row.outbound_format;
        impl->outbound.push_back(std::move(r));
      }
    }

    if (const YAML::Node rel = root["release"]) {
      if (!rel.IsMap()) bad(rel, "release must map an SP entityID (or \"*\") to a policy");
      for (const auto &kv : rel) {
        const std::string sp = scalar(kv.first, "release: SP entityID");
        if (sp.empty()) bad(kv.first, "release: empty SP entityID");
        impl->release[sp] = parse_policy(kv.second, sp);
      }
    }
  } catch (const YAML::Exception &e) {
    throw Error(ErrorCode::config_invalid, fmt::format("attribute map: {}", clip(e.what(), 200)));
  }
  return AttributeMap(std::move(impl));
}

AttributeMap AttributeMap::from_yaml_file(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(ErrorCode::config_invalid, fmt::format("attribute map {}: cannot be read", clip(path)));
  std::string text;
  std::array<char, 8192> buf{};
  while (f.read(buf.data(), static_cast<std::streamsize>(buf.size())) || f.gcount() > 0) {
    text.append(buf.data(), static_cast<std::size_t>(f.gcount()));
    if (text.size() > kMaxFileSize)
      throw Error(ErrorCode::config_invalid, fmt::format("attribute map {}: larger than 4 MiB", clip(path)));
  }
  if (f.bad())
    throw Error(ErrorCode::config_invalid, fmt::format("attribute map {}: read error", clip(path)));
  try {
    return from_yaml(text);
  } catch (const Error &e) {
    throw Error(ErrorCode::config_invalid, fmt::format("{}: {}", clip(path), e.detail()));
  }
}

AttributeMap AttributeMap::builtin(std::string_view profile) {
  if (attributes::find_profile(profile) == nullptr)
    throw Error(ErrorCode::config_invalid,
                fmt::format("unknown built-in attribute profile '{}' (built in: {})", clip(profile, 40),
                            known_profiles()));
  return from_yaml(fmt::format("profiles: [\"{}\"]\n", profile));
}

AttributeMap AttributeMap::load(std::string_view spec) {
  constexpr std::string_view prefix = "builtin:";
  if (spec.starts_with(prefix)) return builtin(spec.substr(prefix.size()));
  return from_yaml_file(std::string(spec));
}

std::vector<std::string> AttributeMap::builtin_profiles() {
  std::vector<std::string> names;
  for (const auto &p : attributes::builtin_profile_table()) names.emplace_back(p.name);
  return names;
}

// -------------------------------------------------------------- inbound

const MappedAttribute *MappedAttributes::find(std::string_view name) const {
  for (const auto &a : attributes)
    if (a.name == name) return &a;
  return nullptr;
}

std::vector<std::string> MappedAttributes::values(std::string_view name) const {
  const MappedAttribute *a = find(name);
  return a == nullptr ? std::vector<std::string>{} : a->values;
}

bool is_person_identifier(std::string_view canonical_name) noexcept {
  return std::find(kPersonIdentifiers.begin(), kPersonIdentifiers.end(), canonical_name) !=
         kPersonIdentifiers.end();
}

MappedAttributes AttributeMap::map_inbound(const AuthnResult &result, const LogSink &log) const {
  const Impl &m = *impl_;
  auto emit = [&](LogLevel level, const std::string &msg) {
    if (log) log(level, msg);
  };
  MappedAttributes out;
  auto entry = [&](const std::string &name) -> MappedAttribute & {
    for (auto &a : out.attributes)
      if (a.name == name) return a;
    out.attributes.push_back(MappedAttribute{name, {}, std::nullopt});
    return out.attributes.back();
  };
  bool trust_unreadable = false;

  for (const SamlAttribute &a : result.attributes) {
    const std::string key = attributes::strip_spaces(a.name);
    const std::vector<InRule> *rules = m.rules_for(key, result.issuer, nullptr);
    if (rules == nullptr) {
      emit(LogLevel::debug,
           fmt::format("attribute map: {} from {} is not mapped", clip(a.name), clip(result.issuer)));
      continue;
    }
    std::optional<TrustLevel> source_level;
    if (!a.trust_level.empty()) {
      source_level = parse_trust_level(a.trust_level);
      if (!source_level)
        emit(LogLevel::debug,
             fmt::format("attribute map: akdb:TrustLevel of {} names no level", clip(a.name)));
    }
    for (const InRule &rule : *rules) {
      if (rule.drop) continue;
      for (const std::string &raw : a.values) {
        std::optional<std::string> v = raw;
        std::string_view failed;
        for (Normalizer n : rule.normalize) {
          v = attributes::apply(n, *v);
          if (!v) {
            failed = attributes::normalizer_name(n);
            break;
          }
        }
        if (!v) {
          // Never the value itself: it may be personal data.
          emit(LogLevel::warning,
               fmt::format(
                   "attribute map: a value of {} (from {} of {}) failed normaliser '{}' and was dropped",
                   rule.to, clip(a.name), clip(result.issuer), failed));
          if (rule.to == kTrustLevel) trust_unreadable = true;
          continue;
        }
        if (v->empty()) continue;
        MappedAttribute &e = entry(rule.to);
        if (std::find(e.values.begin(), e.values.end(), *v) == e.values.end())
          e.values.push_back(std::move(*v));
        if (source_level)
          e.trust_level = e.trust_level ? std::min(*e.trust_level, *source_level) : *source_level;
      }
    }
  }

  // The login's level: class ref, the trust-level attribute, and whatever
  // the rules mapped to trustLevel; the lowest counts.
  const attributes::LevelScan scan = attributes::scan_trust_level(result);
  std::optional<TrustLevel> level = scan.level;
  trust_unreadable = trust_unreadable || scan.unreadable;
  if (const MappedAttribute *t = out.find(kTrustLevel))
    for (const std::string &v : t->values) {
      const auto l = parse_trust_level(v);
      if (!l) {
        trust_unreadable = true;
        continue;
      }
      level = level ? std::min(*level, *l) : *l;
    }
  if (trust_unreadable) {
    emit(LogLevel::warning,
         fmt::format("attribute map: a trust level from {} names no known level; the login has none",
                     clip(result.issuer)));
    level.reset();
  }
  out.trust_level = level;
  if (level) {
    MappedAttribute &t = entry(std::string(kTrustLevel));
    t.values = {std::string(to_string(*level))};
    t.trust_level.reset();
  } else {
    out.attributes.erase(std::remove_if(out.attributes.begin(), out.attributes.end(),
                                        [](const MappedAttribute &a) { return a.name == kTrustLevel; }),
                         out.attributes.end());
  }

  std::vector<std::string> missing;
  for (const std::string &name : m.required_for(result.issuer)) {
    const MappedAttribute *a = out.find(name);
    if (a == nullptr || a->values.empty()) missing.push_back(name);
  }
  if (!missing.empty())
    throw Error(ErrorCode::attribute_missing, fmt::format("missing: {}", join(missing, ", ")));
  return out;
}

std::optional<std::string> AttributeMap::canonical_name(std::string_view saml_name_in,
                                                        std::string_view idp) const {
  const std::vector<InRule> *rules = impl_->rules_for(attributes::strip_spaces(saml_name_in), idp, nullptr);
  if (rules == nullptr) return std::nullopt;
  for (const InRule &r : *rules)
    if (!r.drop) return r.to;
  return std::nullopt;
}

std::optional<std::string> AttributeMap::inbound_name(std::string_view canonical,
                                                      std::string_view idp) const {
  const Impl &m = *impl_;
  auto search = [&](const RuleIndex &index) -> std::optional<std::string> {
    for (const std::string &from : index.order) {
      // Only names whose rules in effect for this IdP are the ones in `index`.
      const std::vector<InRule> *rules = m.rules_for(from, idp, nullptr);
      if (rules == nullptr || rules != index.find(from)) continue;
      for (const InRule &r : *rules)
        if (!r.drop && r.to == canonical) return from;
    }
    return std::nullopt;
  };
  if (auto i = m.idp.find(idp); i != m.idp.end())
    if (auto n = search(i->second)) return n;
  if (auto n = search(m.all_rules)) return n;
  return search(m.profile_rules);
}

std::optional<std::string> AttributeMap::canonical_from_outbound(std::string_view saml_name) const {
  const std::string key = attributes::strip_spaces(saml_name);
  for (const OutRule &rule : impl_->outbound)
    if (rule.name == key) return rule.from;
  return std::nullopt;
}

// ------------------------------------------------------------- outbound

std::vector<SamlAttribute> AttributeMap::map_outbound(const MappedAttributes &attrs) const {
  std::vector<SamlAttribute> out;
  for (const MappedAttribute &a : attrs.attributes) {
    for (const OutRule &rule : impl_->outbound) {
      if (rule.from != a.name) continue;
      SamlAttribute s;
      s.name = rule.name;
      s.name_format = rule.name_format;
      s.friendly_name = rule.friendly_name;
      for (const std::string &v : a.values) {
        auto f = attributes::format_value(rule.format, v);
        if (f && std::find(s.values.begin(), s.values.end(), *f) == s.values.end()) s.values.push_back(*f);
      }
      if (s.values.empty()) continue;
      if (rule.akdb_trust_level) {
        const std::optional<TrustLevel> level = a.trust_level ? a.trust_level : attrs.trust_level;
        if (level) s.trust_level = std::string(to_string(*level, TrustVocabulary::akdb));
      }
      out.push_back(std::move(s));
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>>
AttributeMap::to_env(const MappedAttributes &attrs, std::optional<std::string_view> prefix) const {
  const std::string p = prefix ? std::string(*prefix) : impl_->env_prefix;
  if (!valid_env_prefix(p))
    throw Error(ErrorCode::config_invalid,
                fmt::format("environment prefix '{}' is not of A-Z, 0-9 and _", clip(p, 64)));
  std::vector<std::pair<std::string, std::string>> out;
  for (const MappedAttribute &a : attrs.attributes) {
    if (a.values.empty()) continue;
    std::string value;
    for (const std::string &v : a.values) {
      if (!value.empty()) value += ';';
      for (char c : attributes::sanitize_utf8(v)) {
        const auto u = static_cast<unsigned char>(c);
        if (c == ';' || c == '\\') value += '\\';
        value += (u < 0x20 || u == 0x7f) ? ' ' : c;
      }
    }
    out.emplace_back(p + impl_->env_name(a.name), std::move(value));
  }
  return out;
}

std::string AttributeMap::to_json(const MappedAttributes &attrs) const {
  std::string out = "{";
  bool first = true;
  for (const MappedAttribute &a : attrs.attributes) {
    if (!first) out += ',';
    first = false;
    const auto renamed = impl_->json_names.find(a.name);
    append_json_string(out, renamed == impl_->json_names.end() ? a.name : renamed->second);
    out += ":[";
    for (std::size_t i = 0; i < a.values.size(); ++i) {
      if (i > 0) out += ',';
      append_json_string(out, a.values[i]);
    }
    out += ']';
  }
  out += '}';
  return out;
}

// -------------------------------------------------------------- release

ReleaseResult AttributeMap::release(const MappedAttributes &attrs, std::string_view sp_entity_id,
                                    const std::vector<std::string> &requested) const {
  ReleaseResult r;
  r.attributes.trust_level = attrs.trust_level;
  const Policy *policy = nullptr;
  if (auto i = impl_->release.find(sp_entity_id); i != impl_->release.end())
    policy = &i->second;
  else if (auto star = impl_->release.find(std::string_view("*")); star != impl_->release.end())
    policy = &star->second;

  auto is_requested = [&](std::string_view name) {
    return requested.empty() || std::find(requested.begin(), requested.end(), name) != requested.end();
  };
  for (const MappedAttribute &a : attrs.attributes) {
    bool ok =
        policy != nullptr && is_requested(a.name) && (policy->allow_all || policy->allow.count(a.name) != 0);
    if (ok && is_person_identifier(a.name) && !policy->allow_person_identifiers) ok = false;
    if (ok && a.name == mailbox_handle_attribute && !policy->allow_mailbox_handle) ok = false;
    if (ok)
      r.attributes.attributes.push_back(a);
    else
      r.withheld.push_back(a.name);
  }
  if (policy != nullptr) {
    std::vector<std::string> missing;
    for (const std::string &name : policy->require) {
      if (!is_requested(name)) continue;
      const MappedAttribute *a = r.attributes.find(name);
      if (a == nullptr || a->values.empty()) missing.push_back(name);
    }
    if (!missing.empty())
      throw Error(ErrorCode::attribute_missing, fmt::format("missing: {}", join(missing, ", ")));
  }
  return r;
}

} // namespace interkonto
