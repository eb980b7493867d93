;; state.wat - WAGI: reports whether its mutable global and table slot still hold what an earlier request set, then sets both.
;; Answers "global=G table=T set=S": G and T must be 0 in every request (a
;; fresh instance), S is 1 when this request reads back what it set (the
;; positive control: the check can see a set global and table slot).
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (global $g (mut i64) (i64.const 0))
  (table $t 4 funcref)
  (func $f)
  (elem declare func $f)
  (data (i32.const 64) "Content-Type: text/plain\n\nglobal=? table=? set=?\n")
  (func $flag (param $at i32) (param $set i32)
    (i32.store8 (local.get $at) (select (i32.const 49) (i32.const 48) (local.get $set))))
  (func (export "_start")
    (call $flag (i32.const 97) (i64.ne (global.get $g) (i64.const 0)))
    (call $flag (i32.const 105) (i32.eqz (ref.is_null (table.get $t (i32.const 1)))))
    (global.set $g (i64.const 0x5ec2e7))
    (table.set $t (i32.const 1) (ref.func $f))
    (call $flag (i32.const 111) (i32.and (i64.ne (global.get $g) (i64.const 0))
                                      (i32.eqz (ref.is_null (table.get $t (i32.const 1))))))
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const 49))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
