;; reinterpret.wat - float bit-casts (reinterpret) and NaN-quieting ops, no memory.copy/fill and no data: issue 22's memcpy test.
;; Exits 0 when every bit-cast gives the right bits, traps otherwise.
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func $bits64 (param f64) (result i64) (i64.reinterpret_f64 (local.get 0)))
  (func $from64 (param i64) (result f64) (f64.reinterpret_i64 (local.get 0)))
  (func $bits32 (param f32) (result i32) (i32.reinterpret_f32 (local.get 0)))
  (func $from32 (param i32) (result f32) (f32.reinterpret_i32 (local.get 0)))
  (func $check (param i32)
    (if (i32.eqz (local.get 0)) (then unreachable)))
  (func (export "_start")
    (call $check (i64.eq (call $bits64 (f64.const 1.0)) (i64.const 0x3ff0000000000000)))
    (call $check (f64.eq (call $from64 (i64.const 0xc000000000000000)) (f64.const -2.0)))
    (call $check (i32.eq (call $bits32 (f32.const 1.5)) (i32.const 0x3fc00000)))
    (call $check (f32.eq (call $from32 (i32.const 0x40400000)) (f32.const 3.0)))
    ;; Arithmetic NaNs go through wasm2c's NaN quieting; the result must stay a NaN.
    (call $check (f64.ne (f64.sqrt (call $from64 (i64.const 0xfff0000000000001)))
                         (f64.sqrt (call $from64 (i64.const 0xfff0000000000001)))))
    (call $check (f32.ne (f32.floor (call $from32 (i32.const 0x7f800001)))
                         (f32.floor (call $from32 (i32.const 0x7f800001)))))
    (call $exit (i32.const 0))))
