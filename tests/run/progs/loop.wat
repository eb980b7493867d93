;; loop.wat - an empty infinite loop: no calls, no memory traffic, so only a wall-clock timeout can stop it.
(module
  (memory (export "memory") 1)
  (func (export "_start") (loop $forever (br $forever))))
