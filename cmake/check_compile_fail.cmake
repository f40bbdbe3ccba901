# cmake -DCXX=<compiler> -DCXX_ID=<GNU|Clang> -DINCLUDE=<dir> -DSOURCE=<file> -DEXPECT=<regex>
#       -P check_compile_fail.cmake
#   The body of a compile-fail test (airlock_add_compile_fail_test): SOURCE
#   compiles with -DAIRLOCK_COMPILE_OK and fails without it, with a diagnostic
#   that matches EXPECT. The compiler stops at its first error
#   (-fmax-errors=1, clang's -ferror-limit=1), so the case's one sentence is
#   the first thing it says, and a failure prints one error, not a cascade.
foreach(v CXX INCLUDE SOURCE EXPECT)
  if("${${v}}" STREQUAL "")
    message(FATAL_ERROR "check_compile_fail.cmake: pass -D${v}=...")
  endif()
endforeach()
if("${CXX_ID}" MATCHES "Clang")
  set(one_error -ferror-limit=1)
else()
  set(one_error -fmax-errors=1)
endif()
set(flags -std=c++20 -fsyntax-only ${one_error} "-I${INCLUDE}")
execute_process(COMMAND "${CXX}" ${flags} -DAIRLOCK_COMPILE_OK -x c++ "${SOURCE}"
                RESULT_VARIABLE ok_rc ERROR_VARIABLE ok_err OUTPUT_VARIABLE ok_out)
if(NOT "${ok_rc}" STREQUAL "0")
  message(FATAL_ERROR "the corrected snippet does not compile:\n${ok_err}")
endif()
execute_process(COMMAND "${CXX}" ${flags} -x c++ "${SOURCE}"
                RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_VARIABLE out)
if("${rc}" STREQUAL "0")
  message(FATAL_ERROR "expected a compile error, but ${SOURCE} compiled")
endif()
string(REGEX REPLACE "[\r\n]+" " " flat "${err}")
if(NOT "${flat}" MATCHES "${EXPECT}")
  message(FATAL_ERROR "the compile error does not say '${EXPECT}'; it says:\n${err}")
endif()
# clang ends a run it cut short with "fatal error: too many errors
# emitted": the limit's own note, not a second error.
string(REGEX REPLACE "fatal error: too many errors emitted" "" counted "${err}")
string(REGEX MATCHALL "error:" errors "${counted}")
list(LENGTH errors count)
if(count GREATER 1)
  message(FATAL_ERROR "expected one error, the compiler printed ${count}:\n${err}")
endif()
message(STATUS "failed as expected with one error:\n${err}")
