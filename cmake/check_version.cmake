# cmake -DVERSION=<x.y.z> -DSOURCE_DIR=<checkout> -P check_version.cmake
#   Fails unless README.md, docs/index.md and tests/consumer/CMakeLists.txt
#   quote the project's VERSION (CMakeLists.txt): every find_package(airlock
#   <version>) line of README.md and of the consumer names major.minor, and
#   docs/index.md's status line names major.minor.patch. Every value is
#   quoted, so an empty VERSION or a SOURCE_DIR with spaces is reported, not
#   misread.
if(NOT "${VERSION}" MATCHES "^([0-9]+)\\.([0-9]+)\\.([0-9]+)$")
  message(FATAL_ERROR "VERSION is '${VERSION}', not major.minor.patch (pass -DVERSION=...)")
endif()
set(major_minor "${CMAKE_MATCH_1}.${CMAKE_MATCH_2}")
if(NOT IS_DIRECTORY "${SOURCE_DIR}")
  message(FATAL_ERROR "SOURCE_DIR is '${SOURCE_DIR}', not a directory (pass -DSOURCE_DIR=...)")
endif()
set(failed FALSE)

# Each find_package(airlock <version>) line of `file` must name major.minor,
# and there must be at least one.
function(check_find_package file)
  file(READ "${SOURCE_DIR}/${file}" text)
  string(REGEX MATCHALL "find_package\\(airlock [0-9.]+" quoted "${text}")
  if("${quoted}" STREQUAL "")
    message(SEND_ERROR "${file} has no find_package(airlock <version>) line")
    set(failed TRUE PARENT_SCOPE)
  endif()
  foreach(q IN LISTS quoted)
    if(NOT "${q}" STREQUAL "find_package(airlock ${major_minor}")
      message(SEND_ERROR "${file} says '${q}', the project is ${VERSION}")
      set(failed TRUE PARENT_SCOPE)
    endif()
  endforeach()
endfunction()
check_find_package(README.md)
check_find_package(tests/consumer/CMakeLists.txt)

file(READ "${SOURCE_DIR}/docs/index.md" index)
if(NOT "${index}" MATCHES "Version ([0-9.]+)")
  message(SEND_ERROR "docs/index.md has no 'Version <x.y.z>' status line")
  set(failed TRUE)
elseif(NOT "${CMAKE_MATCH_1}" STREQUAL "${VERSION}")
  message(SEND_ERROR "docs/index.md says 'Version ${CMAKE_MATCH_1}', the project is ${VERSION}")
  set(failed TRUE)
endif()
if(failed)
  message(FATAL_ERROR "the version is written in CMakeLists.txt only; quote it as it is")
endif()
message(STATUS "README.md, docs/index.md and tests/consumer quote version ${VERSION}")
