;; One Adadelta step over a parameter tensor, four float32 lanes at a time, on the WASM backend's
;; own heap (imported memory): the same float32 operations in the same order as the chain of tfjs
;; ops in adadelta.ts (each rounded to float32; the square roots are IEEE's, as tfjs's), so the
;; results are identical, in one pass instead of about fifteen kernels. $n is a multiple of 4
;; (the caller does the tail); pointers are byte addresses. $flags: 1 maximize, 2 weight decay.
;; Compiled by scripts/build_wasm.mjs into adadelta_simd_wasm.ts.
(module
  (import "env" "memory" (memory 0))
  (func (export "adadelta")
    (param $p i32) (param $g i32) (param $v i32) (param $u i32) (param $op i32) (param $ov i32) (param $ou i32) (param $n i32)
    (param $wd f32) (param $rho f32) (param $c f32) (param $eps f32) (param $neglr f32) (param $flags i32)
    (local $i i32) (local $end i32) (local $kwd v128) (local $krho v128) (local $kc v128) (local $keps v128) (local $klr v128)
    (local $pp v128) (local $gg v128) (local $vv v128) (local $uu v128) (local $delta v128)
    (local.set $kwd (f32x4.splat (local.get $wd)))
    (local.set $krho (f32x4.splat (local.get $rho)))
    (local.set $kc (f32x4.splat (local.get $c)))
    (local.set $keps (f32x4.splat (local.get $eps)))
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
        ;; v = v·ρ + g·g·(1 − ρ)
        (local.set $vv (f32x4.add
          (f32x4.mul (v128.load (i32.add (local.get $v) (local.get $i))) (local.get $krho))
          (f32x4.mul (f32x4.mul (local.get $gg) (local.get $gg)) (local.get $kc))))
        ;; Δ = √(u + eps) / √(v + eps) · g
        (local.set $uu (v128.load (i32.add (local.get $u) (local.get $i))))
        (local.set $delta (f32x4.mul
          (f32x4.div (f32x4.sqrt (f32x4.add (local.get $uu) (local.get $keps))) (f32x4.sqrt (f32x4.add (local.get $vv) (local.get $keps))))
          (local.get $gg)))
        ;; u = u·ρ + Δ·Δ·(1 − ρ)
        (v128.store (i32.add (local.get $ou) (local.get $i)) (f32x4.add
          (f32x4.mul (local.get $uu) (local.get $krho))
          (f32x4.mul (f32x4.mul (local.get $delta) (local.get $delta)) (local.get $kc))))
        (v128.store (i32.add (local.get $ov) (local.get $i)) (local.get $vv))
        ;; p + Δ·(−lr)
        (v128.store (i32.add (local.get $op) (local.get $i)) (f32x4.add (local.get $pp) (f32x4.mul (local.get $delta) (local.get $klr))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $next))))
)
