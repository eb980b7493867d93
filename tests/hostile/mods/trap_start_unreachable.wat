;; trap_start_unreachable: the start function traps, so the module never gets to _start.
(module
  (memory (export "memory") 1)
  (func $boom unreachable)
  (start $boom)
  (func (export "_start")))
