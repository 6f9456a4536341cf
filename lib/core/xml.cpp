// SPDX-License-Identifier: EUPL-1.2
#include "core/xml.hpp"

#include <libxml/parserInternals.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlschemas.h>
#include <libxml/xmlsave.h>

#include <cstring>
#include <fmt/format.h>
#include <mutex>

#include "interkonto/error.hpp"

namespace interkonto::xml {

namespace {

const char *const kSchemaDirs[] = {INTERKONTO_SCHEMA_DIR_OPENSAML, INTERKONTO_SCHEMA_DIR_XMLTOOLING};

bool path_allowed(const char *url) {
  if (url == nullptr) return false;
  std::string_view u{url};
  if (u.starts_with("file://")) u.remove_prefix(7);
  if (u.find("..") != std::string_view::npos) return false;
  for (const char *dir : kSchemaDirs) {
    const std::string_view d{dir};
    if (u.size() > d.size() && u.starts_with(d) && u[d.size()] == '/') return true;
  }
  return false;
}

// The one loader libxml2 (and xmlsec, libxslt through it) may use for any
// external resource: local schema files only. No network, no other files.
xmlParserInputPtr restricted_loader(const char *url, const char *id, xmlParserCtxtPtr ctxt) {
  (void)id;
  if (!path_allowed(url)) return nullptr;
  std::string_view u{url};
  if (u.starts_with("file://")) u.remove_prefix(7);
  const std::string path{u};
  return xmlNewInputFromFile(ctxt, path.c_str());
}

void silent_generic_error(void *, const char *, ...) {}

struct ParseState {
  bool dtd_seen = false;
  std::string first_error;
};

void on_internal_subset(void *ctx, const xmlChar *, const xmlChar *, const xmlChar *) {
  auto *ctxt = static_cast<xmlParserCtxtPtr>(ctx);
  static_cast<ParseState *>(ctxt->_private)->dtd_seen = true;
  xmlStopParser(ctxt);
}

void on_entity_decl(void *ctx, const xmlChar *, int, const xmlChar *, const xmlChar *, xmlChar *) {
  auto *ctxt = static_cast<xmlParserCtxtPtr>(ctx);
  static_cast<ParseState *>(ctxt->_private)->dtd_seen = true;
  xmlStopParser(ctxt);
}

void on_structured_error(void *user, xmlErrorPtr err) {
  auto *state = static_cast<ParseState *>(user);
  if (state != nullptr && state->first_error.empty() && err != nullptr && err->message != nullptr) {
    std::string m{err->message};
    while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
    state->first_error = fmt::format("line {}: {}", err->line, m.substr(0, 200));
  }
}

struct CtxtDeleter {
  void operator()(xmlParserCtxt *c) const noexcept { xmlFreeParserCtxt(c); }
};

} // namespace

void ensure_initialized() {
  static std::once_flag once;
  std::call_once(once, [] {
    xmlInitParser();
    xmlSetExternalEntityLoader(restricted_loader);
    // Never print to stderr from inside libxml2.
    xmlSetGenericErrorFunc(nullptr, silent_generic_error);
    xmlSetStructuredErrorFunc(nullptr, nullptr);
    xmlThrDefSetGenericErrorFunc(nullptr, silent_generic_error);
  });
}

DocPtr parse(std::string_view text, std::size_t max_size) {
  ensure_initialized();
  if (text.size() > max_size)
    throw Error(ErrorCode::too_large,
                fmt::format("document of {} bytes exceeds the limit of {}", text.size(), max_size));
  if (text.size() > static_cast<std::size_t>(INT32_MAX))
    throw Error(ErrorCode::too_large, "document too large");

  std::unique_ptr<xmlParserCtxt, CtxtDeleter> ctxt{xmlNewParserCtxt()};
  if (!ctxt) throw Error(ErrorCode::internal, "cannot allocate XML parser");
  ParseState state;
  ctxt->_private = &state;
  // Refuse DTDs at the first sight of <!DOCTYPE, before any declaration in
  // them is processed (entity expansion, external subsets).
  ctxt->sax->internalSubset = on_internal_subset;
  ctxt->sax->externalSubset = on_internal_subset;
  ctxt->sax->entityDecl = on_entity_decl;
  xmlSetStructuredErrorFunc(&state, on_structured_error);
  const int options = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOXINCNODE;
  DocPtr doc{
      xmlCtxtReadMemory(ctxt.get(), text.data(), static_cast<int>(text.size()), nullptr, nullptr, options)};
  xmlSetStructuredErrorFunc(nullptr, nullptr);
  if (state.dtd_seen || (doc && (doc->intSubset != nullptr || doc->extSubset != nullptr)))
    throw Error(ErrorCode::dtd_forbidden, "the document contains a DTD (DOCTYPE)");
  if (!doc || ctxt->wellFormed == 0) {
    throw Error(ErrorCode::malformed,
                state.first_error.empty() ? std::string("not well-formed XML") : state.first_error);
  }
  xmlNode *root = xmlDocGetRootElement(doc.get());
  if (root == nullptr) throw Error(ErrorCode::malformed, "no root element");
  // Entity references cannot be resolved without a DTD; refuse any left over.
  for (xmlNode *n = doc->children; n != nullptr; n = n->next)
    if (n->type == XML_ENTITY_REF_NODE || n->type == XML_DTD_NODE)
      throw Error(ErrorCode::dtd_forbidden, "entity reference outside a DTD");
  return doc;
}

namespace {

struct Schemas {
  xmlSchemaPtr schema = nullptr;
  std::string load_error;
};

void on_schema_error(void *user, xmlErrorPtr err) {
  auto *s = static_cast<std::string *>(user);
  if (s != nullptr && s->empty() && err != nullptr && err->message != nullptr) {
    std::string m{err->message};
    while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
    *s = fmt::format("line {}: {}", err->line, m.substr(0, 300));
  }
}

const Schemas &schemas() {
  static const Schemas instance = [] {
    ensure_initialized();
    Schemas s;
    const std::string o = INTERKONTO_SCHEMA_DIR_OPENSAML;
    const std::string x = INTERKONTO_SCHEMA_DIR_XMLTOOLING;
    const std::string bundle = fmt::format(
        R"(<?xml version="1.0"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:interkonto:schema-bundle">
  <xs:import namespace="http://www.w3.org/XML/1998/namespace" schemaLocation="{1}/xml.xsd"/>
  <xs:import namespace="http://www.w3.org/2000/09/xmldsig#" schemaLocation="{1}/xmldsig-core-schema.xsd"/>
  <xs:import namespace="http://www.w3.org/2001/04/xmlenc#" schemaLocation="{1}/xenc-schema.xsd"/>
  <xs:import namespace="http://www.w3.org/2009/xmldsig11#" schemaLocation="{1}/xmldsig11-schema.xsd"/>
  <xs:import namespace="http://www.w3.org/2009/xmlenc11#" schemaLocation="{1}/xenc11-schema.xsd"/>
  <xs:import namespace="urn:oasis:names:tc:SAML:2.0:assertion" schemaLocation="{0}/saml-schema-assertion-2.0.xsd"/>
  <xs:import namespace="urn:oasis:names:tc:SAML:2.0:protocol" schemaLocation="{0}/saml-schema-protocol-2.0.xsd"/>
  <xs:import namespace="urn:oasis:names:tc:SAML:2.0:metadata" schemaLocation="{0}/saml-schema-metadata-2.0.xsd"/>
  <xs:import namespace="urn:oasis:names:tc:SAML:metadata:ui" schemaLocation="{0}/sstc-saml-metadata-ui-v1.0.xsd"/>
  <xs:import namespace="urn:oasis:names:tc:SAML:metadata:algsupport" schemaLocation="{0}/sstc-saml-metadata-algsupport-v1.0.xsd"/>
  <xs:import namespace="urn:oasis:names:tc:SAML:metadata:attribute" schemaLocation="{0}/sstc-metadata-attr.xsd"/>
  <xs:import namespace="urn:oasis:names:tc:SAML:profiles:SSO:idp-discovery-protocol" schemaLocation="{0}/sstc-saml-idp-discovery.xsd"/>
</xs:schema>)",
        o, x);
    xmlSchemaParserCtxtPtr pctxt = xmlSchemaNewMemParserCtxt(bundle.data(), static_cast<int>(bundle.size()));
    if (pctxt == nullptr) {
      s.load_error = "cannot create schema parser";
      return s;
    }
    xmlSchemaSetParserStructuredErrors(pctxt, on_schema_error, &s.load_error);
    s.schema = xmlSchemaParse(pctxt);
    xmlSchemaFreeParserCtxt(pctxt);
    if (s.schema == nullptr && s.load_error.empty()) s.load_error = "schema bundle did not load";
    return s;
  }();
  return instance;
}

struct ValidCtxtDeleter {
  void operator()(xmlSchemaValidCtxt *c) const noexcept { xmlSchemaFreeValidCtxt(c); }
};

} // namespace

void validate_schema(xmlDoc *doc) {
  const Schemas &s = schemas();
  if (s.schema == nullptr)
    throw Error(ErrorCode::internal,
                fmt::format("SAML schemas unavailable ({}); install opensaml-schemas and "
                            "xmltooling-schemas",
                            s.load_error));
  // A validation context is not thread-safe, the parsed schema is: one per thread.
  thread_local std::unique_ptr<xmlSchemaValidCtxt, ValidCtxtDeleter> vctxt{xmlSchemaNewValidCtxt(s.schema)};
  if (!vctxt) throw Error(ErrorCode::internal, "cannot create schema validation context");
  std::string first_error;
  xmlSchemaSetValidStructuredErrors(vctxt.get(), on_schema_error, &first_error);
  const int rc = xmlSchemaValidateDoc(vctxt.get(), doc);
  xmlSchemaSetValidStructuredErrors(vctxt.get(), nullptr, nullptr);
  if (rc != 0)
    throw Error(ErrorCode::schema_invalid,
                first_error.empty() ? std::string("not valid against the SAML schemas") : first_error);
}

void validate_schema_element(xmlNode *element) {
  const Schemas &s = schemas();
  if (s.schema == nullptr)
    throw Error(ErrorCode::internal, fmt::format("SAML schemas unavailable ({})", s.load_error));
  thread_local std::unique_ptr<xmlSchemaValidCtxt, ValidCtxtDeleter> vctxt{xmlSchemaNewValidCtxt(s.schema)};
  if (!vctxt) throw Error(ErrorCode::internal, "cannot create schema validation context");
  std::string first_error;
  xmlSchemaSetValidStructuredErrors(vctxt.get(), on_schema_error, &first_error);
  const int rc = xmlSchemaValidateOneElement(vctxt.get(), element);
  xmlSchemaSetValidStructuredErrors(vctxt.get(), nullptr, nullptr);
  if (rc != 0)
    throw Error(ErrorCode::schema_invalid,
                first_error.empty() ? std::string("not valid against the SAML schemas") : first_error);
}

std::string register_id(xmlDoc *doc, xmlNode *element) {
  xmlAttr *a = xmlHasProp(element, reinterpret_cast<const xmlChar *>("ID"));
  if (a == nullptr || a->ns != nullptr) throw Error(ErrorCode::malformed, "element without ID attribute");
  XmlCharPtr value{xmlNodeListGetString(doc, a->children, 1)};
  if (!value || value.get()[0] == 0) throw Error(ErrorCode::malformed, "empty ID attribute");
  std::string id{reinterpret_cast<const char *>(value.get())};
  xmlAttr *existing = xmlGetID(doc, value.get());
  if (existing == a) return id;
  if (existing != nullptr) throw Error(ErrorCode::wrapping, "two elements carry the same ID");
  if (xmlAddID(nullptr, doc, value.get(), a) == nullptr)
    throw Error(ErrorCode::wrapping, "cannot register ID");
  return id;
}

std::string_view trim(std::string_view s) {
  auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && ws(s.front())) s.remove_prefix(1);
  while (!s.empty() && ws(s.back())) s.remove_suffix(1);
  return s;
}

std::string serialize(xmlDoc *doc, xmlNode *node, bool pretty) {
  xmlBufferPtr buf = xmlBufferCreate();
  if (buf == nullptr) throw Error(ErrorCode::internal, "out of memory");
  int opts = XML_SAVE_AS_XML;
  if (pretty) opts |= XML_SAVE_FORMAT;
  if (node == nullptr)
    opts |= 0;
  else
    opts |= XML_SAVE_NO_DECL;
  xmlSaveCtxtPtr save = xmlSaveToBuffer(buf, "UTF-8", opts);
  if (save == nullptr) {
    xmlBufferFree(buf);
    throw Error(ErrorCode::internal, "cannot serialise XML");
  }
  if (node == nullptr)
    xmlSaveDoc(save, doc);
  else
    xmlSaveTree(save, node);
  xmlSaveClose(save);
  std::string out{reinterpret_cast<const char *>(xmlBufferContent(buf)),
                  static_cast<std::size_t>(xmlBufferLength(buf))};
  xmlBufferFree(buf);
  return out;
}

bool is(const xmlNode *n, const char *ns, const char *local) {
  if (n == nullptr || n->type != XML_ELEMENT_NODE) return false;
  if (std::strcmp(reinterpret_cast<const char *>(n->name), local) != 0) return false;
  if (ns == nullptr) return n->ns == nullptr;
  return n->ns != nullptr && n->ns->href != nullptr &&
         std::strcmp(reinterpret_cast<const char *>(n->ns->href), ns) == 0;
}

xmlNode *first_child(const xmlNode *parent, const char *ns, const char *local) {
  if (parent == nullptr) return nullptr;
  for (xmlNode *c = parent->children; c != nullptr; c = c->next)
    if (is(c, ns, local)) return c;
  return nullptr;
}

std::vector<xmlNode *> children(const xmlNode *parent, const char *ns, const char *local) {
  std::vector<xmlNode *> out;
  if (parent == nullptr) return out;
  for (xmlNode *c = parent->children; c != nullptr; c = c->next)
    if (is(c, ns, local)) out.push_back(c);
  return out;
}

std::vector<xmlNode *> element_children(const xmlNode *parent) {
  std::vector<xmlNode *> out;
  if (parent == nullptr) return out;
  for (xmlNode *c = parent->children; c != nullptr; c = c->next)
    if (c->type == XML_ELEMENT_NODE) out.push_back(c);
  return out;
}

namespace {
void collect(const xmlNode *node, const char *ns, const char *local, std::vector<xmlNode *> &out) {
  for (xmlNode *c = node->children; c != nullptr; c = c->next) {
    if (c->type != XML_ELEMENT_NODE) continue;
    if (is(c, ns, local)) out.push_back(c);
    collect(c, ns, local, out);
  }
}
} // namespace

std::vector<xmlNode *> descendants(const xmlNode *node, const char *ns, const char *local) {
  std::vector<xmlNode *> out;
  if (node != nullptr) collect(node, ns, local, out);
  return out;
}

std::optional<std::string> attr(const xmlNode *n, const char *name) {
  if (n == nullptr) return std::nullopt;
  XmlCharPtr v{xmlGetNoNsProp(n, reinterpret_cast<const xmlChar *>(name))};
  if (!v) return std::nullopt;
  return std::string{reinterpret_cast<const char *>(v.get())};
}

std::optional<std::string> attr_ns(const xmlNode *n, const char *ns, const char *name) {
  if (n == nullptr) return std::nullopt;
  XmlCharPtr v{
      xmlGetNsProp(n, reinterpret_cast<const xmlChar *>(name), reinterpret_cast<const xmlChar *>(ns))};
  if (!v) return std::nullopt;
  return std::string{reinterpret_cast<const char *>(v.get())};
}

namespace {
void append_text(const xmlNode *n, std::string &out) {
  for (const xmlNode *c = n->children; c != nullptr; c = c->next) {
    switch (c->type) {
    case XML_TEXT_NODE:
    case XML_CDATA_SECTION_NODE:
      if (c->content != nullptr) out += reinterpret_cast<const char *>(c->content);
      break;
    case XML_ELEMENT_NODE:
      append_text(c, out);
      break;
    default: // comments, processing instructions: not part of the value
      break;
    }
  }
}
} // namespace

std::string text(const xmlNode *n) {
  std::string out;
  if (n != nullptr) append_text(n, out);
  return out;
}

xmlNode *new_child(xmlNode *parent, xmlNs *ns, const char *local, std::string_view text_value) {
  xmlNode *c = xmlNewDocNode(parent->doc, ns, reinterpret_cast<const xmlChar *>(local), nullptr);
  if (c == nullptr) throw Error(ErrorCode::internal, "out of memory");
  if (!text_value.empty()) {
    xmlNode *t = xmlNewDocTextLen(parent->doc, reinterpret_cast<const xmlChar *>(text_value.data()),
                                  static_cast<int>(text_value.size()));
    xmlAddChild(c, t);
  }
  xmlAddChild(parent, c);
  return c;
}

void set_attr(xmlNode *n, const char *name, std::string_view value) {
  const std::string v{value};
  xmlSetProp(n, reinterpret_cast<const xmlChar *>(name), reinterpret_cast<const xmlChar *>(v.c_str()));
}

} // namespace interkonto::xml
