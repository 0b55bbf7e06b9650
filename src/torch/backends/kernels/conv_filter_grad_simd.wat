;; Conv2DBackpropFilter's sum over a run of output positions, for a layer with few input
;; channels (a network's first convolution: 1 or 3 channels), where a matMul per group of images
;; is mostly overhead (a 9-row product, a patch matrix, a copy of dy). NHWC input, dy [M, K],
;; filter [FH, FW, C, K] with K a multiple of 4; four output channels per SIMD lane group.
;;
;;   acc[(fh·FW + fw)·C + c, k] += x[n, oh·sh + fh·dh − pt, ow·sw + fw·dw − pl, c] · dy[m, k]
;;
;; for m = (n·OH + oh)·OW + ow in [m0, m1), taps in the padding skipped. Each product is rounded
;; to float32 and added to the float32 accumulator in position order (a multiply, then an add:
;; no fused multiply-add), so the caller bounds the run and sums the runs in float64.
;; Pointers are byte addresses on the WASM backend's heap (imported memory).
;; Compiled by scripts/build_wasm.mjs into conv_filter_grad_simd_wasm.ts.
(module
  (import "env" "memory" (memory 0))
  (func (export "accumulate")
    (param $x i32) (param $dy i32) (param $acc i32) (param $m0 i32) (param $m1 i32)
    (param $h i32) (param $w i32) (param $c i32) (param $oh i32) (param $ow i32)
    (param $fh i32) (param $fw i32) (param $sh i32) (param $sw i32) (param $dh i32) (param $dw i32)
    (param $pt i32) (param $pl i32) (param $k i32)
    (local $m i32) (local $n i32) (local $r i32) (local $i i32) (local $j i32)
    (local $a i32) (local $b i32) (local $ih i32) (local $iw i32)
    (local $xp i32) (local $ap i32) (local $dp i32) (local $ch i32) (local $kb i32)
    (local $kBytes i32) (local $perImage i32) (local $tapBytes i32)
    (local $s v128) (local $q i32) (local $d i32)
    (local.set $kBytes (i32.shl (local.get $k) (i32.const 2)))
    (local.set $perImage (i32.mul (local.get $oh) (local.get $ow)))
    ;; accumulator bytes per tap: C rows of K floats
    (local.set $tapBytes (i32.mul (local.get $c) (local.get $kBytes)))
    (local.set $m (local.get $m0))
    (block $doneM (loop $nextM
      (br_if $doneM (i32.ge_u (local.get $m) (local.get $m1)))
      (local.set $n (i32.div_u (local.get $m) (local.get $perImage)))
      (local.set $r (i32.rem_u (local.get $m) (local.get $perImage)))
      (local.set $i (i32.div_u (local.get $r) (local.get $ow)))
      (local.set $j (i32.rem_u (local.get $r) (local.get $ow)))
      (local.set $dp (i32.add (local.get $dy) (i32.mul (local.get $m) (local.get $kBytes))))
      (local.set $a (i32.const 0))
      (block $doneA (loop $nextA
        (br_if $doneA (i32.ge_u (local.get $a) (local.get $fh)))
        (local.set $ih (i32.sub (i32.add (i32.mul (local.get $i) (local.get $sh)) (i32.mul (local.get $a) (local.get $dh))) (local.get $pt)))
        (if (i32.lt_u (local.get $ih) (local.get $h)) (then
          (local.set $b (i32.const 0))
          (block $doneB (loop $nextB
            (br_if $doneB (i32.ge_u (local.get $b) (local.get $fw)))
            (local.set $iw (i32.sub (i32.add (i32.mul (local.get $j) (local.get $sw)) (i32.mul (local.get $b) (local.get $dw))) (local.get $pl)))
            ;; unsigned compare: a negative row or column is out of range too
            (if (i32.lt_u (local.get $iw) (local.get $w)) (then
              (local.set $xp (i32.add (local.get $x)
                (i32.shl (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $n) (local.get $h)) (local.get $ih)) (local.get $w)) (local.get $iw)) (local.get $c)) (i32.const 2))))
              (local.set $ap (i32.add (local.get $acc)
                (i32.mul (i32.add (i32.mul (local.get $a) (local.get $fw)) (local.get $b)) (local.get $tapBytes))))
              (local.set $ch (i32.const 0))
              (block $doneC (loop $nextC
                (br_if $doneC (i32.ge_u (local.get $ch) (local.get $c)))
                (local.set $s (f32x4.splat (f32.load (i32.add (local.get $xp) (i32.shl (local.get $ch) (i32.const 2))))))
                (local.set $kb (i32.const 0))
                ;; sixteen channels per turn while they last (the loop overhead is most of a lane's work)
                (block $doneK16 (loop $nextK16
                  (br_if $doneK16 (i32.gt_u (i32.add (local.get $kb) (i32.const 64)) (local.get $kBytes)))
                  (local.set $q (i32.add (local.get $ap) (local.get $kb)))
                  (local.set $d (i32.add (local.get $dp) (local.get $kb)))
                  (v128.store offset=0 (local.get $q)
                    (f32x4.add (v128.load offset=0 (local.get $q)) (f32x4.mul (local.get $s) (v128.load offset=0 (local.get $d)))))
                  (v128.store offset=16 (local.get $q)
                    (f32x4.add (v128.load offset=16 (local.get $q)) (f32x4.mul (local.get $s) (v128.load offset=16 (local.get $d)))))
                  (v128.store offset=32 (local.get $q)
                    (f32x4.add (v128.load offset=32 (local.get $q)) (f32x4.mul (local.get $s) (v128.load offset=32 (local.get $d)))))
                  (v128.store offset=48 (local.get $q)
                    (f32x4.add (v128.load offset=48 (local.get $q)) (f32x4.mul (local.get $s) (v128.load offset=48 (local.get $d)))))
                  (local.set $kb (i32.add (local.get $kb) (i32.const 64)))
                  (br $nextK16)))
                (block $doneK (loop $nextK
                  (br_if $doneK (i32.ge_u (local.get $kb) (local.get $kBytes)))
                  (local.set $q (i32.add (local.get $ap) (local.get $kb)))
                  (v128.store (local.get $q)
                    (f32x4.add (v128.load (local.get $q))
                      (f32x4.mul (local.get $s) (v128.load (i32.add (local.get $dp) (local.get $kb))))))
                  (local.set $kb (i32.add (local.get $kb) (i32.const 16)))
                  (br $nextK)))
                (local.set $ap (i32.add (local.get $ap) (local.get $kBytes)))
                (local.set $ch (i32.add (local.get $ch) (i32.const 1)))
                (br $nextC)))))
            (local.set $b (i32.add (local.get $b) (i32.const 1)))
            (br $nextB)))))
        (local.set $a (i32.add (local.get $a) (i32.const 1)))
        (br $nextA)))
      (local.set $m (i32.add (local.get $m) (i32.const 1)))
      (br $nextM)))))
