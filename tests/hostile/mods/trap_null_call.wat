;; trap_null_call: call_indirect of a table slot no element segment filled.
(module
  (memory (export "memory") 1)
  (type $v (func))
  (table 4 funcref)
  (func $f)
  (elem (i32.const 0) $f)
  (func (export "_start")
    (call_indirect (type $v) (i32.const 3))))
