;; loop_start: a start function that never returns, so instantiation itself must be cut off by the timeout.
(module
  (memory (export "memory") 1)
  (global $g (mut i32) (i32.const 0))
  (func $spin
    (loop $l
      (global.set $g (i32.add (global.get $g) (i32.const 1)))
      (br $l)))
  (start $spin)
  (func (export "_start")))
