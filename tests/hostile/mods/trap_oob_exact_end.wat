;; trap_oob_exact_end: a one-byte store at exactly the memory size, after a load of the last byte succeeded.
(module
  (memory (export "memory") 2 2)
  (func (export "_start")
    (i32.store8 (i32.const 131071) (i32.const 1))
    (i32.store8 (i32.mul (memory.size) (i32.const 65536)) (i32.const 1))
    (drop (memory.size))))
