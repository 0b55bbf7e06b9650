;; The all-reduce's arithmetic on float32 runs, four lanes at a time: `add` (dst[i] = src[i] +
;; dst[i], the sum each ring step makes) and `divide` (dst[i] = dst[i] / d, a mean's last step).
;; Each lane is the one float32 operation the JavaScript loops make, so the results are the same
;; bits; JavaScript's loops over a Float32Array take ~3 ns per element, these well under one.
;; Pointers are byte addresses in the imported memory. Compiled by scripts/build_wasm.mjs into
;; reduce_simd_wasm.ts.
(module
  (import "env" "memory" (memory 0))
  (func (export "add") (param $dst i32) (param $src i32) (param $n i32)
    (local $i i32) (local $end4 i32) (local $end i32) (local $p i32)
    (local.set $end4 (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $done4 (loop $next4
      (br_if $done4 (i32.ge_u (local.get $i) (local.get $end4)))
      (local.set $p (i32.add (local.get $dst) (local.get $i)))
      (v128.store (local.get $p)
        (f32x4.add (v128.load (i32.add (local.get $src) (local.get $i))) (v128.load (local.get $p))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $next4)))
    (block $done1 (loop $next1
      (br_if $done1 (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $p (i32.add (local.get $dst) (local.get $i)))
      (f32.store (local.get $p)
        (f32.add (f32.load (i32.add (local.get $src) (local.get $i))) (f32.load (local.get $p))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $next1))))
  (func (export "divide") (param $dst i32) (param $n i32) (param $d f32)
    (local $i i32) (local $end4 i32) (local $end i32) (local $p i32) (local $dv v128)
    (local.set $dv (f32x4.splat (local.get $d)))
    (local.set $end4 (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $done4 (loop $next4
      (br_if $done4 (i32.ge_u (local.get $i) (local.get $end4)))
      (local.set $p (i32.add (local.get $dst) (local.get $i)))
      (v128.store (local.get $p) (f32x4.div (v128.load (local.get $p)) (local.get $dv)))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $next4)))
    (block $done1 (loop $next1
      (br_if $done1 (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $p (i32.add (local.get $dst) (local.get $i)))
      (f32.store (local.get $p) (f32.div (f32.load (local.get $p)) (local.get $d)))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $next1))))
)
