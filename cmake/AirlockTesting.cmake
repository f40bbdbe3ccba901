# airlock_add_test(<name> LAYER <layer> SOURCES <file>... [LABELS <label>...]
#                  [TIMEOUT <seconds>] [ENVIRONMENT <VAR=value>...] [STANDALONE])
#   The one way a test is declared. Builds test_<layer>_<name> from SOURCES
#   with GoogleTest and the test helpers, links airlock::airlock and registers
#   it with ctest as <layer>.<name>. Labels pick suites: unit, stress, hostile,
#   fuzz (and process later); scripts/test.sh runs them per sanitizer build.
#   STANDALONE: the sources define main() themselves and use no GoogleTest
#   (the programs in examples/, which must build and run cleanly).
find_package(GTest REQUIRED)
function(airlock_add_test name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "STANDALONE" "LAYER;TIMEOUT" "SOURCES;LABELS;ENVIRONMENT")
  set(target test_${arg_LAYER}_${name})
  add_executable(${target} ${arg_SOURCES})
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/tests)
  target_link_libraries(${target} PRIVATE airlock)
  if(NOT arg_STANDALONE)
    target_link_libraries(${target} PRIVATE GTest::gtest GTest::gtest_main)
  endif()
  add_test(NAME ${arg_LAYER}.${name} COMMAND ${target})
  if(NOT arg_TIMEOUT)
    set(arg_TIMEOUT 300)
  endif()
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
#   it must fail with a diagnostic matching EXPECT (the sentence users read).
function(airlock_add_compile_fail_test name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "LAYER;SOURCE;EXPECT" "")
  add_test(NAME ${arg_LAYER}.${name}
           COMMAND ${CMAKE_COMMAND} -DCXX=${CMAKE_CXX_COMPILER} -DINCLUDE=${PROJECT_SOURCE_DIR}/include
                   -DSOURCE=${CMAKE_CURRENT_SOURCE_DIR}/${arg_SOURCE} "-DEXPECT=${arg_EXPECT}"
                   -P ${PROJECT_SOURCE_DIR}/cmake/check_compile_fail.cmake)
  set_tests_properties(${arg_LAYER}.${name} PROPERTIES LABELS "unit" TIMEOUT 300)
endfunction()
