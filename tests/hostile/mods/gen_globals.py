# gen_globals: 100001 mutable i32 globals, one over the compile limit of 100000 (each a C variable).
import sys; from wasmgen import *
g = [b"\x7f\x01\x41" + sleb(i & 0x3f) + b"\x0b" for i in range(100001)]
write(sys.argv[1], HEADER + TYPE_VOID + section(3, vec([b"\x00"])) + memory(1) +
      section(6, vec(g)) + exports_start_memory(0) + section(10, vec([b"\x02\x00\x0b"])))
