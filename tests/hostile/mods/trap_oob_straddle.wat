;; trap_oob_straddle: an i32.load at 65533 in a one-page memory, three bytes in and one past the end.
(module
  (memory (export "memory") 1 1)
  (func (export "_start")
    (drop (i32.load8_u (i32.const 65535)))
    (drop (i32.load (i32.const 65533)))))
