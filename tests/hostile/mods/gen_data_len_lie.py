# gen_data_len_lie: a data segment that claims to be 1 GiB long in a module of a few dozen bytes (a reader must not trust it).
import sys; from wasmgen import *
seg = b"\x00\x41\x00\x0b" + uleb(1 << 30) + b"only ten!!"
data = bytes([11]) + uleb(len(seg) + 1) + b"\x01" + seg
write(sys.argv[1], HEADER + TYPE_VOID + section(3, vec([b"\x00"])) + memory(1) +
      exports_start_memory(0) + section(10, vec([b"\x02\x00\x0b"])) + data)
