# cmake -DCXX=<compiler> -DINCLUDE=<dir> -DSOURCE=<file> -DEXPECT=<regex> -P check_compile_fail.cmake
#   The body of a compile-fail test (airlock_add_compile_fail_test): SOURCE
#   compiles with -DAIRLOCK_COMPILE_OK and fails without it, with a diagnostic
#   that matches EXPECT.
set(flags -std=c++20 -fsyntax-only -I${INCLUDE})
execute_process(COMMAND ${CXX} ${flags} -DAIRLOCK_COMPILE_OK -x c++ ${SOURCE}
                RESULT_VARIABLE ok_rc ERROR_VARIABLE ok_err OUTPUT_VARIABLE ok_out)
if(NOT ok_rc EQUAL 0)
  message(FATAL_ERROR "the corrected snippet does not compile:\n${ok_err}")
endif()
execute_process(COMMAND ${CXX} ${flags} -x c++ ${SOURCE}
                RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_VARIABLE out)
if(rc EQUAL 0)
  message(FATAL_ERROR "expected a compile error, but ${SOURCE} compiled")
endif()
string(REGEX REPLACE "[\r\n]+" " " flat "${err}")
if(NOT flat MATCHES "${EXPECT}")
  message(FATAL_ERROR "the compile error does not say '${EXPECT}'; it says:\n${err}")
endif()
string(REGEX MATCHALL "error:" errors "${err}")
list(LENGTH errors count)
message(STATUS "failed as expected with ${count} error line(s)")
