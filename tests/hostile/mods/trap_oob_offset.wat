;; trap_oob_offset: address 0xffffffff plus a static offset of 0xffffffff, an effective address near 8 GiB.
(module
  (memory (export "memory") 1)
  (func (export "_start")
    (i64.store offset=0xffffffff (i32.const -1) (i64.const 42))))
