;; trap_int_overflow64: INT64_MIN / -1 with i64.div_s.
(module
  (memory (export "memory") 1)
  (data (i32.const 0) "\00\00\00\00\00\00\00\80\ff\ff\ff\ff\ff\ff\ff\ff")
  (func (export "_start")
    (drop (i64.div_s (i64.load (i32.const 0)) (i64.load (i32.const 8))))))
