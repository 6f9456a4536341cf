# SPDX-License-Identifier: EUPL-1.2
# Responses issued by interkonto's IdentityProvider (idp_emit) checked by an
# independent implementation (tests/interop/independent_signer.py: lxml +
# python-cryptography): the RSASSA-PSS signature over the Response, the
# AES-GCM + xmlenc11 rsa-oaep encryption, and the signature of the decrypted
# assertion; likewise RSA-SHA256 with AES-CBC + rsa-oaep-mgf1p; and the
# Response a complete in-process proxy login issues to its portal (PSS + GCM).
# Included from tests/CMakeLists.txt, so CMAKE_CURRENT_SOURCE_DIR is tests/.
if(TARGET interkonto)
  add_executable(idp_emit ${CMAKE_CURRENT_SOURCE_DIR}/interop/idp_emit.cpp)
  target_link_libraries(idp_emit PRIVATE interkonto OpenSSL::Crypto)
  target_include_directories(idp_emit PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
  interkonto_warnings(idp_emit)

  add_test(NAME idp_independent
           COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/interop/idp_independent.py
                   --emit $<TARGET_FILE:idp_emit>
                   --workdir ${CMAKE_CURRENT_BINARY_DIR}/idp_independent)
  set_tests_properties(idp_independent PROPERTIES TIMEOUT 300 LABELS interop)
endif()
