# airlock_add_test(<name> LAYER <layer> SOURCES <file>... [LABELS <label>...]
#                  [TIMEOUT <seconds>] [ENVIRONMENT <VAR=value>...] [STANDALONE]
#                  [MAY_SKIP])
#   The one way a test is declared. Builds test_<layer>_<name> from SOURCES
#   with GoogleTest and the test helpers, links airlock::airlock and registers
#   it with ctest as <layer>.<name>. Labels pick suites: unit (no threads),
#   stress (threads, futexes or a watchdog), hostile, process, fuzz;
#   scripts/test.sh runs them per sanitizer build.
#   STANDALONE: the sources define main() themselves and use no GoogleTest
#   (the programs in examples/, which must build and run cleanly).
#   A test that calls GTEST_SKIP exits with 77 (tests/support/gtest_main.cc),
#   which ctest reports as skipped; scripts/test.sh fails a run in which a
#   test skips unless it is declared MAY_SKIP (label may_skip): a test that
#   needs what some builds or machines lack (a sanitizer, a kernel feature).
#   The target airlock_tests builds every test, airlock_tests_<label> every
#   test with that label.
#   GoogleTest's header is precompiled once (with airlock_test_main) and
#   reused by every test: parsing it was about a third of compiling a small
#   test. Tests include it themselves as well, so they compile unchanged
#   without it (-DCMAKE_DISABLE_PRECOMPILE_HEADERS=ON).
find_package(GTest REQUIRED)
add_library(airlock_test_main STATIC ${PROJECT_SOURCE_DIR}/tests/support/gtest_main.cc)
# The same flags as the tests, so that they can reuse its precompiled header.
target_include_directories(airlock_test_main PRIVATE ${PROJECT_SOURCE_DIR}/tests)
target_link_libraries(airlock_test_main PUBLIC GTest::gtest PRIVATE airlock)
target_precompile_headers(airlock_test_main PRIVATE <gtest/gtest.h>)
function(airlock_add_test name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "STANDALONE;MAY_SKIP" "LAYER;TIMEOUT"
                        "SOURCES;LABELS;ENVIRONMENT")
  set(target test_${arg_LAYER}_${name})
  add_executable(${target} ${arg_SOURCES})
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/tests)
  target_link_libraries(${target} PRIVATE airlock)
  if(NOT arg_STANDALONE)
    target_link_libraries(${target} PRIVATE airlock_test_main)
    target_precompile_headers(${target} REUSE_FROM airlock_test_main)
  endif()
  add_test(NAME ${arg_LAYER}.${name} COMMAND ${target})
  if(NOT arg_TIMEOUT)
    set(arg_TIMEOUT 300)
  endif()
  if(arg_MAY_SKIP)
    list(APPEND arg_LABELS may_skip)
  endif()
  # airlock_tests builds every test, airlock_tests_<label> those with a label
  # (scripts/test.sh builds only what a sanitizer run selects).
  foreach(group IN ITEMS airlock_tests LISTS arg_LABELS)
    if(NOT group STREQUAL "airlock_tests")
      set(group airlock_tests_${group})
    endif()
    if(NOT TARGET ${group})
      add_custom_target(${group})
    endif()
    add_dependencies(${group} ${target})
  endforeach()
  set_tests_properties(${arg_LAYER}.${name} PROPERTIES LABELS "${arg_LABELS}" TIMEOUT ${arg_TIMEOUT}
                       SKIP_RETURN_CODE 77)
  if(arg_ENVIRONMENT)
    set_tests_properties(${arg_LAYER}.${name} PROPERTIES ENVIRONMENT "${arg_ENVIRONMENT}")
  endif()
endfunction()

# airlock_add_compile_fail_test(<name> LAYER <layer> SOURCE <file> EXPECT <regex>)
#   Registers <layer>.<name>: compiles SOURCE twice with the project's compiler
#   and C++20 (cmake/check_compile_fail.cmake). Defined AIRLOCK_COMPILE_OK it
#   must compile (the snippet is right apart from the one mistake); as it is,
#   it must fail with one error (the compiler stops at the first), matching
#   EXPECT (the sentence users read).
function(airlock_add_compile_fail_test name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "LAYER;SOURCE;EXPECT" "")
  add_test(NAME ${arg_LAYER}.${name}
           COMMAND ${CMAKE_COMMAND} "-DCXX=${CMAKE_CXX_COMPILER}" "-DCXX_ID=${CMAKE_CXX_COMPILER_ID}"
                   "-DINCLUDE=${PROJECT_SOURCE_DIR}/include"
                   "-DSOURCE=${CMAKE_CURRENT_SOURCE_DIR}/${arg_SOURCE}" "-DEXPECT=${arg_EXPECT}"
                   -P "${PROJECT_SOURCE_DIR}/cmake/check_compile_fail.cmake")
  set_tests_properties(${arg_LAYER}.${name} PROPERTIES LABELS "unit" TIMEOUT 300)
endfunction()
