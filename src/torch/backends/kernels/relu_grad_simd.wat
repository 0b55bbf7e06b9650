;; ReLU's gradient as one pass on the WASM backend's heap (imported memory): dx = dy where x > 0,
;; NaN where x is NaN, dy·0 elsewhere — the values of tfjs's chain dy · cast(step(x)) (step
;; passes NaN on; a zero keeps dy's sign; an infinite dy against x ≤ 0 gives NaN), without its
;; three kernels and two intermediate tensors. Pointers are byte addresses. Compiled by scripts/build_wasm.mjs into
;; relu_grad_simd_wasm.ts.
(module
  (import "env" "memory" (memory 0))
  (func (export "reluGrad") (param $x i32) (param $dy i32) (param $dx i32) (param $n i32)
    (local $i i32) (local $end i32) (local $g v128) (local $xs v128) (local $v f32) (local $a f32)
    (local.set $end (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $g (v128.load (i32.add (local.get $dy) (local.get $i))))
      (local.set $xs (v128.load (i32.add (local.get $x) (local.get $i))))
      (v128.store (i32.add (local.get $dx) (local.get $i))
        (v128.bitselect (local.get $xs)
          (v128.bitselect (local.get $g) (f32x4.mul (local.get $g) (v128.const f32x4 0 0 0 0))
            (f32x4.gt (local.get $xs) (v128.const f32x4 0 0 0 0)))
          (f32x4.ne (local.get $xs) (local.get $xs))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $next)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $doneT (loop $nextT
      (br_if $doneT (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $v (f32.load (i32.add (local.get $dy) (local.get $i))))
      (local.set $a (f32.load (i32.add (local.get $x) (local.get $i))))
      (f32.store (i32.add (local.get $dx) (local.get $i))
        (select (local.get $a)
          (select (local.get $v) (f32.mul (local.get $v) (f32.const 0)) (f32.gt (local.get $a) (f32.const 0)))
          (f32.ne (local.get $a) (local.get $a))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $nextT))))
)
