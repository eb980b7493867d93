;; selftest.wast - wrong expectations that `kernless wast` must report (tests/spec/run.sh checks the counts).
;; Lines marked FAIL must fail; everything else must pass. Run with --timeout-ms 2000.
(module $m
  (memory 1)
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func $rec (export "rec") (call $rec))
  (func (export "nan") (result f32) (f32.const nan:0x600000))
  (func (export "spin") (loop (br 0)))
)
(assert_return (invoke "add" (i32.const 1) (i32.const 2)) (i32.const 3))
(assert_return (invoke "add" (i32.const 1) (i32.const 2)) (i32.const 4))             ;; FAIL
(assert_trap (invoke "div" (i32.const 1) (i32.const 0)) "integer divide by zero")
(assert_trap (invoke "div" (i32.const 1) (i32.const 0)) "integer overflow")          ;; FAIL
(assert_trap (invoke "load" (i32.const 65536)) "out of bounds memory access")
(assert_return (invoke "load" (i32.const 0)) (i32.const 0))
(assert_trap (invoke "add" (i32.const 1) (i32.const 2)) "unreachable")               ;; FAIL
(assert_exhaustion (invoke "rec") "call stack exhausted")
(assert_return (invoke "add" (i32.const 2) (i32.const 2)) (i32.const 4))
(assert_return (invoke "nan") (f32.const nan:canonical))                             ;; FAIL
(assert_return (invoke "nan") (f32.const nan:arithmetic))
(assert_invalid (module (func (result i32))) "type mismatch")
(assert_invalid (module (func (result i32) (i32.const 0))) "type mismatch")          ;; FAIL
(assert_unlinkable (module (import "nowhere" "f" (func))) "unknown import")
;; Faults while instantiating (through the guard pages) end only that instantiation.
(assert_trap
  (module (memory 1) (func $s (drop (i32.load (i32.const 70000)))) (start $s))
  "out of bounds memory access")
(assert_trap (module (func $s (call $s)) (start $s)) "call stack exhausted")
;; An imported memory's minimum is checked against its current size.
(module $grow (memory (export "mem") 1 5) (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))
(register "grow" $grow)
(assert_unlinkable (module (import "grow" "mem" (memory 2))) "incompatible import type")
(assert_return (invoke $grow "grow" (i32.const 1)) (i32.const 1))
(module (import "grow" "mem" (memory 2)))
(module $after (func (export "one") (result i32) (i32.const 1)))
(assert_return (invoke $after "one") (i32.const 1))
(invoke $m "spin")                                                                    ;; FAIL
(assert_return (invoke $after "one") (i32.const 1))                                  ;; FAIL
