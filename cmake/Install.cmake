include(CMakePackageConfigHelpers)

install(TARGETS interkonto EXPORT interkontoTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY include/interkonto DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT interkontoTargets NAMESPACE interkonto::
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/interkonto)

configure_package_config_file(cmake/interkontoConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/interkontoConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/interkonto)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/interkontoConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/interkontoConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/interkontoConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/interkonto)

configure_file(cmake/interkonto.pc.in ${CMAKE_CURRENT_BINARY_DIR}/interkonto.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/interkonto.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
