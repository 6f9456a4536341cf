// SPDX-License-Identifier: EUPL-1.2
// The identity-provider side: accept and check an AuthnRequest from a known
// SP (HTTP-Redirect or HTTP-POST) and build a signed (optionally encrypted)
// Response for it.

#include "interkonto/idp.hpp"
#include "interkonto/sp.hpp"

#include <libxml/tree.h>
#include <libxml/valid.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <map>
#include <mutex>
#include <utility>

#include "core/xml.hpp"
#include "core/xmlsec.hpp"
#include "interkonto/bindings.hpp"
#include "interkonto/error.hpp"

namespace interkonto {

namespace {

constexpr const char *ns_xs = "http://www.w3.org/2001/XMLSchema";
constexpr const char *status_success = "urn:oasis:names:tc:SAML:2.0:status:Success";
constexpr const char *cm_bearer = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
constexpr const char *attrname_format_uri = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri";
constexpr const char *nameid_entity = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity";
constexpr const char *nameid_transient = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";
constexpr std::string_view nameid_persistent = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent";
constexpr std::string_view nameid_unspecified = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified";
constexpr const char *attr_subject_id = "urn:oasis:names:tc:SAML:attribute:subject-id";
constexpr const char *attr_pairwise_id = "urn:oasis:names:tc:SAML:attribute:pairwise-id";
constexpr const char *ac_unspecified = "urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified";
constexpr const char *protocol_enum = "urn:oasis:names:tc:SAML:2.0:protocol";
constexpr std::string_view ecdsa_sha512 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512";

const xmlChar *xc(const char *s) noexcept {
  return reinterpret_cast<const xmlChar *>(s);
}

std::string saml_id() { // "_" + 40 hex digits (160 bits)
  std::array<unsigned char, 20> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1)
    throw Error(ErrorCode::internal, "RAND_bytes failed");
  static constexpr char hex[] = "0123456789abcdef";
  std::string id = "_";
  for (const unsigned char b : bytes) {
    id.push_back(hex[b >> 4]);
    id.push_back(hex[b & 0x0f]);
  }
  return id;
}

std::string hmac_sha256(std::string_view secret, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char *>(data.data()), data.size(), out.data(), &len) == nullptr)
    throw Error(ErrorCode::internal, "HMAC-SHA256 failed");
  return std::string(reinterpret_cast<const char *>(out.data()), len);
}

std::string lower_hex(std::string_view bytes) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out.push_back(hex[b >> 4]);
    out.push_back(hex[b & 0x0f]);
  }
  return out;
}

// subject-id / pairwise-id scope: 1..127 of [A-Za-z0-9.-], alphanumeric first.
bool valid_scope(std::string_view s) {
  const auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (s.empty() || s.size() > 127 || !alnum(s.front())) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) { return alnum(c) || c == '-' || c == '.'; });
}

std::string json_escape(std::string_view s) {
  std::string out;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u < 0x20) {
      static constexpr char hex[] = "0123456789abcdef";
      out += "\\u00";
      out.push_back(hex[u >> 4]);
      out.push_back(hex[u & 0x0f]);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string last_segment(std::string_view uri) {
  const std::size_t colon = uri.rfind(':');
  return std::string(colon == std::string_view::npos ? uri : uri.substr(colon + 1));
}

// Signature methods the library can produce with a key of this type.
bool key_can_sign(std::string_view method, const PrivateKey &key) {
  if (key.type() == KeyType::ec)
    return method == alg::ecdsa_sha256 || method == alg::ecdsa_sha384 || method == ecdsa_sha512 ||
           method == alg::ecdsa_sha1;
  return method == alg::rsa_pss_sha256 || method == alg::rsa_sha256 || method == alg::rsa_sha384 ||
         method == alg::rsa_sha512 || method == alg::rsa_sha1;
}

std::string trim(std::string s) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && space(s.back())) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && space(s[i])) ++i;
  return s.substr(i);
}

bool xs_true(const std::optional<std::string> &v) {
  return v && (*v == "true" || *v == "1");
}

EntityPtr find_sp(const std::vector<EntityPtr> &sps, std::string_view entity_id) {
  for (const EntityPtr &e : sps)
    if (e && e->sp && e->entity_id == entity_id) return e;
  return nullptr;
}

// The signature method family must fit the key: keep the hash, switch family.
std::string fit_signature_method(std::string_view method, const PrivateKey &key) {
  const bool ec = key.type() == KeyType::ec;
  if (ec) {
    if (method == alg::rsa_sha256 || method == alg::rsa_pss_sha256) return std::string(alg::ecdsa_sha256);
    if (method == alg::rsa_sha384) return std::string(alg::ecdsa_sha384);
    if (method == alg::rsa_sha512) return std::string(ecdsa_sha512);
    if (method == alg::rsa_sha1) return std::string(alg::ecdsa_sha1);
  } else {
    if (method == alg::ecdsa_sha256) return std::string(alg::rsa_sha256);
    if (method == alg::ecdsa_sha384) return std::string(alg::rsa_sha384);
    if (method == ecdsa_sha512) return std::string(alg::rsa_sha512);
    if (method == alg::ecdsa_sha1) return std::string(alg::rsa_sha1);
  }
  return std::string(method);
}

// An HTTP-POST ACS endpoint of the SP, chosen as the request asks.
const Endpoint *choose_acs(const SpRole &sp, const std::optional<std::string> &url,
                           const std::optional<std::string> &index_text) {
  const auto is_post = [](const Endpoint &e) { return e.binding == binding::post; };
  if (url) {
    for (const Endpoint &e : sp.acs)
      if (is_post(e) && e.location == *url) return &e;
    throw Error(ErrorCode::request_invalid,
                "AssertionConsumerServiceURL is not an HTTP-POST ACS of the SP in its metadata");
  }
  if (index_text) {
    unsigned long idx = 0;
    try {
      std::size_t used = 0;
      idx = std::stoul(*index_text, &used);
      if (used != index_text->size()) throw std::invalid_argument("trailing");
    } catch (const std::exception &) {
      throw Error(ErrorCode::malformed, "AssertionConsumerServiceIndex is not a number");
    }
    for (const Endpoint &e : sp.acs)
      if (e.index && *e.index == idx) {
        if (!is_post(e)) throw Error(ErrorCode::request_invalid, "the ACS at that index is not HTTP-POST");
        return &e;
      }
    throw Error(ErrorCode::request_invalid, "AssertionConsumerServiceIndex names no ACS of the SP");
  }
  // Default: isDefault="true", else the lowest index, else the first (HTTP-POST only).
  const Endpoint *best = nullptr;
  for (const Endpoint &e : sp.acs)
    if (is_post(e) && e.is_default) return &e;
  for (const Endpoint &e : sp.acs) {
    if (!is_post(e)) continue;
    if (best == nullptr) {
      best = &e;
    } else if (e.index && (!best->index || *e.index < *best->index)) {
      best = &e;
    }
  }
  if (best == nullptr) throw Error(ErrorCode::request_invalid, "the SP's metadata lists no HTTP-POST ACS");
  return best;
}

bool is_data_method(std::string_view a) {
  return a == alg::aes128_gcm || a == alg::aes256_gcm || a == alg::aes128_cbc || a == alg::aes256_cbc;
}
bool is_key_transport(std::string_view a) {
  return a == alg::rsa_oaep || a == alg::rsa_oaep_mgf1p;
}

// What the SP's metadata asks for (md:EncryptionMethod), else the options.
xmlsec::EncryptionParams encryption_params(const KeyDescriptor &kd, const ResponseOptions &opt) {
  xmlsec::EncryptionParams p;
  p.data_method = opt.data_encryption;
  p.key_transport = opt.key_transport;
  const auto &methods = kd.encryption_methods;
  const auto listed = [&](std::string_view a) {
    return std::any_of(methods.begin(), methods.end(),
                       [&](const EncryptionMethod &m) { return m.algorithm == a; });
  };
  const bool lists_data = std::any_of(methods.begin(), methods.end(),
                                      [](const EncryptionMethod &m) { return is_data_method(m.algorithm); });
  const bool lists_kt = std::any_of(methods.begin(), methods.end(),
                                    [](const EncryptionMethod &m) { return is_key_transport(m.algorithm); });
  if (lists_data && !listed(p.data_method)) {
    for (const EncryptionMethod &m : methods)
      if (is_data_method(m.algorithm)) {
        p.data_method = m.algorithm;
        break;
      }
  }
  if (lists_kt && !listed(p.key_transport)) {
    for (const EncryptionMethod &m : methods)
      if (is_key_transport(m.algorithm)) {
        p.key_transport = m.algorithm;
        break;
      }
  }
  for (const EncryptionMethod &m : methods) {
    if (m.algorithm != p.key_transport) continue;
    if (!m.digest.empty()) p.oaep_digest = m.digest;
    if (!m.mgf.empty()) p.oaep_mgf = m.mgf;
    break;
  }
  return p;
}

xmlNode *new_root(xmlDoc *doc, const char *local) {
  xmlNode *root = xmlNewDocNode(doc, nullptr, xc(local), nullptr);
  if (root == nullptr) throw Error(ErrorCode::internal, "out of memory");
  xmlDocSetRootElement(doc, root);
  return root;
}

xml::DocPtr new_doc() {
  xml::ensure_initialized();
  xml::DocPtr doc{xmlNewDoc(xc("1.0"))};
  if (!doc) throw Error(ErrorCode::internal, "out of memory");
  return doc;
}

xmlNs *declare(xmlNode *n, const char *href, const char *prefix) {
  xmlNs *ns = xmlNewNs(n, xc(href), xc(prefix));
  if (ns == nullptr) throw Error(ErrorCode::internal, "cannot declare namespace");
  return ns;
}

void set_ns_attr(xmlNode *n, xmlNs *ns, const char *name, const std::string &value) {
  if (xmlSetNsProp(n, ns, xc(name), xc(value.c_str())) == nullptr)
    throw Error(ErrorCode::internal, "cannot set attribute");
}

} // namespace

struct IdentityProvider::Impl {
  Impl(IdpConfig c, std::shared_ptr<const Clock> k) : config(std::move(c)), clock(std::move(k)) {}
  IdpConfig config;
  std::shared_ptr<const Clock> clock;

  // A samlp:Response root with ID, Version, IssueInstant, Destination,
  // InResponseTo and Issuer; returns {root, issuer, saml ns}.
  struct Skeleton {
    xmlNode *root;
    xmlNode *issuer;
    xmlNs *samlp;
    xmlNs *saml;
  };
  Skeleton response_skeleton(xmlDoc *doc, const ReceivedAuthnRequest &req, TimePoint now) const {
    Skeleton s{};
    s.root = new_root(doc, "Response");
    s.samlp = declare(s.root, xml::ns_samlp, "samlp");
    s.saml = declare(s.root, xml::ns_saml, "saml");
    xmlSetNs(s.root, s.samlp);
    xml::set_attr(s.root, "ID", saml_id());
    xml::set_attr(s.root, "Version", "2.0");
    xml::set_attr(s.root, "IssueInstant", format_datetime(now));
    if (!req.acs_url.empty()) xml::set_attr(s.root, "Destination", req.acs_url);
    if (!req.id.empty()) xml::set_attr(s.root, "InResponseTo", req.id);
    s.issuer = xml::new_child(s.root, s.saml, "Issuer", config.entity_id);
    return s;
  }

  // Request IDs seen, keyed on (SP, ID), with the time until which they are kept.
  mutable std::mutex replay_mutex;
  std::map<std::pair<std::string, std::string>, TimePoint> seen_requests;

  // Remembers (sp, id) until `keep_until`; throws Error(replayed) when it was seen.
  void check_replay(const std::string &sp, const std::string &id, TimePoint now, TimePoint keep_until) {
    if (config.request_replay_cache) {
      if (!config.request_replay_cache->insert(sp, "authnrequest:" + id, keep_until, now))
        throw Error(ErrorCode::replayed, "AuthnRequest ID was already used");
      return;
    }
    const std::lock_guard<std::mutex> lock(replay_mutex);
    const auto key = std::make_pair(sp, id);
    if (const auto it = seen_requests.find(key); it != seen_requests.end()) {
      if (it->second > now) throw Error(ErrorCode::replayed, "AuthnRequest ID was already used");
      seen_requests.erase(it);
    }
    if (seen_requests.size() >= config.replay_cache_max) {
      std::erase_if(seen_requests, [&](const auto &e) { return e.second <= now; });
      if (seen_requests.size() >= config.replay_cache_max)
        throw Error(ErrorCode::internal, "the request replay cache is full");
    }
    seen_requests.emplace(key, keep_until);
  }

  const ResponseOptions &options_for(std::string_view sp) const {
    for (const auto &[id, o] : config.per_sp)
      if (id == sp) return o;
    return config.default_response;
  }

  std::string signature_method(std::string_view sp, std::string_view requested) const {
    const PrivateKey &key = config.signing.key;
    if (!requested.empty()) return fit_signature_method(requested, key);
    if (const EntityPtr e = find_sp(config.sps, sp); e && e->sp) {
      for (const std::string &m : e->sp->signing_methods)
        if (key_can_sign(m, key) && config.policy.signature_method_allowed(m)) return m;
    }
    return std::string(key.type() == KeyType::ec ? alg::ecdsa_sha256 : alg::rsa_pss_sha256);
  }
};

std::optional<int> requested_minimum_level(const ReceivedAuthnRequest &req) {
  if (req.comparison == "maximum") return std::nullopt;
  std::optional<int> out;
  for (const auto &ref : req.requested_class_refs)
    if (const auto l = parse_stork_level(ref)) out = out ? std::min(*out, *l) : *l;
  if (out && req.comparison == "better") *out += 1;
  return out;
}

IdentityProvider::IdentityProvider(IdpConfig config, std::shared_ptr<const Clock> clock)
    : impl_(std::make_unique<Impl>(std::move(config),
                                   clock ? std::move(clock) : std::make_shared<const SystemClock>())) {
  if (impl_->config.entity_id.empty()) throw Error(ErrorCode::config_invalid, "IdP entity ID is empty");
  if (impl_->config.sso_url.empty()) throw Error(ErrorCode::config_invalid, "IdP SSO URL is empty");
  if (!impl_->config.subject_id_scope.empty() && !valid_scope(impl_->config.subject_id_scope))
    throw Error(ErrorCode::config_invalid, "subject_id_scope is not a valid subject-id scope");
}

IdentityProvider::~IdentityProvider() = default;

ReceivedAuthnRequest IdentityProvider::receive_authn_request(const HttpRequest &req) const {
  const IdpConfig &cfg = impl_->config;
  const TimePoint now = impl_->clock->now();
  ReceivedAuthnRequest out;

  // ---- binding
  std::optional<RedirectMessage> redirect;
  bool is_post = false;
  std::optional<std::string> post_value;
  if (req.method == "POST") post_value = req.form_param("SAMLRequest");
  if (post_value) {
    is_post = true;
    out.xml = post_decode(*post_value);
    out.relay_state = req.form_param("RelayState").value_or(std::string());
    out.binding = std::string(binding::post);
  } else if (req.query_param("SAMLRequest")) {
    redirect = redirect_decode(req.raw_query);
    if (redirect->kind != MessageKind::request)
      throw Error(ErrorCode::request_invalid, "the SSO endpoint takes requests only");
    out.xml = redirect->xml;
    out.relay_state = redirect->relay_state.value_or(std::string());
    out.binding = std::string(binding::redirect);
  } else {
    throw Error(ErrorCode::request_invalid, "no SAMLRequest in the query or form");
  }

  // ---- parse and validate
  const xml::DocPtr doc = xml::parse(out.xml, default_message_limit);
  xml::validate_schema(doc.get());
  xmlNode *root = xmlDocGetRootElement(doc.get());
  if (!xml::is(root, xml::ns_samlp, "AuthnRequest"))
    throw Error(ErrorCode::malformed, "the message is not a samlp:AuthnRequest");
  if (xml::attr(root, "Version").value_or("") != "2.0")
    throw Error(ErrorCode::malformed, "AuthnRequest Version is not 2.0");
  out.id = xml::attr(root, "ID").value_or("");
  if (out.id.empty()) throw Error(ErrorCode::malformed, "AuthnRequest has no ID");

  // ---- issuer
  xmlNode *issuer = xml::first_child(root, xml::ns_saml, "Issuer");
  if (issuer == nullptr) throw Error(ErrorCode::unknown_issuer, "AuthnRequest has no Issuer");
  if (const auto fmt = xml::attr(issuer, "Format"); fmt && *fmt != nameid_entity)
    throw Error(ErrorCode::unknown_issuer, "Issuer Format is not entity");
  out.issuer = trim(xml::text(issuer));
  const EntityPtr sp_entity = find_sp(cfg.sps, out.issuer);
  if (!sp_entity) throw Error(ErrorCode::unknown_issuer, "no SP with entityID " + out.issuer.substr(0, 200));
  if (!sp_entity->valid_at(now))
    throw Error(ErrorCode::untrusted_metadata, "the metadata of SP " + out.issuer + " has expired");
  const SpRole &sp = *sp_entity->sp;

  // ---- signature
  const bool required = cfg.require_signed_requests || sp.authn_requests_signed;
  bool signed_request = false;
  if (redirect) {
    if (redirect->signature || redirect->sig_alg) {
      redirect_verify(*redirect, sp.signing_keys(), cfg.policy);
      signed_request = true;
    }
  } else if (is_post) {
    if (xml::first_child(root, xml::ns_ds, "Signature") != nullptr) {
      xmlAttr *id_attr = xmlHasProp(root, xc("ID"));
      if (id_attr == nullptr) throw Error(ErrorCode::malformed, "AuthnRequest has no ID");
      if (xmlGetID(doc.get(), xc(out.id.c_str())) == nullptr)
        xmlAddID(nullptr, doc.get(), xc(out.id.c_str()), id_attr);
      xmlsec::verify_enveloped(doc.get(), root, sp.signing_keys(), cfg.policy);
      signed_request = true;
    }
  }
  if (required && !signed_request)
    throw Error(ErrorCode::signature_missing, "the AuthnRequest is not signed");

  // ---- Destination (required on a signed request: SAML bindings §3.4.5.2, §3.5.5.2)
  const auto destination = xml::attr(root, "Destination");
  if (destination && *destination != cfg.sso_url)
    throw Error(ErrorCode::destination_mismatch, "AuthnRequest Destination is not this IdP's SSO URL");
  if (!destination && signed_request)
    throw Error(ErrorCode::destination_mismatch, "a signed AuthnRequest must carry a Destination");

  // ---- time
  const auto issue_instant = parse_datetime(xml::attr(root, "IssueInstant").value_or(""));
  if (!issue_instant) throw Error(ErrorCode::malformed, "AuthnRequest IssueInstant is not a dateTime");
  if (*issue_instant > now + cfg.clock_skew)
    throw Error(ErrorCode::not_yet_valid, "AuthnRequest IssueInstant lies in the future");
  if (*issue_instant < now - cfg.clock_skew) throw Error(ErrorCode::expired, "AuthnRequest is too old");

  // ---- ACS
  const auto acs_url = xml::attr(root, "AssertionConsumerServiceURL");
  const auto acs_index = xml::attr(root, "AssertionConsumerServiceIndex");
  const auto protocol_binding = xml::attr(root, "ProtocolBinding");
  if (acs_index && (acs_url || protocol_binding))
    throw Error(ErrorCode::malformed, "AssertionConsumerServiceIndex excludes AssertionConsumerServiceURL");
  if (protocol_binding && *protocol_binding != binding::post)
    throw Error(ErrorCode::request_invalid, "only the HTTP-POST binding is supported for responses");
  out.acs_url = choose_acs(sp, acs_url, acs_index)->location;

  // ---- the rest
  out.force_authn = xs_true(xml::attr(root, "ForceAuthn"));
  out.is_passive = xs_true(xml::attr(root, "IsPassive"));
  if (xmlNode *policy = xml::first_child(root, xml::ns_samlp, "NameIDPolicy"))
    out.name_id_format = xml::attr(policy, "Format");
  if (xmlNode *rac = xml::first_child(root, xml::ns_samlp, "RequestedAuthnContext")) {
    out.comparison = xml::attr(rac, "Comparison").value_or("exact");
    for (xmlNode *ref : xml::children(rac, xml::ns_saml, "AuthnContextClassRef"))
      out.requested_class_refs.push_back(trim(xml::text(ref)));
  }
  if (xmlNode *scoping = xml::first_child(root, xml::ns_samlp, "Scoping")) {
    if (const auto pc = xml::attr(scoping, "ProxyCount")) {
      try {
        std::size_t used = 0;
        const unsigned long v = std::stoul(*pc, &used);
        if (used != pc->size() || v > 1000000) throw std::invalid_argument("range");
        out.proxy_count = static_cast<unsigned>(v);
      } catch (const std::exception &) {
        throw Error(ErrorCode::malformed, "Scoping ProxyCount is not a non-negative integer");
      }
    }
    if (xmlNode *list = xml::first_child(scoping, xml::ns_samlp, "IDPList"))
      for (xmlNode *entry : xml::children(list, xml::ns_samlp, "IDPEntry"))
        if (const auto pid = xml::attr(entry, "ProviderID")) out.idp_list.push_back(*pid);
    for (xmlNode *rid : xml::children(scoping, xml::ns_samlp, "RequesterID"))
      out.requester_ids.push_back(trim(xml::text(rid)));
  }
  if (xmlNode *ext = xml::first_child(root, xml::ns_samlp, "Extensions")) {
    if (xmlNode *ar = xml::first_child(ext, xml::ns_akdb, "AuthenticationRequest")) {
      out.akdb_version = xml::attr(ar, "Version");
      out.enable_status_detail = xs_true(xml::attr(ar, "EnableStatusDetail"));
      if (xmlNode *ras = xml::first_child(ar, xml::ns_akdb, "RequestedAttributes"))
        for (xmlNode *ra : xml::children(ras, xml::ns_akdb, "RequestedAttribute")) {
          RequestedAttribute a;
          a.name = xml::attr(ra, "Name").value_or("");
          if (a.name.empty()) throw Error(ErrorCode::malformed, "akdb:RequestedAttribute without Name");
          a.is_required = xs_true(xml::attr(ra, "RequiredAttribute"));
          out.requested_attributes.push_back(std::move(a));
        }
    }
  }

  // ---- single use: only a request that passed every check consumes its ID
  impl_->check_replay(out.issuer, out.id, now, *issue_instant + cfg.clock_skew + cfg.assertion_lifetime);
  return out;
}

ResponseOptions IdentityProvider::options_for(std::string_view sp_entity_id) const {
  return impl_->options_for(sp_entity_id);
}

std::string IdentityProvider::signature_method_for(std::string_view sp_entity_id,
                                                   const ResponseOptions &opt) const {
  return impl_->signature_method(sp_entity_id, opt.signature_method);
}

std::string IdentityProvider::build_response(const ReceivedAuthnRequest &req,
                                             const AuthenticatedSubject &subject) const {
  return build_response(req, subject, impl_->options_for(req.issuer));
}

std::string IdentityProvider::build_response(const ReceivedAuthnRequest &req,
                                             const AuthenticatedSubject &subject,
                                             const ResponseOptions &opt) const {
  const IdpConfig &cfg = impl_->config;
  const TimePoint now = impl_->clock->now();
  const TimePoint until = now + cfg.assertion_lifetime;
  const EntityPtr sp_entity = find_sp(cfg.sps, req.issuer);
  if (!sp_entity) throw Error(ErrorCode::unknown_issuer, "no SP with entityID " + req.issuer.substr(0, 200));
  if (req.acs_url.empty()) throw Error(ErrorCode::request_invalid, "the request has no ACS URL");

  xml::DocPtr doc = new_doc();
  const Impl::Skeleton sk = impl_->response_skeleton(doc.get(), req, now);
  xmlNode *status = xml::new_child(sk.root, sk.samlp, "Status");
  xml::set_attr(xml::new_child(status, sk.samlp, "StatusCode"), "Value", status_success);

  // The assertion declares its own namespaces: it is signed, and maybe
  // encrypted, as a document of its own.
  xmlNode *assertion = xml::new_child(sk.root, nullptr, "Assertion");
  xmlNs *saml = declare(assertion, xml::ns_saml, "saml");
  xmlSetNs(assertion, saml);
  xml::set_attr(assertion, "ID", saml_id());
  xml::set_attr(assertion, "Version", "2.0");
  xml::set_attr(assertion, "IssueInstant", format_datetime(now));
  xmlNode *a_issuer = xml::new_child(assertion, saml, "Issuer", cfg.entity_id);
  xml::set_attr(a_issuer, "Format", nameid_entity);

  // Subject
  std::string name_id_value = subject.name_id;
  std::string name_id_format = subject.name_id_format.empty() ? nameid_transient : subject.name_id_format;
  if (name_id_value.empty()) {
    const std::string asked = req.name_id_format.value_or(std::string(nameid_unspecified));
    if (asked == nameid_persistent || opt.persistent_name_id) {
      if (cfg.pairwise_secret.empty() || subject.stable_key.empty())
        throw Error(ErrorCode::config_invalid,
                    "a persistent NameID needs pairwise_secret and the subject's stable_key");
      name_id_value = base64url_encode_nopad(
          hmac_sha256(cfg.pairwise_secret, subject.stable_key + "|" + sp_entity->entity_id));
      name_id_format = std::string(nameid_persistent);
    } else if (asked == nameid_transient || asked == nameid_unspecified) {
      name_id_value = saml_id();
      name_id_format = nameid_transient;
    } else {
      throw Error(ErrorCode::request_invalid,
                  "NameIDPolicy Format " + asked.substr(0, 200) + " is not supported");
    }
  }
  xmlNode *subj = xml::new_child(assertion, saml, "Subject");
  xmlNode *name_id = xml::new_child(subj, saml, "NameID", name_id_value);
  xml::set_attr(name_id, "Format", name_id_format);
  xml::set_attr(name_id, "NameQualifier", cfg.entity_id);
  xml::set_attr(name_id, "SPNameQualifier", sp_entity->entity_id);
  xmlNode *sc = xml::new_child(subj, saml, "SubjectConfirmation");
  xml::set_attr(sc, "Method", cm_bearer);
  xmlNode *scd = xml::new_child(sc, saml, "SubjectConfirmationData");
  xml::set_attr(scd, "NotOnOrAfter", format_datetime(until));
  xml::set_attr(scd, "Recipient", req.acs_url);
  if (!req.id.empty()) xml::set_attr(scd, "InResponseTo", req.id);

  // Conditions
  xmlNode *cond = xml::new_child(assertion, saml, "Conditions");
  xml::set_attr(cond, "NotBefore", format_datetime(now));
  xml::set_attr(cond, "NotOnOrAfter", format_datetime(until));
  xml::new_child(xml::new_child(cond, saml, "AudienceRestriction"), saml, "Audience", sp_entity->entity_id);

  // AuthnStatement
  xmlNode *as = xml::new_child(assertion, saml, "AuthnStatement");
  xml::set_attr(as, "AuthnInstant", format_datetime(now));
  xml::set_attr(as, "SessionIndex", subject.session_index.empty() ? saml_id() : subject.session_index);
  xmlNode *ac = xml::new_child(as, saml, "AuthnContext");
  xml::new_child(ac, saml, "AuthnContextClassRef",
                 subject.authn_context_class_ref.empty() ? std::string(ac_unspecified)
                                                         : subject.authn_context_class_ref);
  for (const auto &authority : subject.authenticating_authorities)
    xml::new_child(ac, saml, "AuthenticatingAuthority", authority);

  // subject-id / pairwise-id (SAML V2.0 Subject Identifier Attributes Profile)
  std::vector<AuthenticatedSubject::Attribute> attributes = subject.attributes;
  if (opt.subject_id_attribute || opt.pairwise_id_attribute) {
    if (cfg.pairwise_secret.empty() || cfg.subject_id_scope.empty() || subject.stable_key.empty())
      throw Error(ErrorCode::config_invalid,
                  "subject-id / pairwise-id need pairwise_secret, subject_id_scope and the stable_key");
    if (opt.subject_id_attribute)
      attributes.push_back({attr_subject_id,
                            {lower_hex(hmac_sha256(cfg.pairwise_secret, "subject-id|" + subject.stable_key)) +
                             "@" + cfg.subject_id_scope},
                            "subject-id",
                            ""});
    if (opt.pairwise_id_attribute)
      attributes.push_back({attr_pairwise_id,
                            {lower_hex(hmac_sha256(cfg.pairwise_secret, "pairwise-id|" + subject.stable_key +
                                                                            "|" + sp_entity->entity_id)) +
                             "@" + cfg.subject_id_scope},
                            "pairwise-id",
                            ""});
  }

  // AttributeStatement
  if (!attributes.empty()) {
    xmlNs *xsi = declare(assertion, xml::ns_xsi, "xsi");
    declare(assertion, ns_xs, "xs");
    xmlNs *akdb = nullptr;
    xmlNode *stmt = xml::new_child(assertion, saml, "AttributeStatement");
    for (const AuthenticatedSubject::Attribute &a : attributes) {
      xmlNode *attr = xml::new_child(stmt, saml, "Attribute");
      xml::set_attr(attr, "Name", a.name);
      xml::set_attr(attr, "NameFormat", attrname_format_uri);
      if (!a.friendly_name.empty()) xml::set_attr(attr, "FriendlyName", a.friendly_name);
      if (!a.trust_level.empty()) {
        if (akdb == nullptr) akdb = declare(assertion, xml::ns_akdb, "akdb");
        set_ns_attr(attr, akdb, "TrustLevel", a.trust_level);
      }
      for (const std::string &v : a.values) {
        xmlNode *value = xml::new_child(attr, saml, "AttributeValue", v);
        set_ns_attr(value, xsi, "type", "xs:string");
      }
    }
  }

  const Certificate *cert = cfg.signing.certificate ? &*cfg.signing.certificate : nullptr;
  const std::string sig_method = impl_->signature_method(sp_entity->entity_id, opt.signature_method);
  if (opt.sign_assertion)
    xmlsec::sign_enveloped(doc.get(), assertion, a_issuer, cfg.signing.key, sig_method, opt.digest_method,
                           cert);

  if (opt.encrypt_assertion) {
    const auto enc_keys = sp_entity->sp->encryption_keys();
    if (enc_keys.empty() || enc_keys.front() == nullptr)
      throw Error(ErrorCode::config_invalid, "the SP's metadata has no encryption key");
    const KeyDescriptor &kd = *enc_keys.front();
    xmlNode *wrapper = xmlNewDocNode(doc.get(), sk.saml, xc("EncryptedAssertion"), nullptr);
    if (wrapper == nullptr) throw Error(ErrorCode::internal, "out of memory");
    xmlAddNextSibling(assertion, wrapper);
    xmlUnlinkNode(assertion);
    xmlAddChild(wrapper, assertion);
    const std::optional<Certificate> enc_cert = kd.certificate();
    xmlsec::encrypt_element(doc.get(), assertion, kd.key(), encryption_params(kd, opt),
                            enc_cert ? &*enc_cert : nullptr);
  }

  if (opt.sign_response)
    xmlsec::sign_enveloped(doc.get(), sk.root, sk.issuer, cfg.signing.key, sig_method, opt.digest_method,
                           cert);

  return xml::serialize(doc.get());
}

std::string IdentityProvider::build_error_response(const ReceivedAuthnRequest &req,
                                                   std::string_view status_code,
                                                   std::string_view second_level,
                                                   const std::vector<std::string> &detail_codes) const {
  const IdpConfig &cfg = impl_->config;
  if (status_code.empty()) throw Error(ErrorCode::internal, "empty status code");
  if (req.acs_url.empty()) throw Error(ErrorCode::request_invalid, "the request has no ACS URL");
  xml::DocPtr doc = new_doc();
  const Impl::Skeleton sk = impl_->response_skeleton(doc.get(), req, impl_->clock->now());
  xmlNode *status = xml::new_child(sk.root, sk.samlp, "Status");
  xmlNode *top = xml::new_child(status, sk.samlp, "StatusCode");
  xml::set_attr(top, "Value", status_code);
  if (!second_level.empty())
    xml::set_attr(xml::new_child(top, sk.samlp, "StatusCode"), "Value", second_level);
  if (req.enable_status_detail) {
    std::vector<std::string> codes = detail_codes;
    if (codes.empty()) codes.push_back(last_segment(second_level.empty() ? status_code : second_level));
    std::string json = R"({"version":"1.0","errors":[)";
    for (std::size_t i = 0; i < codes.size(); ++i) {
      if (i != 0) json += ",";
      json += R"({"code":")" + json_escape(codes[i]) + "\"}";
    }
    json += "]}";
    xmlNode *detail = xml::new_child(status, sk.samlp, "StatusDetail");
    xmlNode *akdb_detail = xml::new_child(detail, nullptr, "StatusDetail", json);
    xmlSetNs(akdb_detail, declare(akdb_detail, xml::ns_akdb, "akdb"));
  }
  // Signed, so that the SP can tell a real refusal from a forged one.
  const Certificate *cert = cfg.signing.certificate ? &*cfg.signing.certificate : nullptr;
  const ResponseOptions &o = impl_->options_for(req.issuer);
  xmlsec::sign_enveloped(doc.get(), sk.root, sk.issuer, cfg.signing.key,
                         impl_->signature_method(req.issuer, o.signature_method), o.digest_method, cert);
  return xml::serialize(doc.get());
}

HttpResponse IdentityProvider::post_response(const ReceivedAuthnRequest &req,
                                             std::string_view response_xml) const {
  if (req.acs_url.empty()) throw Error(ErrorCode::request_invalid, "the request has no ACS URL");
  HttpResponse r;
  r.status = 200;
  r.body = post_form_html(req.acs_url, MessageKind::response, response_xml, req.relay_state);
  r.set_header("Content-Type", "text/html; charset=utf-8");
  r.set_header("Content-Security-Policy", post_form_csp(req.acs_url));
  r.set_header("Cache-Control", "no-store");
  r.set_header("Pragma", "no-cache");
  r.set_header("X-Content-Type-Options", "nosniff");
  r.set_header("Referrer-Policy", "no-referrer");
  return r;
}

std::string IdentityProvider::metadata_xml() const {
  const IdpConfig &cfg = impl_->config;
  xml::DocPtr doc = new_doc();
  xmlNode *root = new_root(doc.get(), "EntityDescriptor");
  xmlNs *md = declare(root, xml::ns_md, "md");
  xmlSetNs(root, md);
  xml::set_attr(root, "entityID", cfg.entity_id);
  xmlNode *idp = xml::new_child(root, md, "IDPSSODescriptor");
  xml::set_attr(idp, "protocolSupportEnumeration", protocol_enum);
  xml::set_attr(idp, "WantAuthnRequestsSigned", cfg.require_signed_requests ? "true" : "false");
  if (cfg.signing.certificate) {
    xmlNode *kd = xml::new_child(idp, md, "KeyDescriptor");
    xml::set_attr(kd, "use", "signing");
    xmlNode *ki = xml::new_child(kd, nullptr, "KeyInfo");
    xmlNs *ds = declare(ki, xml::ns_ds, "ds");
    xmlSetNs(ki, ds);
    xml::new_child(xml::new_child(ki, ds, "X509Data"), ds, "X509Certificate",
                   cfg.signing.certificate->base64());
  }
  xml::new_child(idp, md, "NameIDFormat", nameid_transient);
  if (!cfg.pairwise_secret.empty()) xml::new_child(idp, md, "NameIDFormat", nameid_persistent);
  for (const std::string_view b : {binding::redirect, binding::post}) {
    xmlNode *sso = xml::new_child(idp, md, "SingleSignOnService");
    xml::set_attr(sso, "Binding", b);
    xml::set_attr(sso, "Location", cfg.sso_url);
  }
  return xml::serialize(doc.get());
}

} // namespace interkonto
