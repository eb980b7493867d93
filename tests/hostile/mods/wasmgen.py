# wasmgen.py: shared helpers for the generated modules (gen_*.py): LEB128, sections, and the minimal command module around them.
import struct, sys

def uleb(n):
    out = bytearray()
    while True:
        b = n & 0x7f
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)

def sleb(n):
    out = bytearray()
    while True:
        b = n & 0x7f
        n >>= 7
        done = (n == 0 and not b & 0x40) or (n == -1 and b & 0x40)
        out.append(b if done else b | 0x80)
        if done:
            return bytes(out)

def vec(items):
    return uleb(len(items)) + b"".join(items)

def section(sid, body):
    return bytes([sid]) + uleb(len(body)) + body

def name(s):
    return uleb(len(s)) + s.encode()

HEADER = b"\0asm\1\0\0\0"
TYPE_VOID = section(1, vec([b"\x60\x00\x00"]))                       # type 0: () -> ()

def memory(pages):
    return section(5, vec([b"\x00" + uleb(pages)]))

def exports_start_memory(func_index):
    return section(7, vec([name("_start") + b"\x00" + uleb(func_index),
                           name("memory") + b"\x02\x00"]))

def write(path, data):
    with open(path, "wb") as f:
        f.write(data)
