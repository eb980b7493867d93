;; mem_oob_after_grow: grows memory one page at a time to the limit, then stores one byte past the new end.
(module
  (memory (export "memory") 1)
  (func (export "_start")
    (block $done
      (loop $l
        (br_if $done (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
        (br $l)))
    ;; the last byte of the grown memory is writable...
    (i32.store8 (i32.sub (i32.mul (memory.size) (i32.const 65536)) (i32.const 1)) (i32.const 7))
    ;; ...the next one is not
    (i32.store8 (i32.mul (memory.size) (i32.const 65536)) (i32.const 7))))
