;; trap_div_zero: i32.div_s by a zero that only exists at run time.
(module
  (memory (export "memory") 1)
  (func (export "_start")
    (drop (i32.div_s (i32.const 7) (i32.load (i32.const 100))))))
