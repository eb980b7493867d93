# gen_huge_module: a 65 MiB passive data segment, making the module bigger than the 64 MiB module (and upload) limit.
import sys; from wasmgen import *
data = section(11, vec([b"\x01" + uleb(65 << 20) + bytes(65 << 20)]))
write(sys.argv[1], HEADER + TYPE_VOID + section(3, vec([b"\x00"])) + memory(1) +
      exports_start_memory(0) + section(12, uleb(1)) + section(10, vec([b"\x02\x00\x0b"])) + data)
