# The test sources that need nothing but libtriage and GoogleTest: built into test_kernels /
# test_runtime by a normal build and into the portable tests (tests/portable: aarch64 under qemu, the
# no-exceptions library). A new test that needs nothing else belongs in these lists, once.
get_filename_component(_p "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
set(TRIAGE_PORTABLE_KERNEL_TESTS
  ${_p}/kernels/test_isa.cpp ${_p}/kernels/test_gemm_f32.cpp ${_p}/kernels/test_gemm_q8.cpp
  ${_p}/kernels/test_norm_quant.cpp ${_p}/kernels/test_attention.cpp ${_p}/kernels/test_stem.cpp
  ${_p}/kernels/test_resize.cpp ${_p}/kernels/test_packing.cpp)
set(TRIAGE_PORTABLE_RUNTIME_TESTS
  ${_p}/runtime/random_model.cpp ${_p}/runtime/alloc_counter.cpp
  ${_p}/runtime/test_arena_plan.cpp ${_p}/runtime/test_router.cpp ${_p}/runtime/test_router_policy.cpp
  ${_p}/runtime/test_engine_vs_oracle.cpp ${_p}/runtime/test_determinism.cpp ${_p}/runtime/test_no_alloc.cpp
  ${_p}/runtime/test_capi_misuse.cpp ${_p}/runtime/test_thread_pool.cpp ${_p}/runtime/test_features.cpp
  ${_p}/runtime/test_caller_memory.cpp ${_p}/runtime/test_caller_threads.cpp ${_p}/runtime/test_open_nomem.cpp
  ${_p}/runtime/test_ood.cpp ${_p}/runtime/test_op_profile.cpp ${_p}/runtime/test_token_skipping.cpp
  ${_p}/runtime/test_attention_split.cpp)
