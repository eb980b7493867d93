;; mem_initial_over: declares 512 initial pages (32 MiB), over the function's 16 MiB memory cap.
(module
  (memory (export "memory") 512)
  (func (export "_start")))
