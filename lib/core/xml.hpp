// SPDX-License-Identifier: EUPL-1.2
#pragma once
// Internal: safe XML parsing, RAII owners for libxml2 objects, schema
// validation against the local SAML 2.0 schemas, and DOM helpers.

#include <libxml/parser.h>
#include <libxml/tree.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace interkonto::xml {

inline constexpr const char *ns_saml = "urn:oasis:names:tc:SAML:2.0:assertion";
inline constexpr const char *ns_samlp = "urn:oasis:names:tc:SAML:2.0:protocol";
inline constexpr const char *ns_md = "urn:oasis:names:tc:SAML:2.0:metadata";
inline constexpr const char *ns_ds = "http://www.w3.org/2000/09/xmldsig#";
inline constexpr const char *ns_xenc = "http://www.w3.org/2001/04/xmlenc#";
inline constexpr const char *ns_xenc11 = "http://www.w3.org/2009/xmlenc11#";
inline constexpr const char *ns_alg = "urn:oasis:names:tc:SAML:metadata:algsupport";
inline constexpr const char *ns_mdui = "urn:oasis:names:tc:SAML:metadata:ui";
inline constexpr const char *ns_akdb = "https://www.akdb.de/request/2018/09";
inline constexpr const char *ns_akdb_classic_ui = "https://www.akdb.de/request/2018/09/classic-ui/v1";
inline constexpr const char *ns_xsi = "http://www.w3.org/2001/XMLSchema-instance";

struct DocDeleter {
  void operator()(xmlDoc *d) const noexcept { xmlFreeDoc(d); }
};
using DocPtr = std::unique_ptr<xmlDoc, DocDeleter>;

// Owns a node that may be linked into a tree: unlinks, then frees it.
struct NodeDeleter {
  void operator()(xmlNode *n) const noexcept {
    xmlUnlinkNode(n);
    xmlFreeNode(n);
  }
};
using NodePtr = std::unique_ptr<xmlNode, NodeDeleter>;

// The array xmlGetNsList returns.
struct NsListDeleter {
  void operator()(xmlNs **list) const noexcept { xmlFree(static_cast<void *>(list)); }
};
using NsListPtr = std::unique_ptr<xmlNs *, NsListDeleter>;

struct XmlCharDeleter {
  void operator()(xmlChar *p) const noexcept { xmlFree(p); }
};
using XmlCharPtr = std::unique_ptr<xmlChar, XmlCharDeleter>;

// Initialises libxml2 and xmlsec once per process (thread-safe, idempotent)
// and locks them down: no network, no external entities.
void ensure_initialized();

// Parses untrusted XML: no DTD (any DOCTYPE is refused with dtd_forbidden),
// no entity expansion, no network, no XInclude, size limit (too_large).
// Throws Error(malformed) on anything else.
DocPtr parse(std::string_view text, std::size_t max_size);

// Validates a SAML protocol message (or metadata) against the local schemas.
// Throws Error(schema_invalid). Thread-safe; schemas are loaded once.
void validate_schema(xmlDoc *doc);
// Validates one element (e.g. a decrypted assertion) against the same schemas.
void validate_schema_element(xmlNode *element);

// Registers the "ID" attribute of `element` as an XML ID. Throws
// Error(wrapping) when another node already holds that ID, and
// Error(malformed) when the element has no ID.
std::string register_id(xmlDoc *doc, xmlNode *element);

// Strips leading and trailing XML whitespace.
std::string_view trim(std::string_view s);

// Serialises a node (or the whole document when node is null).
std::string serialize(xmlDoc *doc, xmlNode *node = nullptr, bool pretty = false);

// DOM helpers. Element name/namespace matching is exact.
bool is(const xmlNode *n, const char *ns, const char *local);
xmlNode *first_child(const xmlNode *parent, const char *ns, const char *local);
std::vector<xmlNode *> children(const xmlNode *parent, const char *ns, const char *local);
std::vector<xmlNode *> element_children(const xmlNode *parent);
// All descendant elements (not the node itself) with that name.
std::vector<xmlNode *> descendants(const xmlNode *node, const char *ns, const char *local);
// Attribute without namespace; nullopt if absent.
std::optional<std::string> attr(const xmlNode *n, const char *name);
std::optional<std::string> attr_ns(const xmlNode *n, const char *ns, const char *name);
// The whole text content (all descendant text and CDATA; comments and
// processing instructions ignored; never truncated at a comment).
std::string text(const xmlNode *n);

// Builder helpers.
xmlNode *new_child(xmlNode *parent, xmlNs *ns, const char *local, std::string_view text = {});
void set_attr(xmlNode *n, const char *name, std::string_view value);

} // namespace interkonto::xml
