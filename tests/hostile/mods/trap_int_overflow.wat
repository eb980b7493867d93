;; trap_int_overflow: INT_MIN / -1 with i32.div_s, which x86 idiv would fault on.
(module
  (memory (export "memory") 1)
  (data (i32.const 0) "\00\00\00\80\ff\ff\ff\ff")
  (func (export "_start")
    (drop (i32.div_s (i32.load (i32.const 0)) (i32.load (i32.const 4))))))
