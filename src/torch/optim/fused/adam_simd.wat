;; One Adam/AdamW step over a parameter tensor, four float32 lanes at a time, on the WASM
;; backend's own heap (imported memory): the same float32 operations in the same order as the
;; chain of tfjs ops in adam.ts (each rounded to float32), so the results are identical, in one
;; pass instead of a dozen kernels. $n is a multiple of 4 (the caller does the tail); pointers
;; are byte addresses; $max/$omax are 0 without amsgrad.
;; Compiled by scripts/build_wasm.mjs into adam_simd_wasm.ts.
(module
  (import "env" "memory" (memory 0))
  (func (export "adam")
    (param $p i32) (param $g i32) (param $m i32) (param $v i32) (param $max i32)
    (param $op i32) (param $om i32) (param $ov i32) (param $omax i32) (param $n i32)
    (param $c1 f32) (param $b2 f32) (param $c2 f32) (param $bc2s f32) (param $eps f32) (param $negstep f32)
    (param $wdmode i32) (param $wd f32) (param $maximize i32)
    (local $i i32) (local $end i32)
    (local $kc1 v128) (local $kb2 v128) (local $kc2 v128) (local $kbc2s v128) (local $keps v128) (local $kstep v128) (local $kwd v128)
    (local $pp v128) (local $gg v128) (local $mm v128) (local $vv v128) (local $second v128)
    (local.set $kc1 (f32x4.splat (local.get $c1)))
    (local.set $kb2 (f32x4.splat (local.get $b2)))
    (local.set $kc2 (f32x4.splat (local.get $c2)))
    (local.set $kbc2s (f32x4.splat (local.get $bc2s)))
    (local.set $keps (f32x4.splat (local.get $eps)))
    (local.set $kstep (f32x4.splat (local.get $negstep)))
    (local.set $kwd (f32x4.splat (local.get $wd)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $pp (v128.load (i32.add (local.get $p) (local.get $i))))
        (local.set $gg (v128.load (i32.add (local.get $g) (local.get $i))))
        (if (local.get $maximize) (then (local.set $gg (f32x4.neg (local.get $gg)))))
        ;; weight decay: 1 = L2 (g + p·wd), 2 = decoupled (p·(1 − lr·wd), passed as $wd)
        (if (i32.eq (local.get $wdmode) (i32.const 1))
          (then (local.set $gg (f32x4.add (local.get $gg) (f32x4.mul (local.get $pp) (local.get $kwd))))))
        (if (i32.eq (local.get $wdmode) (i32.const 2))
          (then (local.set $pp (f32x4.mul (local.get $pp) (local.get $kwd)))))
        ;; m + (g − m)·(1 − β1)
        (local.set $mm (v128.load (i32.add (local.get $m) (local.get $i))))
        (local.set $mm (f32x4.add (local.get $mm) (f32x4.mul (f32x4.sub (local.get $gg) (local.get $mm)) (local.get $kc1))))
        ;; v·β2 + g·g·(1 − β2)
        (local.set $vv (f32x4.add
          (f32x4.mul (v128.load (i32.add (local.get $v) (local.get $i))) (local.get $kb2))
          (f32x4.mul (f32x4.mul (local.get $gg) (local.get $gg)) (local.get $kc2))))
        (local.set $second (local.get $vv))
        (if (local.get $max)
          (then
            (local.set $second (f32x4.max (v128.load (i32.add (local.get $max) (local.get $i))) (local.get $vv)))
            (v128.store (i32.add (local.get $omax) (local.get $i)) (local.get $second))))
        (v128.store (i32.add (local.get $om) (local.get $i)) (local.get $mm))
        (v128.store (i32.add (local.get $ov) (local.get $i)) (local.get $vv))
        ;; p + (m / (√second / √(1 − β2^t) + eps))·(−lr / (1 − β1^t))
        (v128.store (i32.add (local.get $op) (local.get $i))
          (f32x4.add (local.get $pp)
            (f32x4.mul
              (f32x4.div (local.get $mm)
                (f32x4.add (f32x4.div (f32x4.sqrt (local.get $second)) (local.get $kbc2s)) (local.get $keps)))
              (local.get $kstep))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $next))))
)
