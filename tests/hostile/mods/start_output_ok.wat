;; start_output_ok: the start function logs 1 MiB to stderr (which must work: errno 0) and returns; the snapshot is taken after it and requests are served normally.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 32)
  (data (i32.const 64) "Content-Type: text/plain\n\nstarted fine\n")
  (func $start
    (memory.fill (i32.const 1024) (i32.const 0x0a) (i32.const 1048576))
    (i32.store (i32.const 0) (i32.const 1024))
    (i32.store (i32.const 4) (i32.const 1048576))
    (i32.store (i32.const 32) (call $w (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8))))
  (start $start)
  (func (export "_start")
    ;; the start function's fd_write succeeded
    (if (i32.ne (i32.load (i32.const 32)) (i32.const 0)) (then unreachable))
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const 39))
    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
