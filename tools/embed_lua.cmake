# Generates a C source that embeds Lua scripts with their SHA1, so that the
# binary is self-contained and calls EVALSHA with hashes fixed at build time.
# Each script is lua/lib/common.lua followed by lua/<name>.lua: Redis runs
# every script on its own, so shared helpers are prepended here.
# Usage: cmake -DOUT=file.c -DLUA_DIR=lua -P embed_lua.cmake
file(GLOB SCRIPTS "${LUA_DIR}/*.lua")
file(READ "${LUA_DIR}/lib/common.lua" prelude)
set(body "/* Generated from lua/ by tools/embed_lua.cmake: do not edit. */\n")
string(APPEND body "#include \"scripts.h\"\n\nconst struct script scripts[SCRIPT_COUNT] = {\n")
foreach(path IN LISTS SCRIPTS)
  get_filename_component(name "${path}" NAME_WE)
  string(TOUPPER "${name}" upper)
  file(READ "${path}" own)
  set(whole "${prelude}${own}")
  string(SHA1 sha "${whole}")
  file(WRITE "${OUT}.lua.tmp" "${whole}")
  file(SIZE "${OUT}.lua.tmp" size)
  file(READ "${OUT}.lua.tmp" hex HEX)
  file(REMOVE "${OUT}.lua.tmp")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "\\\\x\\1" escaped "${hex}")
  string(APPEND body "    [SCRIPT_${upper}] = {\"${name}\", \"${sha}\",\n        \"${escaped}\",\n        ${size}},\n")
endforeach()
string(APPEND body "};\n")
file(WRITE "${OUT}.tmp" "${body}")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")
