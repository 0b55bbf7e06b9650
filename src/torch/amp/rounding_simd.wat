;; 16-bit rounding in place (and GradScaler's unscale), four float32 lanes at a time, on tfjs-backend-wasm's own memory
;; (imported), so a tensor's buffer on the WASM heap is rounded where it lies. The same
;; arithmetic as rounding.ts (its tests are the reference): $p is the byte address read, $dst
;; the one written ($p itself to round in place; a rounded copy is then one pass, not a copy and
;; a pass), 16-byte steps, $n a count of floats that is a multiple of 4 (the caller rounds the tail). |x|'s bits
;; are a non-negative int32, so the comparisons are signed ones (single SSE instructions; x86 has
;; no unsigned 32-bit vector compare).
;; Compiled by scripts/build_wasm.mjs into rounding_simd_wasm.ts.
(module
  (import "env" "memory" (memory 0))

  ;; bfloat16: + 0x7fff + lsb, drop 16 bits; NaN kept (quieted).
  (func (export "bf16") (param $p i32) (param $dst i32) (param $n i32)
    (local $end i32) (local $v v128) (local $k0 v128) (local $k1 v128) (local $k2 v128) (local $k3 v128) (local $k4 v128) (local $k5 v128)
    (local.set $k0 (v128.const i32x4 0x00400000 0x00400000 0x00400000 0x00400000))
    (local.set $k1 (v128.const i32x4 0xffff0000 0xffff0000 0xffff0000 0xffff0000))
    (local.set $k2 (v128.const i32x4 0x7fff 0x7fff 0x7fff 0x7fff))
    (local.set $k3 (v128.const i32x4 1 1 1 1))
    (local.set $k4 (v128.const i32x4 0x7fffffff 0x7fffffff 0x7fffffff 0x7fffffff))
    (local.set $k5 (v128.const i32x4 0x7f800000 0x7f800000 0x7f800000 0x7f800000))
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $v (v128.load (local.get $p)))
        (v128.store (local.get $dst)
          (v128.bitselect
            (v128.and (v128.or (local.get $v) (local.get $k0)) (local.get $k1))
            (v128.and
              (i32x4.add
                (i32x4.add (local.get $v) (local.get $k2))
                (v128.and (i32x4.shr_u (local.get $v) (i32.const 16)) (local.get $k3)))
              (local.get $k1))
            (i32x4.gt_s (v128.and (local.get $v) (local.get $k4)) (local.get $k5))))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (br $next))))

  ;; float16: normal values drop 13 bits (ties to even); |x| >= 65520 is +-inf (NaN kept);
  ;; below 2^-14 the value is rounded to a multiple of 2^-24 as (|x| + 0.5) - 0.5, whose
  ;; float32 sum has exactly that quantum, with the sign put back.
  (func (export "f16") (param $p i32) (param $dst i32) (param $n i32)
    (local $end i32) (local $v v128) (local $a v128) (local $sign v128) (local $big v128) (local $r v128) (local $low v128) (local $high v128) (local $k0 v128) (local $k1 v128) (local $k2 v128) (local $k3 v128) (local $k4 v128) (local $k5 v128) (local $k6 v128) (local $k7 v128) (local $k8 v128)
    (local.set $k0 (v128.const i32x4 0x7fffffff 0x7fffffff 0x7fffffff 0x7fffffff))
    (local.set $k1 (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000))
    (local.set $k2 (v128.const i32x4 0x7f800000 0x7f800000 0x7f800000 0x7f800000))
    (local.set $k3 (v128.const f32x4 0.5 0.5 0.5 0.5))
    (local.set $k4 (v128.const i32x4 0xfff 0xfff 0xfff 0xfff))
    (local.set $k5 (v128.const i32x4 1 1 1 1))
    (local.set $k6 (v128.const i32x4 0xffffe000 0xffffe000 0xffffe000 0xffffe000))
    (local.set $k7 (v128.const i32x4 0x477fefff 0x477fefff 0x477fefff 0x477fefff))
    (local.set $k8 (v128.const i32x4 0x38800000 0x38800000 0x38800000 0x38800000))
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $v (v128.load (local.get $p)))
        (local.set $a (v128.and (local.get $v) (local.get $k0)))
        ;; the normal-range rounding, for every lane
        (local.set $r
          (v128.and
            (i32x4.add
              (i32x4.add (local.get $v) (local.get $k4))
              (v128.and (i32x4.shr_u (local.get $v) (i32.const 13)) (local.get $k5)))
            (local.get $k6)))
        (local.set $low (i32x4.gt_s (local.get $k8) (local.get $a)))
        (local.set $high (i32x4.gt_s (local.get $a) (local.get $k7)))
        ;; lanes below 2^-14 or at 65520 and above (rare in training data): their own results
        (if (v128.any_true (v128.or (local.get $low) (local.get $high)))
          (then
            (local.set $sign (v128.and (local.get $v) (local.get $k1)))
            (local.set $big
              (v128.bitselect
                (local.get $v)
                (v128.or (local.get $sign) (local.get $k2))
                (i32x4.gt_s (local.get $a) (local.get $k2))))
            (local.set $r
              (v128.bitselect
                (v128.or
                  (local.get $sign)
                  (f32x4.sub (f32x4.add (local.get $a) (local.get $k3)) (local.get $k3)))
                (v128.bitselect (local.get $big) (local.get $r) (local.get $high))
                (local.get $low)))))
        (v128.store (local.get $dst) (local.get $r))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (br $next))))

  ;; GradScaler's unscale: dst = src * inv for $n floats (a multiple of 4); returns 1 when any
  ;; result is inf or NaN (all exponent bits set), else 0.
  (func (export "unscale") (param $src i32) (param $dst i32) (param $n i32) (param $inv f32) (result i32)
    (local $end i32) (local $v v128) (local $scale v128) (local $bad v128) (local $exp v128)
    (local.set $exp (v128.const i32x4 0x7f800000 0x7f800000 0x7f800000 0x7f800000))
    (local.set $end (i32.add (local.get $src) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $scale (f32x4.splat (local.get $inv)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
        (local.set $v (f32x4.mul (v128.load (local.get $src)) (local.get $scale)))
        (v128.store (local.get $dst) (local.get $v))
        (local.set $bad
          (v128.or (local.get $bad)
            (i32x4.eq (v128.and (local.get $v) (local.get $exp)) (local.get $exp))))
        (local.set $src (i32.add (local.get $src) (i32.const 16)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (br $next)))
    (v128.any_true (local.get $bad)))
)
