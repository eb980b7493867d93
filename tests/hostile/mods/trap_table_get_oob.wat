;; trap_table_get_oob: table.get and table.set past the end of a funcref table.
(module
  (memory (export "memory") 1)
  (table $t 2 funcref)
  (func (export "_start")
    (table.set $t (i32.const 1) (table.get $t (i32.const 0)))
    (drop (table.get $t (i32.const 2)))))
