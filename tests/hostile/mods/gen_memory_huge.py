# gen_memory_huge: a 32-bit memory of 65537 initial pages (over 4 GiB), which no valid module may declare.
import sys; from wasmgen import *
write(sys.argv[1], HEADER + TYPE_VOID + section(3, vec([b"\x00"])) + memory(65537) +
      exports_start_memory(0) + section(10, vec([b"\x02\x00\x0b"])))
