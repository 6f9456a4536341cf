// SPDX-License-Identifier: EUPL-1.2
#pragma once
// Internal: XML Signature and XML Encryption on xmlsec + OpenSSL, locked
// down: only enveloped and exclusive-c14n transforms, same-document "#ID"
// references only, keys only from the caller (KeyInfo never selects a key).
// RSASSA-PSS (sha256-rsa-MGF1) and xmlenc11 rsa-oaep are registered as
// xmlsec transforms on OpenSSL, since xmlsec 1.2.37 lacks them.

#include <libxml/tree.h>

#include <string>
#include <string_view>
#include <vector>

#include "interkonto/crypto.hpp"

namespace interkonto::xmlsec {

// Initialises xmlsec (idempotent, thread-safe) and registers our transforms.
void ensure_initialized();

// ---- signatures ----

struct VerifiedSignature {
  std::string signature_method;
  std::string digest_method;
  std::size_t key_index = 0; // which of the trusted keys verified it
};

// Verifies the ds:Signature that is a direct child of `element`. Its single
// Reference must be "#<element's ID>" (the ID attribute must be registered
// with xmlAddID by the caller), transforms only enveloped + exc-c14n,
// SignedInfo canonicalised with exc-c14n. Tries each trusted key.
// Throws Error: signature_missing (no ds:Signature child), wrapping (reference
// does not point at element, more than one Reference, duplicate signature),
// algorithm_refused (policy), untrusted_key (KeyInfo names a key that is not
// trusted and no trusted key verifies), signature_invalid.
VerifiedSignature verify_enveloped(xmlDoc *doc, xmlNode *element, const std::vector<PublicKey> &trusted,
                                   const AlgorithmPolicy &policy);

// Adds an enveloped signature to `element` (which must carry an ID attribute,
// registered by this call) as a child inserted right after `insert_after`
// (or as first child when null). Optionally puts the certificate in KeyInfo.
void sign_enveloped(xmlDoc *doc, xmlNode *element, xmlNode *insert_after, const PrivateKey &key,
                    std::string_view signature_method, std::string_view digest_method,
                    const Certificate *certificate);

// Raw signatures over bytes (HTTP-Redirect binding). ECDSA values are r||s.
std::string sign_bytes(const PrivateKey &key, std::string_view signature_method, std::string_view data);
bool verify_bytes(const PublicKey &key, std::string_view signature_method, std::string_view data,
                  std::string_view signature);

// ---- encryption ----

struct EncryptionParams {
  std::string data_method{alg::aes256_gcm};
  std::string key_transport{alg::rsa_oaep};
  std::string oaep_digest{alg::sha256};   // for xmlenc11 rsa-oaep
  std::string oaep_mgf{alg::mgf1_sha256}; // for xmlenc11 rsa-oaep
};

// Replaces `element` with an xenc:EncryptedData (Type=Element) whose
// ds:KeyInfo holds an xenc:EncryptedKey for `recipient`. Returns the new node.
xmlNode *encrypt_element(xmlDoc *doc, xmlNode *element, const PublicKey &recipient,
                         const EncryptionParams &params, const Certificate *recipient_cert = nullptr);

// Decrypts an xenc:EncryptedData element whose EncryptedKey is either inside
// its ds:KeyInfo or a sibling (as in saml:EncryptedAssertion). Tries each key
// in order. Returns the plaintext bytes. Throws Error(decryption_failed) for
// every failure (same code, no oracle), including refused algorithms.
std::string decrypt_data(xmlDoc *doc, xmlNode *encrypted_data, const std::vector<PrivateKey> &keys,
                         const AlgorithmPolicy &policy);

} // namespace interkonto::xmlsec
