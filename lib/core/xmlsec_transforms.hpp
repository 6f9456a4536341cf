// SPDX-License-Identifier: EUPL-1.2
#pragma once
// Internal: xmlsec transforms that xmlsec 1.2.37 lacks, implemented on
// OpenSSL 3 and registered by xmlsec::ensure_initialized().
//
//  - RSASSA-PSS  http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1
//    (RFC 6931 2.3.10: SHA-256, MGF1-SHA-256, salt length 32, trailer 1)
//  - RSA-OAEP    http://www.w3.org/2009/xmlenc11#rsa-oaep
//    (ds:DigestMethod, xenc11:MGF and xenc:OAEPparams children; SHA-1 and
//    MGF1-SHA-1 when absent)

#include <xmlsec/transforms.h>

namespace interkonto::xmlsec {

xmlSecTransformId rsa_pss_sha256_transform();
xmlSecTransformId rsa_oaep11_transform();

} // namespace interkonto::xmlsec
