;; trap_table_oob: call_indirect through index 1000 of a two-entry table.
(module
  (memory (export "memory") 1)
  (type $v (func))
  (table 2 funcref)
  (func $f)
  (elem (i32.const 0) $f $f)
  (func (export "_start")
    (call_indirect (type $v) (i32.const 1000))))
