;; refuse_table_over: a table of 1000001 entries, one over the compile limit (16 MB of runtime heap each time).
(module
  (memory (export "memory") 1)
  (table 1000001 funcref)
  (func (export "_start")))
