;; wasi_no_memory: a module with no linear memory at all calls fd_write; it must get EFAULT (21), which it returns as its exit status.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (func (export "_start")
    (call $exit (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
