;; Sum over the leading and trailing axes of a float32 tensor viewed as [A, B, C], keeping the
;; middle one: dst[b] = Σ_a Σ_c src[a, b, c] — a convolution's bias gradient (NCHW: A = N,
;; B = channels, C = H·W) or a linear layer's (A = batch, B = features, C = 1). tfjs transposes
;; such a tensor to put the reduced axes last, then sums in float32. Here every value is added in
;; float64 (two or four partial sums per run of c, then in order of a), which is exact far below
;; float32's rounding for any tensor that fits in memory, and each sum is rounded to float32 once.
;; `acc` is B float64s of scratch (8-byte aligned). Pointers are byte addresses on the WASM
;; backend's heap (imported memory). Compiled by scripts/build_wasm.mjs into sum_simd_wasm.ts.
(module
  (import "env" "memory" (memory 0))
  (func (export "sumOuterInner")
    (param $src i32) (param $dst i32) (param $acc i32) (param $a i32) (param $b i32) (param $c i32)
    (local $i i32) (local $j i32) (local $k i32) (local $p i32) (local $c4 i32)
    (local $lo v128) (local $hi v128) (local $v v128) (local $run f64)
    (local.set $j (i32.const 0))
    (block $doneZ (loop $nextZ
      (br_if $doneZ (i32.ge_u (local.get $j) (local.get $b)))
      (f64.store (i32.add (local.get $acc) (i32.shl (local.get $j) (i32.const 3))) (f64.const 0))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $nextZ)))
    (local.set $c4 (i32.and (local.get $c) (i32.const -4)))
    (local.set $p (local.get $src))
    (local.set $i (i32.const 0))
    (block $doneA (loop $nextA
      (br_if $doneA (i32.ge_u (local.get $i) (local.get $a)))
      (if (i32.eq (local.get $c) (i32.const 1))
        (then
          ;; one value per b: two b at a time
          (local.set $j (i32.const 0))
          (block $doneB2 (loop $nextB2
            (br_if $doneB2 (i32.gt_u (i32.add (local.get $j) (i32.const 2)) (local.get $b)))
            (v128.store (i32.add (local.get $acc) (i32.shl (local.get $j) (i32.const 3)))
              (f64x2.add (v128.load (i32.add (local.get $acc) (i32.shl (local.get $j) (i32.const 3))))
                (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $p)))))
            (local.set $p (i32.add (local.get $p) (i32.const 8)))
            (local.set $j (i32.add (local.get $j) (i32.const 2)))
            (br $nextB2)))
          (if (i32.lt_u (local.get $j) (local.get $b))
            (then
              (f64.store (i32.add (local.get $acc) (i32.shl (local.get $j) (i32.const 3)))
                (f64.add (f64.load (i32.add (local.get $acc) (i32.shl (local.get $j) (i32.const 3))))
                  (f64.promote_f32 (f32.load (local.get $p)))))
              (local.set $p (i32.add (local.get $p) (i32.const 4))))))
        (else
          ;; a run of C values per b: two float64 lanes per half of a SIMD load
          (local.set $j (i32.const 0))
          (block $doneB (loop $nextB
            (br_if $doneB (i32.ge_u (local.get $j) (local.get $b)))
            (local.set $lo (v128.const f64x2 0 0))
            (local.set $hi (v128.const f64x2 0 0))
            (local.set $k (i32.const 0))
            (block $doneK (loop $nextK
              (br_if $doneK (i32.ge_u (local.get $k) (local.get $c4)))
              (local.set $v (v128.load (local.get $p)))
              (local.set $lo (f64x2.add (local.get $lo) (f64x2.promote_low_f32x4 (local.get $v))))
              (local.set $hi (f64x2.add (local.get $hi)
                (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))))
              (local.set $p (i32.add (local.get $p) (i32.const 16)))
              (local.set $k (i32.add (local.get $k) (i32.const 4)))
              (br $nextK)))
            (local.set $lo (f64x2.add (local.get $lo) (local.get $hi)))
            (local.set $run (f64.add (f64x2.extract_lane 0 (local.get $lo)) (f64x2.extract_lane 1 (local.get $lo))))
            (block $doneT (loop $nextT
              (br_if $doneT (i32.ge_u (local.get $k) (local.get $c)))
              (local.set $run (f64.add (local.get $run) (f64.promote_f32 (f32.load (local.get $p)))))
              (local.set $p (i32.add (local.get $p) (i32.const 4)))
              (local.set $k (i32.add (local.get $k) (i32.const 1)))
              (br $nextT)))
            (f64.store (i32.add (local.get $acc) (i32.shl (local.get $j) (i32.const 3)))
              (f64.add (f64.load (i32.add (local.get $acc) (i32.shl (local.get $j) (i32.const 3)))) (local.get $run)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $nextB)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $nextA)))
    (local.set $j (i32.const 0))
    (block $doneW (loop $nextW
      (br_if $doneW (i32.ge_u (local.get $j) (local.get $b)))
      (f32.store (i32.add (local.get $dst) (i32.shl (local.get $j) (i32.const 2)))
        (f32.demote_f64 (f64.load (i32.add (local.get $acc) (i32.shl (local.get $j) (i32.const 3))))))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $nextW))))
)
