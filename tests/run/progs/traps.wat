;; traps.wat - one WASI command that performs the trap (or non-trap) named by argv[1]; prints "before" first and "after" if it survives.
;;
;; Each mode lives in its own function so the trap happens one call deep, and
;; "before" is printed first so the runtime is seen to flush output on a trap.
;; Operands come from immutable globals rather than literals where the point is
;; that the compiler must not fold the trap away. Memory is one 64 KiB page.
;; Scratch layout: 0 iovec, 8 nwritten, 16 argc, 20 argv buffer size,
;; 32..63 number formatting, 64..1023 argv pointers, 1024..4095 argv strings,
;; 4096.. the constant strings below.
(module
  (type $v_i (func (result i32)))
  (type $i_i (func (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (global $zero i32 (i32.const 0))
  (global $one i32 (i32.const 1))
  (global $seven i32 (i32.const 7))
  (global $minus1 i32 (i32.const -1))
  ;; Slot 0 is set, slot 1 stays null.
  (table 2 funcref)
  (elem (i32.const 0) $forty_two)
  (func $forty_two (type $v_i) (i32.const 42))

  (func $recurse (param $n i32) (result i32)
    (i32.add (call $recurse (i32.add (local.get $n) (i32.const 1))) (local.get $n)))

  (func $strlen (param $p i32) (result i32) (local $n i32)
    (block $done (loop $next
      (br_if $done (i32.eqz (i32.load8_u (i32.add (local.get $p) (local.get $n)))))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br $next)))
    (local.get $n))

  ;; Write the NUL-terminated string at $p to stdout.
  (func $puts (param $p i32)
    (i32.store (i32.const 0) (local.get $p))
    (i32.store (i32.const 4) (call $strlen (local.get $p)))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))

  ;; Print a signed decimal and a newline.
  (func $print_i32 (param $v i32) (local $p i32) (local $neg i32) (local $u i32)
    (local.set $p (i32.const 63))
    (i32.store8 (local.get $p) (i32.const 0))
    (local.set $p (i32.sub (local.get $p) (i32.const 1)))
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
    (call $puts (local.get $p)))

  ;; Is argv[1] equal to the NUL-terminated string at $s?
  (func $arg_is (param $s i32) (result i32) (local $a i32) (local $i i32) (local $c i32)
    (local.set $a (i32.load (i32.const 68)))
    (loop $next
      (local.set $c (i32.load8_u (i32.add (local.get $s) (local.get $i))))
      (if (i32.ne (local.get $c) (i32.load8_u (i32.add (local.get $a) (local.get $i))))
        (then (return (i32.const 0))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $next (local.get $c)))
    (i32.const 1))

  ;; unreachable: the unreachable instruction
  (func $m_unreachable (local $ptr i32)
    unreachable)
  ;; div0: i32.div_s by zero
  (func $m_div0 (local $ptr i32)
    (drop (i32.div_s (global.get $seven) (global.get $zero))))
  ;; rem0-u64: i64.rem_u by zero traps the same as division
  (func $m_rem0_u64 (local $ptr i32)
    (drop (i64.rem_u (i64.const 7) (i64.extend_i32_u (global.get $zero)))))
  ;; overflow: INT32_MIN / -1 does not fit in i32
  (func $m_overflow (local $ptr i32)
    (drop (i32.div_s (i32.const 0x80000000) (global.get $minus1))))
  ;; rem-ok: INT32_MIN % -1 is 0 and must NOT trap
  (func $m_rem_ok (local $ptr i32)
    (call $print_i32 (i32.rem_s (i32.const 0x80000000) (global.get $minus1))))
  ;; conv-nan: truncating NaN is an invalid conversion
  (func $m_conv_nan (local $ptr i32)
    (drop (i32.trunc_f64_s (f64.div (f64.const 0) (f64.convert_i32_s (global.get $zero))))))
  ;; conv-big: truncating 5e9 to u32 is out of range: integer overflow
  (func $m_conv_big (local $ptr i32)
    (drop (i32.trunc_f32_u (f32.mul (f32.const 5e9) (f32.convert_i32_s (global.get $one))))))
  ;; conv-neg: truncating -1.5 to u64 is out of range: integer overflow
  (func $m_conv_neg (local $ptr i32)
    (drop (i64.trunc_f64_u (f64.mul (f64.const -1.5) (f64.convert_i32_s (global.get $one))))))
  ;; sat-ok: the saturating forms never trap: NaN -> 0, 5e9 -> 0xffffffff
  (func $m_sat_ok (local $ptr i32)
    (call $print_i32 (i32.trunc_sat_f64_s (f64.div (f64.const 0) (f64.convert_i32_s (global.get $zero)))))
    (call $print_i32 (i32.trunc_sat_f32_u (f32.mul (f32.const 5e9) (f32.convert_i32_s (global.get $one))))))
  ;; indirect-ok: call_indirect of slot 0 with the right type returns 42
  (func $m_indirect_ok (local $ptr i32)
    (call $print_i32 (call_indirect (type $v_i) (global.get $zero))))
  ;; indirect-mismatch: slot 0 holds a () -> i32 function, called as (i32) -> i32
  (func $m_indirect_mismatch (local $ptr i32)
    (drop (call_indirect (type $i_i) (i32.const 5) (global.get $zero))))
  ;; indirect-undefined: slot 5 is past the end of the 2-entry table
  (func $m_indirect_undefined (local $ptr i32)
    (drop (call_indirect (type $v_i) (i32.add (global.get $one) (i32.const 4)))))
  ;; indirect-uninit: slot 1 is inside the table but was never initialised (null)
  (func $m_indirect_uninit (local $ptr i32)
    (drop (call_indirect (type $v_i) (global.get $one))))
  ;; stack: unbounded recursion whose result is used after each call
  (func $m_stack (local $ptr i32)
    (drop (call $recurse (i32.const 0))))
  ;; oob-last: a load of the LAST byte of memory succeeds (after storing to it)
  (func $m_oob_last (local $ptr i32)
    (local.set $ptr (i32.sub (i32.mul (memory.size) (i32.const 65536)) (i32.const 1)))
    (i32.store8 (local.get $ptr) (i32.const 0x5a))
    (call $print_i32 (i32.load8_u (local.get $ptr))))
  ;; oob-last-word: a 4-byte load ending exactly at the end of memory succeeds
  (func $m_oob_last_word (local $ptr i32)
    (local.set $ptr (i32.sub (i32.mul (memory.size) (i32.const 65536)) (i32.const 4)))
    (i32.store (local.get $ptr) (i32.const 0x01020304))
    (call $print_i32 (i32.load (local.get $ptr))))
  ;; oob-past: a 1-byte load just past the end of memory traps
  (func $m_oob_past (local $ptr i32)
    (drop (i32.load8_u (i32.mul (memory.size) (i32.const 65536)))))
  ;; oob-straddle: a 4-byte load whose last byte is past the end traps (no partial read)
  (func $m_oob_straddle (local $ptr i32)
    (drop (i32.load (i32.sub (i32.mul (memory.size) (i32.const 65536)) (i32.const 3)))))
  ;; oob-store: a store just past the end traps too
  (func $m_oob_store (local $ptr i32)
    (i32.store8 (i32.mul (memory.size) (i32.const 65536)) (i32.const 1)))
  ;; oob-offset: address + offset past the end traps even though the address alone is in bounds
  (func $m_oob_offset (local $ptr i32)
    (drop (i32.load8_u offset=65536 (global.get $zero))))
  ;; oob-far: effective address 0xffffffff + 0xffffffff (33 bits) must trap, not wrap
  (func $m_oob_far (local $ptr i32)
    (drop (i32.load offset=0xffffffff (global.get $minus1))))
  ;; oob-neg: address -1 is 0xffffffff, far past the end
  (func $m_oob_neg (local $ptr i32)
    (drop (i64.load (global.get $minus1))))
  ;; oob-grown: after memory.grow the new last byte is readable and one past it traps
  (func $m_oob_grown (local $ptr i32)
    (call $print_i32 (memory.grow (i32.const 1)))
    (local.set $ptr (i32.sub (i32.mul (memory.size) (i32.const 65536)) (i32.const 1)))
    (call $print_i32 (i32.load8_u (local.get $ptr)))
    (drop (i32.load8_u (i32.add (local.get $ptr) (i32.const 1)))))
  ;; oob-fill: memory.fill that runs one byte past the end traps
  (func $m_oob_fill (local $ptr i32)
    (memory.fill (i32.sub (i32.mul (memory.size) (i32.const 65536)) (i32.const 10)) (i32.const 0) (i32.const 11)))

  (func $dispatch
    (if (call $arg_is (i32.const 4144)) (then (call $m_unreachable) (call $puts (i32.const 4137)) (return)))
    (if (call $arg_is (i32.const 4156)) (then (call $m_div0) (call $puts (i32.const 4137)) (return)))
    (if (call $arg_is (i32.const 4161)) (then (call $m_rem0_u64) (call $puts (i32.const 4137)) (return)))
    (if (call $arg_is (i32.const 4170)) (then (call $m_overflow) (call $puts (i32.const 4137)) (return)))
    (if (call $arg_is (i32.const 4179)) (then (call $m_rem_ok) (call $puts (i32.const 4137)) (return)))
    (if (call $arg_is (i32.const 4186)) (then (call $m_conv_nan) (call $puts (i32.const 4137)) (return)))
    (if (call $arg_is (i32.const 4195)) (then (call $m_conv_big) (call $puts (i32.const 4137)) (return)))
    (if (call $arg_is (i32.const 4204)) (then (call $m_conv_neg) (call $puts (i32.const 4137)) (return)))
    (if (call $arg_is (i32.const 4213)) (then (call $m_sat_ok) (call $puts (i32.const 4137)) (return)))
    (if (call $arg_is (i32.const 4220)) (then (call $m_indirect_ok) (call $puts (i32.const 4137)) (return)))
    (if (call $arg_is (i32.const 4232)) (then (call $m_indirect_mismatch) (call $puts (i32.const 4137)) (return)))
    (if (call $arg_is (i32.const 4250)) (then (call $m_indirect_undefined) (call $puts (i32.const 4137)) (return)))
    (if (call $arg_is (i32.const 4269)) (then (call $m_indirect_uninit) (call $puts (i32.const 4137)) (return)))
    (if (call $arg_is (i32.const 4285)) (then (call $m_stack) (call $puts (i32.const 4137)) (return)))
    (if (call $arg_is (i32.const 4291)) (then (call $m_oob_last) (call $puts (i32.const 4137)) (return)))
    (if (call $arg_is (i32.const 4300)) (then (call $m_oob_last_word) (call $puts (i32.const 4137)) (return)))
    (if (call $arg_is (i32.const 4314)) (then (call $m_oob_past) (call $puts (i32.const 4137)) (return)))
    (if (call $arg_is (i32.const 4323)) (then (call $m_oob_straddle) (call $puts (i32.const 4137)) (return)))
    (if (call $arg_is (i32.const 4336)) (then (call $m_oob_store) (call $puts (i32.const 4137)) (return)))
    (if (call $arg_is (i32.const 4346)) (then (call $m_oob_offset) (call $puts (i32.const 4137)) (return)))
    (if (call $arg_is (i32.const 4357)) (then (call $m_oob_far) (call $puts (i32.const 4137)) (return)))
    (if (call $arg_is (i32.const 4365)) (then (call $m_oob_neg) (call $puts (i32.const 4137)) (return)))
    (if (call $arg_is (i32.const 4373)) (then (call $m_oob_grown) (call $puts (i32.const 4137)) (return)))
    (if (call $arg_is (i32.const 4383)) (then (call $m_oob_fill) (call $puts (i32.const 4137)) (return)))
    (call $puts (i32.const 4104))
    (call $proc_exit (i32.const 2)))

  (func (export "_start")
    (drop (call $args_sizes_get (i32.const 16) (i32.const 20)))
    ;; Refuse argument lists that would not fit the fixed scratch areas.
    (if (i32.or (i32.lt_u (i32.load (i32.const 16)) (i32.const 2))
                (i32.or (i32.gt_u (i32.load (i32.const 16)) (i32.const 200))
                        (i32.gt_u (i32.load (i32.const 20)) (i32.const 3000))))
      (then (call $puts (i32.const 4118)) (call $proc_exit (i32.const 2))))
    (drop (call $args_get (i32.const 64) (i32.const 1024)))
    (call $puts (i32.const 4096))
    (call $dispatch))

  (data (i32.const 4096) "before\n\00")
  (data (i32.const 4104) "unknown mode\n\00")
  (data (i32.const 4118) "usage: traps MODE\n\00")
  (data (i32.const 4137) "after\n\00")
  (data (i32.const 4144) "unreachable\00")
  (data (i32.const 4156) "div0\00")
  (data (i32.const 4161) "rem0-u64\00")
  (data (i32.const 4170) "overflow\00")
  (data (i32.const 4179) "rem-ok\00")
  (data (i32.const 4186) "conv-nan\00")
  (data (i32.const 4195) "conv-big\00")
  (data (i32.const 4204) "conv-neg\00")
  (data (i32.const 4213) "sat-ok\00")
  (data (i32.const 4220) "indirect-ok\00")
  (data (i32.const 4232) "indirect-mismatch\00")
  (data (i32.const 4250) "indirect-undefined\00")
  (data (i32.const 4269) "indirect-uninit\00")
  (data (i32.const 4285) "stack\00")
  (data (i32.const 4291) "oob-last\00")
  (data (i32.const 4300) "oob-last-word\00")
  (data (i32.const 4314) "oob-past\00")
  (data (i32.const 4323) "oob-straddle\00")
  (data (i32.const 4336) "oob-store\00")
  (data (i32.const 4346) "oob-offset\00")
  (data (i32.const 4357) "oob-far\00")
  (data (i32.const 4365) "oob-neg\00")
  (data (i32.const 4373) "oob-grown\00")
  (data (i32.const 4383) "oob-fill\00")
)
