;; memgrow.wat - memory.grow within and past the declared maximum (memory 1 2); exits 10+N on the first failed check N.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1 2)
  (data (i32.const 16) "memgrow ok\n")
  ;; Exit with a status naming the check, so a failure says which one without any printing code.
  (func $check (param $ok i32) (param $n i32)
    (if (i32.eqz (local.get $ok)) (then (call $proc_exit (i32.add (i32.const 10) (local.get $n))))))
  (func (export "_start")
    ;; 1: growing to the maximum succeeds and returns the old size.
    (call $check (i32.eq (memory.grow (i32.const 1)) (i32.const 1)) (i32.const 1))
    ;; 2: the size really changed.
    (call $check (i32.eq (memory.size) (i32.const 2)) (i32.const 2))
    ;; 3: the new page starts zeroed.
    (call $check (i32.eqz (i32.load8_u (i32.const 65536))) (i32.const 3))
    ;; 4: its last byte is writable and reads back.
    (i32.store8 (i32.const 131071) (i32.const 0x77))
    (call $check (i32.eq (i32.load8_u (i32.const 131071)) (i32.const 0x77)) (i32.const 4))
    ;; 5: one more page would pass the maximum: -1, not a trap.
    (call $check (i32.eq (memory.grow (i32.const 1)) (i32.const -1)) (i32.const 5))
    ;; 6: a failed grow leaves the size alone.
    (call $check (i32.eq (memory.size) (i32.const 2)) (i32.const 6))
    ;; 7: growing by 0 reports the size.
    (call $check (i32.eq (memory.grow (i32.const 0)) (i32.const 2)) (i32.const 7))
    ;; 8: an absurd delta (0xffffffff pages) is -1, not an overflow.
    (call $check (i32.eq (memory.grow (i32.const -1)) (i32.const -1)) (i32.const 8))
    ;; 9: the data written before the failed grows is intact.
    (call $check (i32.eq (i32.load8_u (i32.const 131071)) (i32.const 0x77)) (i32.const 9))
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 11))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
)
