# Generates a C source that embeds Lua scripts with their SHA1, so that the
# binary is self-contained and calls EVALSHA with hashes fixed at build time.
# Usage: cmake -DOUT=file.c -DLUA_DIR=lua -P embed_lua.cmake
file(GLOB SCRIPTS "${LUA_DIR}/*.lua")
set(body "/* Generated from lua/ by tools/embed_lua.cmake: do not edit. */\n")
string(APPEND body "#include \"scripts.h\"\n\nconst struct script scripts[SCRIPT_COUNT] = {\n")
foreach(path IN LISTS SCRIPTS)
  get_filename_component(name "${path}" NAME_WE)
  string(TOUPPER "${name}" upper)
  file(SHA1 "${path}" sha)
  file(READ "${path}" hex HEX)
  file(SIZE "${path}" size)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "\\\\x\\1" escaped "${hex}")
  string(APPEND body "    [SCRIPT_${upper}] = {\"${name}\", \"${sha}\",\n        \"${escaped}\",\n        ${size}},\n")
endforeach()
string(APPEND body "};\n")
file(WRITE "${OUT}.tmp" "${body}")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")
