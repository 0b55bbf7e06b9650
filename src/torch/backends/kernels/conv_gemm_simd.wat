;; A 2-D convolution as a matrix product in WebAssembly SIMD, on the WASM backend's heap
;; (conv2d_gemm.ts): y[m, k] = Σ_p patch[m, p] · W[p, k] with m = (n·OH + oh)·OW + ow, NHWC x,
;; p = (fh·FW + fw)·C + c (the filter's [FH, FW, C, K] order), taps in the padding zero.
;;
;; Four output positions at a time: their patch rows are gathered into a panel laid out
;; [P][4] (four positions' values of one p side by side, a 4×4 transpose per four channels),
;; which the product then reads as four splat loads at fixed offsets from one pointer. The
;; filter comes packed as [Kpad/8][P][8] (zero columns past K), eight output channels per
;; column block: the 4×8 tile's eight accumulators stay in registers across the whole sum.
;; XNNPACK's indirect GEMM (tfjs's Conv2D) reads each position's pixels through a pointer per
;; row and step; the panel turns that into one contiguous stream (1.14–1.42x, bench/conv.ts;
;; the filter gradient's product 1.32–1.72x XNNPACK's matMul).
;;
;; Each output is Σ over p in order, every product rounded to float32 and added (a multiply,
;; then an add: no fused multiply-add), from zero: XNNPACK's order and rounding, the same bits.
;; Pointers are byte addresses; `zero` points at C zero floats, `panel` at P·4 floats of scratch.
;; Compiled by scripts/build_wasm.mjs into conv_gemm_simd_wasm.ts.
(module
  (import "env" "memory" (memory 0))

  (func (export "convolve")
    (param $x i32) (param $wp i32) (param $zero i32) (param $panels i32) (param $y i32) (param $ldy i32) (param $m i32)
    (param $h i32) (param $w i32) (param $c i32) (param $oh i32) (param $ow i32) (param $fh i32) (param $fw i32)
    (param $sh i32) (param $sw i32) (param $dh i32) (param $dw i32) (param $pt i32) (param $pl i32) (param $kpad i32) (param $tiles i32)
    (local $m0 i32) (local $j i32) (local $a i32) (local $b i32) (local $ih i32) (local $iw i32) (local $t i32)
    (local $perImage i32) (local $imageBytes i32) (local $cBytes i32) (local $ch i32) (local $depth i32)
    (local $q i32) (local $tile i32) (local $blockEnd i32)
    ;; per row r of the tile: its image's first byte, the top-left input pixel of its window, the pixel of this tap
    (local $xn0 i32) (local $xn1 i32) (local $xn2 i32) (local $xn3 i32)
    (local $ih0 i32) (local $ih1 i32) (local $ih2 i32) (local $ih3 i32)
    (local $iw0 i32) (local $iw1 i32) (local $iw2 i32) (local $iw3 i32)
    (local $p0 i32) (local $p1 i32) (local $p2 i32) (local $p3 i32)
    (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local.set $perImage (i32.mul (local.get $oh) (local.get $ow)))
    (local.set $cBytes (i32.shl (local.get $c) (i32.const 2)))
    (local.set $imageBytes (i32.mul (i32.mul (local.get $h) (local.get $w)) (local.get $cBytes)))
    (local.set $depth (i32.mul (i32.mul (local.get $fh) (local.get $fw)) (local.get $c)))
    (block $doneBlock (loop $nextBlock
      (br_if $doneBlock (i32.ge_u (local.get $m0) (local.get $m)))
      (local.set $blockEnd (i32.add (local.get $m0) (i32.shl (local.get $tiles) (i32.const 2))))
      (if (i32.gt_u (local.get $blockEnd) (local.get $m)) (then (local.set $blockEnd (local.get $m))))
      (local.set $q (local.get $panels))
      (local.set $tile (local.get $m0))
      (block $doneM (loop $nextM
      (br_if $doneM (i32.ge_u (local.get $tile) (local.get $blockEnd)))
      ;; The tile's rows tile..tile+3; past the last position a row repeats it (computed, not stored).
      (local.set $t (local.get $tile))
      (local.set $xn0 (i32.add (local.get $x) (i32.mul (i32.div_u (local.get $t) (local.get $perImage)) (local.get $imageBytes))))
      (local.set $t (i32.rem_u (local.get $t) (local.get $perImage)))
      (local.set $ih0 (i32.sub (i32.mul (i32.div_u (local.get $t) (local.get $ow)) (local.get $sh)) (local.get $pt)))
      (local.set $iw0 (i32.sub (i32.mul (i32.rem_u (local.get $t) (local.get $ow)) (local.get $sw)) (local.get $pl)))
      (local.set $t (i32.add (local.get $tile) (i32.const 1)))
      (if (i32.ge_u (local.get $t) (local.get $m)) (then (local.set $t (i32.sub (local.get $m) (i32.const 1)))))
      (local.set $xn1 (i32.add (local.get $x) (i32.mul (i32.div_u (local.get $t) (local.get $perImage)) (local.get $imageBytes))))
      (local.set $t (i32.rem_u (local.get $t) (local.get $perImage)))
      (local.set $ih1 (i32.sub (i32.mul (i32.div_u (local.get $t) (local.get $ow)) (local.get $sh)) (local.get $pt)))
      (local.set $iw1 (i32.sub (i32.mul (i32.rem_u (local.get $t) (local.get $ow)) (local.get $sw)) (local.get $pl)))
      (local.set $t (i32.add (local.get $tile) (i32.const 2)))
      (if (i32.ge_u (local.get $t) (local.get $m)) (then (local.set $t (i32.sub (local.get $m) (i32.const 1)))))
      (local.set $xn2 (i32.add (local.get $x) (i32.mul (i32.div_u (local.get $t) (local.get $perImage)) (local.get $imageBytes))))
      (local.set $t (i32.rem_u (local.get $t) (local.get $perImage)))
      (local.set $ih2 (i32.sub (i32.mul (i32.div_u (local.get $t) (local.get $ow)) (local.get $sh)) (local.get $pt)))
      (local.set $iw2 (i32.sub (i32.mul (i32.rem_u (local.get $t) (local.get $ow)) (local.get $sw)) (local.get $pl)))
      (local.set $t (i32.add (local.get $tile) (i32.const 3)))
      (if (i32.ge_u (local.get $t) (local.get $m)) (then (local.set $t (i32.sub (local.get $m) (i32.const 1)))))
      (local.set $xn3 (i32.add (local.get $x) (i32.mul (i32.div_u (local.get $t) (local.get $perImage)) (local.get $imageBytes))))
      (local.set $t (i32.rem_u (local.get $t) (local.get $perImage)))
      (local.set $ih3 (i32.sub (i32.mul (i32.div_u (local.get $t) (local.get $ow)) (local.get $sh)) (local.get $pt)))
      (local.set $iw3 (i32.sub (i32.mul (i32.rem_u (local.get $t) (local.get $ow)) (local.get $sw)) (local.get $pl)))

      ;; Gather the panel: for each tap, each row's pixel (or the zeros when the tap is in the padding).
      (local.set $a (i32.const 0))
      (block $doneA (loop $nextA
        (br_if $doneA (i32.ge_u (local.get $a) (local.get $fh)))
        (local.set $b (i32.const 0))
        (block $doneB (loop $nextB
          (br_if $doneB (i32.ge_u (local.get $b) (local.get $fw)))
          ;; unsigned compares: a negative row or column is out of range too
          (local.set $ih (i32.add (local.get $ih0) (i32.mul (local.get $a) (local.get $dh))))
          (local.set $iw (i32.add (local.get $iw0) (i32.mul (local.get $b) (local.get $dw))))
          (local.set $p0 (if (result i32) (i32.and (i32.lt_u (local.get $ih) (local.get $h)) (i32.lt_u (local.get $iw) (local.get $w)))
            (then (i32.add (local.get $xn0) (i32.mul (i32.add (i32.mul (local.get $ih) (local.get $w)) (local.get $iw)) (local.get $cBytes))))
            (else (local.get $zero))))
          (local.set $ih (i32.add (local.get $ih1) (i32.mul (local.get $a) (local.get $dh))))
          (local.set $iw (i32.add (local.get $iw1) (i32.mul (local.get $b) (local.get $dw))))
          (local.set $p1 (if (result i32) (i32.and (i32.lt_u (local.get $ih) (local.get $h)) (i32.lt_u (local.get $iw) (local.get $w)))
            (then (i32.add (local.get $xn1) (i32.mul (i32.add (i32.mul (local.get $ih) (local.get $w)) (local.get $iw)) (local.get $cBytes))))
            (else (local.get $zero))))
          (local.set $ih (i32.add (local.get $ih2) (i32.mul (local.get $a) (local.get $dh))))
          (local.set $iw (i32.add (local.get $iw2) (i32.mul (local.get $b) (local.get $dw))))
          (local.set $p2 (if (result i32) (i32.and (i32.lt_u (local.get $ih) (local.get $h)) (i32.lt_u (local.get $iw) (local.get $w)))
            (then (i32.add (local.get $xn2) (i32.mul (i32.add (i32.mul (local.get $ih) (local.get $w)) (local.get $iw)) (local.get $cBytes))))
            (else (local.get $zero))))
          (local.set $ih (i32.add (local.get $ih3) (i32.mul (local.get $a) (local.get $dh))))
          (local.set $iw (i32.add (local.get $iw3) (i32.mul (local.get $b) (local.get $dw))))
          (local.set $p3 (if (result i32) (i32.and (i32.lt_u (local.get $ih) (local.get $h)) (i32.lt_u (local.get $iw) (local.get $w)))
            (then (i32.add (local.get $xn3) (i32.mul (i32.add (i32.mul (local.get $ih) (local.get $w)) (local.get $iw)) (local.get $cBytes))))
            (else (local.get $zero))))
          (local.set $ch (i32.const 0))
          ;; four channels of the four rows: one 4×4 transpose
          (block $doneC4 (loop $nextC4
            (br_if $doneC4 (i32.gt_u (i32.add (local.get $ch) (i32.const 16)) (local.get $cBytes)))
            (local.set $v0 (v128.load (i32.add (local.get $p0) (local.get $ch))))
            (local.set $v1 (v128.load (i32.add (local.get $p1) (local.get $ch))))
            (local.set $v2 (v128.load (i32.add (local.get $p2) (local.get $ch))))
            (local.set $v3 (v128.load (i32.add (local.get $p3) (local.get $ch))))
            (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $v0) (local.get $v1)))
            (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $v0) (local.get $v1)))
            (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $v2) (local.get $v3)))
            (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $v2) (local.get $v3)))
            (v128.store offset=0 (local.get $q) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
            (v128.store offset=16 (local.get $q) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
            (v128.store offset=32 (local.get $q) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
            (v128.store offset=48 (local.get $q) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3)))
            (local.set $q (i32.add (local.get $q) (i32.const 64)))
            (local.set $ch (i32.add (local.get $ch) (i32.const 16)))
            (br $nextC4)))
          (block $doneC (loop $nextC
            (br_if $doneC (i32.ge_u (local.get $ch) (local.get $cBytes)))
            (f32.store offset=0 (local.get $q) (f32.load (i32.add (local.get $p0) (local.get $ch))))
            (f32.store offset=4 (local.get $q) (f32.load (i32.add (local.get $p1) (local.get $ch))))
            (f32.store offset=8 (local.get $q) (f32.load (i32.add (local.get $p2) (local.get $ch))))
            (f32.store offset=12 (local.get $q) (f32.load (i32.add (local.get $p3) (local.get $ch))))
            (local.set $q (i32.add (local.get $q) (i32.const 16)))
            (local.set $ch (i32.add (local.get $ch) (i32.const 4)))
            (br $nextC)))
          (local.set $b (i32.add (local.get $b) (i32.const 1)))
          (br $nextB)))
        (local.set $a (i32.add (local.get $a) (i32.const 1)))
        (br $nextA)))

      (local.set $tile (i32.add (local.get $tile) (i32.const 4)))
      (br $nextM)))
      ;; The block's panels times each block of eight output channels.
      (call $productPanels (local.get $panels) (i32.shl (local.get $depth) (i32.const 4))
        (local.get $wp) (i32.shl (local.get $depth) (i32.const 5))
        (i32.add (local.get $y) (i32.mul (local.get $m0) (local.get $ldy))) (local.get $ldy)
        (i32.shr_u (i32.add (i32.sub (local.get $blockEnd) (local.get $m0)) (i32.const 3)) (i32.const 2))
        (i32.shr_u (local.get $kpad) (i32.const 3)) (local.get $depth) (i32.sub (local.get $blockEnd) (local.get $m0)) (i32.const 0))
      (local.set $m0 (local.get $blockEnd))
      (br $nextBlock))))

  ;; c = a × b over packed panels (or c += a × b when `accumulate` is 1, continuing c's float32
  ;; sums: the same bits as one longer product): a as rowTiles panels of [depth][4] (aPanel bytes
  ;; apart), b as colBlocks panels of [depth][8] (bPanel bytes apart); c's 4×8 tile (i, j) at
  ;; c + 4i·ldc + 32j, rows from `rows` on neither read nor stored. Column blocks outermost: one
  ;; b panel stays in L1 while the a panels stream past it from L2. Each sum over k in order, a
  ;; multiply then an add.
  (func $productPanels (export "productPanels")
    (param $a i32) (param $aPanel i32) (param $b i32) (param $bPanel i32) (param $c i32) (param $ldc i32)
    (param $rowTiles i32) (param $colBlocks i32) (param $depth i32) (param $rows i32) (param $accumulate i32)
    (local $i i32) (local $j i32) (local $kk i32) (local $pa i32) (local $pb i32) (local $pc i32) (local $left i32)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local $b0 v128) (local $b1 v128) (local $s v128)
    (block $doneJ (loop $nextJ
      (br_if $doneJ (i32.ge_u (local.get $j) (local.get $colBlocks)))
      (local.set $i (i32.const 0))
      (block $doneI (loop $nextI
        (br_if $doneI (i32.ge_u (local.get $i) (local.get $rowTiles)))
        (local.set $c00 (v128.const i32x4 0 0 0 0)) (local.set $c01 (v128.const i32x4 0 0 0 0))
        (local.set $c10 (v128.const i32x4 0 0 0 0)) (local.set $c11 (v128.const i32x4 0 0 0 0))
        (local.set $c20 (v128.const i32x4 0 0 0 0)) (local.set $c21 (v128.const i32x4 0 0 0 0))
        (local.set $c30 (v128.const i32x4 0 0 0 0)) (local.set $c31 (v128.const i32x4 0 0 0 0))
        (local.set $pc (i32.add (local.get $c) (i32.add (i32.mul (i32.shl (local.get $i) (i32.const 2)) (local.get $ldc)) (i32.shl (local.get $j) (i32.const 5)))))
        (local.set $left (i32.sub (local.get $rows) (i32.shl (local.get $i) (i32.const 2))))
        (if (local.get $accumulate) (then
          (local.set $c00 (v128.load offset=0 (local.get $pc)))
          (local.set $c01 (v128.load offset=16 (local.get $pc)))
          (if (i32.gt_s (local.get $left) (i32.const 1)) (then
            (local.set $c10 (v128.load offset=0 (i32.add (local.get $pc) (local.get $ldc))))
            (local.set $c11 (v128.load offset=16 (i32.add (local.get $pc) (local.get $ldc))))))
          (if (i32.gt_s (local.get $left) (i32.const 2)) (then
            (local.set $c20 (v128.load offset=0 (i32.add (local.get $pc) (i32.shl (local.get $ldc) (i32.const 1)))))
            (local.set $c21 (v128.load offset=16 (i32.add (local.get $pc) (i32.shl (local.get $ldc) (i32.const 1)))))))
          (if (i32.gt_s (local.get $left) (i32.const 3)) (then
            (local.set $c30 (v128.load offset=0 (i32.add (local.get $pc) (i32.mul (local.get $ldc) (i32.const 3)))))
            (local.set $c31 (v128.load offset=16 (i32.add (local.get $pc) (i32.mul (local.get $ldc) (i32.const 3)))))))))
        (local.set $pa (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $aPanel))))
        (local.set $pb (i32.add (local.get $b) (i32.mul (local.get $j) (local.get $bPanel))))
        (local.set $kk (local.get $depth))
        (block $doneK (loop $nextK
          (br_if $doneK (i32.eqz (local.get $kk)))
          (local.set $b0 (v128.load offset=0 (local.get $pb)))
          (local.set $b1 (v128.load offset=16 (local.get $pb)))
          (local.set $s (v128.load32_splat offset=0 (local.get $pa)))
          (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $s) (local.get $b0))))
          (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $s) (local.get $b1))))
          (local.set $s (v128.load32_splat offset=4 (local.get $pa)))
          (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $s) (local.get $b0))))
          (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $s) (local.get $b1))))
          (local.set $s (v128.load32_splat offset=8 (local.get $pa)))
          (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $s) (local.get $b0))))
          (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $s) (local.get $b1))))
          (local.set $s (v128.load32_splat offset=12 (local.get $pa)))
          (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $s) (local.get $b0))))
          (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $s) (local.get $b1))))
          (local.set $pa (i32.add (local.get $pa) (i32.const 16)))
          (local.set $pb (i32.add (local.get $pb) (i32.const 32)))
          (local.set $kk (i32.sub (local.get $kk) (i32.const 1)))
          (br $nextK)))
        (v128.store offset=0 (local.get $pc) (local.get $c00))
        (v128.store offset=16 (local.get $pc) (local.get $c01))
        (if (i32.gt_s (local.get $left) (i32.const 1)) (then
          (local.set $pc (i32.add (local.get $pc) (local.get $ldc)))
          (v128.store offset=0 (local.get $pc) (local.get $c10))
          (v128.store offset=16 (local.get $pc) (local.get $c11))))
        (if (i32.gt_s (local.get $left) (i32.const 2)) (then
          (local.set $pc (i32.add (local.get $pc) (local.get $ldc)))
          (v128.store offset=0 (local.get $pc) (local.get $c20))
          (v128.store offset=16 (local.get $pc) (local.get $c21))))
        (if (i32.gt_s (local.get $left) (i32.const 3)) (then
          (local.set $pc (i32.add (local.get $pc) (local.get $ldc)))
          (v128.store offset=0 (local.get $pc) (local.get $c30))
          (v128.store offset=16 (local.get $pc) (local.get $c31))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $nextI)))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $nextJ))))

  ;; The patch rows of positions [m0, m1) as productPanels' a for the filter gradient: panel
  ;; p/4 holds patch entries p..p+3 of each position, [m1 − m0][4], panels `run`·16 bytes apart;
  ;; taps in the padding are zero, and so are entries past P (up to the next multiple of 4): the
  ;; caller drops their rows of the product, and zeros keep whatever the buffer held (a denormal
  ;; costs a microcode assist per operation) out of the arithmetic.
  (func (export "patchPanels")
    (param $x i32) (param $out i32) (param $m0 i32) (param $m1 i32) (param $run i32)
    (param $h i32) (param $w i32) (param $c i32) (param $oh i32) (param $ow i32) (param $fh i32) (param $fw i32)
    (param $sh i32) (param $sw i32) (param $dh i32) (param $dw i32) (param $pt i32) (param $pl i32)
    (local $m i32) (local $t i32) (local $a i32) (local $b i32) (local $ih i32) (local $iw i32) (local $ih0 i32) (local $iw0 i32)
    (local $perImage i32) (local $cBytes i32) (local $imageBytes i32) (local $xn i32) (local $src i32)
    (local $p i32) (local $ch i32) (local $panelBytes i32) (local $row i32) (local $fours i32)
    (local.set $perImage (i32.mul (local.get $oh) (local.get $ow)))
    (local.set $cBytes (i32.shl (local.get $c) (i32.const 2)))
    (local.set $imageBytes (i32.mul (i32.mul (local.get $h) (local.get $w)) (local.get $cBytes)))
    (local.set $panelBytes (i32.shl (local.get $run) (i32.const 4)))
    ;; whole fours of channels go as one v128 when every tap starts a panel (C a multiple of 4)
    (local.set $fours (i32.eqz (i32.and (local.get $c) (i32.const 3))))
    (local.set $m (local.get $m0))
    (block $doneM (loop $nextM
      (br_if $doneM (i32.ge_u (local.get $m) (local.get $m1)))
      ;; this position's slot in panel 0
      (local.set $row (i32.add (local.get $out) (i32.shl (i32.sub (local.get $m) (local.get $m0)) (i32.const 4))))
      (local.set $xn (i32.add (local.get $x) (i32.mul (i32.div_u (local.get $m) (local.get $perImage)) (local.get $imageBytes))))
      (local.set $t (i32.rem_u (local.get $m) (local.get $perImage)))
      (local.set $ih0 (i32.sub (i32.mul (i32.div_u (local.get $t) (local.get $ow)) (local.get $sh)) (local.get $pt)))
      (local.set $iw0 (i32.sub (i32.mul (i32.rem_u (local.get $t) (local.get $ow)) (local.get $sw)) (local.get $pl)))
      (local.set $p (i32.const 0))
      (local.set $a (i32.const 0))
      (block $doneA (loop $nextA
        (br_if $doneA (i32.ge_u (local.get $a) (local.get $fh)))
        (local.set $ih (i32.add (local.get $ih0) (i32.mul (local.get $a) (local.get $dh))))
        (local.set $b (i32.const 0))
        (block $doneB (loop $nextB
          (br_if $doneB (i32.ge_u (local.get $b) (local.get $fw)))
          (local.set $iw (i32.add (local.get $iw0) (i32.mul (local.get $b) (local.get $dw))))
          ;; unsigned compares: a negative row or column is out of range too
          (local.set $src (if (result i32) (i32.and (i32.lt_u (local.get $ih) (local.get $h)) (i32.lt_u (local.get $iw) (local.get $w)))
            (then (i32.add (local.get $xn) (i32.mul (i32.add (i32.mul (local.get $ih) (local.get $w)) (local.get $iw)) (local.get $cBytes))))
            (else (i32.const -1))))
          (local.set $ch (i32.const 0))
          (if (local.get $fours) (then
            (block $doneC4 (loop $nextC4
              (br_if $doneC4 (i32.ge_u (local.get $ch) (local.get $cBytes)))
              (v128.store (i32.add (local.get $row) (i32.mul (i32.shr_u (local.get $p) (i32.const 2)) (local.get $panelBytes)))
                (if (result v128) (i32.eq (local.get $src) (i32.const -1))
                  (then (v128.const i32x4 0 0 0 0))
                  (else (v128.load (i32.add (local.get $src) (local.get $ch))))))
              (local.set $p (i32.add (local.get $p) (i32.const 4)))
              (local.set $ch (i32.add (local.get $ch) (i32.const 16)))
              (br $nextC4))))
            (else
              (block $doneC (loop $nextC
                (br_if $doneC (i32.ge_u (local.get $ch) (local.get $cBytes)))
                (f32.store
                  (i32.add (i32.add (local.get $row) (i32.mul (i32.shr_u (local.get $p) (i32.const 2)) (local.get $panelBytes)))
                    (i32.shl (i32.and (local.get $p) (i32.const 3)) (i32.const 2)))
                  (if (result f32) (i32.eq (local.get $src) (i32.const -1))
                    (then (f32.const 0))
                    (else (f32.load (i32.add (local.get $src) (local.get $ch))))))
                (local.set $p (i32.add (local.get $p) (i32.const 1)))
                (local.set $ch (i32.add (local.get $ch) (i32.const 4)))
                (br $nextC)))))
          (local.set $b (i32.add (local.get $b) (i32.const 1)))
          (br $nextB)))
        (local.set $a (i32.add (local.get $a) (i32.const 1)))
        (br $nextA)))
      ;; zeros up to the panel's end
      (block $donePad (loop $nextPad
        (br_if $donePad (i32.eqz (i32.and (local.get $p) (i32.const 3))))
        (f32.store
          (i32.add (i32.add (local.get $row) (i32.mul (i32.shr_u (local.get $p) (i32.const 2)) (local.get $panelBytes)))
            (i32.shl (i32.and (local.get $p) (i32.const 3)) (i32.const 2)))
          (f32.const 0))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $nextPad)))
      (local.set $m (i32.add (local.get $m) (i32.const 1)))
      (br $nextM))))

  ;; Rows [m0, m1) of dy [M, K] as productPanels' b: panel k/8 holds channels k..k+7 of each row,
  ;; [m1 − m0][8], panels `run`·32 bytes apart, zeros past K (their columns of the product are
  ;; dropped; see patchPanels).
  (func (export "rowPanels")
    (param $dy i32) (param $out i32) (param $m0 i32) (param $m1 i32) (param $run i32) (param $k i32)
    (local $m i32) (local $src i32) (local $dst i32) (local $j i32) (local $panelBytes i32) (local $kBytes i32)
    (local.set $panelBytes (i32.shl (local.get $run) (i32.const 5)))
    (local.set $kBytes (i32.shl (local.get $k) (i32.const 2)))
    (local.set $m (local.get $m0))
    (block $doneM (loop $nextM
      (br_if $doneM (i32.ge_u (local.get $m) (local.get $m1)))
      (local.set $src (i32.add (local.get $dy) (i32.mul (local.get $m) (local.get $kBytes))))
      (local.set $dst (i32.add (local.get $out) (i32.shl (i32.sub (local.get $m) (local.get $m0)) (i32.const 5))))
      (local.set $j (i32.const 0))
      (block $doneJ (loop $nextJ
        (br_if $doneJ (i32.gt_u (i32.add (local.get $j) (i32.const 32)) (local.get $kBytes)))
        (v128.store offset=0 (local.get $dst) (v128.load offset=0 (i32.add (local.get $src) (local.get $j))))
        (v128.store offset=16 (local.get $dst) (v128.load offset=16 (i32.add (local.get $src) (local.get $j))))
        (local.set $dst (i32.add (local.get $dst) (local.get $panelBytes)))
        (local.set $j (i32.add (local.get $j) (i32.const 32)))
        (br $nextJ)))
      ;; a last, partial block: its channels, then zeros
      (if (i32.lt_u (local.get $j) (local.get $kBytes)) (then
        (v128.store offset=0 (local.get $dst) (v128.const i32x4 0 0 0 0))
        (v128.store offset=16 (local.get $dst) (v128.const i32x4 0 0 0 0))
        (block $doneTail (loop $nextTail
          (br_if $doneTail (i32.ge_u (local.get $j) (local.get $kBytes)))
          (f32.store (local.get $dst) (f32.load (i32.add (local.get $src) (local.get $j))))
          (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
          (local.set $j (i32.add (local.get $j) (i32.const 4)))
          (br $nextTail)))))
      (local.set $m (i32.add (local.get $m) (i32.const 1)))
      (br $nextM))))
)
