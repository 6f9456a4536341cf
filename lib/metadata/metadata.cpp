// SPDX-License-Identifier: EUPL-1.2
// The metadata model and parser, and trust in signed aggregates.
#include "interkonto/metadata.hpp"

#include <fmt/format.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "core/openssl.hpp"
#include "core/xml.hpp"
#include "core/xmlsec.hpp"
#include "interkonto/bindings.hpp"
#include "interkonto/error.hpp"

namespace interkonto {

namespace {

constexpr std::size_t kMaxMetadataSize = 64 * 1024 * 1024;
constexpr const char *kNsMdattr = "urn:oasis:names:tc:SAML:metadata:attribute";
constexpr const char *kNsMdrpi = "urn:oasis:names:tc:SAML:metadata:rpi";
constexpr const char *kNsIdpdisc = "urn:oasis:names:tc:SAML:profiles:SSO:idp-discovery-protocol";
constexpr const char *kNsDsig11 = "http://www.w3.org/2009/xmldsig11#";
constexpr const char *kNsRemd = "http://refeds.org/metadata";
constexpr const char *kNsXml = "http://www.w3.org/XML/1998/namespace";

[[noreturn]] void bad(std::string detail) {
  throw Error(ErrorCode::config_invalid, std::move(detail));
}

std::string clip(std::string_view s, std::size_t n = 100) {
  std::string out{s.substr(0, n)};
  for (char &c : out)
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  return out;
}

bool parse_bool(const std::optional<std::string> &v) {
  return v && (*v == "true" || *v == "1");
}

template <class T> std::optional<T> min_opt(std::optional<T> a, std::optional<T> b) {
  if (!a) return b;
  if (!b) return a;
  return std::min(*a, *b);
}

std::optional<TimePoint> read_valid_until(const xmlNode *n) {
  auto v = xml::attr(n, "validUntil");
  if (!v) return std::nullopt;
  auto t = parse_datetime(*v);
  if (!t) bad(fmt::format("bad validUntil '{}'", clip(*v, 40)));
  return t;
}

std::optional<std::chrono::seconds> read_cache_duration(const xmlNode *n) {
  auto v = xml::attr(n, "cacheDuration");
  if (!v) return std::nullopt;
  auto d = parse_duration(*v);
  if (!d) bad(fmt::format("bad cacheDuration '{}'", clip(*v, 40)));
  return std::chrono::duration_cast<std::chrono::seconds>(*d);
}

std::string lang_of(const xmlNode *n) {
  return xml::attr_ns(n, kNsXml, "lang").value_or("");
}

std::vector<LocalizedString> localized(const xmlNode *parent, const char *ns, const char *local) {
  std::vector<LocalizedString> out;
  for (xmlNode *c : xml::children(parent, ns, local))
    out.push_back(LocalizedString{lang_of(c), std::string(xml::trim(xml::text(c)))});
  return out;
}

unsigned parse_unsigned(const std::optional<std::string> &v, const char *what) {
  if (!v) return 0;
  unsigned long out = 0;
  if (v->empty() || v->size() > 9) bad(fmt::format("bad {} '{}'", what, clip(*v, 20)));
  for (char c : *v) {
    if (c < '0' || c > '9') bad(fmt::format("bad {} '{}'", what, clip(*v, 20)));
    out = out * 10 + static_cast<unsigned long>(c - '0');
  }
  return static_cast<unsigned>(out);
}

std::vector<Endpoint> read_endpoints(const xmlNode *parent, const char *ns, const char *local) {
  std::vector<Endpoint> out;
  for (xmlNode *e : xml::children(parent, ns, local)) {
    Endpoint ep;
    ep.binding = xml::attr(e, "Binding").value_or("");
    ep.location = xml::attr(e, "Location").value_or("");
    ep.response_location = xml::attr(e, "ResponseLocation").value_or("");
    if (auto idx = xml::attr(e, "index")) ep.index = parse_unsigned(idx, "endpoint index");
    ep.is_default = parse_bool(xml::attr(e, "isDefault"));
    if (ep.binding.empty() || ep.location.empty()) bad(fmt::format("{} without Binding or Location", local));
    out.push_back(std::move(ep));
  }
  return out;
}

void read_alg_support(const xmlNode *ext, RoleDescriptor &role) {
  if (ext == nullptr) return;
  for (xmlNode *m : xml::children(ext, xml::ns_alg, "SigningMethod"))
    if (auto a = xml::attr(m, "Algorithm")) role.signing_methods.push_back(*a);
  for (xmlNode *m : xml::children(ext, xml::ns_alg, "DigestMethod"))
    if (auto a = xml::attr(m, "Algorithm")) role.digest_methods.push_back(*a);
}

std::string b64_value(const xmlNode *n, const char *what) {
  try {
    return base64_decode(xml::text(n));
  } catch (const Error &) {
    bad(fmt::format("{} is not valid base64", what));
  }
}

PublicKey rsa_key_value(const xmlNode *rsa) {
  const xmlNode *mod = xml::first_child(rsa, xml::ns_ds, "Modulus");
  const xmlNode *exp = xml::first_child(rsa, xml::ns_ds, "Exponent");
  if (mod == nullptr || exp == nullptr) bad("RSAKeyValue without Modulus or Exponent");
  const std::string n = b64_value(mod, "RSA Modulus");
  const std::string e = b64_value(exp, "RSA Exponent");
  ossl::BnPtr bn_n{
      BN_bin2bn(reinterpret_cast<const unsigned char *>(n.data()), static_cast<int>(n.size()), nullptr)};
  ossl::BnPtr bn_e{
      BN_bin2bn(reinterpret_cast<const unsigned char *>(e.data()), static_cast<int>(e.size()), nullptr)};
  ossl::Ptr<OSSL_PARAM_BLD> bld{OSSL_PARAM_BLD_new()};
  if (!bn_n || !bn_e || !bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1)
    bad("cannot build RSA key");
  ossl::Ptr<OSSL_PARAM> params{OSSL_PARAM_BLD_to_param(bld.get())};
  ossl::PkeyCtxPtr ctx{EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr)};
  EVP_PKEY *raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    ERR_clear_error();
    bad("RSAKeyValue is not a usable RSA key");
  }
  return PublicKey(ossl::share(ossl::PkeyPtr{raw}));
}

const char *curve_for_oid(std::string_view uri) {
  if (uri.starts_with("urn:oid:")) uri.remove_prefix(8);
  if (uri == "1.2.840.10045.3.1.7") return "prime256v1";
  if (uri == "1.3.132.0.34") return "secp384r1";
  if (uri == "1.3.132.0.35") return "secp521r1";
  if (uri == "1.3.36.3.3.2.8.1.1.7") return "brainpoolP256r1";
  if (uri == "1.3.36.3.3.2.8.1.1.11") return "brainpoolP384r1";
  return nullptr;
}

PublicKey ec_key_value(const xmlNode *ec) {
  const xmlNode *curve = xml::first_child(ec, kNsDsig11, "NamedCurve");
  const xmlNode *pub = xml::first_child(ec, kNsDsig11, "PublicKey");
  if (curve == nullptr || pub == nullptr) bad("ECKeyValue without NamedCurve or PublicKey");
  const char *group = curve_for_oid(xml::attr(curve, "URI").value_or(""));
  if (group == nullptr) bad("ECKeyValue on an unsupported curve");
  std::string point = b64_value(pub, "EC PublicKey");
  ossl::Ptr<OSSL_PARAM_BLD> bld{OSSL_PARAM_BLD_new()};
  if (!bld || OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1)
    bad("cannot build EC key");
  ossl::Ptr<OSSL_PARAM> params{OSSL_PARAM_BLD_to_param(bld.get())};
  ossl::PkeyCtxPtr ctx{EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr)};
  EVP_PKEY *raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    ERR_clear_error();
    bad("ECKeyValue is not a usable EC key");
  }
  return PublicKey(ossl::share(ossl::PkeyPtr{raw}));
}

// A cheap structural check at load (the full parse happens on first use):
// one DER SEQUENCE whose length covers exactly the bytes given.
bool plausible_der_sequence(std::string_view der) {
  if (der.size() < 4 || static_cast<unsigned char>(der[0]) != 0x30) return false;
  const auto b1 = static_cast<unsigned char>(der[1]);
  std::size_t len = 0, header = 2;
  if (b1 < 0x80) {
    len = b1;
  } else {
    const std::size_t n = b1 & 0x7fU;
    if (n == 0 || n > 4 || der.size() < 2 + n) return false;
    for (std::size_t i = 0; i < n; ++i) len = (len << 8) | static_cast<unsigned char>(der[2 + i]);
    header = 2 + n;
  }
  return header + len == der.size();
}

void read_keys(const xmlNode *role_node, RoleDescriptor &role) {
  for (xmlNode *kd : xml::children(role_node, xml::ns_md, "KeyDescriptor")) {
    const auto use = xml::attr(kd, "use").value_or("");
    KeyDescriptor::Use u = KeyDescriptor::Use::any;
    if (use == "signing")
      u = KeyDescriptor::Use::signing;
    else if (use == "encryption")
      u = KeyDescriptor::Use::encryption;
    else if (!use.empty())
      bad(fmt::format("KeyDescriptor use='{}'", clip(use, 20)));
    std::vector<EncryptionMethod> methods;
    for (xmlNode *em : xml::children(kd, xml::ns_md, "EncryptionMethod")) {
      EncryptionMethod m;
      m.algorithm = xml::attr(em, "Algorithm").value_or("");
      if (xmlNode *dm = xml::first_child(em, xml::ns_ds, "DigestMethod"))
        m.digest = xml::attr(dm, "Algorithm").value_or("");
      if (xmlNode *mgf = xml::first_child(em, xml::ns_xenc11, "MGF"))
        m.mgf = xml::attr(mgf, "Algorithm").value_or("");
      methods.push_back(std::move(m));
    }
    const xmlNode *ki = xml::first_child(kd, xml::ns_ds, "KeyInfo");
    std::optional<KeyMaterial> material;
    for (xmlNode *xd : xml::children(ki, xml::ns_ds, "X509Data")) {
      // The first certificate of an X509Data is the key's own; it is parsed
      // when first used (most entities of a feed are never used).
      if (xmlNode *xc = xml::first_child(xd, xml::ns_ds, "X509Certificate")) {
        std::string der = b64_value(xc, "X509Certificate");
        if (!plausible_der_sequence(der)) bad("X509Certificate is not a DER certificate");
        material = KeyMaterial::from_certificate_der(std::move(der));
        break;
      }
    }
    if (!material) {
      if (const xmlNode *kv = xml::first_child(ki, xml::ns_ds, "KeyValue")) {
        if (const xmlNode *rsa = xml::first_child(kv, xml::ns_ds, "RSAKeyValue"))
          material = KeyMaterial::from_public_key(rsa_key_value(rsa));
        else if (const xmlNode *ec = xml::first_child(kv, kNsDsig11, "ECKeyValue"))
          material = KeyMaterial::from_public_key(ec_key_value(ec));
      }
    }
    if (!material) bad("KeyDescriptor without an X509Certificate or a supported KeyValue");
    role.keys.push_back(KeyDescriptor{u, std::move(*material), std::move(methods)});
  }
}

std::optional<UiInfo> read_ui(const xmlNode *ext) {
  const xmlNode *ui = xml::first_child(ext, xml::ns_mdui, "UIInfo");
  if (ui == nullptr) return std::nullopt;
  UiInfo out;
  out.display_names = localized(ui, xml::ns_mdui, "DisplayName");
  out.descriptions = localized(ui, xml::ns_mdui, "Description");
  out.information_urls = localized(ui, xml::ns_mdui, "InformationURL");
  out.privacy_statement_urls = localized(ui, xml::ns_mdui, "PrivacyStatementURL");
  for (xmlNode *l : xml::children(ui, xml::ns_mdui, "Logo"))
    out.logos.push_back(Logo{std::string(xml::trim(xml::text(l))),
                             parse_unsigned(xml::attr(l, "width"), "logo width"),
                             parse_unsigned(xml::attr(l, "height"), "logo height"), lang_of(l)});
  return out;
}

void read_role_common(const xmlNode *role_node, const xmlNode *entity_ext, RoleDescriptor &role) {
  read_keys(role_node, role);
  for (xmlNode *f : xml::children(role_node, xml::ns_md, "NameIDFormat"))
    role.name_id_formats.push_back(std::string(xml::trim(xml::text(f))));
  read_alg_support(entity_ext, role);
  read_alg_support(xml::first_child(role_node, xml::ns_md, "Extensions"), role);
}

bool supports_saml2(const xmlNode *role) {
  const auto p = xml::attr(role, "protocolSupportEnumeration").value_or("");
  return p.find("urn:oasis:names:tc:SAML:2.0:protocol") != std::string::npos;
}

struct Inherited {
  std::optional<TimePoint> valid_until;
  std::optional<std::chrono::seconds> cache_duration;
};

EntityPtr read_entity(const xmlNode *ed, const Inherited &inh) {
  auto e = std::make_shared<Entity>();
  e->entity_id = xml::attr(ed, "entityID").value_or("");
  if (e->entity_id.empty()) bad("EntityDescriptor without entityID");
  if (e->entity_id.size() > 1024) bad("entityID longer than 1024 characters");
  e->sha1_hex = entity_id_sha1_hex(e->entity_id);
  e->valid_until = min_opt(inh.valid_until, read_valid_until(ed));
  e->cache_duration = min_opt(inh.cache_duration, read_cache_duration(ed));
  const xmlNode *ext = xml::first_child(ed, xml::ns_md, "Extensions");
  if (ext != nullptr) {
    if (const xmlNode *ea = xml::first_child(ext, kNsMdattr, "EntityAttributes")) {
      for (xmlNode *a : xml::children(ea, xml::ns_saml, "Attribute")) {
        std::vector<std::string> values;
        for (xmlNode *v : xml::children(a, xml::ns_saml, "AttributeValue"))
          values.push_back(std::string(xml::trim(xml::text(v))));
        e->entity_attributes.emplace_back(xml::attr(a, "Name").value_or(""), std::move(values));
      }
    }
    if (const xmlNode *ri = xml::first_child(ext, kNsMdrpi, "RegistrationInfo")) {
      RegistrationInfo r;
      r.authority = xml::attr(ri, "registrationAuthority").value_or("");
      if (auto inst = xml::attr(ri, "registrationInstant")) r.instant = parse_datetime(*inst);
      e->registration = std::move(r);
    }
  }
  if (xmlNode *idp = xml::first_child(ed, xml::ns_md, "IDPSSODescriptor");
      idp != nullptr && supports_saml2(idp)) {
    IdpRole r;
    read_role_common(idp, ext, r);
    r.sso = read_endpoints(idp, xml::ns_md, "SingleSignOnService");
    r.slo = read_endpoints(idp, xml::ns_md, "SingleLogoutService");
    r.want_authn_requests_signed = parse_bool(xml::attr(idp, "WantAuthnRequestsSigned"));
    e->valid_until = min_opt(e->valid_until, read_valid_until(idp));
    e->cache_duration = min_opt(e->cache_duration, read_cache_duration(idp));
    e->idp_ui = read_ui(xml::first_child(idp, xml::ns_md, "Extensions"));
    e->idp = std::move(r);
  }
  if (xmlNode *sp = xml::first_child(ed, xml::ns_md, "SPSSODescriptor");
      sp != nullptr && supports_saml2(sp)) {
    SpRole r;
    read_role_common(sp, ext, r);
    r.acs = read_endpoints(sp, xml::ns_md, "AssertionConsumerService");
    r.slo = read_endpoints(sp, xml::ns_md, "SingleLogoutService");
    r.authn_requests_signed = parse_bool(xml::attr(sp, "AuthnRequestsSigned"));
    r.want_assertions_signed = parse_bool(xml::attr(sp, "WantAssertionsSigned"));
    e->valid_until = min_opt(e->valid_until, read_valid_until(sp));
    e->cache_duration = min_opt(e->cache_duration, read_cache_duration(sp));
    const xmlNode *sp_ext = xml::first_child(sp, xml::ns_md, "Extensions");
    e->sp_ui = read_ui(sp_ext);
    if (sp_ext != nullptr) e->discovery_responses = read_endpoints(sp_ext, kNsIdpdisc, "DiscoveryResponse");
    for (xmlNode *acs : xml::children(sp, xml::ns_md, "AttributeConsumingService")) {
      AttributeConsumingService s;
      s.index = parse_unsigned(xml::attr(acs, "index"), "AttributeConsumingService index");
      s.is_default = parse_bool(xml::attr(acs, "isDefault"));
      s.service_names = localized(acs, xml::ns_md, "ServiceName");
      s.descriptions = localized(acs, xml::ns_md, "ServiceDescription");
      for (xmlNode *ra : xml::children(acs, xml::ns_md, "RequestedAttribute"))
        s.requested.push_back(RequestedAttribute{
            xml::attr(ra, "Name").value_or(""), xml::attr(ra, "NameFormat").value_or(""),
            xml::attr(ra, "FriendlyName").value_or(""), parse_bool(xml::attr(ra, "isRequired"))});
      e->attribute_consuming_services.push_back(std::move(s));
    }
    e->sp = std::move(r);
  }
  if (const xmlNode *org = xml::first_child(ed, xml::ns_md, "Organization")) {
    e->organization.names = localized(org, xml::ns_md, "OrganizationName");
    e->organization.display_names = localized(org, xml::ns_md, "OrganizationDisplayName");
    e->organization.urls = localized(org, xml::ns_md, "OrganizationURL");
  }
  for (xmlNode *cp : xml::children(ed, xml::ns_md, "ContactPerson")) {
    ContactPerson c;
    c.type = xml::attr(cp, "contactType").value_or("");
    c.remd_type = xml::attr_ns(cp, kNsRemd, "contactType").value_or("");
    if (const xmlNode *n = xml::first_child(cp, xml::ns_md, "Company")) c.company = xml::trim(xml::text(n));
    if (const xmlNode *n = xml::first_child(cp, xml::ns_md, "GivenName"))
      c.given_name = xml::trim(xml::text(n));
    if (const xmlNode *n = xml::first_child(cp, xml::ns_md, "SurName")) c.surname = xml::trim(xml::text(n));
    for (xmlNode *m : xml::children(cp, xml::ns_md, "EmailAddress"))
      c.emails.emplace_back(xml::trim(xml::text(m)));
    for (xmlNode *t : xml::children(cp, xml::ns_md, "TelephoneNumber"))
      c.phones.emplace_back(xml::trim(xml::text(t)));
    e->contacts.push_back(std::move(c));
  }
  return e;
}

// Walks a (nested) document; `on_entity` gets each EntityDescriptor with
// what it inherits.
template <class F> void walk(const xmlNode *n, const Inherited &inh, F &&on_entity) {
  if (xml::is(n, xml::ns_md, "EntityDescriptor")) {
    on_entity(n, inh);
  } else if (xml::is(n, xml::ns_md, "EntitiesDescriptor")) {
    Inherited here{min_opt(inh.valid_until, read_valid_until(n)),
                   min_opt(inh.cache_duration, read_cache_duration(n))};
    for (xmlNode *c : xml::element_children(n)) walk(c, here, on_entity);
  }
}

} // namespace

// ---------------------------------------------------------------- keys

struct KeyMaterial::State {
  std::once_flag once;
  std::string der; // certificate, until parsed
  std::optional<PublicKey> key;
  std::optional<Certificate> cert;
  std::string error;

  void parse() {
    if (key) return;
    try {
      Certificate c = Certificate::from_der(der);
      key = c.public_key();
      cert = std::move(c);
      std::string().swap(der); // the parsed certificate keeps its own copy
    } catch (const Error &e) {
      error = e.detail();
    }
  }
};

KeyMaterial KeyMaterial::from_certificate_der(std::string der) {
  KeyMaterial k;
  k.state_ = std::make_shared<State>();
  k.state_->der = std::move(der);
  return k;
}

KeyMaterial KeyMaterial::from_public_key(PublicKey key) {
  KeyMaterial k;
  k.state_ = std::make_shared<State>();
  k.state_->key = std::move(key);
  return k;
}

const PublicKey &KeyMaterial::public_key() const {
  std::call_once(state_->once, [this] { state_->parse(); });
  if (!state_->key) throw Error(ErrorCode::config_invalid, "metadata certificate: " + state_->error);
  return *state_->key;
}

std::optional<Certificate> KeyMaterial::certificate() const {
  std::call_once(state_->once, [this] { state_->parse(); });
  return state_->cert;
}

bool KeyMaterial::has_certificate() const {
  std::call_once(state_->once, [this] { state_->parse(); });
  return state_->cert.has_value();
}

std::string KeyMaterial::fingerprint() const {
  return public_key().fingerprint();
}

// --------------------------------------------------------------- model

std::vector<PublicKey> RoleDescriptor::signing_keys() const {
  std::vector<PublicKey> out;
  for (const auto &k : keys) {
    if (k.use == KeyDescriptor::Use::encryption) continue;
    try {
      out.push_back(k.key());
    } catch (const Error &) {
      // An unparsable certificate is no key: it cannot verify anything.
    }
  }
  return out;
}

std::vector<const KeyDescriptor *> RoleDescriptor::encryption_keys() const {
  std::vector<const KeyDescriptor *> out;
  for (const auto &k : keys)
    if (k.use == KeyDescriptor::Use::encryption) out.push_back(&k);
  if (out.empty())
    for (const auto &k : keys)
      if (k.use == KeyDescriptor::Use::any) out.push_back(&k);
  return out;
}

const Endpoint *IdpRole::sso_endpoint(std::string_view b) const {
  for (const auto &ep : sso)
    if (ep.binding == b) return &ep;
  return nullptr;
}

const Endpoint *SpRole::acs_endpoint(std::optional<unsigned> index) const {
  if (index) {
    for (const auto &ep : acs)
      if (ep.index == index) return &ep;
    return nullptr;
  }
  for (const auto &ep : acs)
    if (ep.is_default) return &ep;
  const Endpoint *best = nullptr;
  for (const auto &ep : acs)
    if (ep.index && (best == nullptr || !best->index || *ep.index < *best->index)) best = &ep;
  if (best != nullptr) return best;
  return acs.empty() ? nullptr : &acs.front();
}

bool SpRole::has_acs_location(std::string_view location) const {
  for (const auto &ep : acs)
    if (ep.location == location) return true;
  return false;
}

const LocalizedString *pick_lang(const std::vector<LocalizedString> &values, std::string_view lang) {
  for (const auto &v : values)
    if (v.lang == lang && !v.value.empty()) return &v;
  for (const auto &v : values)
    if (!v.value.empty()) return &v;
  return nullptr;
}

bool Entity::has_entity_attribute(std::string_view name, std::string_view value) const {
  for (const auto &[n, values] : entity_attributes)
    if (n == name)
      for (const auto &v : values)
        if (v == value) return true;
  return false;
}

std::string Entity::display_name(std::string_view lang, bool prefer_idp) const {
  const std::optional<UiInfo> *first = prefer_idp ? &idp_ui : &sp_ui;
  const std::optional<UiInfo> *second = prefer_idp ? &sp_ui : &idp_ui;
  for (const auto *ui : {first, second}) {
    if (!ui->has_value()) continue;
    // the requested language in this role first
    for (const auto &v : (*ui)->display_names)
      if (v.lang == lang && !v.value.empty()) return v.value;
  }
  for (const auto *ui : {first, second})
    if (ui->has_value())
      if (const LocalizedString *s = pick_lang((*ui)->display_names, lang)) return s->value;
  if (const LocalizedString *s = pick_lang(organization.display_names, lang)) return s->value;
  return entity_id;
}

bool EntityFilter::matches(const Entity &e) const {
  if (role == Role::idp && !e.idp) return false;
  if (role == Role::sp && !e.sp) return false;
  if (!include.empty() && std::find(include.begin(), include.end(), e.entity_id) == include.end())
    return false;
  if (std::find(exclude.begin(), exclude.end(), e.entity_id) != exclude.end()) return false;
  if (!registration_authorities.empty()) {
    if (!e.registration) return false;
    if (std::find(registration_authorities.begin(), registration_authorities.end(),
                  e.registration->authority) == registration_authorities.end())
      return false;
  }
  for (const auto &[name, value] : entity_attributes)
    if (!e.has_entity_attribute(name, value)) return false;
  return true;
}

std::string entity_id_sha1_hex(std::string_view entity_id) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(entity_id.data(), entity_id.size(), md, &len, EVP_sha1(), nullptr) != 1)
    throw Error(ErrorCode::internal, "SHA-1 failed");
  static constexpr char hex[] = "0123456789abcdef";
  std::string out(2 * len, '0');
  for (unsigned i = 0; i < len; ++i) {
    out[2 * i] = hex[md[i] >> 4];
    out[2 * i + 1] = hex[md[i] & 15];
  }
  return out;
}

// ------------------------------------------------------------ snapshot

MetadataSnapshot::MetadataSnapshot(std::vector<EntityPtr> entities, std::optional<TimePoint> valid_until,
                                   std::optional<std::chrono::seconds> cache_duration, std::string name,
                                   std::vector<std::string> skipped, TimePoint loaded_at)
    : entities_(std::move(entities)), valid_until_(valid_until), cache_duration_(cache_duration),
      name_(std::move(name)), skipped_(std::move(skipped)), loaded_at_(loaded_at) {
  std::sort(entities_.begin(), entities_.end(),
            [](const EntityPtr &a, const EntityPtr &b) { return a->entity_id < b->entity_id; });
  by_id_.reserve(entities_.size());
  by_sha1_.reserve(entities_.size());
  for (const auto &e : entities_) {
    by_id_.emplace(e->entity_id, e);
    by_sha1_.emplace(e->sha1_hex, e);
  }
}

EntityPtr MetadataSnapshot::find(std::string_view entity_id) const {
  auto it = by_id_.find(entity_id);
  return it == by_id_.end() ? nullptr : it->second;
}

EntityPtr MetadataSnapshot::find_sha1(std::string_view sha1_hex) const {
  if (sha1_hex.starts_with("{sha1}")) sha1_hex.remove_prefix(6);
  std::string lower{sha1_hex};
  for (char &c : lower)
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  auto it = by_sha1_.find(lower);
  return it == by_sha1_.end() ? nullptr : it->second;
}

std::vector<EntityPtr> MetadataSnapshot::select(const EntityFilter &filter) const {
  std::vector<EntityPtr> out;
  for (const auto &e : entities_)
    if (filter.matches(*e)) out.push_back(e);
  return out;
}

// ---------------------------------------------------------- documents

std::vector<EntityPtr> parse_metadata(std::string_view text) {
  xml::DocPtr doc;
  try {
    doc = xml::parse(text, kMaxMetadataSize);
  } catch (const Error &e) {
    bad(fmt::format("metadata: {}", e.what()));
  }
  const xmlNode *root = xmlDocGetRootElement(doc.get());
  if (!xml::is(root, xml::ns_md, "EntityDescriptor") && !xml::is(root, xml::ns_md, "EntitiesDescriptor"))
    bad("metadata: root is neither EntityDescriptor nor EntitiesDescriptor");
  std::vector<EntityPtr> out;
  try {
    walk(root, Inherited{},
         [&](const xmlNode *ed, const Inherited &inh) { out.push_back(read_entity(ed, inh)); });
  } catch (const Error &e) {
    bad(fmt::format("metadata: {}", e.detail()));
  }
  if (out.empty()) bad("metadata: no entity");
  // A local file is small and trusted as configuration: check every key now,
  // so a broken certificate is a start-up error, not a failed login.
  for (const auto &e : out)
    for (const RoleDescriptor *r : {static_cast<const RoleDescriptor *>(e->idp ? &*e->idp : nullptr),
                                    static_cast<const RoleDescriptor *>(e->sp ? &*e->sp : nullptr)})
      if (r != nullptr)
        for (const auto &k : r->keys) {
          try {
            (void)k.key();
          } catch (const Error &err) {
            bad(fmt::format("metadata: {}: {}", clip(e->entity_id), err.detail()));
          }
        }
  return out;
}

std::vector<EntityPtr> load_metadata_file(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) bad(fmt::format("cannot read metadata file {}", path));
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_metadata(ss.str());
}

SnapshotPtr load_aggregate(std::string_view text, const AggregateTrust &trust, TimePoint now,
                           const EntityFilter &filter, const LogSink &log) {
  if (text.size() > trust.max_size)
    throw Error(ErrorCode::too_large,
                fmt::format("metadata of {} bytes exceeds the limit of {}", text.size(), trust.max_size));
  xml::DocPtr doc = xml::parse(text, trust.max_size);
  xmlNode *root = xmlDocGetRootElement(doc.get());
  const bool aggregate = xml::is(root, xml::ns_md, "EntitiesDescriptor");
  if (!aggregate && !xml::is(root, xml::ns_md, "EntityDescriptor"))
    throw Error(ErrorCode::malformed, "the root is neither EntitiesDescriptor nor EntityDescriptor");

  // ---- the root signature, with a pinned key ----
  const bool signed_doc = !xml::children(root, xml::ns_ds, "Signature").empty();
  if (!signed_doc && trust.require_signature)
    throw Error(ErrorCode::signature_missing, "the metadata document is not signed");
  if (signed_doc && (trust.require_signature || !trust.pinned_keys.empty())) {
    if (trust.pinned_keys.empty())
      throw Error(ErrorCode::untrusted_key, "no pinned key for the metadata signer");
    xml::register_id(doc.get(), root);
    xmlsec::verify_enveloped(doc.get(), root, trust.pinned_keys, trust.policy);
  }

  // ---- validity of the whole document ----
  std::optional<TimePoint> valid_until;
  std::optional<std::chrono::seconds> cache_duration;
  try {
    valid_until = read_valid_until(root);
    cache_duration = read_cache_duration(root);
  } catch (const Error &e) {
    throw Error(ErrorCode::malformed, e.detail());
  }
  if (!valid_until && trust.require_valid_until)
    throw Error(ErrorCode::untrusted_metadata, "the metadata document has no validUntil");
  if (valid_until && now >= *valid_until)
    throw Error(ErrorCode::expired, fmt::format("the metadata expired at {}", format_datetime(*valid_until)));
  if (valid_until && trust.max_validity &&
      *valid_until - now > std::chrono::duration_cast<std::chrono::milliseconds>(*trust.max_validity))
    throw Error(ErrorCode::untrusted_metadata,
                fmt::format("validUntil {} is further ahead than the allowed {}",
                            format_datetime(*valid_until), format_duration(*trust.max_validity)));

  // ---- entities: a malformed one is skipped, the rest stays usable ----
  std::vector<EntityPtr> entities;
  std::vector<std::string> skipped;
  std::unordered_map<std::string, bool> seen;
  auto skip = [&](std::string why) {
    if (log) log(LogLevel::warning, "interkonto metadata: skipped entity: " + why);
    skipped.push_back(std::move(why));
  };
  auto on_entity = [&](const xmlNode *ed, const Inherited &inh) {
    const std::string id = xml::attr(ed, "entityID").value_or("(no entityID)");
    // Cheap pre-checks of the filter before the entity is built.
    if ((filter.role == EntityFilter::Role::idp &&
         xml::first_child(ed, xml::ns_md, "IDPSSODescriptor") == nullptr) ||
        (filter.role == EntityFilter::Role::sp &&
         xml::first_child(ed, xml::ns_md, "SPSSODescriptor") == nullptr) ||
        (!filter.include.empty() &&
         std::find(filter.include.begin(), filter.include.end(), id) == filter.include.end()) ||
        std::find(filter.exclude.begin(), filter.exclude.end(), id) != filter.exclude.end())
      return;
    EntityPtr e;
    try {
      e = read_entity(ed, inh);
    } catch (const Error &err) {
      skip(fmt::format("{}: {}", clip(id), err.detail()));
      return;
    }
    if (!e->valid_at(now)) {
      skip(fmt::format("{}: expired at {}", clip(id), format_datetime(*e->valid_until)));
      return;
    }
    if (!seen.emplace(e->entity_id, true).second) {
      skip(fmt::format("{}: duplicate entityID", clip(id)));
      return;
    }
    if (filter.matches(*e)) entities.push_back(std::move(e));
  };
  // Nested EntitiesDescriptors: their validUntil/cacheDuration apply below
  // them; a malformed one makes its entities skipped, not the document.
  std::function<void(const xmlNode *, const Inherited &)> visit = [&](const xmlNode *n,
                                                                      const Inherited &inh) {
    if (xml::is(n, xml::ns_md, "EntityDescriptor")) {
      on_entity(n, inh);
      return;
    }
    if (!xml::is(n, xml::ns_md, "EntitiesDescriptor")) return;
    Inherited here;
    try {
      here = Inherited{min_opt(inh.valid_until, read_valid_until(n)),
                       min_opt(inh.cache_duration, read_cache_duration(n))};
    } catch (const Error &err) {
      skip(fmt::format("nested EntitiesDescriptor: {}", err.detail()));
      return;
    }
    for (xmlNode *c : xml::element_children(n)) visit(c, here);
  };
  visit(root, Inherited{valid_until, cache_duration});
  std::string name = aggregate ? xml::attr(root, "Name").value_or("") : std::string();
  // Built while the DOM still lives: its large maps are then allocated before
  // the DOM's many small blocks are freed (allocating right after freeing
  // them made glibc consolidate them first: ~19 % of a 5,000-entity load).
  auto snapshot = std::make_shared<MetadataSnapshot>(std::move(entities), valid_until, cache_duration,
                                                     std::move(name), std::move(skipped), now);
  doc.reset();
  return snapshot;
}

// ------------------------------------------------------------ durations

std::optional<std::chrono::milliseconds> parse_duration(std::string_view s) {
  // PnDTnHnMn(.n)S; years and months refused (their length varies).
  if (s.empty() || s.front() != 'P') return std::nullopt;
  std::size_t i = 1;
  bool in_time = false, any = false;
  long long total_ms = 0;
  while (i < s.size()) {
    if (s[i] == 'T') {
      if (in_time) return std::nullopt;
      in_time = true;
      ++i;
      if (i == s.size()) return std::nullopt; // "PT" alone
      continue;
    }
    long long whole = 0;
    std::size_t digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (++digits > 12) return std::nullopt;
      whole = whole * 10 + (s[i] - '0');
      ++i;
    }
    long long frac_ms = 0;
    bool has_frac = false;
    if (i < s.size() && s[i] == '.') {
      has_frac = true;
      ++i;
      std::size_t fd = 0;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        if (fd < 3) frac_ms = frac_ms * 10 + (s[i] - '0');
        ++fd;
        ++i;
      }
      if (fd == 0) return std::nullopt;
      for (std::size_t k = fd; k < 3; ++k) frac_ms *= 10;
    }
    if (digits == 0 || i == s.size()) return std::nullopt;
    const char unit = s[i++];
    if (has_frac && !(in_time && unit == 'S')) return std::nullopt;
    long long ms = 0;
    if (!in_time && unit == 'D')
      ms = whole * 86'400'000LL;
    else if (in_time && unit == 'H')
      ms = whole * 3'600'000LL;
    else if (in_time && unit == 'M')
      ms = whole * 60'000LL;
    else if (in_time && unit == 'S')
      ms = whole * 1000LL + frac_ms;
    else
      return std::nullopt; // Y, M (months), W, or a misplaced unit
    total_ms += ms;
    any = true;
  }
  if (!any) return std::nullopt;
  return std::chrono::milliseconds(total_ms);
}

std::string format_duration(std::chrono::seconds d) {
  long long s = d.count();
  if (s <= 0) return "PT0S";
  const long long days = s / 86400;
  s %= 86400;
  const long long h = s / 3600, m = (s % 3600) / 60, sec = s % 60;
  std::string out = "P";
  if (days > 0) out += fmt::format("{}D", days);
  if (h > 0 || m > 0 || sec > 0) {
    out += 'T';
    if (h > 0) out += fmt::format("{}H", h);
    if (m > 0) out += fmt::format("{}M", m);
    if (sec > 0) out += fmt::format("{}S", sec);
  }
  return out;
}

// --------------------------------------------------------- SP metadata

std::string make_sp_metadata(const SpMetadataOptions &o) {
  auto esc = [](std::string_view s) { return html_escape(s); };
  std::string out =
      fmt::format("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                  "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" "
                  "xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" entityID=\"{}\">\n"
                  "  <md:SPSSODescriptor AuthnRequestsSigned=\"{}\" WantAssertionsSigned=\"{}\" "
                  "protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">\n",
                  esc(o.entity_id), o.authn_requests_signed ? "true" : "false",
                  o.want_assertions_signed ? "true" : "false");
  auto key = [&](const char *use, const Certificate &c) {
    out +=
        fmt::format("    <md:KeyDescriptor use=\"{}\">\n      <ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}"
                    "</ds:X509Certificate></ds:X509Data></ds:KeyInfo>\n",
                    use, c.base64());
    if (std::string_view(use) == "encryption") {
      out += "      <md:EncryptionMethod Algorithm=\"http://www.w3.org/2009/xmlenc11#aes256-gcm\"/>\n"
             "      <md:EncryptionMethod Algorithm=\"http://www.w3.org/2009/xmlenc11#aes128-gcm\"/>\n"
             "      <md:EncryptionMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#aes256-cbc\"/>\n"
             "      <md:EncryptionMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#aes128-cbc\"/>\n"
             "      <md:EncryptionMethod Algorithm=\"http://www.w3.org/2009/xmlenc11#rsa-oaep\"/>\n"
             "      <md:EncryptionMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p\"/>\n";
    }
    out += "    </md:KeyDescriptor>\n";
  };
  if (o.signing_certificate) key("signing", *o.signing_certificate);
  for (const auto &c : o.encryption_certificates) key("encryption", c);
  for (const auto &f : o.name_id_formats)
    out += fmt::format("    <md:NameIDFormat>{}</md:NameIDFormat>\n", esc(f));
  unsigned idx = 0;
  for (const auto &acs : o.acs_urls) {
    out += fmt::format("    <md:AssertionConsumerService Binding=\"{}\" Location=\"{}\" index=\"{}\"{}/>\n",
                       binding::post, esc(acs), idx, idx == 0 ? " isDefault=\"true\"" : "");
    ++idx;
  }
  out += "  </md:SPSSODescriptor>\n";
  if (!o.organization_name.empty()) {
    out += fmt::format(
        "  <md:Organization>\n    <md:OrganizationName xml:lang=\"de\">{}</md:OrganizationName>\n"
        "    <md:OrganizationDisplayName xml:lang=\"de\">{}</md:OrganizationDisplayName>\n"
        "    <md:OrganizationURL xml:lang=\"de\">{}</md:OrganizationURL>\n  </md:Organization>\n",
        esc(o.organization_name),
        esc(o.organization_display_name.empty() ? o.organization_name : o.organization_display_name),
        esc(o.organization_url));
  }
  if (!o.technical_contact_email.empty())
    out += fmt::format(
        "  <md:ContactPerson contactType=\"technical\">\n    <md:EmailAddress>mailto:{}</md:EmailAddress>\n"
        "  </md:ContactPerson>\n",
        esc(o.technical_contact_email));
  out += "</md:EntityDescriptor>\n";
  return out;
}

} // namespace interkonto
