# gen_locals: one function declaring 20001 i64 locals in a single group, one over the limit of 20000 per function.
import sys; from wasmgen import *
body = vec([uleb(20001) + b"\x7e"]) + b"\x0b"
write(sys.argv[1], HEADER + TYPE_VOID + section(3, vec([b"\x00"])) + memory(1) +
      exports_start_memory(0) + section(10, vec([uleb(len(body)) + body])))
