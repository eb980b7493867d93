;; import_env.wat - imports env.foo, which is not WASI: must be rejected with one line.
(module
  (import "env" "foo" (func $foo (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start") (drop (call $foo (i32.const 1)))))
