# Strict warnings for our own targets only (never for third-party headers,
# which are included as SYSTEM).
function(interkonto_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
    -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Woverloaded-virtual
    -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough)
  if(INTERKONTO_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
