;; import_badsig.wat - imports the real fd_write with the wrong signature: must be rejected with one line, not a C compiler error dump.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i64) (result f32)))
  (memory (export "memory") 1)
  (func (export "_start") (drop (call $fd_write (i64.const 1)))))
