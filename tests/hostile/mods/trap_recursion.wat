;; trap_recursion: unbounded direct recursion until the stack guard.
(module
  (memory (export "memory") 1)
  (func $r (param i32) (result i32)
    (i32.add (call $r (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
  (func (export "_start")
    (drop (call $r (i32.const 0)))))
