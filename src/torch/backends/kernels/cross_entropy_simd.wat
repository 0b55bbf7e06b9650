;; Cross-entropy's exponentials in WebAssembly SIMD, two float64 lanes at a time, on the WASM
;; backend's heap (imported memory; pointers are byte addresses): a row's maximum, its sum of
;; exp(x - max) (optionally keeping each term), and the gradient's ratios. cross_entropy.ts has
;; the same arithmetic in JavaScript (the pure-JS backend, rows' tails), operation for operation,
;; so both give the same bits. Compiled by scripts/build_wasm.mjs into cross_entropy_simd_wasm.ts.
;;
;; exp(x) for x <= 0 (a logit minus its row's maximum), as fdlibm reduces it: k = floor(x/ln2 +
;; 1/2), r = x - k*ln2 (ln2 in two parts, k*LN2_HI exact), e^r by its Taylor series to r^13
;; (|r| <= 0.35: truncation below 1e-17 relative) in Estrin's order (pairs, then r^2, r^4, r^8:
;; a chain of 8 operations where Horner's is 26, which bounded the speed), times 2^k built from k's
;; bits; 0 below -708 (2^k would leave the normal range; such a term is below float32's
;; smallest value next to the row's 1), NaN stays NaN. Within a few float64 ulps of Math.exp.
(module
  (import "env" "memory" (memory 0))

  (func $exp (param $x v128) (result v128)
    (local $k v128) (local $r v128) (local $p v128) (local $r2 v128) (local $r4 v128) (local $r8 v128)
    (local $q0 v128) (local $q1 v128) (local $q2 v128) (local $q3 v128) (local $q4 v128) (local $q5 v128) (local $q6 v128)
    (local $w0 v128) (local $w1 v128) (local $w2 v128)
    (local.set $k (f64x2.floor (f64x2.add (f64x2.mul (local.get $x) (v128.const f64x2 1.4426950408889634 1.4426950408889634))
      (v128.const f64x2 0.5 0.5))))
    (local.set $r (f64x2.sub
      (f64x2.sub (local.get $x) (f64x2.mul (local.get $k) (v128.const f64x2 0.6931471803691238 0.6931471803691238)))
      (f64x2.mul (local.get $k) (v128.const f64x2 1.9082149292705877e-10 1.9082149292705877e-10))))
    (local.set $r2 (f64x2.mul (local.get $r) (local.get $r)))
    (local.set $r4 (f64x2.mul (local.get $r2) (local.get $r2)))
    (local.set $r8 (f64x2.mul (local.get $r4) (local.get $r4)))
    (local.set $q0 (f64x2.add (v128.const f64x2 1.0 1.0) (f64x2.mul (v128.const f64x2 1.0 1.0) (local.get $r))))
    (local.set $q1 (f64x2.add (v128.const f64x2 0.5 0.5) (f64x2.mul (v128.const f64x2 0.16666666666666666 0.16666666666666666) (local.get $r))))
    (local.set $q2 (f64x2.add (v128.const f64x2 0.041666666666666664 0.041666666666666664) (f64x2.mul (v128.const f64x2 0.008333333333333333 0.008333333333333333) (local.get $r))))
    (local.set $q3 (f64x2.add (v128.const f64x2 0.001388888888888889 0.001388888888888889) (f64x2.mul (v128.const f64x2 0.0001984126984126984 0.0001984126984126984) (local.get $r))))
    (local.set $q4 (f64x2.add (v128.const f64x2 2.48015873015873e-05 2.48015873015873e-05) (f64x2.mul (v128.const f64x2 2.7557319223985893e-06 2.7557319223985893e-06) (local.get $r))))
    (local.set $q5 (f64x2.add (v128.const f64x2 2.755731922398589e-07 2.755731922398589e-07) (f64x2.mul (v128.const f64x2 2.505210838544172e-08 2.505210838544172e-08) (local.get $r))))
    (local.set $q6 (f64x2.add (v128.const f64x2 2.08767569878681e-09 2.08767569878681e-09) (f64x2.mul (v128.const f64x2 1.6059043836821613e-10 1.6059043836821613e-10) (local.get $r))))
    (local.set $w0 (f64x2.add (local.get $q0) (f64x2.mul (local.get $q1) (local.get $r2))))
    (local.set $w1 (f64x2.add (local.get $q2) (f64x2.mul (local.get $q3) (local.get $r2))))
    (local.set $w2 (f64x2.add (local.get $q4) (f64x2.mul (local.get $q5) (local.get $r2))))
    (local.set $p (f64x2.add (f64x2.add (local.get $w0) (f64x2.mul (local.get $w1) (local.get $r4))) (f64x2.mul (f64x2.add (local.get $w2) (f64x2.mul (local.get $q6) (local.get $r4))) (local.get $r8))))
    (v128.andnot
      (f64x2.mul (local.get $p)
        (i64x2.shl
          (i64x2.add (i64x2.extend_low_i32x4_s (i32x4.trunc_sat_f64x2_s_zero (local.get $k))) (v128.const i64x2 1023 1023))
          (i32.const 52)))
      (f64x2.lt (local.get $x) (v128.const f64x2 -708 -708))))

  ;; The largest of a row's c float32 values (-inf for none), as Math.max over them.
  (func (export "rowMax") (param $x i32) (param $c i32) (result f32)
    (local $i i32) (local $end i32) (local $m4 v128) (local $m f32)
    (local.set $m4 (v128.const f32x4 -inf -inf -inf -inf))
    (local.set $end (i32.shl (i32.and (local.get $c) (i32.const -4)) (i32.const 2)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $m4 (f32x4.max (local.get $m4) (v128.load (i32.add (local.get $x) (local.get $i)))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $next)))
    (local.set $m (f32.max
      (f32.max (f32x4.extract_lane 0 (local.get $m4)) (f32x4.extract_lane 1 (local.get $m4)))
      (f32.max (f32x4.extract_lane 2 (local.get $m4)) (f32x4.extract_lane 3 (local.get $m4)))))
    (local.set $end (i32.shl (local.get $c) (i32.const 2)))
    (block $doneT (loop $nextT
      (br_if $doneT (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $m (f32.max (local.get $m) (f32.load (i32.add (local.get $x) (local.get $i)))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $nextT)))
    (local.get $m))

  ;; Sum of exp(x[k] - m) over a row: terms k = 4j + l summed into four float64 partial sums
  ;; (l = 0, 1 | 2, 3), then (s0 + s1) + (s2 + s3), then the tail in order. Each term is also
  ;; stored as a float64 at e + 8k when e is not 0.
  (func (export "expSum") (param $x i32) (param $c i32) (param $m f64) (param $e i32) (result f64)
    (local $i i32) (local $end i32) (local $v v128) (local $lo v128) (local $hi v128) (local $mm v128)
    (local $accLo v128) (local $accHi v128) (local $s f64) (local $t f64)
    (local.set $mm (f64x2.splat (local.get $m)))
    (local.set $end (i32.shl (i32.and (local.get $c) (i32.const -4)) (i32.const 2)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $v (v128.load (i32.add (local.get $x) (local.get $i))))
      (local.set $lo (call $exp (f64x2.sub (f64x2.promote_low_f32x4 (local.get $v)) (local.get $mm))))
      (local.set $hi (call $exp (f64x2.sub
        (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))
        (local.get $mm))))
      (if (local.get $e) (then
        (v128.store (i32.add (local.get $e) (i32.shl (local.get $i) (i32.const 1))) (local.get $lo))
        (v128.store offset=16 (i32.add (local.get $e) (i32.shl (local.get $i) (i32.const 1))) (local.get $hi))))
      (local.set $accLo (f64x2.add (local.get $accLo) (local.get $lo)))
      (local.set $accHi (f64x2.add (local.get $accHi) (local.get $hi)))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $next)))
    (local.set $s (f64.add
      (f64.add (f64x2.extract_lane 0 (local.get $accLo)) (f64x2.extract_lane 1 (local.get $accLo)))
      (f64.add (f64x2.extract_lane 0 (local.get $accHi)) (f64x2.extract_lane 1 (local.get $accHi)))))
    (local.set $end (i32.shl (local.get $c) (i32.const 2)))
    (block $doneT (loop $nextT
      (br_if $doneT (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $t (f64x2.extract_lane 0 (call $exp (f64x2.splat
        (f64.sub (f64.promote_f32 (f32.load (i32.add (local.get $x) (local.get $i)))) (local.get $m))))))
      (if (local.get $e) (then (f64.store (i32.add (local.get $e) (i32.shl (local.get $i) (i32.const 1))) (local.get $t))))
      (local.set $s (f64.add (local.get $s) (local.get $t)))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $nextT)))
    (local.get $s))

  ;; dx[k] = float32((e[k] / s) * scale) for a row of c float64 terms e.
  (func (export "ratios") (param $e i32) (param $c i32) (param $s f64) (param $scale f64) (param $dx i32)
    (local $i i32) (local $end i32) (local $ss v128) (local $sc v128)
    (local.set $ss (f64x2.splat (local.get $s)))
    (local.set $sc (f64x2.splat (local.get $scale)))
    (local.set $end (i32.shl (i32.and (local.get $c) (i32.const -2)) (i32.const 2)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (v128.store64_lane 0 (i32.add (local.get $dx) (local.get $i))
        (f32x4.demote_f64x2_zero (f64x2.mul
          (f64x2.div (v128.load (i32.add (local.get $e) (i32.shl (local.get $i) (i32.const 1)))) (local.get $ss))
          (local.get $sc))))
      (local.set $i (i32.add (local.get $i) (i32.const 8)))
      (br $next)))
    (if (i32.and (local.get $c) (i32.const 1)) (then
      (f32.store (i32.add (local.get $dx) (local.get $i))
        (f32.demote_f64 (f64.mul
          (f64.div (f64.load (i32.add (local.get $e) (i32.shl (local.get $i) (i32.const 1)))) (local.get $s))
          (local.get $scale)))))))
)
