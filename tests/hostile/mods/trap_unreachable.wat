;; trap_unreachable: executes the unreachable instruction.
(module
  (memory (export "memory") 1)
  (func (export "_start") unreachable))
