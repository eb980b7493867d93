;; trap_rem_zero: i64.rem_u by zero (the remainder path traps like division).
(module
  (memory (export "memory") 1)
  (func (export "_start")
    (drop (i64.rem_u (i64.const 7) (i64.load (i32.const 64))))))
