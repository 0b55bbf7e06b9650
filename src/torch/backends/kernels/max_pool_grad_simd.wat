;; MaxPoolGrad for the common max-pool — a 2×2 window, stride 2, no padding or dilation, NHWC,
;; channels a multiple of 4 — four channels at a time on the WASM backend's heap (imported
;; memory). The same rule as max_pool_grad.ts, lane by lane: a running maximum from -inf, taken
;; by a strict `>` in window order (so NaN and -inf never win, and the first of equal maxima
;; does), the window's gradient written to the winner and 0 to the other three; the windows do
;; not overlap, so every covered input element is written once. Pointers are byte addresses.
;; Compiled by scripts/build_wasm.mjs into max_pool_grad_simd_wasm.ts.
(module
  (import "env" "memory" (memory 0))
  (func (export "pool2x2")
    (param $x i32) (param $dy i32) (param $dx i32)
    (param $n i32) (param $h i32) (param $w i32) (param $c i32) (param $oh i32) (param $ow i32)
    (local $b i32) (local $i i32) (local $j i32) (local $k i32)
    (local $p00 i32) (local $rowStride i32) (local $g i32)
    (local $x0 v128) (local $x1 v128) (local $x2 v128) (local $x3 v128)
    (local $best v128) (local $win v128) (local $sel v128) (local $grad v128) (local $zero v128)
    (local.set $rowStride (i32.shl (i32.mul (local.get $w) (local.get $c)) (i32.const 2)))
    (local.set $b (i32.const 0))
    (block $doneB (loop $nextB
      (br_if $doneB (i32.ge_u (local.get $b) (local.get $n)))
      (local.set $i (i32.const 0))
      (block $doneI (loop $nextI
        (br_if $doneI (i32.ge_u (local.get $i) (local.get $oh)))
        (local.set $j (i32.const 0))
        (block $doneJ (loop $nextJ
          (br_if $doneJ (i32.ge_u (local.get $j) (local.get $ow)))
          ;; byte offset of the window's top-left element, channel 0
          (local.set $p00 (i32.shl
            (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $h)) (i32.shl (local.get $i) (i32.const 1))) (local.get $w)) (i32.shl (local.get $j) (i32.const 1))) (local.get $c))
            (i32.const 2)))
          ;; byte offset of the window's gradient, channel 0
          (local.set $g (i32.shl (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $oh)) (local.get $i)) (local.get $ow)) (local.get $j)) (local.get $c)) (i32.const 2)))
          (local.set $k (i32.const 0))
          (block $doneK (loop $nextK
            (br_if $doneK (i32.ge_u (local.get $k) (i32.shl (local.get $c) (i32.const 2))))
            (local.set $x0 (v128.load (i32.add (i32.add (local.get $x) (local.get $p00)) (local.get $k))))
            (local.set $x1 (v128.load (i32.add (i32.add (i32.add (local.get $x) (local.get $p00)) (i32.shl (local.get $c) (i32.const 2))) (local.get $k))))
            (local.set $x2 (v128.load (i32.add (i32.add (i32.add (local.get $x) (local.get $p00)) (local.get $rowStride)) (local.get $k))))
            (local.set $x3 (v128.load (i32.add (i32.add (i32.add (i32.add (local.get $x) (local.get $p00)) (local.get $rowStride)) (i32.shl (local.get $c) (i32.const 2))) (local.get $k))))
            ;; window order: (0,0), (0,1), (1,0), (1,1); winner index per lane, -1 for none
            (local.set $best (v128.const f32x4 -inf -inf -inf -inf))
            (local.set $win (v128.const i32x4 -1 -1 -1 -1))
            (local.set $sel (f32x4.gt (local.get $x0) (local.get $best)))
            (local.set $best (v128.bitselect (local.get $x0) (local.get $best) (local.get $sel)))
            (local.set $win (v128.bitselect (v128.const i32x4 0 0 0 0) (local.get $win) (local.get $sel)))
            (local.set $sel (f32x4.gt (local.get $x1) (local.get $best)))
            (local.set $best (v128.bitselect (local.get $x1) (local.get $best) (local.get $sel)))
            (local.set $win (v128.bitselect (v128.const i32x4 1 1 1 1) (local.get $win) (local.get $sel)))
            (local.set $sel (f32x4.gt (local.get $x2) (local.get $best)))
            (local.set $best (v128.bitselect (local.get $x2) (local.get $best) (local.get $sel)))
            (local.set $win (v128.bitselect (v128.const i32x4 2 2 2 2) (local.get $win) (local.get $sel)))
            (local.set $sel (f32x4.gt (local.get $x3) (local.get $best)))
            (local.set $win (v128.bitselect (v128.const i32x4 3 3 3 3) (local.get $win) (local.get $sel)))
            (local.set $grad (v128.load (i32.add (i32.add (local.get $dy) (local.get $g)) (local.get $k))))
            (v128.store (i32.add (i32.add (local.get $dx) (local.get $p00)) (local.get $k))
              (v128.and (local.get $grad) (i32x4.eq (local.get $win) (v128.const i32x4 0 0 0 0))))
            (v128.store (i32.add (i32.add (i32.add (local.get $dx) (local.get $p00)) (i32.shl (local.get $c) (i32.const 2))) (local.get $k))
              (v128.and (local.get $grad) (i32x4.eq (local.get $win) (v128.const i32x4 1 1 1 1))))
            (v128.store (i32.add (i32.add (i32.add (local.get $dx) (local.get $p00)) (local.get $rowStride)) (local.get $k))
              (v128.and (local.get $grad) (i32x4.eq (local.get $win) (v128.const i32x4 2 2 2 2))))
            (v128.store (i32.add (i32.add (i32.add (i32.add (local.get $dx) (local.get $p00)) (local.get $rowStride)) (i32.shl (local.get $c) (i32.const 2))) (local.get $k))
              (v128.and (local.get $grad) (i32x4.eq (local.get $win) (v128.const i32x4 3 3 3 3))))
            (local.set $k (i32.add (local.get $k) (i32.const 16)))
            (br $nextK)))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br $nextJ)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $nextI)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $nextB)))
  )
)
