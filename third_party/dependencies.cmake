# Every external dependency is found here, from Debian packages (tools/setup.sh installs them) or the
# CUDA toolkit. Nothing is vendored: this folder holds the glue only.
find_package(Threads REQUIRED)               # the one required dependency of libtriage itself

# libsodium (libsodium-dev): Ed25519 verification of signed models inside libtriage and signing in
# `triage sign`. Optional for the library (TRIAGE_SIGNING=AUTO: without it a required public key is
# TRIAGE_E_UNSUPPORTED), required for the tools. Found without pkg-config, so a library-only build still
# needs nothing but a compiler and CMake.
set(TRIAGE_SIGNING AUTO CACHE STRING "Verify signed models with libsodium: AUTO (when found), ON, OFF")
set_property(CACHE TRIAGE_SIGNING PROPERTY STRINGS AUTO ON OFF)
set(TRIAGE_HAVE_SODIUM OFF)
if(NOT TRIAGE_SIGNING STREQUAL "OFF")
  find_path(TRIAGE_SODIUM_INCLUDE_DIR sodium.h)
  find_library(TRIAGE_SODIUM_LIBRARY sodium)
  if(TRIAGE_SODIUM_INCLUDE_DIR AND TRIAGE_SODIUM_LIBRARY)
    add_library(triage::sodium UNKNOWN IMPORTED GLOBAL)
    set_target_properties(triage::sodium PROPERTIES IMPORTED_LOCATION "${TRIAGE_SODIUM_LIBRARY}"
                          INTERFACE_INCLUDE_DIRECTORIES "${TRIAGE_SODIUM_INCLUDE_DIR}")
    set(TRIAGE_HAVE_SODIUM ON)
  elseif(TRIAGE_SIGNING STREQUAL "ON" OR NOT TRIAGE_LIB_ONLY)
    message(FATAL_ERROR "libsodium not found (apt-get install libsodium-dev); the tools need it for `triage sign`")
  endif()
endif()
message(STATUS "triage: signed-model verification (libsodium) ${TRIAGE_HAVE_SODIUM}")
if(NOT TRIAGE_LIB_ONLY)
  find_package(PNG REQUIRED)               # libpng-dev: reading PNG inputs (tools, tests)
  find_package(JPEG REQUIRED)              # libjpeg62-turbo-dev: reading JPEG inputs (tools, tests)
  find_package(TIFF 4.5 REQUIRED)          # libtiff-dev: reading TIFF inputs (tools, tests); 4.5: TIFFOpenOptions
  find_package(nlohmann_json 3 REQUIRED)   # nlohmann-json3-dev: safetensors/config.json headers (converter only)
  find_package(xsimd REQUIRED)             # libxsimd-dev: portable kernels (declared; not used by the library yet)
endif()
if(TRIAGE_BUILD_TESTS)
  find_package(GTest REQUIRED)             # libgtest-dev
endif()
if(TRIAGE_BUILD_BENCH)
  find_package(benchmark REQUIRED)         # libbenchmark-dev
  # libdnnl-dev: bench-only comparison, optional. Debian's dnnl-config.cmake does
  # find_package(OpenCL REQUIRED), which stops configure when the OpenCL headers (ocl-icd-opencl-dev,
  # only a Recommends of libdnnl-dev) are missing: probe OpenCL first, so an optional dependency can
  # never break configure.
  find_package(OpenCL QUIET)
  if(OpenCL_FOUND)
    find_package(dnnl QUIET)
  endif()
  if(TARGET DNNL::dnnl)
    message(STATUS "triage: oneDNN found (bench_kernels compares against it)")
  else()
    message(STATUS "triage: oneDNN not used (libdnnl-dev or its OpenCL headers missing); bench_kernels runs without it")
  endif()
endif()

# CUDA: AUTO builds the CUDA backend when nvcc is present; ON requires it; OFF never builds it.
set(TRIAGE_HAVE_CUDA OFF)
if(NOT TRIAGE_CUDA STREQUAL "OFF")
  include(CheckLanguage)
  if(NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES 87 90)
    endif()
    enable_language(CUDA)
    find_package(CUDAToolkit REQUIRED)
    set(TRIAGE_HAVE_CUDA ON)
  elseif(TRIAGE_CUDA STREQUAL "ON")
    message(FATAL_ERROR "TRIAGE_CUDA=ON but no CUDA compiler (nvcc) was found")
  endif()
endif()
message(STATUS "triage: CUDA backend ${TRIAGE_HAVE_CUDA}")
