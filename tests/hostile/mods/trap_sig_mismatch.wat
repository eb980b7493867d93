;; trap_sig_mismatch: call_indirect with a type that differs from the callee's (i64 vs i32 parameter).
(module
  (memory (export "memory") 1)
  (type $ii (func (param i32) (result i32)))
  (type $li (func (param i64) (result i32)))
  (table 1 funcref)
  (func $f (type $ii) (local.get 0))
  (elem (i32.const 0) $f)
  (func (export "_start")
    (drop (call_indirect (type $li) (i64.const 1) (i32.const 0)))))
