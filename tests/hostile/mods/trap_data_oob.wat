;; trap_data_oob: an active data segment that ends past its one-page memory (instantiation must trap).
(module
  (memory (export "memory") 1 1)
  (data (i32.const 65530) "0123456789abcdef")
  (func (export "_start")))
