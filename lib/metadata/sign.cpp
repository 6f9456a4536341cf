// SPDX-License-Identifier: EUPL-1.2
// Building and signing metadata: one EntitiesDescriptor from several metadata
// documents (the federation operator's aggregate, `interkonto metadata
// sign`), a single signed EntityDescriptor (an MDQ answer), and extracting
// one EntityDescriptor as a standalone document (`metadata show --xml`).

#include <openssl/rand.h>

#include <fmt/format.h>

#include <array>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/xml.hpp"
#include "core/xmlsec.hpp"
#include "interkonto/error.hpp"
#include "interkonto/metadata.hpp"

namespace interkonto {

namespace {

constexpr std::size_t kMaxInputSize = 512 * 1024 * 1024;

const xmlChar *X(const char *s) {
  return reinterpret_cast<const xmlChar *>(s);
}

using xml::NodePtr;
using xml::NsListPtr;

// Removes `n` from its tree and frees it.
void remove_node(xmlNode *n) {
  NodePtr owner{n};
}

std::string random_hex_id() {
  std::array<unsigned char, 16> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1)
    throw Error(ErrorCode::internal, "random number generator failed");
  static constexpr char digits[] = "0123456789abcdef";
  std::string out = "_";
  for (unsigned char b : bytes) {
    out += digits[b >> 4];
    out += digits[b & 0x0f];
  }
  return out;
}

bool same_prefix(const xmlChar *a, const xmlChar *b) {
  if (a == nullptr || b == nullptr) return a == b;
  return xmlStrEqual(a, b) != 0;
}

// Removes the enveloped signatures of an entity (and of its roles) and the
// attributes only those signatures and the old container gave meaning to.
// The entity's validity is the aggregate's from now on.
void strip_entity(xmlNode *entity) {
  auto strip_signatures = [](xmlNode *n) {
    for (xmlNode *sig : xml::children(n, xml::ns_ds, "Signature")) remove_node(sig);
  };
  strip_signatures(entity);
  xmlUnsetProp(entity, X("ID"));
  xmlUnsetProp(entity, X("validUntil"));
  xmlUnsetProp(entity, X("cacheDuration"));
  for (xmlNode *child : xml::element_children(entity)) {
    if (child->ns == nullptr || !xmlStrEqual(child->ns->href, X(xml::ns_md))) continue;
    if (xml::is(child, xml::ns_md, "Extensions") || xml::is(child, xml::ns_md, "Organization") ||
        xml::is(child, xml::ns_md, "ContactPerson") ||
        xml::is(child, xml::ns_md, "AdditionalMetadataLocation"))
      continue;
    // A role (or AffiliationDescriptor): its signature goes, and with it the ID
    // it referenced (IDs from several documents could collide).
    strip_signatures(child);
    xmlUnsetProp(child, X("ID"));
  }
}

// True when every namespace reference in the subtree at `top` is to a
// declaration in scope with that prefix and namespace name.
bool namespaces_in_scope(xmlNode *top) {
  auto ok = [](xmlNode *at, const xmlNs *ns) {
    if (ns == nullptr) return true;
    if (ns->prefix != nullptr && xmlStrEqual(ns->prefix, X("xml"))) return true;
    const xmlNs *found = xmlSearchNs(at->doc, at, ns->prefix);
    return found == ns || (found != nullptr && xmlStrEqual(found->href, ns->href));
  };
  std::vector<xmlNode *> stack{top};
  while (!stack.empty()) {
    xmlNode *n = stack.back();
    stack.pop_back();
    if (n->type != XML_ELEMENT_NODE) continue;
    if (!ok(n, n->ns)) return false;
    for (xmlAttr *a = n->properties; a != nullptr; a = a->next)
      if (!ok(n, a->ns)) return false;
    for (xmlNode *c = n->children; c != nullptr; c = c->next) stack.push_back(c);
  }
  return true;
}

// Copies `src` (an element of another document) into `dst` under `parent`
// (or as the root element when parent is null). Every namespace in scope at
// `src` is declared on the copy, so QNames in content (xsi:type values)
// keep their meaning; the copy's namespace references are reconciled when
// needed.
xmlNode *copy_into(xmlNode *src, xmlDoc *dst, xmlNode *parent) {
  NodePtr copy{xmlDocCopyNode(src, dst, 1)};
  if (!copy) throw Error(ErrorCode::internal, "cannot copy an EntityDescriptor");
  NsListPtr in_scope{xmlGetNsList(src->doc, src)};
  if (in_scope) {
    for (xmlNs **p = in_scope.get(); *p != nullptr; ++p) {
      const xmlNs *ns = *p;
      if (ns->prefix != nullptr && xmlStrEqual(ns->prefix, X("xml"))) continue;
      bool declared = false;
      for (const xmlNs *d = copy->nsDef; d != nullptr; d = d->next)
        if (same_prefix(d->prefix, ns->prefix)) {
          declared = true;
          break;
        }
      if (!declared && xmlNewNs(copy.get(), ns->href, ns->prefix) == nullptr)
        throw Error(ErrorCode::internal, "cannot declare a namespace");
    }
  }
  xmlNode *node = copy.get();
  if (parent != nullptr) {
    if (xmlAddChild(parent, node) != node)
      throw Error(ErrorCode::internal, "cannot insert an EntityDescriptor");
  } else {
    (void)xmlDocSetRootElement(dst, node);
  }
  (void)copy.release(); // owned by dst from here on
  // xmlDocCopyNode declares what the copy uses on the copy itself, so its
  // references are normally in scope already; xmlReconciliateNs would also
  // hoist every namespace declared deeper down to the entity, so it only
  // runs when a reference is out of scope.
  if (!namespaces_in_scope(node) && xmlReconciliateNs(dst, node) < 0)
    throw Error(ErrorCode::internal, "cannot reconcile namespaces");
  return node;
}

// Collects the EntityDescriptors of a metadata document, nested
// EntitiesDescriptors flattened, in document order.
void collect_entities(xmlNode *n, std::vector<xmlNode *> &out) {
  if (xml::is(n, xml::ns_md, "EntityDescriptor")) {
    out.push_back(n);
    return;
  }
  if (xml::is(n, xml::ns_md, "EntitiesDescriptor"))
    for (xmlNode *c : xml::element_children(n)) collect_entities(c, out);
}

void check_options(const MetadataSignOptions &o) {
  if (o.valid_for <= std::chrono::seconds::zero())
    throw Error(ErrorCode::config_invalid, "metadata signing: the validity period must be positive");
  if (o.cache_duration && *o.cache_duration < std::chrono::seconds::zero())
    throw Error(ErrorCode::config_invalid, "metadata signing: negative cacheDuration");
  if (!AlgorithmPolicy{}.signature_method_allowed(o.signature_method))
    throw Error(ErrorCode::algorithm_refused,
                fmt::format("metadata signing: signature method {} is not allowed", o.signature_method));
  if (o.certificate && !(o.certificate->public_key() == o.key.public_key()))
    throw Error(ErrorCode::config_invalid, "metadata signing: the certificate does not belong to the key");
}

// Sets ID, validUntil and cacheDuration on `root`, signs it (the signature
// as its first child, as the metadata schema wants it), checks the result
// against the schemas and serialises it with an XML declaration.
std::string finish(xmlDoc *doc, xmlNode *root, const MetadataSignOptions &o) {
  xml::set_attr(root, "ID", random_hex_id());
  const TimePoint valid_until{o.now + o.valid_for};
  xml::set_attr(root, "validUntil", format_datetime(valid_until));
  if (o.cache_duration)
    xml::set_attr(root, "cacheDuration", format_duration(*o.cache_duration));
  else
    xmlUnsetProp(root, X("cacheDuration"));
  const Certificate *cert = o.certificate ? &*o.certificate : nullptr;
  xmlsec::sign_enveloped(doc, root, nullptr, o.key, o.signature_method, alg::sha256, cert);
  try {
    xml::validate_schema(doc);
  } catch (const Error &e) {
    throw Error(e.code(), "signed metadata is not schema-valid: " + e.detail());
  }
  return xml::serialize(doc);
}

} // namespace

std::string sign_aggregate(const std::vector<std::string> &documents, const MetadataSignOptions &options) {
  check_options(options);
  xml::ensure_initialized();
  std::vector<xml::DocPtr> inputs;
  std::vector<xmlNode *> entities;
  for (std::size_t i = 0; i < documents.size(); ++i) {
    inputs.push_back(xml::parse(documents[i], kMaxInputSize));
    xmlNode *root = xmlDocGetRootElement(inputs.back().get());
    if (!xml::is(root, xml::ns_md, "EntityDescriptor") && !xml::is(root, xml::ns_md, "EntitiesDescriptor"))
      throw Error(ErrorCode::config_invalid,
                  fmt::format("metadata document {}: the root is neither md:EntityDescriptor nor "
                              "md:EntitiesDescriptor",
                              i + 1));
    collect_entities(root, entities);
  }
  if (entities.empty()) throw Error(ErrorCode::config_invalid, "no EntityDescriptor in the input");

  std::unordered_set<std::string> seen;
  for (xmlNode *e : entities) {
    const std::string id = xml::attr(e, "entityID").value_or("");
    if (id.empty()) throw Error(ErrorCode::config_invalid, "an EntityDescriptor has no entityID");
    if (!seen.insert(id).second)
      throw Error(ErrorCode::config_invalid, fmt::format("duplicate entityID {}", id.substr(0, 500)));
  }

  xml::DocPtr doc{xmlNewDoc(X("1.0"))};
  if (!doc) throw Error(ErrorCode::internal, "out of memory");
  xmlNode *root = xmlNewDocNode(doc.get(), nullptr, X("EntitiesDescriptor"), nullptr);
  if (root == nullptr) throw Error(ErrorCode::internal, "out of memory");
  (void)xmlDocSetRootElement(doc.get(), root);
  xmlNs *md = xmlNewNs(root, X(xml::ns_md), X("md"));
  if (md == nullptr) throw Error(ErrorCode::internal, "out of memory");
  xmlSetNs(root, md);
  if (!options.name.empty()) xml::set_attr(root, "Name", options.name);

  // One entity per line; the signature goes in front of the first line break.
  xmlAddChild(root, xmlNewDocText(doc.get(), X("\n")));
  for (xmlNode *e : entities) {
    xmlNode *copy = copy_into(e, doc.get(), root);
    strip_entity(copy);
    xmlAddChild(root, xmlNewDocText(doc.get(), X("\n")));
  }
  inputs.clear(); // the sources are no longer needed
  return finish(doc.get(), root, options);
}

std::string sign_entity(std::string_view entity_descriptor_xml, const MetadataSignOptions &options) {
  check_options(options);
  xml::DocPtr doc = xml::parse(entity_descriptor_xml, kMaxInputSize);
  xmlNode *root = xmlDocGetRootElement(doc.get());
  if (!xml::is(root, xml::ns_md, "EntityDescriptor"))
    throw Error(ErrorCode::config_invalid, "the document's root is not an md:EntityDescriptor");
  if (xml::attr(root, "entityID").value_or("").empty())
    throw Error(ErrorCode::config_invalid, "the EntityDescriptor has no entityID");
  strip_entity(root);
  return finish(doc.get(), root, options);
}

std::string extract_entity_xml(std::string_view document, std::string_view entity_id, std::size_t max_size) {
  xml::DocPtr doc = xml::parse(document, max_size);
  std::vector<xmlNode *> entities;
  collect_entities(xmlDocGetRootElement(doc.get()), entities);
  for (xmlNode *e : entities) {
    if (xml::attr(e, "entityID").value_or("") != entity_id) continue;
    xml::DocPtr out{xmlNewDoc(X("1.0"))};
    if (!out) throw Error(ErrorCode::internal, "out of memory");
    xmlNode *copy = copy_into(e, out.get(), nullptr);
    return xml::serialize(out.get(), copy);
  }
  return {};
}

} // namespace interkonto
