# Randomized, model-based and fuzz tests of the heap; included from
# tests/mem/CMakeLists.txt (keel_add_test comes from tests/CMakeLists.txt).

# Like keel_add_test, but each CTest entry runs one named behaviour.
function(keel_add_test_behaviours name source)
  add_executable(${name} ${source})
  target_link_libraries(${name} PRIVATE keel::static keel_warnings)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests)
  foreach(behaviour ${ARGN})
    add_test(NAME ${name}.${behaviour} COMMAND ${name} ${behaviour})
  endforeach()
endfunction()

# Model-based random test; KEEL_HEAP_MODEL_{SEED,SEQUENCES,STEPS,ONLY} tune it.
keel_add_test_behaviours(test_heap_model test_heap_model.c
  heap_random_operation_sequences_agree_with_the_model
  # Regressions: a stale free-block header once passed for a block start.
  heap_free_checked_calls_a_stale_pointer_inside_a_grown_block_not_owned
  heap_free_checked_calls_a_pointer_freed_before_reset_not_owned)

# The worst-case sizing formula against fragmenting adversaries.
keel_add_test(test_heap_sizing test_heap_sizing.c)

# The fuzz target's logic, replayed over deterministic random inputs (any compiler).
keel_add_test(fuzz_heap_replay fuzz_heap.c)
target_compile_definitions(fuzz_heap_replay PRIVATE KEEL_FUZZ_REPLAY_MAIN)

# The libFuzzer target itself (clang, with -DKEEL_FUZZ=ON, as `make test` sets). The heap's sources are compiled into
# it so that the fuzzer sees their coverage.
if(KEEL_FUZZ AND CMAKE_C_COMPILER_ID MATCHES "Clang")
  add_executable(fuzz_heap fuzz_heap.c
    ${PROJECT_SOURCE_DIR}/src/core/status.c
    ${PROJECT_SOURCE_DIR}/src/mem/heap.c
    ${PROJECT_SOURCE_DIR}/src/mem/heap_check.c)
  target_include_directories(fuzz_heap PRIVATE ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/src)
  target_compile_definitions(fuzz_heap PRIVATE KEEL_BUILDING_LIBRARY)
  target_compile_options(fuzz_heap PRIVATE -fsanitize=fuzzer,address,undefined
    -fno-sanitize-recover=all -fno-omit-frame-pointer -g)
  target_link_options(fuzz_heap PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(fuzz_heap PRIVATE keel_warnings)
  set(KEEL_FUZZ_HEAP_DIR ${CMAKE_CURRENT_BINARY_DIR}/fuzz_heap_work)
  file(MAKE_DIRECTORY ${KEEL_FUZZ_HEAP_DIR}/corpus)
  # A fixed, short run: seed 1, 20 seconds, the corpus kept in the build tree;
  # a crashing input is saved next to it (replay it with fuzz_heap_replay <file>).
  add_test(NAME fuzz_heap_short
    COMMAND fuzz_heap -seed=1 -max_total_time=20 -max_len=4096 -print_final_stats=1
            -artifact_prefix=${KEEL_FUZZ_HEAP_DIR}/ ${KEEL_FUZZ_HEAP_DIR}/corpus
    WORKING_DIRECTORY ${KEEL_FUZZ_HEAP_DIR})
endif()
