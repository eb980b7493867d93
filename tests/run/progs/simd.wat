;; simd.wat - uses v128 and i32x4.add, which Kernless does not support: must be rejected with one line.
(module
  (memory (export "memory") 1)
  (func (export "_start")
    (drop (i32x4.extract_lane 0
      (i32x4.add (v128.const i32x4 1 2 3 4) (v128.const i32x4 1 1 1 1))))))
