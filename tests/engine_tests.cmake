# The delivery engine's cmocka tests (included from tests/CMakeLists.txt).
if(NOT TARGET PkgConfig::CMOCKA)
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)
endif()

# hl_engine_test(<name> [TIMEOUT seconds]): tests/<name>.c linked against
# the static core (internal hli_ symbols reachable) and cmocka.
function(hl_engine_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "" ${ARGN})
  add_executable(${name} ${CMAKE_CURRENT_SOURCE_DIR}/${name}.c)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/core/src
                                             ${CMAKE_CURRENT_SOURCE_DIR})
  target_link_libraries(${name} PRIVATE hookline_static PkgConfig::CMOCKA)
  target_compile_definitions(${name} PRIVATE HL_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  add_test(NAME ${name} COMMAND ${name})
  if(T_TIMEOUT)
    set_tests_properties(${name} PROPERTIES TIMEOUT ${T_TIMEOUT})
  endif()
endfunction()

hl_engine_test(test_engine_util)
hl_engine_test(test_engine_event)
hl_engine_test(test_engine_retry_after)
hl_engine_test(test_engine_states)
hl_engine_test(test_engine_health)
hl_engine_test(test_engine_store)
hl_engine_test(test_engine_sim TIMEOUT 300)
hl_engine_test(test_engine_scale TIMEOUT 600)
hl_engine_test(test_engine_random TIMEOUT 300)
hl_engine_test(test_engine_trace)
