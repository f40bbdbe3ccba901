# airlock_layer(<name> [DEPENDS <layer>...])
#   Declares layer <name>: the static library airlock_<name> (alias
#   airlock::<name>, exported as airlock::<name>) built from src/<name>/*.cc,
#   with public headers in include/airlock/<name>/. Its DEPENDS list is its
#   whole dependency list. Called only from cmake/layers.cmake.
set(AIRLOCK_LAYERS "")
function(airlock_layer name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "DEPENDS")
  file(GLOB sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/${name}/*.cc)
  set(target airlock_${name})
  # A layer with no sources yet is header-only: an INTERFACE library.
  if(sources)
    add_library(${target} STATIC ${sources})
    set(scope PUBLIC)
    set_target_properties(${target} PROPERTIES OUTPUT_NAME airlock_${name} POSITION_INDEPENDENT_CODE ON)
  else()
    add_library(${target} INTERFACE)
    set(scope INTERFACE)
  endif()
  add_library(airlock::${name} ALIAS ${target})
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${name})
  target_include_directories(${target} ${scope}
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include> $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_compile_features(${target} ${scope} cxx_std_20)
  set(deps Threads::Threads)
  foreach(dep IN LISTS arg_DEPENDS)
    list(APPEND deps airlock_${dep})
  endforeach()
  target_link_libraries(${target} ${scope} ${deps})
  set(AIRLOCK_LAYERS ${AIRLOCK_LAYERS} ${target} PARENT_SCOPE)
endfunction()

# airlock_check_headers(): the target airlock_check_headers compiles one
# generated translation unit per public header, proving each self-contained.
function(airlock_check_headers)
  file(GLOB_RECURSE headers CONFIGURE_DEPENDS RELATIVE ${PROJECT_SOURCE_DIR}/include
       ${PROJECT_SOURCE_DIR}/include/airlock/*.hh)
  set(units "")
  foreach(h IN LISTS headers)
    string(MAKE_C_IDENTIFIER "${h}" id)
    set(unit ${PROJECT_BINARY_DIR}/check_headers/${id}.cc)
    file(CONFIGURE OUTPUT ${unit} CONTENT "#include <${h}>\n#include <${h}>  // include guard works\n")
    list(APPEND units ${unit})
  endforeach()
  add_library(airlock_check_headers OBJECT ${units})
  target_link_libraries(airlock_check_headers PRIVATE airlock)
endfunction()
