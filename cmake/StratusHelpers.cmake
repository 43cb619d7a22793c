# Helpers shared by every component's CMakeLists: unit tests, fuzz targets and
# test-time WebAssembly builds, so each component declares them in one line.

# stratus_unit_test(NAME SOURCES... LIBS lib...)
# A cmocka test program registered with CTest under the label "unit".
function(stratus_unit_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} PkgConfig::CMOCKA)
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS unit TIMEOUT 300)
endfunction()

# stratus_fuzz_target(NAME SOURCE LIBS lib... [SECONDS n] [CORPUS dir])
# A libFuzzer target, built only with STRATUS_FUZZ, and a CTest entry that runs
# it for a bounded time (label "fuzz"). Any crash, leak or timeout fails it.
function(stratus_fuzz_target name)
  cmake_parse_arguments(F "" "SECONDS;CORPUS" "SOURCES;LIBS" ${ARGN})
  if(NOT STRATUS_FUZZ)
    return()
  endif()
  if(NOT F_SECONDS)
    set(F_SECONDS 20)
  endif()
  add_executable(${name} ${F_SOURCES})
  target_compile_options(${name} PRIVATE -fsanitize=fuzzer)
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  target_link_libraries(${name} PRIVATE ${F_LIBS})
  set(corpus_args)
  if(F_CORPUS)
    set(corpus_args ${F_CORPUS})
  endif()
  add_test(NAME ${name}
           COMMAND ${name} -max_total_time=${F_SECONDS} -timeout=10 -rss_limit_mb=2048
                   -print_final_stats=1 ${corpus_args})
  set_tests_properties(${name} PROPERTIES LABELS fuzz TIMEOUT 600)
endfunction()

# Compile C sources to WebAssembly (wasm32-wasi) at build time.
# stratus_wasm_from_c(OUTPUT_VAR SOURCES... [FLAGS ...])
find_program(STRATUS_CLANG clang)
find_program(STRATUS_WAT2WASM wat2wasm)
find_program(STRATUS_WAST2JSON wast2json)
function(stratus_wasm_from_c out_var)
  cmake_parse_arguments(W "" "" "SOURCES;FLAGS" ${ARGN})
  set(outs)
  foreach(src ${W_SOURCES})
    get_filename_component(base ${src} NAME_WE)
    set(out ${CMAKE_CURRENT_BINARY_DIR}/${base}.wasm)
    add_custom_command(OUTPUT ${out}
      COMMAND ${STRATUS_CLANG} --target=wasm32-wasi -O2 ${W_FLAGS} -o ${out} ${CMAKE_CURRENT_SOURCE_DIR}/${src}
      DEPENDS ${src} VERBATIM)
    list(APPEND outs ${out})
  endforeach()
  set(${out_var} ${outs} PARENT_SCOPE)
endfunction()

# stratus_wasm_from_wat(OUTPUT_VAR SOURCES...)
function(stratus_wasm_from_wat out_var)
  set(outs)
  foreach(src ${ARGN})
    get_filename_component(base ${src} NAME_WE)
    set(out ${CMAKE_CURRENT_BINARY_DIR}/${base}.wasm)
    add_custom_command(OUTPUT ${out}
      COMMAND ${STRATUS_WAT2WASM} --enable-all -o ${out} ${CMAKE_CURRENT_SOURCE_DIR}/${src}
      DEPENDS ${src} VERBATIM)
    list(APPEND outs ${out})
  endforeach()
  set(${out_var} ${outs} PARENT_SCOPE)
endfunction()
