;; growlimit.wat - a memory with no declared maximum: prints what memory.grow returns so --max-memory-mb can be checked.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; Print a signed decimal and a newline (digits built backwards below offset 64).
  (func $print_i32 (param $v i32) (local $p i32) (local $neg i32) (local $u i32)
    (local.set $p (i32.const 63))
    (i32.store8 (local.get $p) (i32.const 10))
    (local.set $neg (i32.lt_s (local.get $v) (i32.const 0)))
    (local.set $u (select (i32.sub (i32.const 0) (local.get $v)) (local.get $v) (local.get $neg)))
    (loop $digit
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 (local.get $p) (i32.add (i32.const 48) (i32.rem_u (local.get $u) (i32.const 10))))
      (local.set $u (i32.div_u (local.get $u) (i32.const 10)))
      (br_if $digit (local.get $u)))
    (if (local.get $neg) (then
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 (local.get $p) (i32.const 45))))
    (i32.store (i32.const 0) (local.get $p))
    (i32.store (i32.const 4) (i32.sub (i32.const 64) (local.get $p)))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func (export "_start")
    ;; To 32 pages = 2 MiB: allowed even under --max-memory-mb 2.
    (call $print_i32 (memory.grow (i32.const 31)))
    ;; Page 33 is past 2 MiB.
    (call $print_i32 (memory.grow (i32.const 1)))
    (call $print_i32 (memory.size))
    ;; Past the 4 GiB wasm32 limit whatever the flags: always -1.
    (call $print_i32 (memory.grow (i32.const 65536)))
    ;; The last page below the current end must still be usable.
    (i32.store8 (i32.sub (i32.mul (memory.size) (i32.const 65536)) (i32.const 1)) (i32.const 9))
    (call $print_i32 (i32.load8_u (i32.sub (i32.mul (memory.size) (i32.const 65536)) (i32.const 1)))))
)
