;; im2colTransposed (im2col.ts) for channels in fours, on the WASM backend's heap: the
;; transposed patch matrix [P, M] of images [n0, n1) of an NHWC input, P = (fh·FW + fw)·C + c,
;; M = ((n − n0)·OH + oh)·OW + ow, zeros where a tap falls into the padding. Four output
;; positions of a row by four channels are one 4×4 block: four loads along the row, a transpose
;; in registers, four stores into four rows of the matrix. Blocks that reach past the row or into
;; the padding are copied element by element. A copy: the values are exactly im2col.ts's.
;; Pointers are byte addresses (imported memory). Compiled by scripts/build_wasm.mjs into
;; im2col_simd_wasm.ts.
(module
  (import "env" "memory" (memory 0))
  (func (export "im2colTransposed")
    (param $x i32) (param $out i32) (param $n0 i32) (param $n1 i32)
    (param $h i32) (param $w i32) (param $c i32) (param $oh i32) (param $ow i32)
    (param $fh i32) (param $fw i32) (param $sh i32) (param $sw i32) (param $dh i32) (param $dw i32)
    (param $pt i32) (param $pl i32)
    (local $M i32) (local $a i32) (local $b i32) (local $c4 i32) (local $n i32) (local $i i32) (local $j i32)
    (local $m i32) (local $ih i32) (local $iw i32) (local $rowBase i32) (local $rowBytes i32) (local $xRow i32)
    (local $cBytes i32) (local $stepBytes i32) (local $q i32) (local $src i32) (local $dst i32)
    (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128) (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local.set $M (i32.mul (i32.sub (local.get $n1) (local.get $n0)) (i32.mul (local.get $oh) (local.get $ow))))
    ;; bytes between matrix rows, between channels of one pixel, and between the pixels of
    ;; neighbouring output positions
    (local.set $rowBytes (i32.shl (local.get $M) (i32.const 2)))
    (local.set $cBytes (i32.shl (local.get $c) (i32.const 2)))
    (local.set $stepBytes (i32.mul (local.get $sw) (local.get $cBytes)))
    (local.set $a (i32.const 0))
    (block $doneA (loop $nextA
      (br_if $doneA (i32.ge_u (local.get $a) (local.get $fh)))
      (local.set $b (i32.const 0))
      (block $doneB (loop $nextB
        (br_if $doneB (i32.ge_u (local.get $b) (local.get $fw)))
        (local.set $c4 (i32.const 0))
        (block $doneC (loop $nextC
          (br_if $doneC (i32.ge_u (local.get $c4) (local.get $c)))
          ;; matrix row of channel c4 of this tap
          (local.set $rowBase (i32.add (local.get $out)
            (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $a) (local.get $fw)) (local.get $b)) (local.get $c)) (local.get $c4)) (local.get $rowBytes))))
          (local.set $m (i32.const 0))
          (local.set $n (local.get $n0))
          (block $doneN (loop $nextN
            (br_if $doneN (i32.ge_u (local.get $n) (local.get $n1)))
            (local.set $i (i32.const 0))
            (block $doneI (loop $nextI
              (br_if $doneI (i32.ge_u (local.get $i) (local.get $oh)))
              (local.set $ih (i32.sub (i32.add (i32.mul (local.get $i) (local.get $sh)) (i32.mul (local.get $a) (local.get $dh))) (local.get $pt)))
              (local.set $xRow (i32.add (local.get $x)
                (i32.add (i32.mul (i32.mul (i32.add (i32.mul (local.get $n) (local.get $h)) (local.get $ih)) (local.get $w)) (local.get $cBytes))
                  (i32.shl (local.get $c4) (i32.const 2)))))
              (local.set $j (i32.const 0))
              (block $doneJ (loop $nextJ
                (br_if $doneJ (i32.ge_u (local.get $j) (local.get $ow)))
                (local.set $iw (i32.sub (i32.add (i32.mul (local.get $j) (local.get $sw)) (i32.mul (local.get $b) (local.get $dw))) (local.get $pl)))
                (local.set $dst (i32.add (local.get $rowBase) (i32.shl (i32.add (local.get $m) (local.get $j)) (i32.const 2))))
                (if (i32.and
                      (i32.and (i32.lt_u (local.get $ih) (local.get $h)) (i32.le_u (i32.add (local.get $j) (i32.const 4)) (local.get $ow)))
                      (i32.and (i32.lt_u (local.get $iw) (local.get $w))
                        (i32.lt_u (i32.add (local.get $iw) (i32.mul (i32.const 3) (local.get $sw))) (local.get $w))))
                  (then
                    (local.set $src (i32.add (local.get $xRow) (i32.mul (local.get $iw) (local.get $cBytes))))
                    (local.set $v0 (v128.load (local.get $src)))
                    (local.set $v1 (v128.load (i32.add (local.get $src) (local.get $stepBytes))))
                    (local.set $v2 (v128.load (i32.add (local.get $src) (i32.shl (local.get $stepBytes) (i32.const 1)))))
                    (local.set $v3 (v128.load (i32.add (local.get $src) (i32.mul (local.get $stepBytes) (i32.const 3)))))
                    ;; [v0.0 v1.0 v0.1 v1.1], [v0.2 v1.2 v0.3 v1.3], the same for v2 and v3
                    (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $v0) (local.get $v1)))
                    (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $v0) (local.get $v1)))
                    (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $v2) (local.get $v3)))
                    (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $v2) (local.get $v3)))
                    ;; channel q of the four positions
                    (v128.store (local.get $dst) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
                    (v128.store (i32.add (local.get $dst) (local.get $rowBytes))
                      (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
                    (v128.store (i32.add (local.get $dst) (i32.shl (local.get $rowBytes) (i32.const 1)))
                      (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
                    (v128.store (i32.add (local.get $dst) (i32.mul (local.get $rowBytes) (i32.const 3)))
                      (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3)))
                    (local.set $j (i32.add (local.get $j) (i32.const 4))))
                  (else
                    ;; one position, four channels: the pixel, or zeros in the padding
                    (local.set $q (i32.const 0))
                    (block $doneQ (loop $nextQ
                      (br_if $doneQ (i32.ge_u (local.get $q) (i32.const 4)))
                      (f32.store (i32.add (local.get $dst) (i32.mul (local.get $q) (local.get $rowBytes)))
                        (if (result f32) (i32.and (i32.lt_u (local.get $ih) (local.get $h)) (i32.lt_u (local.get $iw) (local.get $w)))
                          (then (f32.load (i32.add (i32.add (local.get $xRow) (i32.mul (local.get $iw) (local.get $cBytes))) (i32.shl (local.get $q) (i32.const 2)))))
                          (else (f32.const 0))))
                      (local.set $q (i32.add (local.get $q) (i32.const 1)))
                      (br $nextQ)))
                    (local.set $j (i32.add (local.get $j) (i32.const 1)))))
                (br $nextJ)))
              (local.set $m (i32.add (local.get $m) (local.get $ow)))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br $nextI)))
            (local.set $n (i32.add (local.get $n) (i32.const 1)))
            (br $nextN)))
          (local.set $c4 (i32.add (local.get $c4) (i32.const 4)))
          (br $nextC)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $nextB)))
      (local.set $a (i32.add (local.get $a) (i32.const 1)))
      (br $nextA)))))
