# Included by tools/cli/CMakeLists.txt and python/CMakeLists.txt (the Python package's decode_image).
# triage_image_io: the image decoders (PNG, JPEG, TIFF, PGM, NPY) and the channel rule, as interface
# sources: every program that reads images (triage, tests, fuzz targets, benchmarks) links this and
# compiles them with its own flags (sanitizers, fuzz coverage).
add_library(triage_image_io INTERFACE)
target_sources(triage_image_io INTERFACE
  ${CMAKE_CURRENT_LIST_DIR}/image_io.cpp ${CMAKE_CURRENT_LIST_DIR}/image_png.cpp
  ${CMAKE_CURRENT_LIST_DIR}/image_jpeg.cpp ${CMAKE_CURRENT_LIST_DIR}/image_tiff.cpp
  ${CMAKE_CURRENT_LIST_DIR}/image_channels.cpp)
target_link_libraries(triage_image_io INTERFACE PNG::PNG JPEG::JPEG TIFF::TIFF)
# The tester's wafer maps (SINF, SEMI E142 XML) read by the same dispatch, as the 0/1/2 die grid.
target_sources(triage_image_io INTERFACE
  ${CMAKE_CURRENT_LIST_DIR}/wafermap_sinf.cpp ${CMAKE_CURRENT_LIST_DIR}/wafermap_e142.cpp
  ${CMAKE_CURRENT_LIST_DIR}/wafermap_grid.cpp ${CMAKE_CURRENT_LIST_DIR}/xml_subset.cpp)

