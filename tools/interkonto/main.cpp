// SPDX-License-Identifier: EUPL-1.2
// `interkonto`: the operator's command-line tool.
//   decode           Redirect URL/query or POST value -> pretty XML
//   sp-metadata      SP metadata from flags or a YAML config file
//   verify-response  check a SAML Response the way the SP's ACS does

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "interkonto/attributes.hpp"
#include "interkonto/bindings.hpp"
#include "interkonto/clock.hpp"
#include "interkonto/crypto.hpp"
#include "interkonto/error.hpp"
#include "interkonto/metadata.hpp"
#include "interkonto/sp.hpp"
#include "cli_util.hpp"
#include "metadata_cmd.hpp"

namespace ik = interkonto;

namespace {

using interkonto::cli::one_line;
using interkonto::cli::read_input;
using interkonto::cli::UsageError;

// ---------------------------------------------------------------- decode

int cmd_decode(const std::string &input_arg) {
  std::string input = input_arg == "-" || input_arg.empty() ? read_input("-") : input_arg;
  while (!input.empty() && (input.back() == '\n' || input.back() == '\r' || input.back() == ' '))
    input.pop_back();
  try {
    std::string xml;
    const auto q = input.find('?');
    const bool looks_like_query =
        input.find("SAMLRequest=") != std::string::npos || input.find("SAMLResponse=") != std::string::npos;
    if (looks_like_query) {
      const std::string query = q == std::string::npos ? input : input.substr(q + 1);
      ik::RedirectMessage m = ik::redirect_decode(query);
      if (m.relay_state) std::cerr << "RelayState: " << *m.relay_state << "\n";
      if (m.sig_alg) std::cerr << "SigAlg: " << *m.sig_alg << "\n";
      xml = m.xml;
    } else {
      // A POST form value: base64 (possibly URL-encoded); some senders deflate it too.
      std::string value = input.find('%') != std::string::npos ? ik::url_decode(input, false) : input;
      std::string raw = ik::base64_decode(value);
      if (raw.find('<') == std::string::npos) raw = ik::inflate_raw(raw, ik::default_message_limit);
      xml = raw;
    }
    std::cout << ik::pretty_xml(xml);
    return 0;
  } catch (const ik::Error &e) {
    std::cerr << to_string(e.code()) << ": " << one_line(e.detail()) << "\n";
    return 1;
  }
}

// ----------------------------------------------------------- sp-metadata

struct SpMetaArgs {
  std::string config;
  std::string entity_id;
  std::vector<std::string> acs;
  std::string signing_cert;
  std::vector<std::string> encryption_certs;
  std::vector<std::string> name_id_formats;
  std::string org_name, org_url, contact;
};

int cmd_sp_metadata(SpMetaArgs a) {
  if (!a.config.empty()) {
    YAML::Node y;
    try {
      y = YAML::LoadFile(a.config);
    } catch (const YAML::Exception &e) {
      throw UsageError(fmt::format("config {}: {}", a.config, e.what()));
    }
    auto str = [&](const char *k, std::string &dst) {
      if (y[k] && dst.empty()) dst = y[k].as<std::string>();
    };
    auto list = [&](const char *k, std::vector<std::string> &dst) {
      if (y[k] && dst.empty()) {
        if (y[k].IsSequence())
          for (const auto &v : y[k]) dst.push_back(v.as<std::string>());
        else
          dst.push_back(y[k].as<std::string>());
      }
    };
    try {
      str("entity_id", a.entity_id);
      list("acs_url", a.acs);
      str("signing_cert", a.signing_cert);
      list("encryption_cert", a.encryption_certs);
      list("name_id_format", a.name_id_formats);
      str("organization_name", a.org_name);
      str("organization_url", a.org_url);
      str("technical_contact", a.contact);
    } catch (const YAML::Exception &e) {
      throw UsageError(fmt::format("config {}: {}", a.config, e.what()));
    }
  }
  if (a.entity_id.empty()) throw UsageError("--entity-id (or entity_id in the config) is required");
  if (a.acs.empty()) throw UsageError("--acs-url (or acs_url in the config) is required");
  ik::SpMetadataOptions o;
  o.entity_id = a.entity_id;
  o.acs_urls = a.acs;
  try {
    if (!a.signing_cert.empty()) o.signing_certificate = ik::Certificate::from_pem_file(a.signing_cert);
    for (const auto &c : a.encryption_certs)
      o.encryption_certificates.push_back(ik::Certificate::from_pem_file(c));
  } catch (const ik::Error &e) {
    throw UsageError(e.detail());
  }
  o.name_id_formats = a.name_id_formats.empty() ? std::vector<std::string>{std::string(ik::nameid::transient)}
                                                : a.name_id_formats;
  o.authn_requests_signed = o.signing_certificate.has_value();
  o.organization_name = a.org_name;
  o.organization_url = a.org_url;
  o.technical_contact_email = a.contact;
  std::cout << ik::make_sp_metadata(o);
  return 0;
}

// ------------------------------------------------------- verify-response

struct VerifyArgs {
  std::string sp_entity_id, acs_url, idp_metadata;
  std::vector<std::string> sp_keys;
  std::optional<std::string> in_response_to;
  bool allow_unsolicited = false;
  std::optional<std::string> now;
  long clock_skew = 180;
  std::string response_file;
  std::optional<std::string> attribute_map; // FILE or builtin:NAME
};

nlohmann::ordered_json opt_json(const std::optional<std::string> &v) {
  return v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json(nullptr);
}

int cmd_verify_response(const VerifyArgs &a) {
  // Everything that is about flags and files (exit 2) is settled first.
  ik::TimePoint now = ik::SystemClock().now();
  if (a.now) {
    auto t = ik::parse_datetime(*a.now, /*require_utc=*/true);
    if (!t) throw UsageError(fmt::format("--now: '{}' is not an RFC 3339 UTC time (…Z)", *a.now));
    now = *t;
  }
  if (a.clock_skew < 0) throw UsageError("--clock-skew must not be negative");
  std::vector<ik::EntityPtr> entities;
  std::vector<ik::PrivateKey> keys;
  try {
    entities = ik::load_metadata_file(a.idp_metadata);
    for (const auto &k : a.sp_keys) keys.push_back(ik::PrivateKey::from_pem_file(k));
  } catch (const ik::Error &e) {
    throw UsageError(e.detail());
  }
  std::vector<ik::IdpSettings> idps;
  for (const auto &e : entities) {
    if (!e->idp) continue;
    ik::IdpSettings s;
    s.entity = e;
    idps.push_back(std::move(s));
  }
  if (idps.empty()) throw UsageError(fmt::format("{} lists no SAML 2.0 IdP", a.idp_metadata));
  std::optional<ik::AttributeMap> attribute_map;
  if (a.attribute_map) {
    try {
      attribute_map = ik::AttributeMap::load(*a.attribute_map);
    } catch (const ik::Error &e) {
      throw UsageError(fmt::format("--attribute-map: {}", e.detail()));
    }
  }
  const std::string input = read_input(a.response_file);

  ik::ResponseCheck check;
  check.sp_entity_id = a.sp_entity_id;
  check.acs_url = a.acs_url;
  check.in_response_to = a.in_response_to;
  check.allow_unsolicited = a.allow_unsolicited;
  check.now = now;
  check.clock_skew = std::chrono::seconds(a.clock_skew);
  try {
    ik::ResponseValidator validator(std::move(idps), std::move(keys), nullptr);
    const ik::AuthnResult r = validator.validate(input, check);
    nlohmann::ordered_json j;
    j["issuer"] = r.issuer;
    j["nameId"] = r.name_id;
    j["nameIdFormat"] = opt_json(r.name_id_format);
    j["sessionIndex"] = opt_json(r.session_index);
    j["authnContextClassRef"] = opt_json(r.authn_context_class_ref);
    j["notOnOrAfter"] = ik::format_datetime(r.not_on_or_after);
    nlohmann::ordered_json attrs = nlohmann::ordered_json::object();
    for (const auto &at : r.attributes) attrs[at.name] = at.values;
    j["attributes"] = attrs;
    if (attribute_map) {
      const ik::MappedAttributes mapped = attribute_map->map_inbound(r);
      nlohmann::ordered_json m = nlohmann::ordered_json::object();
      for (const auto &at : mapped.attributes) m[at.name] = at.values;
      j["mapped"] = m;
      j["trustLevel"] = mapped.trust_level
                            ? nlohmann::ordered_json(std::string(ik::to_string(*mapped.trust_level)))
                            : nlohmann::ordered_json(nullptr);
    }
    std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return 0;
  } catch (const ik::Error &e) {
    if (e.code() == ik::ErrorCode::config_invalid) throw UsageError(e.detail());
    std::cerr << to_string(e.code()) << ": " << one_line(e.detail()) << "\n";
    return 1;
  }
}

} // namespace

int main(int argc, char **argv) {
  CLI::App app{"interkonto — SAML 2.0 for German e-government (FINK)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "interkonto 0.1.0");

  std::string decode_input;
  auto *decode =
      app.add_subcommand("decode", "Decode a Redirect URL/query or a POST form value to pretty XML");
  decode->add_option("INPUT", decode_input, "URL, query string or base64 value ('-' or nothing: stdin)");

  SpMetaArgs sm;
  auto *spm = app.add_subcommand("sp-metadata", "Print SP metadata from flags or a YAML config file");
  spm->add_option("--config", sm.config,
                  "YAML file (keys: entity_id, acs_url, signing_cert, encryption_cert, ...)");
  spm->add_option("--entity-id", sm.entity_id, "SP entityID");
  spm->add_option("--acs-url", sm.acs, "assertion consumer service URL (HTTP-POST); repeatable");
  spm->add_option("--signing-cert", sm.signing_cert, "PEM certificate for AuthnRequest signatures");
  spm->add_option("--encryption-cert", sm.encryption_certs,
                  "PEM certificate for encrypted assertions; repeatable");
  spm->add_option("--name-id-format", sm.name_id_formats, "NameID format; repeatable");
  spm->add_option("--org-name", sm.org_name, "Organization name");
  spm->add_option("--org-url", sm.org_url, "Organization URL");
  spm->add_option("--contact", sm.contact, "technical contact e-mail");

  VerifyArgs va;
  auto *vr = app.add_subcommand("verify-response", "Check a SAML Response as the SP's ACS would");
  vr->add_option("--sp-entity-id", va.sp_entity_id, "this SP's entityID")->required();
  vr->add_option("--acs-url", va.acs_url, "this SP's ACS URL")->required();
  vr->add_option("--idp-metadata", va.idp_metadata, "IdP metadata file")->required();
  vr->add_option("--sp-key", va.sp_keys,
                 "PEM private key for encrypted assertions; repeatable, tried in order");
  vr->add_option("--in-response-to", va.in_response_to, "the AuthnRequest ID the response must answer");
  vr->add_flag("--allow-unsolicited", va.allow_unsolicited, "accept a response without InResponseTo");
  vr->add_option("--now", va.now, "RFC 3339 UTC time for every check (default: system clock)");
  vr->add_option("--clock-skew", va.clock_skew, "allowed clock skew in seconds (default 180)");
  vr->add_option(
      "--attribute-map", va.attribute_map,
      "attribute map (YAML file or builtin:NAME); adds \"mapped\" and \"trustLevel\" to the output");
  vr->add_option("RESPONSE_FILE", va.response_file, "Response as XML or base64 ('-': stdin)")->required();

  CLI::App *metadata = interkonto::cli::add_metadata_command(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  try {
    if (*decode) return cmd_decode(decode_input);
    if (*spm) return cmd_sp_metadata(sm);
    if (*vr) return cmd_verify_response(va);
    if (*metadata) return interkonto::cli::run_metadata_command(metadata);
  } catch (const UsageError &e) {
    std::cerr << "interkonto: " << one_line(e.what()) << "\n";
    return 2;
  } catch (const ik::Error &e) {
    std::cerr << "interkonto: " << one_line(e.what()) << "\n";
    return 2;
  } catch (const std::exception &e) {
    std::cerr << "interkonto: internal error: " << one_line(e.what()) << "\n";
    return 2;
  }
  return 2;
}
