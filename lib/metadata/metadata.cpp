// SPDX-License-Identifier: EUPL-1.2
#include "interkonto/metadata.hpp"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "core/xml.hpp"
#include "interkonto/bindings.hpp"
#include "interkonto/error.hpp"

namespace interkonto {

namespace {

constexpr std::size_t kMaxMetadataSize = 64 * 1024 * 1024;

bool parse_bool(const std::optional<std::string> &v) {
  return v && (*v == "true" || *v == "1");
}

std::optional<TimePoint> min_time(std::optional<TimePoint> a, std::optional<TimePoint> b) {
  if (!a) return b;
  if (!b) return a;
  return std::min(*a, *b);
}

std::optional<TimePoint> read_valid_until(const xmlNode *n) {
  auto v = xml::attr(n, "validUntil");
  if (!v) return std::nullopt;
  auto t = parse_datetime(*v);
  if (!t)
    throw Error(ErrorCode::config_invalid, fmt::format("metadata: bad validUntil '{}'", v->substr(0, 40)));
  return t;
}

std::vector<Endpoint> read_endpoints(const xmlNode *role, const char *local) {
  std::vector<Endpoint> out;
  for (xmlNode *e : xml::children(role, xml::ns_md, local)) {
    Endpoint ep;
    ep.binding = xml::attr(e, "Binding").value_or("");
    ep.location = xml::attr(e, "Location").value_or("");
    ep.response_location = xml::attr(e, "ResponseLocation").value_or("");
    if (auto idx = xml::attr(e, "index")) {
      try {
        ep.index = static_cast<unsigned>(std::stoul(*idx));
      } catch (const std::exception &) {
        throw Error(ErrorCode::config_invalid,
                    fmt::format("metadata: bad endpoint index '{}'", idx->substr(0, 20)));
      }
    }
    ep.is_default = parse_bool(xml::attr(e, "isDefault"));
    if (ep.binding.empty() || ep.location.empty())
      throw Error(ErrorCode::config_invalid, fmt::format("metadata: {} without Binding or Location", local));
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

void read_role_common(const xmlNode *role_node, const xmlNode *entity_ext, RoleDescriptor &role) {
  for (xmlNode *kd : xml::children(role_node, xml::ns_md, "KeyDescriptor")) {
    const auto use = xml::attr(kd, "use").value_or("");
    KeyDescriptor::Use u = KeyDescriptor::Use::any;
    if (use == "signing")
      u = KeyDescriptor::Use::signing;
    else if (use == "encryption")
      u = KeyDescriptor::Use::encryption;
    else if (!use.empty())
      throw Error(ErrorCode::config_invalid,
                  fmt::format("metadata: KeyDescriptor use='{}'", use.substr(0, 20)));
    xmlNode *ki = xml::first_child(kd, xml::ns_ds, "KeyInfo");
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
    bool found = false;
    for (xmlNode *xd : xml::children(ki, xml::ns_ds, "X509Data")) {
      for (xmlNode *xc : xml::children(xd, xml::ns_ds, "X509Certificate")) {
        Certificate cert = Certificate::from_base64(xml::text(xc));
        role.keys.push_back(KeyDescriptor{u, cert.public_key(), cert, methods});
        found = true;
        break; // the first certificate of an X509Data is the key's own
      }
    }
    if (!found) throw Error(ErrorCode::config_invalid, "metadata: KeyDescriptor without an X509Certificate");
  }
  for (xmlNode *f : xml::children(role_node, xml::ns_md, "NameIDFormat"))
    role.name_id_formats.push_back(xml::text(f));
  read_alg_support(entity_ext, role);
  read_alg_support(xml::first_child(role_node, xml::ns_md, "Extensions"), role);
}

bool supports_saml2(const xmlNode *role) {
  auto p = xml::attr(role, "protocolSupportEnumeration").value_or("");
  return p.find("urn:oasis:names:tc:SAML:2.0:protocol") != std::string::npos;
}

EntityPtr read_entity(const xmlNode *ed, std::optional<TimePoint> inherited_valid_until) {
  auto e = std::make_shared<Entity>();
  e->entity_id = xml::attr(ed, "entityID").value_or("");
  if (e->entity_id.empty())
    throw Error(ErrorCode::config_invalid, "metadata: EntityDescriptor without entityID");
  e->valid_until = min_time(inherited_valid_until, read_valid_until(ed));
  const xmlNode *ext = xml::first_child(ed, xml::ns_md, "Extensions");
  if (xmlNode *idp = xml::first_child(ed, xml::ns_md, "IDPSSODescriptor");
      idp != nullptr && supports_saml2(idp)) {
    IdpRole r;
    read_role_common(idp, ext, r);
    r.sso = read_endpoints(idp, "SingleSignOnService");
    r.slo = read_endpoints(idp, "SingleLogoutService");
    r.want_authn_requests_signed = parse_bool(xml::attr(idp, "WantAuthnRequestsSigned"));
    e->valid_until = min_time(e->valid_until, read_valid_until(idp));
    e->idp = std::move(r);
  }
  if (xmlNode *sp = xml::first_child(ed, xml::ns_md, "SPSSODescriptor");
      sp != nullptr && supports_saml2(sp)) {
    SpRole r;
    read_role_common(sp, ext, r);
    r.acs = read_endpoints(sp, "AssertionConsumerService");
    r.slo = read_endpoints(sp, "SingleLogoutService");
    r.authn_requests_signed = parse_bool(xml::attr(sp, "AuthnRequestsSigned"));
    r.want_assertions_signed = parse_bool(xml::attr(sp, "WantAssertionsSigned"));
    e->valid_until = min_time(e->valid_until, read_valid_until(sp));
    e->sp = std::move(r);
  }
  return e;
}

void walk(const xmlNode *n, std::optional<TimePoint> valid_until, std::vector<EntityPtr> &out) {
  if (xml::is(n, xml::ns_md, "EntityDescriptor")) {
    out.push_back(read_entity(n, valid_until));
  } else if (xml::is(n, xml::ns_md, "EntitiesDescriptor")) {
    const auto vu = min_time(valid_until, read_valid_until(n));
    for (xmlNode *c : xml::element_children(n)) walk(c, vu, out);
  }
}

} // namespace

std::vector<PublicKey> RoleDescriptor::signing_keys() const {
  std::vector<PublicKey> out;
  for (const auto &k : keys)
    if (k.use != KeyDescriptor::Use::encryption) out.push_back(k.key);
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

std::vector<EntityPtr> parse_metadata(std::string_view text) {
  xml::DocPtr doc;
  try {
    doc = xml::parse(text, kMaxMetadataSize);
  } catch (const Error &e) {
    throw Error(ErrorCode::config_invalid, fmt::format("metadata: {}", e.what()));
  }
  const xmlNode *root = xmlDocGetRootElement(doc.get());
  if (!xml::is(root, xml::ns_md, "EntityDescriptor") && !xml::is(root, xml::ns_md, "EntitiesDescriptor"))
    throw Error(ErrorCode::config_invalid,
                "metadata: root is neither EntityDescriptor nor EntitiesDescriptor");
  std::vector<EntityPtr> out;
  walk(root, std::nullopt, out);
  if (out.empty()) throw Error(ErrorCode::config_invalid, "metadata: no entity");
  return out;
}

std::vector<EntityPtr> load_metadata_file(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::config_invalid, fmt::format("cannot read metadata file {}", path));
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_metadata(ss.str());
}

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
