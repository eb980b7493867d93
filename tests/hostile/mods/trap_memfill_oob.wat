;; trap_memfill_oob: memory.fill and memory.copy ranges that end past memory (the explicit range-check path).
(module
  (memory (export "memory") 1)
  (func (export "_start")
    (memory.copy (i32.const 0) (i32.const 100) (i32.const 16))
    (memory.fill (i32.const 65000) (i32.const 255) (i32.const 0x7fffffff))))
