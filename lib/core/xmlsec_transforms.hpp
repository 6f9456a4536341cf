// SPDX-License-Identifier: EUPL-1.2
#pragma once
// Internal: xmlsec transforms that xmlsec 1.2.37 lacks, implemented on
// OpenSSL 3 and registered by xmlsec::ensure_initialized().
//
//  - all signature methods we accept, incl. RSASSA-PSS
//    http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1
//    (RFC 6931 2.3.10: SHA-256, MGF1-SHA-256, salt length 32, trailer 1)
//  - RSA-OAEP    http://www.w3.org/2009/xmlenc11#rsa-oaep
//    (ds:DigestMethod, xenc11:MGF and xenc:OAEPparams children; SHA-1 and
//    MGF1-SHA-1 when absent)

#include <openssl/evp.h>
#include <xmlsec/transforms.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace interkonto::xmlsec {

// Our signature transforms for every accepted method: RSA PKCS#1 v1.5
// (rsa-sha1/256/384/512), RSASSA-PSS (sha256-rsa-MGF1) and ECDSA
// (ecdsa-sha1/256/384, SignatureValue r||s). nullptr for any other URI.
xmlSecTransformId signature_transform(std::string_view uri);
// Registers them in place of xmlsec's own transforms for the same methods.
bool register_signature_transforms();

xmlSecTransformId rsa_oaep11_transform();

// ECDSA signature encodings: XML-DSig r||s (each half the group order size)
// and OpenSSL's DER. raw_to_der refuses any other length.
std::optional<std::string> ecdsa_der_to_raw(EVP_PKEY *p, std::string_view der);
std::optional<std::string> ecdsa_raw_to_der(EVP_PKEY *p, std::string_view raw);
std::size_t ec_half_len(EVP_PKEY *p);

} // namespace interkonto::xmlsec
