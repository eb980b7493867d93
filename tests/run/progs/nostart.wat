;; nostart.wat - a valid module that exports no _start, so it is not a WASI command: must be rejected with one line.
(module
  (memory (export "memory") 1)
  (func (export "main") (result i32) (i32.const 0)))
