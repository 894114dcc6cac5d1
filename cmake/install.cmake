# `cmake --install`: libtriage.a, the public header, a CMake package (find_package(triage) ->
# triage::triage, with its Threads and, when built with it, libsodium dependency) and triage.pc, versioned with the project.
#   <prefix>/lib/libtriage.a [libtriage_cuda.a]   <prefix>/include/triage.h [triage_cuda.h]
#   <prefix>/lib/cmake/triage/triage{Config,ConfigVersion,Targets}.cmake   <prefix>/lib/pkgconfig/triage.pc
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(_triage_targets triage_lib)
set(_triage_headers ${PROJECT_SOURCE_DIR}/runtime/triage.h)
if(TRIAGE_HAVE_CUDA)
  list(APPEND _triage_targets triage_cuda)
  list(APPEND _triage_headers ${PROJECT_SOURCE_DIR}/runtime/triage_cuda.h)
endif()
install(TARGETS ${_triage_targets} EXPORT triageTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${_triage_headers} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT triageTargets NAMESPACE triage:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/triage)

set(TRIAGE_PACKAGE_CUDA ${TRIAGE_HAVE_CUDA})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/triageConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/triageConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/triage)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/triageConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/triageConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/triageConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/triage)

# pkg-config: static linking needs the C++ runtime and threads (libtriage is C++ inside a C API).
set(TRIAGE_PC_LIBS "-ltriage")
set(TRIAGE_PC_PRIVATE "-lstdc++ -lm -pthread")
if(TRIAGE_HAVE_SODIUM)
  set(TRIAGE_PC_PRIVATE "-lsodium ${TRIAGE_PC_PRIVATE}")
endif()
if(TRIAGE_HAVE_CUDA)
  set(TRIAGE_PC_LIBS "-ltriage -ltriage_cuda -ltriage")
  set(TRIAGE_PC_PRIVATE "-lcudart_static -ldl -lrt ${TRIAGE_PC_PRIVATE}")
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/triage.pc.in ${CMAKE_CURRENT_BINARY_DIR}/triage.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/triage.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
