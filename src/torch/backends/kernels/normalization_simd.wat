;; Batch and layer normalisation's passes in WebAssembly SIMD on the WASM backend's heap
;; (imported memory; pointers are byte addresses, counts are elements): over the runs of a
;; channel (S contiguous elements of [N, C, S], `runs` of them `stride` bytes apart) or over a
;; row of [R, D]. Four float32 values are read at a time as two pairs of float64 lanes (the high
;; pair moved down by a shuffle, written out in place: V8 does not inline calls between
;; WebAssembly functions). Sums are float64: elements 4j and 4j + 1 go to the lanes of one
;; accumulator, 4j + 2 and 4j + 3 to another's, combined as (a0 + a1) + (a2 + a3), then the tail
;; in order, then the runs in order; element-wise results are float64 expressions rounded once.
;; normalization_passes.ts has the same arithmetic in JavaScript, operation for operation, so
;; both give the same bits. Compiled by scripts/build_wasm.mjs into normalization_simd_wasm.ts.
(module
  (import "env" "memory" (memory 0))

  (func $combine (param $a v128) (param $b v128) (result f64)
    (f64.add
      (f64.add (f64x2.extract_lane 0 (local.get $a)) (f64x2.extract_lane 1 (local.get $a)))
      (f64.add (f64x2.extract_lane 0 (local.get $b)) (f64x2.extract_lane 1 (local.get $b)))))

  ;; Σ (x[k] - m)^2 when $square, else Σ (x[k] - m) (with m = 0, Σ x).
  (func $sumRun (param $x i32) (param $n i32) (param $m f64) (param $square i32) (result f64)
    (local $i i32) (local $end i32) (local $v v128) (local $mm v128) (local $lo v128) (local $hi v128)
    (local $a v128) (local $b v128) (local $s f64) (local $d f64)
    (local.set $mm (f64x2.splat (local.get $m)))
    (local.set $end (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $v (v128.load (i32.add (local.get $x) (local.get $i))))
      (local.set $lo (f64x2.sub (f64x2.promote_low_f32x4 (local.get $v)) (local.get $mm)))
      (local.set $hi (f64x2.sub (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))) (local.get $mm)))
      (if (local.get $square) (then
        (local.set $lo (f64x2.mul (local.get $lo) (local.get $lo)))
        (local.set $hi (f64x2.mul (local.get $hi) (local.get $hi)))))
      (local.set $a (f64x2.add (local.get $a) (local.get $lo)))
      (local.set $b (f64x2.add (local.get $b) (local.get $hi)))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $next)))
    (local.set $s (call $combine (local.get $a) (local.get $b)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $doneT (loop $nextT
      (br_if $doneT (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $d (f64.sub (f64.promote_f32 (f32.load (i32.add (local.get $x) (local.get $i)))) (local.get $m)))
      (if (local.get $square) (then (local.set $d (f64.mul (local.get $d) (local.get $d)))))
      (local.set $s (f64.add (local.get $s) (local.get $d)))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $nextT)))
    (local.get $s))

  ;; Σ (x[k] - m) · dy[k].
  (func $dotRun (param $x i32) (param $dy i32) (param $n i32) (param $m f64) (result f64)
    (local $i i32) (local $end i32) (local $v v128) (local $g v128) (local $mm v128)
    (local $a v128) (local $b v128) (local $s f64)
    (local.set $mm (f64x2.splat (local.get $m)))
    (local.set $end (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $v (v128.load (i32.add (local.get $x) (local.get $i))))
      (local.set $g (v128.load (i32.add (local.get $dy) (local.get $i))))
      (local.set $a (f64x2.add (local.get $a)
        (f64x2.mul (f64x2.sub (f64x2.promote_low_f32x4 (local.get $v)) (local.get $mm)) (f64x2.promote_low_f32x4 (local.get $g)))))
      (local.set $b (f64x2.add (local.get $b)
        (f64x2.mul (f64x2.sub (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))) (local.get $mm)) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $g) (local.get $g))))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $next)))
    (local.set $s (call $combine (local.get $a) (local.get $b)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $doneT (loop $nextT
      (br_if $doneT (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $s (f64.add (local.get $s)
        (f64.mul
          (f64.sub (f64.promote_f32 (f32.load (i32.add (local.get $x) (local.get $i)))) (local.get $m))
          (f64.promote_f32 (f32.load (i32.add (local.get $dy) (local.get $i)))))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $nextT)))
    (local.get $s))

  ;; out[k] = (x[k] - m) · scale + shift (the forward), or, with dy, out[k] = (dy[k] - shift -
  ;; (x[k] - m) · k2) · scale (the input gradient, shift the mean of dy); float64, rounded once.
  (func $affineRun (param $x i32) (param $dy i32) (param $out i32) (param $n i32)
    (param $m f64) (param $k2 f64) (param $shift f64) (param $scale f64)
    (local $i i32) (local $end i32) (local $v v128) (local $g v128) (local $lo v128) (local $hi v128)
    (local $mm v128) (local $kk v128) (local $sh v128) (local $sc v128) (local $t f64)
    (local.set $mm (f64x2.splat (local.get $m)))
    (local.set $kk (f64x2.splat (local.get $k2)))
    (local.set $sh (f64x2.splat (local.get $shift)))
    (local.set $sc (f64x2.splat (local.get $scale)))
    (local.set $end (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $v (v128.load (i32.add (local.get $x) (local.get $i))))
      (if (local.get $dy)
        (then
          (local.set $g (v128.load (i32.add (local.get $dy) (local.get $i))))
          (local.set $lo (f64x2.mul (f64x2.sub (f64x2.sub (f64x2.promote_low_f32x4 (local.get $g)) (local.get $sh))
            (f64x2.mul (f64x2.sub (f64x2.promote_low_f32x4 (local.get $v)) (local.get $mm)) (local.get $kk))) (local.get $sc)))
          (local.set $hi (f64x2.mul (f64x2.sub (f64x2.sub (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $g) (local.get $g))) (local.get $sh))
            (f64x2.mul (f64x2.sub (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))) (local.get $mm)) (local.get $kk))) (local.get $sc))))
        (else
          (local.set $lo (f64x2.add (f64x2.mul (f64x2.sub (f64x2.promote_low_f32x4 (local.get $v)) (local.get $mm)) (local.get $sc)) (local.get $sh)))
          (local.set $hi (f64x2.add (f64x2.mul (f64x2.sub (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))) (local.get $mm)) (local.get $sc)) (local.get $sh)))))
      (v128.store (i32.add (local.get $out) (local.get $i))
        (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
          (f32x4.demote_f64x2_zero (local.get $lo)) (f32x4.demote_f64x2_zero (local.get $hi))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $next)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $doneT (loop $nextT
      (br_if $doneT (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $t (f64.sub (f64.promote_f32 (f32.load (i32.add (local.get $x) (local.get $i)))) (local.get $m)))
      (if (local.get $dy)
        (then (local.set $t (f64.mul
          (f64.sub (f64.sub (f64.promote_f32 (f32.load (i32.add (local.get $dy) (local.get $i)))) (local.get $shift))
            (f64.mul (local.get $t) (local.get $k2)))
          (local.get $scale))))
        (else (local.set $t (f64.add (f64.mul (local.get $t) (local.get $scale)) (local.get $shift)))))
      (f32.store (i32.add (local.get $out) (local.get $i)) (f32.demote_f64 (local.get $t)))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $nextT))))

  ;; The exports: a channel's $runs runs of $n elements, $stride bytes apart (the run sums added
  ;; in order).
  (func (export "sum") (param $x i32) (param $runs i32) (param $stride i32) (param $n i32) (param $m f64) (param $square i32) (result f64)
    (local $r i32) (local $s f64)
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $r) (local.get $runs)))
      (local.set $s (f64.add (local.get $s)
        (call $sumRun (i32.add (local.get $x) (i32.mul (local.get $r) (local.get $stride))) (local.get $n) (local.get $m) (local.get $square))))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $next)))
    (local.get $s))

  (func (export "dot") (param $x i32) (param $dy i32) (param $runs i32) (param $stride i32) (param $n i32) (param $m f64) (result f64)
    (local $r i32) (local $s f64) (local $o i32)
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $r) (local.get $runs)))
      (local.set $o (i32.mul (local.get $r) (local.get $stride)))
      (local.set $s (f64.add (local.get $s)
        (call $dotRun (i32.add (local.get $x) (local.get $o)) (i32.add (local.get $dy) (local.get $o)) (local.get $n) (local.get $m))))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $next)))
    (local.get $s))

  (func (export "affine") (param $x i32) (param $dy i32) (param $out i32) (param $runs i32) (param $stride i32) (param $n i32)
    (param $m f64) (param $k2 f64) (param $shift f64) (param $scale f64)
    (local $r i32) (local $o i32)
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $r) (local.get $runs)))
      (local.set $o (i32.mul (local.get $r) (local.get $stride)))
      (call $affineRun (i32.add (local.get $x) (local.get $o))
        (select (i32.add (local.get $dy) (local.get $o)) (i32.const 0) (local.get $dy))
        (i32.add (local.get $out) (local.get $o)) (local.get $n) (local.get $m) (local.get $k2) (local.get $shift) (local.get $scale))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $next))))

  ;; Layer normalisation: helpers over one row of n elements (w and b: the [D] weight and bias),
  ;; then the exports, each a whole pass over [rows, d].

  ;; Σ (x[k] - m)·dy[k]·w[k] when $centred, else Σ dy[k]·w[k].
  (func $weightedSum (param $x i32) (param $dy i32) (param $w i32) (param $n i32) (param $m f64) (param $centred i32) (result f64)
    (local $i i32) (local $end i32) (local $v v128) (local $g v128) (local $ww v128) (local $mm v128)
    (local $lo v128) (local $hi v128) (local $a v128) (local $b v128) (local $s f64) (local $t f64)
    (local.set $mm (f64x2.splat (local.get $m)))
    (local.set $end (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $g (v128.load (i32.add (local.get $dy) (local.get $i))))
      (local.set $ww (v128.load (i32.add (local.get $w) (local.get $i))))
      (local.set $lo (f64x2.mul (f64x2.promote_low_f32x4 (local.get $g)) (f64x2.promote_low_f32x4 (local.get $ww))))
      (local.set $hi (f64x2.mul (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $g) (local.get $g))) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $ww) (local.get $ww)))))
      (if (local.get $centred) (then
        (local.set $v (v128.load (i32.add (local.get $x) (local.get $i))))
        (local.set $lo (f64x2.mul (local.get $lo) (f64x2.sub (f64x2.promote_low_f32x4 (local.get $v)) (local.get $mm))))
        (local.set $hi (f64x2.mul (local.get $hi) (f64x2.sub (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))) (local.get $mm))))))
      (local.set $a (f64x2.add (local.get $a) (local.get $lo)))
      (local.set $b (f64x2.add (local.get $b) (local.get $hi)))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $next)))
    (local.set $s (call $combine (local.get $a) (local.get $b)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $doneT (loop $nextT
      (br_if $doneT (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $t (f64.mul (f64.promote_f32 (f32.load (i32.add (local.get $dy) (local.get $i)))) (f64.promote_f32 (f32.load (i32.add (local.get $w) (local.get $i))))))
      (if (local.get $centred) (then (local.set $t (f64.mul (local.get $t) (f64.sub (f64.promote_f32 (f32.load (i32.add (local.get $x) (local.get $i)))) (local.get $m))))))
      (local.set $s (f64.add (local.get $s) (local.get $t)))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $nextT)))
    (local.get $s))

  ;; out[k] = (x[k] - m)·is·w[k] + b[k] (the forward), or, with dy, out[k] = (dy[k]·w[k] - a -
  ;; (x[k] - m)·k2)·is (the input gradient); float64, rounded once.
  (func $rowAffine (param $x i32) (param $dy i32) (param $w i32) (param $b i32) (param $out i32) (param $n i32)
    (param $m f64) (param $is f64) (param $a f64) (param $k2 f64)
    (local $i i32) (local $end i32) (local $v v128) (local $g v128) (local $ww v128) (local $bb v128)
    (local $lo v128) (local $hi v128) (local $mm v128) (local $ii v128) (local $aa v128) (local $kk v128) (local $t f64)
    (local.set $mm (f64x2.splat (local.get $m)))
    (local.set $ii (f64x2.splat (local.get $is)))
    (local.set $aa (f64x2.splat (local.get $a)))
    (local.set $kk (f64x2.splat (local.get $k2)))
    (local.set $end (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $v (v128.load (i32.add (local.get $x) (local.get $i))))
      (local.set $ww (v128.load (i32.add (local.get $w) (local.get $i))))
      (if (local.get $dy)
        (then
          (local.set $g (v128.load (i32.add (local.get $dy) (local.get $i))))
          (local.set $lo (f64x2.mul (f64x2.sub (f64x2.sub (f64x2.mul (f64x2.promote_low_f32x4 (local.get $g)) (f64x2.promote_low_f32x4 (local.get $ww))) (local.get $aa))
            (f64x2.mul (f64x2.sub (f64x2.promote_low_f32x4 (local.get $v)) (local.get $mm)) (local.get $kk))) (local.get $ii)))
          (local.set $hi (f64x2.mul (f64x2.sub (f64x2.sub (f64x2.mul (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $g) (local.get $g))) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $ww) (local.get $ww)))) (local.get $aa))
            (f64x2.mul (f64x2.sub (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))) (local.get $mm)) (local.get $kk))) (local.get $ii))))
        (else
          (local.set $bb (v128.load (i32.add (local.get $b) (local.get $i))))
          (local.set $lo (f64x2.add (f64x2.mul (f64x2.mul (f64x2.sub (f64x2.promote_low_f32x4 (local.get $v)) (local.get $mm)) (local.get $ii)) (f64x2.promote_low_f32x4 (local.get $ww))) (f64x2.promote_low_f32x4 (local.get $bb))))
          (local.set $hi (f64x2.add (f64x2.mul (f64x2.mul (f64x2.sub (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))) (local.get $mm)) (local.get $ii)) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $ww) (local.get $ww)))) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $bb) (local.get $bb)))))))
      (v128.store (i32.add (local.get $out) (local.get $i))
        (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
          (f32x4.demote_f64x2_zero (local.get $lo)) (f32x4.demote_f64x2_zero (local.get $hi))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $next)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $doneT (loop $nextT
      (br_if $doneT (i32.ge_u (local.get $i) (local.get $end)))
      (if (local.get $dy)
        (then (local.set $t (f64.mul
          (f64.sub (f64.sub (f64.mul (f64.promote_f32 (f32.load (i32.add (local.get $dy) (local.get $i)))) (f64.promote_f32 (f32.load (i32.add (local.get $w) (local.get $i))))) (local.get $a))
            (f64.mul (f64.sub (f64.promote_f32 (f32.load (i32.add (local.get $x) (local.get $i)))) (local.get $m)) (local.get $k2)))
          (local.get $is))))
        (else (local.set $t (f64.add (f64.mul (f64.mul (f64.sub (f64.promote_f32 (f32.load (i32.add (local.get $x) (local.get $i)))) (local.get $m)) (local.get $is)) (f64.promote_f32 (f32.load (i32.add (local.get $w) (local.get $i))))) (f64.promote_f32 (f32.load (i32.add (local.get $b) (local.get $i))))))))
      (f32.store (i32.add (local.get $out) (local.get $i)) (f32.demote_f64 (local.get $t)))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $nextT))))

  ;; acc[k] += dy[k]·(x[k] - m)·is when $centred (the weight's gradient), else acc[k] += dy[k]
  ;; (the bias's), acc float64.
  (func $accumulateColumns (param $x i32) (param $dy i32) (param $acc i32) (param $n i32) (param $m f64) (param $is f64) (param $centred i32)
    (local $i i32) (local $end i32) (local $v v128) (local $g v128) (local $lo v128) (local $hi v128)
    (local $mm v128) (local $ii v128) (local $at i32) (local $t f64)
    (local.set $mm (f64x2.splat (local.get $m)))
    (local.set $ii (f64x2.splat (local.get $is)))
    (local.set $end (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $g (v128.load (i32.add (local.get $dy) (local.get $i))))
      (local.set $lo (f64x2.promote_low_f32x4 (local.get $g)))
      (local.set $hi (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $g) (local.get $g))))
      (if (local.get $centred) (then
        (local.set $v (v128.load (i32.add (local.get $x) (local.get $i))))
        (local.set $lo (f64x2.mul (f64x2.mul (local.get $lo) (f64x2.sub (f64x2.promote_low_f32x4 (local.get $v)) (local.get $mm))) (local.get $ii)))
        (local.set $hi (f64x2.mul (f64x2.mul (local.get $hi) (f64x2.sub (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))) (local.get $mm))) (local.get $ii)))))
      (local.set $at (i32.add (local.get $acc) (i32.shl (local.get $i) (i32.const 1))))
      (v128.store (local.get $at) (f64x2.add (v128.load (local.get $at)) (local.get $lo)))
      (v128.store offset=16 (local.get $at) (f64x2.add (v128.load offset=16 (local.get $at)) (local.get $hi)))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $next)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $doneT (loop $nextT
      (br_if $doneT (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $t (f64.promote_f32 (f32.load (i32.add (local.get $dy) (local.get $i)))))
      (if (local.get $centred) (then (local.set $t (f64.mul (f64.mul (local.get $t) (f64.sub (f64.promote_f32 (f32.load (i32.add (local.get $x) (local.get $i)))) (local.get $m))) (local.get $is)))))
      (local.set $at (i32.add (local.get $acc) (i32.shl (local.get $i) (i32.const 1))))
      (f64.store (local.get $at) (f64.add (f64.load (local.get $at)) (local.get $t)))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $nextT))))

  (func (export "layerNormForward") (param $x i32) (param $w i32) (param $b i32) (param $y i32)
    (param $mean i32) (param $invstd i32) (param $rows i32) (param $d i32) (param $eps f64)
    (local $r i32) (local $o i32) (local $m f64) (local $v f64) (local $n f64)
    (local.set $n (f64.convert_i32_u (local.get $d)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $o (i32.mul (local.get $r) (i32.shl (local.get $d) (i32.const 2))))
      (local.set $m (f64.div (call $sumRun (i32.add (local.get $x) (local.get $o)) (local.get $d) (f64.const 0) (i32.const 0)) (local.get $n)))
      (local.set $v (f64.div (call $sumRun (i32.add (local.get $x) (local.get $o)) (local.get $d) (local.get $m) (i32.const 1)) (local.get $n)))
      ;; the float32 mean and invstd are saved, and normalise
      (f32.store (i32.add (local.get $mean) (i32.shl (local.get $r) (i32.const 2))) (f32.demote_f64 (local.get $m)))
      (f32.store (i32.add (local.get $invstd) (i32.shl (local.get $r) (i32.const 2)))
        (f32.demote_f64 (f64.div (f64.const 1) (f64.sqrt (f64.add (local.get $v) (local.get $eps))))))
      (call $rowAffine (i32.add (local.get $x) (local.get $o)) (i32.const 0) (local.get $w) (local.get $b) (i32.add (local.get $y) (local.get $o)) (local.get $d)
        (f64.promote_f32 (f32.load (i32.add (local.get $mean) (i32.shl (local.get $r) (i32.const 2)))))
        (f64.promote_f32 (f32.load (i32.add (local.get $invstd) (i32.shl (local.get $r) (i32.const 2)))))
        (f64.const 0) (f64.const 0))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $next))))

  (func (export "layerNormInputGrad") (param $x i32) (param $dy i32) (param $w i32) (param $mean i32) (param $invstd i32)
    (param $dx i32) (param $rows i32) (param $d i32)
    (local $r i32) (local $o i32) (local $m f64) (local $is f64) (local $a f64) (local $k f64) (local $n f64)
    (local.set $n (f64.convert_i32_u (local.get $d)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $o (i32.mul (local.get $r) (i32.shl (local.get $d) (i32.const 2))))
      (local.set $m (f64.promote_f32 (f32.load (i32.add (local.get $mean) (i32.shl (local.get $r) (i32.const 2))))))
      (local.set $is (f64.promote_f32 (f32.load (i32.add (local.get $invstd) (i32.shl (local.get $r) (i32.const 2))))))
      (local.set $a (f64.div
        (call $weightedSum (i32.add (local.get $x) (local.get $o)) (i32.add (local.get $dy) (local.get $o)) (local.get $w) (local.get $d) (local.get $m) (i32.const 0))
        (local.get $n)))
      (local.set $k (f64.div (f64.mul (f64.mul
        (call $weightedSum (i32.add (local.get $x) (local.get $o)) (i32.add (local.get $dy) (local.get $o)) (local.get $w) (local.get $d) (local.get $m) (i32.const 1))
        (local.get $is)) (local.get $is)) (local.get $n)))
      (call $rowAffine (i32.add (local.get $x) (local.get $o)) (i32.add (local.get $dy) (local.get $o)) (local.get $w) (i32.const 0) (i32.add (local.get $dx) (local.get $o))
        (local.get $d) (local.get $m) (local.get $is) (local.get $a) (local.get $k))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $next))))

  (func (export "layerNormParamGrad") (param $x i32) (param $dy i32) (param $mean i32) (param $invstd i32) (param $acc i32)
    (param $rows i32) (param $d i32) (param $centred i32)
    (local $r i32) (local $o i32)
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $o (i32.mul (local.get $r) (i32.shl (local.get $d) (i32.const 2))))
      (call $accumulateColumns (i32.add (local.get $x) (local.get $o)) (i32.add (local.get $dy) (local.get $o)) (local.get $acc) (local.get $d)
        (f64.promote_f32 (f32.load (i32.add (local.get $mean) (i32.shl (local.get $r) (i32.const 2)))))
        (f64.promote_f32 (f32.load (i32.add (local.get $invstd) (i32.shl (local.get $r) (i32.const 2)))))
        (local.get $centred))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $next))))
)
