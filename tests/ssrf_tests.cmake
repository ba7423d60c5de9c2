# SSRF guard tests (included from tests/CMakeLists.txt).
if(NOT TARGET PkgConfig::CMOCKA)
  pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)
endif()

# hl_ssrf_add_test(<name> <sources...> [LIBS <libs...>]): a cmocka test linked
# with the static core, seeing the vectors directory and the core's internals.
function(hl_ssrf_add_test name)
  cmake_parse_arguments(ARG "" "" "LIBS" ${ARGN})
  add_executable(${name} ${ARG_UNPARSED_ARGUMENTS})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/core/src
                             ${CMAKE_CURRENT_SOURCE_DIR})
  target_compile_definitions(${name} PRIVATE
    HL_VECTORS_DIR="${CMAKE_CURRENT_SOURCE_DIR}/vectors"
    HL_TESTS_DIR="${CMAKE_CURRENT_SOURCE_DIR}")
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} hookline_static PkgConfig::CMOCKA)
  add_test(NAME ${name} COMMAND ${name})
endfunction()

hl_ssrf_add_test(test_ssrf test_ssrf.c)

# dispatch-time guard against HTTP servers the test runs on 127.0.0.1/.2
find_package(Threads REQUIRED)
hl_ssrf_add_test(test_ssrf_curl test_ssrf_curl.c LIBS hookline_curl Threads::Threads)
set_tests_properties(test_ssrf_curl PROPERTIES TIMEOUT 120)
