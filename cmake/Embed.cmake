# bawwab_embed(<target> NAMESPACE ns ROOT dir FILES_GLOB globs...)
# Turns files into a static library exposing
#   std::span<const bawwab::EmbeddedFile> <ns>::files();
# so the binary works from any directory (the demo must run without the source tree).
# Each glob is relative to ROOT and recursive ("demo/site/*" takes demo/site/articles/x.html too).
function(bawwab_embed target)
  cmake_parse_arguments(E "" "NAMESPACE;ROOT" "FILES_GLOB" ${ARGN})
  set(files "")
  foreach(g IN LISTS E_FILES_GLOB)
    file(GLOB_RECURSE matched CONFIGURE_DEPENDS ${E_ROOT}/${g})
    list(APPEND files ${matched})
  endforeach()
  list(REMOVE_DUPLICATES files)
  list(SORT files)
  # The list goes through a file, not the command line: a CMake list is ';'-separated and the
  # shell that runs the custom command would take each ';' as the end of a command. Written only
  # when it changes, so a re-glob that finds the same files rebuilds nothing.
  set(list_file ${CMAKE_BINARY_DIR}/generated/${target}.files)
  string(REPLACE ";" "\n" lines "${files}")
  file(WRITE ${list_file}.tmp "${lines}\n")
  file(COPY_FILE ${list_file}.tmp ${list_file} ONLY_IF_DIFFERENT)
  set(out ${CMAKE_BINARY_DIR}/generated/${target}.cpp)
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DOUT=${out} -DNS=${E_NAMESPACE} -DROOT=${E_ROOT}
            -DLIST_FILE=${list_file} -P ${CMAKE_SOURCE_DIR}/cmake/EmbedFiles.cmake
    DEPENDS ${files} ${list_file} ${CMAKE_SOURCE_DIR}/cmake/EmbedFiles.cmake
    COMMENT "Embedding ${target}"
    VERBATIM)
  add_library(${target} STATIC ${out})
  target_link_libraries(${target} PUBLIC bawwab_deps)
endfunction()
