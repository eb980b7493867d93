;; import_badwasi.wat - imports a function that does not exist in wasi_snapshot_preview1: must be rejected with one line.
(module
  (import "wasi_snapshot_preview1" "fd_frobnicate" (func $f (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start") (drop (call $f (i32.const 1)))))
