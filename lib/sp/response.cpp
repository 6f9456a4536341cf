// SPDX-License-Identifier: EUPL-1.2
// ACS-side validation of a SAML Response: every check of DESIGN.md
// "Response checks". Order matters only for which code is reported when
// several checks fail; a non-Success status is always reported as such.

#include <fmt/format.h>

#include <algorithm>
#include <unordered_map>

#include "core/xml.hpp"
#include "core/xmlsec.hpp"
#include "interkonto/sp.hpp"

namespace interkonto {

namespace {

constexpr std::string_view kSuccess = "urn:oasis:names:tc:SAML:2.0:status:Success";
constexpr std::string_view kBearer = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
constexpr std::string_view kEntityFormat = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity";
constexpr const char *kTrustLevelAttribute = "urn:oid:1.2.40.0.10.2.1.1.261.94";

[[noreturn]] void fail(ErrorCode code, std::string detail) {
  throw Error(code, std::move(detail));
}

std::string clip(std::string_view s, std::size_t n = 120) {
  std::string out{s.substr(0, n)};
  for (char &c : out)
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  if (s.size() > n) out += "...";
  return out;
}

TimePoint time_attr(const xmlNode *n, const char *name, const char *what) {
  auto v = xml::attr(n, name);
  auto t = v ? parse_datetime(*v) : std::nullopt;
  if (!t) fail(ErrorCode::malformed, fmt::format("{} {} is not a dateTime with time zone", what, name));
  return *t;
}

std::optional<TimePoint> opt_time_attr(const xmlNode *n, const char *name, const char *what) {
  if (!xml::attr(n, name)) return std::nullopt;
  return time_attr(n, name, what);
}

// The input is XML when its first non-blank character after an optional
// BOM is '<'; otherwise it is the base64 form value.
std::string_view strip_bom(std::string_view s) {
  if (s.starts_with("\xEF\xBB\xBF")) s.remove_prefix(3);
  return s;
}

bool looks_like_xml(std::string_view s) {
  s = strip_bom(s);
  for (char c : s) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    return c == '<';
  }
  return false;
}

// The status element's codes and message (bounded, control characters blanked).
SamlStatus status_of(const xmlNode *status) {
  SamlStatus out;
  const xmlNode *code = xml::first_child(status, xml::ns_samlp, "StatusCode");
  out.code = clip(xml::attr(code, "Value").value_or(""));
  if (const xmlNode *sub = xml::first_child(code, xml::ns_samlp, "StatusCode"))
    out.second_level = clip(xml::attr(sub, "Value").value_or(""));
  if (const xmlNode *msg = xml::first_child(status, xml::ns_samlp, "StatusMessage"))
    out.message = clip(xml::text(msg));
  return out;
}

std::string status_detail(const xmlNode *status) {
  const SamlStatus st = status_of(status);
  std::string d = fmt::format("status {}", st.code.empty() ? "(none)" : st.code);
  if (!st.second_level.empty()) d += fmt::format(" / {}", st.second_level);
  if (!st.message.empty()) d += fmt::format(" ({})", st.message);
  return d;
}

// The message as XML text: `message` itself, or its base64 form decoded into
// `storage`. Throws too_large / malformed.
std::string_view message_text(std::string_view message, std::size_t max_size, std::string &storage) {
  if (looks_like_xml(message)) return message;
  // base64 of max_size bytes is 4/3 as long; allow generous line breaks.
  if (message.size() > max_size * 2 + 1024)
    fail(ErrorCode::too_large, fmt::format("input of {} bytes exceeds the limit", message.size()));
  try {
    storage = base64_decode(message);
  } catch (const Error &e) {
    fail(e.code() == ErrorCode::too_large ? ErrorCode::too_large : ErrorCode::malformed,
         fmt::format("not XML and not valid base64: {}", e.detail()));
  }
  return storage;
}

// Reads a Response's status; the message is XML or its base64 form.
std::optional<SamlStatus> read_status(std::string_view message, std::size_t max_size) {
  try {
    std::string storage;
    xml::DocPtr doc = xml::parse(message_text(message, max_size, storage), max_size);
    const xmlNode *root = xmlDocGetRootElement(doc.get());
    if (!xml::is(root, xml::ns_samlp, "Response")) return std::nullopt;
    const xmlNode *status = xml::first_child(root, xml::ns_samlp, "Status");
    if (xml::first_child(status, xml::ns_samlp, "StatusCode") == nullptr) return std::nullopt;
    return status_of(status);
  } catch (const Error &) {
    return std::nullopt;
  }
}

struct ParserCtxtFree {
  void operator()(xmlNode *n) const noexcept { xmlFreeNodeList(n); }
};

bool contains_entity_refs(const xmlNode *n) {
  for (const xmlNode *c = n; c != nullptr; c = c->next) {
    if (c->type == XML_ENTITY_REF_NODE || c->type == XML_ENTITY_NODE || c->type == XML_DTD_NODE) return true;
    if (c->children != nullptr && c->type == XML_ELEMENT_NODE && contains_entity_refs(c->children))
      return true;
  }
  return false;
}

// Replaces saml:EncryptedAssertion by the decrypted saml:Assertion. Any
// failure up to a well-formed single Assertion is `decryption_failed`, so
// padding or format errors cannot be told apart (no oracle).
xmlNode *decrypt_assertion(xmlDoc *doc, xmlNode *encrypted, const std::vector<PrivateKey> &keys,
                           const AlgorithmPolicy &policy, std::size_t max_size) {
  xmlNode *ed = xml::first_child(encrypted, xml::ns_xenc, "EncryptedData");
  if (ed == nullptr) fail(ErrorCode::decryption_failed, "EncryptedAssertion without EncryptedData");
  if (keys.empty())
    fail(ErrorCode::decryption_failed, "encrypted assertion but no decryption key configured");
  const std::string plain = xmlsec::decrypt_data(doc, ed, keys, policy);
  if (plain.size() > max_size)
    fail(ErrorCode::decryption_failed, "decrypted assertion exceeds the size limit");
  if (plain.size() > static_cast<std::size_t>(INT32_MAX)) fail(ErrorCode::decryption_failed, "too large");
  xmlNode *list = nullptr;
  const xmlParserErrors rc =
      xmlParseInNodeContext(encrypted->parent, plain.data(), static_cast<int>(plain.size()),
                            XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING, &list);
  std::unique_ptr<xmlNode, ParserCtxtFree> owned{list};
  if (rc != XML_ERR_OK || list == nullptr) fail(ErrorCode::decryption_failed, "decrypted content is not XML");
  if (contains_entity_refs(list))
    fail(ErrorCode::decryption_failed, "decrypted content holds entity references");
  xmlNode *assertion = nullptr;
  for (xmlNode *n = list; n != nullptr; n = n->next) {
    if (n->type == XML_ELEMENT_NODE) {
      if (assertion != nullptr || !xml::is(n, xml::ns_saml, "Assertion"))
        fail(ErrorCode::decryption_failed, "decrypted content is not exactly one saml:Assertion");
      assertion = n;
    } else if (n->type != XML_TEXT_NODE && n->type != XML_COMMENT_NODE) {
      fail(ErrorCode::decryption_failed, "unexpected node in decrypted content");
    } else if (n->type == XML_TEXT_NODE && !xml::trim(reinterpret_cast<const char *>(n->content)).empty()) {
      fail(ErrorCode::decryption_failed, "text around the decrypted assertion");
    }
  }
  if (assertion == nullptr) fail(ErrorCode::decryption_failed, "decrypted content holds no assertion");
  // Move the assertion into the tree in place of EncryptedAssertion.
  xmlNode *rest = assertion == list ? assertion->next : list;
  xmlUnlinkNode(assertion);
  (void)owned.release();
  owned.reset(rest);
  xmlReplaceNode(encrypted, assertion);
  xmlFreeNode(encrypted);
  return assertion;
}

int loa_from_uri(std::string_view v) {
  if (auto s = parse_stork_level(v)) return *s;
  if (v == "http://eidas.europa.eu/LoA/low") return 2;
  if (v == "http://eidas.europa.eu/LoA/substantial") return 3;
  if (v == "http://eidas.europa.eu/LoA/high") return 4;
  return 0;
}

} // namespace

int effective_trust_level(const AuthnResult &result) {
  int level = result.authn_context_class_ref ? loa_from_uri(*result.authn_context_class_ref) : 0;
  if (const SamlAttribute *tl = result.attribute(kTrustLevelAttribute);
      tl != nullptr && !tl->values.empty()) {
    const int attr_level = loa_from_uri(tl->values.front());
    level = level == 0 ? attr_level : std::min(level, attr_level); // the lower one counts
  }
  return level;
}

std::string stork_level_uri(int level) {
  return fmt::format("STORK-QAA-Level-{}", level);
}

std::optional<int> parse_stork_level(std::string_view v) {
  v = xml::trim(v);
  if (v.size() == 17 && v.starts_with("STORK-QAA-Level-") && v[16] >= '1' && v[16] <= '4') return v[16] - '0';
  return std::nullopt;
}

const SamlAttribute *AuthnResult::attribute(std::string_view name) const {
  for (const auto &a : attributes)
    if (a.name == name) return &a;
  return nullptr;
}

struct ResponseValidator::Impl {
  std::shared_ptr<const IdpDirectory> directory;
  std::vector<PrivateKey> decryption_keys;
  std::shared_ptr<ReplayCache> replay;

  AuthnResult validate(std::string_view message, const ResponseCheck &check) const;
};

namespace {

class StaticIdps final : public IdpDirectory {
public:
  explicit StaticIdps(std::vector<IdpSettings> idps) {
    for (auto &s : idps) {
      if (!s.entity || !s.entity->idp)
        throw Error(ErrorCode::config_invalid, "trusted IdP without an IDPSSODescriptor in its metadata");
      const std::string id = s.entity->entity_id;
      if (!by_id_.emplace(id, std::make_shared<const IdpSettings>(std::move(s))).second)
        throw Error(ErrorCode::config_invalid, fmt::format("IdP {} configured twice", clip(id)));
    }
  }
  std::shared_ptr<const IdpSettings> find(std::string_view entity_id) const override {
    auto it = by_id_.find(std::string(entity_id));
    return it == by_id_.end() ? nullptr : it->second;
  }

private:
  std::unordered_map<std::string, std::shared_ptr<const IdpSettings>> by_id_;
};

} // namespace

std::shared_ptr<const IdpDirectory> make_static_idp_directory(std::vector<IdpSettings> idps) {
  return std::make_shared<StaticIdps>(std::move(idps));
}

ResponseValidator::ResponseValidator(std::vector<IdpSettings> idps, std::vector<PrivateKey> decryption_keys,
                                     std::shared_ptr<ReplayCache> replay_cache)
    : ResponseValidator(make_static_idp_directory(std::move(idps)), std::move(decryption_keys),
                        std::move(replay_cache)) {}

ResponseValidator::ResponseValidator(std::shared_ptr<const IdpDirectory> idps,
                                     std::vector<PrivateKey> decryption_keys,
                                     std::shared_ptr<ReplayCache> replay_cache)
    : impl_(std::make_unique<Impl>()) {
  xmlsec::ensure_initialized();
  if (!idps) throw Error(ErrorCode::config_invalid, "no IdP directory");
  impl_->directory = std::move(idps);
  impl_->decryption_keys = std::move(decryption_keys);
  impl_->replay = std::move(replay_cache);
}

ResponseValidator::~ResponseValidator() = default;

std::shared_ptr<const IdpSettings> ResponseValidator::idp(std::string_view entity_id) const {
  return impl_->directory->find(entity_id);
}

std::optional<SamlStatus> response_status(std::string_view message, std::size_t max_size) {
  return read_status(message, max_size);
}

AuthnResult ResponseValidator::validate(std::string_view message, const ResponseCheck &check) const {
  return impl_->validate(message, check);
}

AuthnResult ResponseValidator::Impl::validate(std::string_view message, const ResponseCheck &check) const {
  xmlsec::ensure_initialized();
  // Saturate absurd skews (they would overflow the time arithmetic); any
  // skew of centuries already makes every window hold.
  const auto skew = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::clamp(check.clock_skew, std::chrono::seconds(0), std::chrono::seconds(10'000'000'000LL)));
  const TimePoint now = check.now;

  // ---- input form, size, well-formedness, DTD ----
  std::string decoded;
  xml::DocPtr doc = xml::parse(message_text(message, check.max_size, decoded), check.max_size);
  xmlDoc *d = doc.get();
  xmlNode *root = xmlDocGetRootElement(d);
  if (!xml::is(root, xml::ns_samlp, "Response"))
    fail(ErrorCode::malformed, "the document is not a samlp:Response");

  // ---- status: a non-Success response is always reported as such ----
  xmlNode *status = xml::first_child(root, xml::ns_samlp, "Status");
  xmlNode *status_code = xml::first_child(status, xml::ns_samlp, "StatusCode");
  if (status == nullptr || status_code == nullptr) fail(ErrorCode::malformed, "Response without Status");
  if (xml::attr(status_code, "Value").value_or("") != kSuccess)
    fail(ErrorCode::status_not_success, status_detail(status));

  // ---- schema ----
  if (check.schema_validation) xml::validate_schema(d);
  if (xml::attr(root, "Version").value_or("") != "2.0")
    fail(ErrorCode::malformed, "Response Version is not 2.0");

  AuthnResult result;
  result.response_id = xml::register_id(d, root);

  // ---- exactly one assertion, a direct child of the Response ----
  const auto plain = xml::descendants(root, xml::ns_saml, "Assertion");
  const auto encrypted = xml::descendants(root, xml::ns_saml, "EncryptedAssertion");
  if (plain.size() + encrypted.size() != 1)
    fail(plain.empty() && encrypted.empty() ? ErrorCode::malformed : ErrorCode::wrapping,
         fmt::format("the Response carries {} assertions; exactly one is accepted",
                     plain.size() + encrypted.size()));
  xmlNode *assertion = plain.empty() ? encrypted.front() : plain.front();
  if (assertion->parent != root)
    fail(ErrorCode::wrapping, "the assertion is not a direct child of the Response");

  // ---- issuer ----
  const xmlNode *resp_issuer_node = xml::first_child(root, xml::ns_saml, "Issuer");
  const auto resp_sigs = xml::children(root, xml::ns_ds, "Signature");
  std::optional<std::string> resp_issuer;
  if (resp_issuer_node != nullptr) {
    resp_issuer = std::string(xml::trim(xml::text(resp_issuer_node)));
    auto fmt_attr = xml::attr(resp_issuer_node, "Format");
    if (fmt_attr && *fmt_attr != kEntityFormat)
      fail(ErrorCode::issuer_mismatch, "Response Issuer Format is not entity");
  } else if (!resp_sigs.empty() || !encrypted.empty()) {
    // SAML profiles 4.1.4.2: Issuer MUST be present on a signed Response or
    // one with an encrypted assertion.
    fail(ErrorCode::unknown_issuer, "signed Response or encrypted assertion without Response Issuer");
  }

  // The IdP's settings and keys, looked up once (a federation snapshot may
  // be swapped meanwhile; this validation keeps the one it started with).
  std::shared_ptr<const IdpSettings> idp_ptr;
  std::vector<PublicKey> idp_keys;
  auto lookup = [&](const std::string &entity_id) {
    idp_ptr = directory->find(entity_id);
    if (!idp_ptr || !idp_ptr->entity || !idp_ptr->entity->idp)
      fail(ErrorCode::unknown_issuer, fmt::format("unknown issuer {}", clip(entity_id)));
    if (!idp_ptr->entity->valid_at(now))
      fail(ErrorCode::untrusted_metadata, fmt::format("metadata of {} expired at {}", clip(entity_id),
                                                      format_datetime(*idp_ptr->entity->valid_until)));
    idp_keys = idp_ptr->entity->idp->signing_keys();
  };
  if (resp_issuer) lookup(*resp_issuer);

  // ---- Response signature (before decryption: it covers the ciphertext) ----
  bool response_signed = false;
  if (!resp_sigs.empty()) {
    xmlsec::verify_enveloped(d, root, idp_keys, idp_ptr->policy);
    response_signed = true;
  }

  // ---- Destination ----
  if (auto dest = xml::attr(root, "Destination")) {
    if (*dest != check.acs_url)
      fail(ErrorCode::destination_mismatch, fmt::format("Destination {} is not this ACS", clip(*dest)));
  } else if (response_signed) {
    fail(ErrorCode::destination_mismatch, "a signed Response must carry a Destination");
  }

  // ---- decrypt ----
  if (!encrypted.empty()) {
    assertion = decrypt_assertion(d, assertion, decryption_keys, idp_ptr->policy, check.max_size);
    result.was_encrypted = true;
    if (xml::descendants(root, xml::ns_saml, "Assertion").size() != 1 ||
        !xml::descendants(root, xml::ns_saml, "EncryptedAssertion").empty())
      fail(ErrorCode::wrapping, "the decrypted assertion carries further assertions");
    if (check.schema_validation) xml::validate_schema_element(assertion);
  }
  result.assertion_id = xml::register_id(d, assertion);
  if (xml::attr(assertion, "Version").value_or("") != "2.0")
    fail(ErrorCode::malformed, "Assertion Version is not 2.0");

  // ---- assertion issuer ----
  const xmlNode *a_issuer_node = xml::first_child(assertion, xml::ns_saml, "Issuer");
  if (a_issuer_node == nullptr) fail(ErrorCode::malformed, "Assertion without Issuer");
  const std::string a_issuer{xml::trim(xml::text(a_issuer_node))};
  if (auto fmt_attr = xml::attr(a_issuer_node, "Format"); fmt_attr && *fmt_attr != kEntityFormat)
    fail(ErrorCode::issuer_mismatch, "Assertion Issuer Format is not entity");
  if (resp_issuer && *resp_issuer != a_issuer)
    fail(ErrorCode::issuer_mismatch, fmt::format("Assertion Issuer {} differs from Response Issuer {}",
                                                 clip(a_issuer), clip(*resp_issuer)));
  if (!idp_ptr) lookup(a_issuer);
  const IdpSettings &idp = *idp_ptr;
  result.issuer = a_issuer;

  // ---- assertion signature ----
  bool assertion_signed = false;
  if (!xml::children(assertion, xml::ns_ds, "Signature").empty()) {
    xmlsec::verify_enveloped(d, assertion, idp_keys, idp.policy);
    assertion_signed = true;
  }
  if (!response_signed && !assertion_signed)
    fail(ErrorCode::signature_missing, "neither the Response nor the Assertion is signed");
  if (idp.require_encrypted_assertion && !result.was_encrypted)
    fail(ErrorCode::decryption_failed, "this IdP must encrypt its assertions");

  // ---- InResponseTo on the Response ----
  const auto irt = xml::attr(root, "InResponseTo");
  std::optional<std::string> expected_irt = check.in_response_to;
  if (check.in_response_to) {
    if (!irt || *irt != *check.in_response_to)
      fail(ErrorCode::in_response_to_mismatch,
           irt ? fmt::format("InResponseTo {} is not the expected request", clip(*irt))
               : std::string("InResponseTo missing"));
    result.in_response_to = irt;
  } else if (irt && check.accept_in_response_to) {
    if (!check.accept_in_response_to(*irt))
      fail(ErrorCode::in_response_to_mismatch,
           fmt::format("InResponseTo {} names no request this browser is waiting for", clip(*irt)));
    expected_irt = irt;
    result.in_response_to = irt;
  } else if (irt) {
    fail(ErrorCode::in_response_to_mismatch,
         fmt::format("response to a request {} this SP is not waiting for", clip(*irt)));
  } else if (!check.allow_unsolicited) {
    fail(ErrorCode::unsolicited, "unsolicited response (no InResponseTo) while unsolicited login is off");
  }

  // ---- subject and bearer confirmation ----
  const xmlNode *subject = xml::first_child(assertion, xml::ns_saml, "Subject");
  if (subject == nullptr) fail(ErrorCode::subject_confirmation_invalid, "Assertion without Subject");
  const xmlNode *name_id = xml::first_child(subject, xml::ns_saml, "NameID");
  if (name_id == nullptr) fail(ErrorCode::subject_confirmation_invalid, "Subject without NameID");
  std::optional<Error> sc_error;
  std::optional<TimePoint> sc_not_on_or_after;
  for (const xmlNode *sc : xml::children(subject, xml::ns_saml, "SubjectConfirmation")) {
    if (xml::attr(sc, "Method").value_or("") != kBearer) continue;
    try {
      const xmlNode *scd = xml::first_child(sc, xml::ns_saml, "SubjectConfirmationData");
      if (scd == nullptr) fail(ErrorCode::subject_confirmation_invalid, "bearer confirmation without data");
      const auto recipient = xml::attr(scd, "Recipient");
      if (!recipient || *recipient != check.acs_url)
        fail(ErrorCode::recipient_mismatch,
             recipient ? fmt::format("Recipient {} is not this ACS", clip(*recipient))
                       : std::string("no Recipient"));
      if (!xml::attr(scd, "NotOnOrAfter"))
        fail(ErrorCode::subject_confirmation_invalid, "bearer confirmation without NotOnOrAfter");
      const TimePoint noa = time_attr(scd, "NotOnOrAfter", "SubjectConfirmationData");
      if (auto nb = opt_time_attr(scd, "NotBefore", "SubjectConfirmationData"); nb && now < *nb - skew)
        fail(ErrorCode::not_yet_valid, "SubjectConfirmationData NotBefore is in the future");
      if (now >= noa + skew) fail(ErrorCode::expired, "SubjectConfirmationData NotOnOrAfter has passed");
      const auto sc_irt = xml::attr(scd, "InResponseTo");
      if (sc_irt && (!expected_irt || *sc_irt != *expected_irt))
        fail(ErrorCode::in_response_to_mismatch,
             "SubjectConfirmationData InResponseTo is not the expected request");
      sc_not_on_or_after = noa;
      break;
    } catch (const Error &e) {
      if (!sc_error) sc_error = e;
    }
  }
  if (!sc_not_on_or_after) {
    if (sc_error) throw *sc_error;
    fail(ErrorCode::subject_confirmation_invalid, "no bearer SubjectConfirmation");
  }

  // ---- conditions ----
  const xmlNode *conditions = xml::first_child(assertion, xml::ns_saml, "Conditions");
  if (conditions == nullptr)
    fail(ErrorCode::audience_mismatch, "Assertion without Conditions/AudienceRestriction");
  if (auto nb = opt_time_attr(conditions, "NotBefore", "Conditions"); nb && now < *nb - skew)
    fail(ErrorCode::not_yet_valid,
         fmt::format("Conditions NotBefore {} is in the future", format_datetime(*nb)));
  const auto cond_noa = opt_time_attr(conditions, "NotOnOrAfter", "Conditions");
  if (cond_noa && now >= *cond_noa + skew)
    fail(ErrorCode::expired,
         fmt::format("Conditions NotOnOrAfter {} has passed", format_datetime(*cond_noa)));
  bool any_restriction = false;
  for (const xmlNode *c : xml::element_children(conditions)) {
    if (xml::is(c, xml::ns_saml, "AudienceRestriction")) {
      any_restriction = true;
      bool found = false;
      for (const xmlNode *aud : xml::children(c, xml::ns_saml, "Audience"))
        if (xml::trim(xml::text(aud)) == check.sp_entity_id) found = true;
      if (!found) fail(ErrorCode::audience_mismatch, "an AudienceRestriction does not name this SP");
    } else if (xml::is(c, xml::ns_saml, "OneTimeUse") || xml::is(c, xml::ns_saml, "ProxyRestriction")) {
      // OneTimeUse is what the replay cache enforces anyway; ProxyRestriction
      // concerns onward assertions by this party.
    } else {
      fail(ErrorCode::malformed, "unsupported condition in the assertion");
    }
  }
  if (!any_restriction) fail(ErrorCode::audience_mismatch, "Assertion without AudienceRestriction");

  result.not_on_or_after = cond_noa ? std::min(*cond_noa, *sc_not_on_or_after) : *sc_not_on_or_after;

  // ---- subject identifier ----
  result.name_id = xml::text(name_id);
  result.name_id_format = xml::attr(name_id, "Format");
  result.name_qualifier = xml::attr(name_id, "NameQualifier");
  result.sp_name_qualifier = xml::attr(name_id, "SPNameQualifier");

  // ---- authentication statement ----
  if (const xmlNode *authn = xml::first_child(assertion, xml::ns_saml, "AuthnStatement")) {
    result.session_index = xml::attr(authn, "SessionIndex");
    result.authn_instant = opt_time_attr(authn, "AuthnInstant", "AuthnStatement");
    if (auto snoa = opt_time_attr(authn, "SessionNotOnOrAfter", "AuthnStatement");
        snoa && now >= *snoa + skew)
      fail(ErrorCode::expired, "AuthnStatement SessionNotOnOrAfter has passed");
    const xmlNode *ctx = xml::first_child(authn, xml::ns_saml, "AuthnContext");
    if (const xmlNode *cr = xml::first_child(ctx, xml::ns_saml, "AuthnContextClassRef"))
      result.authn_context_class_ref = std::string(xml::trim(xml::text(cr)));
    for (const xmlNode *aa : xml::children(ctx, xml::ns_saml, "AuthenticatingAuthority"))
      result.authenticating_authorities.emplace_back(xml::trim(xml::text(aa)));
  }

  // ---- attributes (merged by Name, document order) ----
  for (const xmlNode *st : xml::children(assertion, xml::ns_saml, "AttributeStatement")) {
    for (const xmlNode *a : xml::children(st, xml::ns_saml, "Attribute")) {
      const std::string name = xml::attr(a, "Name").value_or("");
      SamlAttribute *target = nullptr;
      for (auto &existing : result.attributes)
        if (existing.name == name) target = &existing;
      if (target == nullptr) {
        result.attributes.push_back(SamlAttribute{name,
                                                  xml::attr(a, "NameFormat").value_or(""),
                                                  xml::attr(a, "FriendlyName").value_or(""),
                                                  xml::attr_ns(a, xml::ns_akdb, "TrustLevel").value_or(""),
                                                  {}});
        target = &result.attributes.back();
      }
      for (const xmlNode *v : xml::children(a, xml::ns_saml, "AttributeValue"))
        target->values.push_back(xml::text(v));
    }
  }

  // ---- requested minimum trust level ----
  if (check.min_trust_level) {
    const int level = effective_trust_level(result);
    if (level < *check.min_trust_level)
      fail(ErrorCode::authn_context_insufficient,
           fmt::format("trust level {} below the required {}",
                       level == 0 ? std::string("none") : stork_level_uri(level),
                       stork_level_uri(*check.min_trust_level)));
  }

  // ---- replay: last, so a rejected response never burns an ID ----
  if (replay && !replay->insert(result.issuer, result.assertion_id, result.not_on_or_after + skew, now))
    fail(ErrorCode::replayed, fmt::format("assertion {} was already used", clip(result.assertion_id)));
  return result;
}

} // namespace interkonto
