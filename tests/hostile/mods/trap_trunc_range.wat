;; trap_trunc_range: i64.trunc_f64_u of 1e30, a finite value no i64 can hold.
(module
  (memory (export "memory") 1)
  (func (export "_start")
    (f64.store (i32.const 8) (f64.const 1e30))
    (drop (i64.trunc_f64_u (f64.load (i32.const 8))))))
