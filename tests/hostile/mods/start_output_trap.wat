;; start_output_trap: the start function writes 3 MiB to stdout and 1 MiB to stderr, then traps; nothing of it may be served, or kept by the host.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 64)
  (func $start
    (memory.fill (i32.const 1024) (i32.const 0x53) (i32.const 3145728))
    (i32.store (i32.const 0) (i32.const 1024))
    (i32.store (i32.const 4) (i32.const 3145728))
    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (i32.store (i32.const 4) (i32.const 1048576))
    (drop (call $w (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8)))
    unreachable)
  (start $start)
  (func (export "_start")))
