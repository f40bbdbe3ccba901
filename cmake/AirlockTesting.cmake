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
find_package(GTest REQUIRED)
add_library(airlock_test_main STATIC ${PROJECT_SOURCE_DIR}/tests/support/gtest_main.cc)
target_link_libraries(airlock_test_main PUBLIC GTest::gtest)
function(airlock_add_test name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "STANDALONE;MAY_SKIP" "LAYER;TIMEOUT"
                        "SOURCES;LABELS;ENVIRONMENT")
  set(target test_${arg_LAYER}_${name})
  add_executable(${target} ${arg_SOURCES})
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/tests)
  target_link_libraries(${target} PRIVATE airlock)
  if(NOT arg_STANDALONE)
    target_link_libraries(${target} PRIVATE airlock_test_main)
  endif()
  add_test(NAME ${arg_LAYER}.${name} COMMAND ${target})
  if(NOT arg_TIMEOUT)
    set(arg_TIMEOUT 300)
  endif()
  if(arg_MAY_SKIP)
    list(APPEND arg_LABELS may_skip)
  endif()
  set_tests_properties(${arg_LAYER}.${name} PROPERTIES LABELS "${arg_LABELS}" TIMEOUT ${arg_TIMEOUT}
                       SKIP_RETURN_CODE 77)
  if(arg_ENVIRONMENT)
    set_tests_properties(${arg_LAYER}.${name} PROPERTIES ENVIRONMENT "${arg_ENVIRONMENT}")
  endif()
endfunction()
