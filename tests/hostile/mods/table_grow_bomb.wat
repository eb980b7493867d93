;; table_grow_bomb: table.grow by huge deltas, then one entry at a time until the runtime refuses (-1), then reports.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (table $t 1 funcref)
  (data (i32.const 16) "Content-Type: text/plain\n\ntable.grow refused\n")
  (func (export "_start")
    (local $n i32)
    ;; deltas no table may reach: must fail without growing
    (if (i32.ne (table.grow $t (ref.null func) (i32.const -1)) (i32.const -1)) (then unreachable))
    (if (i32.ne (table.grow $t (ref.null func) (i32.const 0x10000000)) (i32.const -1)) (then unreachable))
    (if (i32.ne (table.size $t) (i32.const 1)) (then unreachable))
    ;; then grow in steps of 64k until refused
    (block $done
      (loop $l
        (br_if $done (i32.eq (table.grow $t (ref.null func) (i32.const 65536)) (i32.const -1)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br_if $done (i32.gt_u (local.get $n) (i32.const 10000)))
        (br $l)))
    ;; refused long before 10000 steps (655M entries)
    (if (i32.gt_u (local.get $n) (i32.const 10000)) (then unreachable))
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 45))
    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
