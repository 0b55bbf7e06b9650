;; A batched 2-D transpose of 32-bit values on the WASM backend's heap (imported memory):
;; src [B, R, C] → dst [B, C, R], what NCHW ⇄ NHWC around every convolution is. Four rows by
;; four columns are one block: four loads, a transpose in registers (shuffles move bits: values,
;; NaN payloads and int32 alike come out unchanged), four stores. The columns after the last four
;; of a strip and the rows after the last four are moved one value at a time. Pointers are byte
;; addresses. Compiled by scripts/build_wasm.mjs into transpose_simd_wasm.ts.
(module
  (import "env" "memory" (memory 0))
  (func (export "transpose2d")
    (param $src i32) (param $dst i32) (param $batches i32) (param $rows i32) (param $cols i32)
    (local $b i32) (local $r i32) (local $c i32) (local $s i32) (local $d i32)
    (local $rowBytes i32) (local $colBytes i32) (local $plane i32) (local $rows4 i32) (local $cols4 i32)
    (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128) (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    ;; bytes per source row (C values) and per destination row (R values), and per plane
    (local.set $rowBytes (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $colBytes (i32.shl (local.get $rows) (i32.const 2)))
    (local.set $plane (i32.mul (local.get $rowBytes) (local.get $rows)))
    (local.set $rows4 (i32.and (local.get $rows) (i32.const -4)))
    (local.set $cols4 (i32.and (local.get $cols) (i32.const -4)))
    (local.set $b (i32.const 0))
    (block $doneB (loop $nextB
      (br_if $doneB (i32.ge_u (local.get $b) (local.get $batches)))
      (local.set $r (i32.const 0))
      (block $doneR (loop $nextR
        (br_if $doneR (i32.ge_u (local.get $r) (local.get $rows4)))
        (local.set $c (i32.const 0))
        (block $doneC (loop $nextC
          (br_if $doneC (i32.ge_u (local.get $c) (local.get $cols4)))
          ;; src[r .. r+3][c .. c+3]
          (local.set $s (i32.add (local.get $src) (i32.add (i32.mul (local.get $r) (local.get $rowBytes)) (i32.shl (local.get $c) (i32.const 2)))))
          (local.set $v0 (v128.load (local.get $s)))
          (local.set $v1 (v128.load (i32.add (local.get $s) (local.get $rowBytes))))
          (local.set $v2 (v128.load (i32.add (local.get $s) (i32.shl (local.get $rowBytes) (i32.const 1)))))
          (local.set $v3 (v128.load (i32.add (local.get $s) (i32.mul (local.get $rowBytes) (i32.const 3)))))
          (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $v0) (local.get $v1)))
          (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $v0) (local.get $v1)))
          (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $v2) (local.get $v3)))
          (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $v2) (local.get $v3)))
          ;; dst[c + q][r .. r+3]
          (local.set $d (i32.add (local.get $dst) (i32.add (i32.mul (local.get $c) (local.get $colBytes)) (i32.shl (local.get $r) (i32.const 2)))))
          (v128.store (local.get $d) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
          (v128.store (i32.add (local.get $d) (local.get $colBytes))
            (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
          (v128.store (i32.add (local.get $d) (i32.shl (local.get $colBytes) (i32.const 1)))
            (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
          (v128.store (i32.add (local.get $d) (i32.mul (local.get $colBytes) (i32.const 3)))
            (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3)))
          (local.set $c (i32.add (local.get $c) (i32.const 4)))
          (br $nextC)))
        ;; the strip's last columns
        (block $doneCT (loop $nextCT
          (br_if $doneCT (i32.ge_u (local.get $c) (local.get $cols)))
          (local.set $s (i32.add (local.get $src) (i32.add (i32.mul (local.get $r) (local.get $rowBytes)) (i32.shl (local.get $c) (i32.const 2)))))
          (local.set $d (i32.add (local.get $dst) (i32.add (i32.mul (local.get $c) (local.get $colBytes)) (i32.shl (local.get $r) (i32.const 2)))))
          (i32.store (local.get $d) (i32.load (local.get $s)))
          (i32.store offset=4 (local.get $d) (i32.load (i32.add (local.get $s) (local.get $rowBytes))))
          (i32.store offset=8 (local.get $d) (i32.load (i32.add (local.get $s) (i32.shl (local.get $rowBytes) (i32.const 1)))))
          (i32.store offset=12 (local.get $d) (i32.load (i32.add (local.get $s) (i32.mul (local.get $rowBytes) (i32.const 3)))))
          (local.set $c (i32.add (local.get $c) (i32.const 1)))
          (br $nextCT)))
        (local.set $r (i32.add (local.get $r) (i32.const 4)))
        (br $nextR)))
      ;; the last rows
      (block $doneRT (loop $nextRT
        (br_if $doneRT (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $c (i32.const 0))
        (block $doneCR (loop $nextCR
          (br_if $doneCR (i32.ge_u (local.get $c) (local.get $cols)))
          (i32.store
            (i32.add (local.get $dst) (i32.add (i32.mul (local.get $c) (local.get $colBytes)) (i32.shl (local.get $r) (i32.const 2))))
            (i32.load (i32.add (local.get $src) (i32.add (i32.mul (local.get $r) (local.get $rowBytes)) (i32.shl (local.get $c) (i32.const 2))))))
          (local.set $c (i32.add (local.get $c) (i32.const 1)))
          (br $nextCR)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $nextRT)))
      (local.set $src (i32.add (local.get $src) (local.get $plane)))
      (local.set $dst (i32.add (local.get $dst) (local.get $plane)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $nextB))))
)
