# gen_elem_count: 10001 active element segments into a one-entry table, one over the limit of 10000.
import sys; from wasmgen import *
table = section(4, vec([b"\x70\x00\x01"]))
elems = [b"\x00\x41\x00\x0b" + vec([b"\x00"]) for _ in range(10001)]
write(sys.argv[1], HEADER + TYPE_VOID + section(3, vec([b"\x00"])) + table + memory(1) +
      exports_start_memory(0) + section(9, vec(elems)) + section(10, vec([b"\x02\x00\x0b"])))
