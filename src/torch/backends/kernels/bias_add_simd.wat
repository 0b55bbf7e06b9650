;; A bias added in place to each row of a float32 [m, n] matrix: y[i, j] += b[j] — nn.Linear's
;; bias after its product (linear.ts). Each sum is the one float32 addition tfjs's Add makes, four
;; lanes at a time. Pointers are byte addresses on the WASM backend's heap (imported memory).
;; Compiled by scripts/build_wasm.mjs into bias_add_simd_wasm.ts.
(module
  (import "env" "memory" (memory 0))
  (func (export "biasAdd") (param $y i32) (param $b i32) (param $m i32) (param $n i32)
    (local $row i32) (local $j i32) (local $end4 i32) (local $end i32) (local $p i32)
    (local.set $end4 (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $doneR (loop $nextR
      (br_if $doneR (i32.ge_u (local.get $row) (local.get $m)))
      (local.set $j (i32.const 0))
      (block $done4 (loop $next4
        (br_if $done4 (i32.ge_u (local.get $j) (local.get $end4)))
        (local.set $p (i32.add (local.get $y) (local.get $j)))
        (v128.store (local.get $p)
          (f32x4.add (v128.load (local.get $p)) (v128.load (i32.add (local.get $b) (local.get $j)))))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $next4)))
      (block $done1 (loop $next1
        (br_if $done1 (i32.ge_u (local.get $j) (local.get $end)))
        (local.set $p (i32.add (local.get $y) (local.get $j)))
        (f32.store (local.get $p)
          (f32.add (f32.load (local.get $p)) (f32.load (i32.add (local.get $b) (local.get $j)))))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $next1)))
      (local.set $y (i32.add (local.get $y) (local.get $end)))
      (local.set $row (i32.add (local.get $row) (i32.const 1)))
      (br $nextR)))
  )
)
