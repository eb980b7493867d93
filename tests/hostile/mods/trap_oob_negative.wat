;; trap_oob_negative: a load from address -4 (0xfffffffc), which must not wrap to low memory.
(module
  (memory (export "memory") 1)
  (func (export "_start")
    (drop (i32.load (i32.const -4)))))
