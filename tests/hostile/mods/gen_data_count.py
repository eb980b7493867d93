# gen_data_count: 50001 one-byte active data segments, one over the compile limit of 50000 (each is a C array).
import sys; from wasmgen import *
n = 50001
segs = [b"\x00\x41" + sleb(i % 60000) + b"\x0b\x01" + bytes([i & 0xff]) for i in range(n)]
write(sys.argv[1], HEADER + TYPE_VOID + section(3, vec([b"\x00"])) + memory(1) +
      exports_start_memory(0) + section(10, vec([b"\x02\x00\x0b"])) + section(11, vec(segs)))
