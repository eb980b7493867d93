;; trap_start_recursion: the start function recurses without end during instantiation.
(module
  (memory (export "memory") 1)
  (func $r (param i32) (result i32)
    (i32.add (call $r (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
  (func $s (drop (call $r (i32.const 0))))
  (start $s)
  (func (export "_start")))
