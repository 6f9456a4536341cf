# SPDX-License-Identifier: EUPL-1.2
# SAML Responses signed and encrypted by an independent implementation
# (tests/interop/independent_signer.py: lxml exclusive c14n, OpenSSL through
# python-cryptography) and checked with `interkonto verify-response`:
# RSASSA-PSS, ECDSA (NIST and brainpool), RSA PKCS#1, AES-GCM/CBC with
# xmlenc11 rsa-oaep and rsa-oaep-mgf1p, and the matching rejections.
# Included from tests/CMakeLists.txt.
if(TARGET interkonto_cli)
  add_test(NAME independent_vectors
           COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/interop/independent_vectors.py
                   --cli $<TARGET_FILE:interkonto_cli>
                   --workdir ${CMAKE_CURRENT_BINARY_DIR}/independent_vectors)
  set_tests_properties(independent_vectors PROPERTIES TIMEOUT 300 LABELS interop)
endif()
