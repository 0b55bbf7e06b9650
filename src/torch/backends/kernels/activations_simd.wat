;; The sigmoid and tanh of the recurrent cells in WebAssembly SIMD, four float32 lanes at a time,
;; on the WASM backend's heap (imported memory; pointers are byte addresses; counts are
;; multiples of 4, the caller doing the rest). activations.ts has the same arithmetic in
;; JavaScript, operation for operation (each rounded to float32), so both give the same bits.
;; Compiled by scripts/build_wasm.mjs into activations_simd_wasm.ts.
;;
;; Both go through expm1 of z <= 0: n = round(z / ln2) (adding and subtracting 1.5 * 2^23, which
;; rounds to the nearest even integer), t = z - n ln2 with ln2 in two parts (n * LN2_HI exact:
;; LN2_HI has 15 significant bits, |n| <= 150), expm1(t) = t + t^2 (1/2! + t (1/3! + ... t/8!))
;; (|t| <= ln2/2: truncation ~2e-10 relative), and 2^n from n's bits.
;; - sigmoid(x): e = exp(-|x|) = (1 + expm1(t)) 2^n, 2^n in two factors so that e reaches
;;   float32's subnormals (z down to -104, where it rounds to 0); 1 / (1 + e) for x >= 0, e / (1 + e)
;;   below. NaN stays NaN.
;; - tanh(x) = sign(x) * -m / (2 + m), m = expm1(-2|x|): accurate near 0 (m ~ -2|x| there, no
;;   cancellation); -2|x| is capped at -20, past which m is -1 in float32 and tanh 1.
(module
  (import "env" "memory" (memory 0))

  ;; Both exports: out[k] = f(a[k] + b[k]) for k < count, or f(a[k]) when b is 0 (a tensor's
  ;; data never lies at address 0). The shared steps are written out in each loop: V8 does not
  ;; inline calls between WebAssembly functions here, and a call per four lanes cost 2x.
  (func (export "sigmoidSum") (param $a i32) (param $b i32) (param $out i32) (param $count i32)
    (local $i i32) (local $end i32) (local $x v128) (local $z v128) (local $n v128) (local $t v128) (local $p v128) (local $k v128) (local $k1 v128) (local $e v128) (local $d v128)
    (local.set $end (i32.shl (local.get $count) (i32.const 2)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $x (v128.load (i32.add (local.get $a) (local.get $i))))
      (if (local.get $b) (then (local.set $x (f32x4.add (local.get $x) (v128.load (i32.add (local.get $b) (local.get $i)))))))
      (local.set $z (f32x4.max (f32x4.neg (f32x4.abs (local.get $x))) (v128.const f32x4 -104 -104 -104 -104)))
      ;; n = round(z / ln2), t = z - n ln2
      (local.set $n (f32x4.sub (f32x4.add (f32x4.mul (local.get $z) (v128.const f32x4 0x1.715476p+0 0x1.715476p+0 0x1.715476p+0 0x1.715476p+0)) (v128.const f32x4 12582912 12582912 12582912 12582912)) (v128.const f32x4 12582912 12582912 12582912 12582912)))
      (local.set $t (f32x4.sub (f32x4.sub (local.get $z) (f32x4.mul (local.get $n) (v128.const f32x4 0x1.62e4p-1 0x1.62e4p-1 0x1.62e4p-1 0x1.62e4p-1)))
        (f32x4.mul (local.get $n) (v128.const f32x4 0x1.7f7d1cp-20 0x1.7f7d1cp-20 0x1.7f7d1cp-20 0x1.7f7d1cp-20))))
      ;; p = expm1(t) = t + t^2 (1/2! + t (1/3! + ... + t/8!))
      (local.set $p (f32x4.add (f32x4.mul (v128.const f32x4 0x1.a01a02p-16 0x1.a01a02p-16 0x1.a01a02p-16 0x1.a01a02p-16) (local.get $t)) (v128.const f32x4 0x1.a01a02p-13 0x1.a01a02p-13 0x1.a01a02p-13 0x1.a01a02p-13)))
      (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $t)) (v128.const f32x4 0x1.6c16c2p-10 0x1.6c16c2p-10 0x1.6c16c2p-10 0x1.6c16c2p-10)))
      (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $t)) (v128.const f32x4 0x1.111112p-7 0x1.111112p-7 0x1.111112p-7 0x1.111112p-7)))
      (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $t)) (v128.const f32x4 0x1.555556p-5 0x1.555556p-5 0x1.555556p-5 0x1.555556p-5)))
      (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $t)) (v128.const f32x4 0x1.555556p-3 0x1.555556p-3 0x1.555556p-3 0x1.555556p-3)))
      (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $t)) (v128.const f32x4 0.5 0.5 0.5 0.5)))
      (local.set $p (f32x4.add (local.get $t) (f32x4.mul (f32x4.mul (local.get $t) (local.get $t)) (local.get $p))))
      ;; e = exp(-|x|) = (1 + p) 2^n, 2^n as two factors
      (local.set $k (i32x4.trunc_sat_f32x4_s (local.get $n)))
      (local.set $k1 (i32x4.shr_s (local.get $k) (i32.const 1)))
      (local.set $e (f32x4.mul (f32x4.mul (f32x4.add (v128.const f32x4 1 1 1 1) (local.get $p)) (i32x4.shl (i32x4.add (local.get $k1) (v128.const i32x4 127 127 127 127)) (i32.const 23)))
        (i32x4.shl (i32x4.add (i32x4.sub (local.get $k) (local.get $k1)) (v128.const i32x4 127 127 127 127)) (i32.const 23))))
      (local.set $d (f32x4.add (v128.const f32x4 1 1 1 1) (local.get $e)))
      ;; e / (1 + e) below 0, 1 / (1 + e) from 0 (and for NaN)
      (v128.store (i32.add (local.get $out) (local.get $i)) (f32x4.div
        (v128.bitselect (local.get $e) (v128.const f32x4 1 1 1 1) (f32x4.lt (local.get $x) (v128.const f32x4 0 0 0 0)))
        (local.get $d)))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $next))))

  (func (export "tanhSum") (param $a i32) (param $b i32) (param $out i32) (param $count i32)
    (local $i i32) (local $end i32) (local $x v128) (local $z v128) (local $n v128) (local $t v128) (local $p v128) (local $s v128) (local $m v128)
    (local.set $end (i32.shl (local.get $count) (i32.const 2)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $x (v128.load (i32.add (local.get $a) (local.get $i))))
      (if (local.get $b) (then (local.set $x (f32x4.add (local.get $x) (v128.load (i32.add (local.get $b) (local.get $i)))))))
      (local.set $z (f32x4.max (f32x4.mul (f32x4.abs (local.get $x)) (v128.const f32x4 -2 -2 -2 -2)) (v128.const f32x4 -20 -20 -20 -20)))
      ;; n = round(z / ln2), t = z - n ln2
      (local.set $n (f32x4.sub (f32x4.add (f32x4.mul (local.get $z) (v128.const f32x4 0x1.715476p+0 0x1.715476p+0 0x1.715476p+0 0x1.715476p+0)) (v128.const f32x4 12582912 12582912 12582912 12582912)) (v128.const f32x4 12582912 12582912 12582912 12582912)))
      (local.set $t (f32x4.sub (f32x4.sub (local.get $z) (f32x4.mul (local.get $n) (v128.const f32x4 0x1.62e4p-1 0x1.62e4p-1 0x1.62e4p-1 0x1.62e4p-1)))
        (f32x4.mul (local.get $n) (v128.const f32x4 0x1.7f7d1cp-20 0x1.7f7d1cp-20 0x1.7f7d1cp-20 0x1.7f7d1cp-20))))
      ;; p = expm1(t) = t + t^2 (1/2! + t (1/3! + ... + t/8!))
      (local.set $p (f32x4.add (f32x4.mul (v128.const f32x4 0x1.a01a02p-16 0x1.a01a02p-16 0x1.a01a02p-16 0x1.a01a02p-16) (local.get $t)) (v128.const f32x4 0x1.a01a02p-13 0x1.a01a02p-13 0x1.a01a02p-13 0x1.a01a02p-13)))
      (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $t)) (v128.const f32x4 0x1.6c16c2p-10 0x1.6c16c2p-10 0x1.6c16c2p-10 0x1.6c16c2p-10)))
      (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $t)) (v128.const f32x4 0x1.111112p-7 0x1.111112p-7 0x1.111112p-7 0x1.111112p-7)))
      (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $t)) (v128.const f32x4 0x1.555556p-5 0x1.555556p-5 0x1.555556p-5 0x1.555556p-5)))
      (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $t)) (v128.const f32x4 0x1.555556p-3 0x1.555556p-3 0x1.555556p-3 0x1.555556p-3)))
      (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $t)) (v128.const f32x4 0.5 0.5 0.5 0.5)))
      (local.set $p (f32x4.add (local.get $t) (f32x4.mul (f32x4.mul (local.get $t) (local.get $t)) (local.get $p))))
      ;; m = expm1(-2|x|) = 2^n p + (2^n - 1); tanh = copysign(-m / (2 + m), x)
      (local.set $s (i32x4.shl (i32x4.add (i32x4.trunc_sat_f32x4_s (local.get $n)) (v128.const i32x4 127 127 127 127)) (i32.const 23)))
      (local.set $m (f32x4.add (f32x4.mul (local.get $s) (local.get $p)) (f32x4.sub (local.get $s) (v128.const f32x4 1 1 1 1))))
      (v128.store (i32.add (local.get $out) (local.get $i)) (v128.bitselect (local.get $x)
        (f32x4.div (f32x4.neg (local.get $m)) (f32x4.add (v128.const f32x4 2 2 2 2) (local.get $m)))
        (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000)))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $next))))
)
