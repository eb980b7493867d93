# gen_funcs: 250001 empty functions, one over the compile limit of 250000 (each a C function for cc to chew on).
import sys; from wasmgen import *
n = 250001
write(sys.argv[1], HEADER + TYPE_VOID + section(3, vec([b"\x00"] * n)) + memory(1) +
      exports_start_memory(0) + section(10, vec([b"\x02\x00\x0b"] * n)))
