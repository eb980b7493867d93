;; loop_busy: an endless loop with no calls in _start; only the timeout can stop it.
(module
  (memory (export "memory") 1)
  (func (export "_start")
    (loop $l (br $l))))
