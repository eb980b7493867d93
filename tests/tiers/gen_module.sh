#!/usr/bin/env bash
# gen_module.sh N - print a WAGI module (text format) whose `bomb` export is N if-blocks over
# memory: tcc compiles any N in a blink, gcc -O2 takes seconds for N=1500 and over ten minutes for N=20000.
n=${1:?usage: gen_module.sh N}
echo '(module (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
 (memory (export "memory") 1)
 (data (i32.const 16) "Content-Type: text/plain\0a\0amodule ok\0a")
 (func (export "_start") (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 36))
   (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
 (func (export "bomb") (param $y i32) (result i32) (local $x i32)'
for i in $(seq 1 "$n"); do
  echo "(local.set \$x (i32.add (local.get \$x) (i32.load offset=$((i * 4 % 60000)) (local.get \$y))))(if (i32.eqz (local.get \$x)) (then (local.set \$y (i32.const $i))))"
done
echo '(local.get $x)))'
