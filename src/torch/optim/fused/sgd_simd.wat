;; One SGD step over a parameter tensor, four float32 lanes at a time, on the WASM backend's own
;; heap (imported memory): the same float32 operations in the same order as the chain of tfjs
;; ops in sgd.ts (each rounded to float32), so the results are identical, in one pass instead of
;; up to seven kernels. $n is a multiple of 4 (the caller does the tail); pointers are byte
;; addresses. $flags: 1 maximize, 2 weight decay, 4 momentum, 8 the first step (the buffer
;; starts as the gradient), 16 Nesterov. Compiled by scripts/build_wasm.mjs into sgd_simd_wasm.ts.
(module
  (import "env" "memory" (memory 0))
  (func (export "sgd")
    (param $p i32) (param $g i32) (param $buf i32) (param $op i32) (param $obuf i32) (param $n i32)
    (param $wd f32) (param $momentum f32) (param $damp f32) (param $neglr f32) (param $flags i32)
    (local $i i32) (local $end i32) (local $kwd v128) (local $kmom v128) (local $kdamp v128) (local $klr v128)
    (local $pp v128) (local $gg v128) (local $bb v128)
    (local.set $kwd (f32x4.splat (local.get $wd)))
    (local.set $kmom (f32x4.splat (local.get $momentum)))
    (local.set $kdamp (f32x4.splat (local.get $damp)))
    (local.set $klr (f32x4.splat (local.get $neglr)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $pp (v128.load (i32.add (local.get $p) (local.get $i))))
        (local.set $gg (v128.load (i32.add (local.get $g) (local.get $i))))
        (if (i32.and (local.get $flags) (i32.const 1)) (then (local.set $gg (f32x4.neg (local.get $gg)))))
        ;; g + p·wd
        (if (i32.and (local.get $flags) (i32.const 2))
          (then (local.set $gg (f32x4.add (local.get $gg) (f32x4.mul (local.get $pp) (local.get $kwd))))))
        (if (i32.and (local.get $flags) (i32.const 4))
          (then
            ;; b = g (first step), else b·momentum + g·(1 − dampening)
            (if (i32.and (local.get $flags) (i32.const 8))
              (then (local.set $bb (local.get $gg)))
              (else (local.set $bb (f32x4.add
                (f32x4.mul (v128.load (i32.add (local.get $buf) (local.get $i))) (local.get $kmom))
                (f32x4.mul (local.get $gg) (local.get $kdamp))))))
            (v128.store (i32.add (local.get $obuf) (local.get $i)) (local.get $bb))
            ;; Nesterov: g + b·momentum; else b
            (if (i32.and (local.get $flags) (i32.const 16))
              (then (local.set $gg (f32x4.add (local.get $gg) (f32x4.mul (local.get $bb) (local.get $kmom)))))
              (else (local.set $gg (local.get $bb))))))
        ;; p + g·(−lr)
        (v128.store (i32.add (local.get $op) (local.get $i)) (f32x4.add (local.get $pp) (f32x4.mul (local.get $gg) (local.get $klr))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $next))))
)
