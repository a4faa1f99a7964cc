;; Elementwise kernels of a training step (WebAssembly SIMD128), in place on a shared memory: the
;; LSTM, GRU and Elman cell steps, the one-hot input projection with its weight gradient, the losses
;; (softmax cross-entropy, softmax, squared error) and the bias terms (row-vector adds, column sums).
;; Same conventions as gemm.wat: byte pointers, row-major float32, no state, so threads may run
;; them at once on one memory as long as what they write doesn't overlap.
;; The TypeScript versions (src/shared/model/cells.ts, loss.ts, network.ts) are the reference; these
;; compute in float32 with a polynomial exp (Cephes expf) and a rational tanh, a few ulp, 4 lanes at
;; a time; sums that feed a loss are kept in float64.
(module
  (import "env" "memory" (memory 1 65536 shared))

;; ---- constants of the activations ------------------------------------------------------
  ;; Globals, not v128.const: V8 rebuilds a v128.const from immediates at every use (three
  ;; instructions each, about half of an activation's instructions), a global is one load.
  (global $expMax v128 (v128.const f32x4 88 88 88 88))
  (global $expMin v128 (v128.const f32x4 -87 -87 -87 -87))
  (global $log2e v128 (v128.const f32x4 1.44269504088896341 1.44269504088896341 1.44269504088896341 1.44269504088896341))
  (global $roundBias v128 (v128.const f32x4 12582912 12582912 12582912 12582912))
  (global $ln2Hi v128 (v128.const f32x4 0.693359375 0.693359375 0.693359375 0.693359375))
  (global $ln2Lo v128 (v128.const f32x4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4))
  (global $exp7 v128 (v128.const f32x4 1.9875691500e-4 1.9875691500e-4 1.9875691500e-4 1.9875691500e-4))
  (global $exp6 v128 (v128.const f32x4 1.3981999507e-3 1.3981999507e-3 1.3981999507e-3 1.3981999507e-3))
  (global $exp5 v128 (v128.const f32x4 8.3334519073e-3 8.3334519073e-3 8.3334519073e-3 8.3334519073e-3))
  (global $exp4 v128 (v128.const f32x4 4.1665795894e-2 4.1665795894e-2 4.1665795894e-2 4.1665795894e-2))
  (global $exp3 v128 (v128.const f32x4 1.6666665459e-1 1.6666665459e-1 1.6666665459e-1 1.6666665459e-1))
  (global $exp2 v128 (v128.const f32x4 5.0000001201e-1 5.0000001201e-1 5.0000001201e-1 5.0000001201e-1))
  (global $ones v128 (v128.const f32x4 1 1 1 1))
  (global $exponentBias v128 (v128.const i32x4 127 127 127 127))
  (global $tanhClamp v128 (v128.const f32x4 7.90531110763549805 7.90531110763549805 7.90531110763549805 7.90531110763549805))
  (global $tanhClampNeg v128 (v128.const f32x4 -7.90531110763549805 -7.90531110763549805 -7.90531110763549805 -7.90531110763549805))
  (global $tanhP6 v128 (v128.const f32x4 -2.76076847742355e-16 -2.76076847742355e-16 -2.76076847742355e-16 -2.76076847742355e-16))
  (global $tanhP5 v128 (v128.const f32x4 2.00018790482477e-13 2.00018790482477e-13 2.00018790482477e-13 2.00018790482477e-13))
  (global $tanhP4 v128 (v128.const f32x4 -8.60467152213735e-11 -8.60467152213735e-11 -8.60467152213735e-11 -8.60467152213735e-11))
  (global $tanhP3 v128 (v128.const f32x4 5.12229709037114e-08 5.12229709037114e-08 5.12229709037114e-08 5.12229709037114e-08))
  (global $tanhP2 v128 (v128.const f32x4 1.48572235717979e-05 1.48572235717979e-05 1.48572235717979e-05 1.48572235717979e-05))
  (global $tanhP1 v128 (v128.const f32x4 6.37261928875436e-04 6.37261928875436e-04 6.37261928875436e-04 6.37261928875436e-04))
  (global $tanhP0 v128 (v128.const f32x4 4.89352455891786e-03 4.89352455891786e-03 4.89352455891786e-03 4.89352455891786e-03))
  (global $tanhQ3 v128 (v128.const f32x4 1.19825839466702e-06 1.19825839466702e-06 1.19825839466702e-06 1.19825839466702e-06))
  (global $tanhQ2 v128 (v128.const f32x4 1.18534705686654e-04 1.18534705686654e-04 1.18534705686654e-04 1.18534705686654e-04))
  (global $tanhQ1 v128 (v128.const f32x4 2.26843463243900e-03 2.26843463243900e-03 2.26843463243900e-03 2.26843463243900e-03))
  (global $tanhQ0 v128 (v128.const f32x4 4.89352518554385e-03 4.89352518554385e-03 4.89352518554385e-03 4.89352518554385e-03))
  (global $tanhLinearBelow v128 (v128.const f32x4 0.0004 0.0004 0.0004 0.0004))

  ;; ---- activations over spans --------------------------------------------------------------
  ;; V8 does not inline wasm calls and spills every v128 live across one, so the exp is written
  ;; out inside the one loop that uses it (10% faster than calling a 4-lane exp per quad).

  ;; dst = e^(s·(src − shift)) over n floats (n a multiple of 4; dst may be src), or, with
  ;; $sigmoid set, dst = 1 / (1 + that): σ(src) is shift 0, s = −1 (no cancellation anywhere, so
  ;; a few ulp everywhere); a softmax row is shift = max, s = 1.
  ;; e^x: x clamped to [-87, 88] so 2^n stays a normal float (e^88 ≈ 1.7e38, e^-87 ≈ 1.6e-38),
  ;; with pmin/pmax (one minps/maxps each; a NaN x stays NaN), not f32x4.min/max, whose exact NaN
  ;; and ±0 rules cost V8 ~7 instructions apiece (1.6× slower in all); n = round(x / ln 2),
  ;; rounded by adding 1.5·2^23 (t's low mantissa bits are then n, so 2^n is (bits(t) + 127) << 23:
  ;; no float→int conversion); r = x − n·ln 2 in two parts (Cody–Waite, exact for |n| ≤ 128);
  ;; e^r by Cephes expf's degree-7 polynomial.
  (func $expSpan (param $src i32) (param $dst i32) (param $n i32) (param $shift v128) (param $s v128)
    (param $sigmoid i32)
    (local $end i32) (local $second i32)
    (local $x v128) (local $k v128) (local $z v128) (local $p v128) (local $t v128)
    (local $x2 v128) (local $k2 v128) (local $z2 v128) (local $p2 v128) (local $t2 v128)
    (local.set $end (i32.add (local.get $src) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $quads
        (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
        ;; Two quads at a time, their chains interleaved (one quad's chain is latency-bound); a
        ;; lone last quad is done twice: both are loaded before either is stored, so in place too.
        (local.set $second (select (i32.const 16) (i32.const 0)
          (i32.lt_u (i32.add (local.get $src) (i32.const 16)) (local.get $end))))
        (local.set $x (f32x4.mul (f32x4.sub (v128.load (local.get $src)) (local.get $shift)) (local.get $s)))
        (local.set $x2 (f32x4.mul (f32x4.sub (v128.load (i32.add (local.get $src) (local.get $second))) (local.get $shift)) (local.get $s)))
        (local.set $x (f32x4.pmax (f32x4.pmin (local.get $x) (global.get $expMax)) (global.get $expMin)))
        (local.set $x2 (f32x4.pmax (f32x4.pmin (local.get $x2) (global.get $expMax)) (global.get $expMin)))
        (local.set $t (f32x4.add (f32x4.mul (local.get $x) (global.get $log2e)) (global.get $roundBias)))
        (local.set $t2 (f32x4.add (f32x4.mul (local.get $x2) (global.get $log2e)) (global.get $roundBias)))
        (local.set $k (f32x4.sub (local.get $t) (global.get $roundBias)))
        (local.set $k2 (f32x4.sub (local.get $t2) (global.get $roundBias)))
        (local.set $x (f32x4.sub (local.get $x) (f32x4.mul (local.get $k) (global.get $ln2Hi))))
        (local.set $x2 (f32x4.sub (local.get $x2) (f32x4.mul (local.get $k2) (global.get $ln2Hi))))
        (local.set $x (f32x4.sub (local.get $x) (f32x4.mul (local.get $k) (global.get $ln2Lo))))
        (local.set $x2 (f32x4.sub (local.get $x2) (f32x4.mul (local.get $k2) (global.get $ln2Lo))))
        (local.set $z (f32x4.mul (local.get $x) (local.get $x)))
        (local.set $z2 (f32x4.mul (local.get $x2) (local.get $x2)))
        (local.set $p (f32x4.add (f32x4.mul (global.get $exp7) (local.get $x)) (global.get $exp6)))
        (local.set $p2 (f32x4.add (f32x4.mul (global.get $exp7) (local.get $x2)) (global.get $exp6)))
        (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $x)) (global.get $exp5)))
        (local.set $p2 (f32x4.add (f32x4.mul (local.get $p2) (local.get $x2)) (global.get $exp5)))
        (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $x)) (global.get $exp4)))
        (local.set $p2 (f32x4.add (f32x4.mul (local.get $p2) (local.get $x2)) (global.get $exp4)))
        (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $x)) (global.get $exp3)))
        (local.set $p2 (f32x4.add (f32x4.mul (local.get $p2) (local.get $x2)) (global.get $exp3)))
        (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $x)) (global.get $exp2)))
        (local.set $p2 (f32x4.add (f32x4.mul (local.get $p2) (local.get $x2)) (global.get $exp2)))
        (local.set $p (f32x4.add (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (local.get $x)) (global.get $ones)))
        (local.set $p2 (f32x4.add (f32x4.add (f32x4.mul (local.get $p2) (local.get $z2)) (local.get $x2)) (global.get $ones)))
        (local.set $p (f32x4.mul (local.get $p)
          (i32x4.shl (i32x4.add (local.get $t) (global.get $exponentBias)) (i32.const 23))))
        (local.set $p2 (f32x4.mul (local.get $p2)
          (i32x4.shl (i32x4.add (local.get $t2) (global.get $exponentBias)) (i32.const 23))))
        (if (local.get $sigmoid)
          (then
            (local.set $p (f32x4.div (global.get $ones) (f32x4.add (global.get $ones) (local.get $p))))
            (local.set $p2 (f32x4.div (global.get $ones) (f32x4.add (global.get $ones) (local.get $p2))))))
        (v128.store (local.get $dst) (local.get $p))
        (v128.store (i32.add (local.get $dst) (local.get $second)) (local.get $p2))
        (local.set $src (i32.add (local.get $src) (i32.const 32)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
        (br $quads))))

  ;; dst = σ(src) over n floats (n a multiple of 4; dst may be src).
  (func $sigmoidSpan (param $src i32) (param $dst i32) (param $n i32)
    (call $expSpan (local.get $src) (local.get $dst) (local.get $n)
      (v128.const f32x4 0 0 0 0) (v128.const f32x4 -1 -1 -1 -1) (i32.const 1)))

  ;; dst = tanh(src) over n floats (n a multiple of 4; dst may be src): the rational minimax
  ;; approximation x·P(x²)/Q(x²) (P degree 6 in x², Q degree 3; Eigen's float tanh) on x clamped
  ;; to ±7.9053 (where it reaches the float just below 1), and x itself for |x| < 4e-4. Odd, so
  ;; relative accuracy holds down to 0 (≤ 3.5 ulp over the whole range, evaluated without FMA);
  ;; no exp, one division: 2.6× faster than 1 − 2/(e^2|x| + 1) blended with a polynomial near 0.
  (func $tanhSpan (param $src i32) (param $dst i32) (param $n i32)
    (local $end i32) (local $second i32)
    (local $a v128) (local $x v128) (local $z v128) (local $p v128) (local $q v128)
    (local $a2 v128) (local $x2 v128) (local $z2 v128) (local $p2 v128) (local $q2 v128)
    (local.set $end (i32.add (local.get $src) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $quads
        (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
        ;; Two quads at a time, as in $expSpan.
        (local.set $second (select (i32.const 16) (i32.const 0)
          (i32.lt_u (i32.add (local.get $src) (i32.const 16)) (local.get $end))))
        (local.set $a (v128.load (local.get $src)))
        (local.set $a2 (v128.load (i32.add (local.get $src) (local.get $second))))
        (local.set $x (f32x4.pmax (f32x4.pmin (local.get $a) (global.get $tanhClamp)) (global.get $tanhClampNeg)))
        (local.set $x2 (f32x4.pmax (f32x4.pmin (local.get $a2) (global.get $tanhClamp)) (global.get $tanhClampNeg)))
        (local.set $z (f32x4.mul (local.get $x) (local.get $x)))
        (local.set $z2 (f32x4.mul (local.get $x2) (local.get $x2)))
        (local.set $p (f32x4.add (f32x4.mul (global.get $tanhP6) (local.get $z)) (global.get $tanhP5)))
        (local.set $p2 (f32x4.add (f32x4.mul (global.get $tanhP6) (local.get $z2)) (global.get $tanhP5)))
        (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (global.get $tanhP4)))
        (local.set $p2 (f32x4.add (f32x4.mul (local.get $p2) (local.get $z2)) (global.get $tanhP4)))
        (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (global.get $tanhP3)))
        (local.set $p2 (f32x4.add (f32x4.mul (local.get $p2) (local.get $z2)) (global.get $tanhP3)))
        (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (global.get $tanhP2)))
        (local.set $p2 (f32x4.add (f32x4.mul (local.get $p2) (local.get $z2)) (global.get $tanhP2)))
        (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (global.get $tanhP1)))
        (local.set $p2 (f32x4.add (f32x4.mul (local.get $p2) (local.get $z2)) (global.get $tanhP1)))
        (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (global.get $tanhP0)))
        (local.set $p2 (f32x4.add (f32x4.mul (local.get $p2) (local.get $z2)) (global.get $tanhP0)))
        (local.set $q (f32x4.add (f32x4.mul (global.get $tanhQ3) (local.get $z)) (global.get $tanhQ2)))
        (local.set $q2 (f32x4.add (f32x4.mul (global.get $tanhQ3) (local.get $z2)) (global.get $tanhQ2)))
        (local.set $q (f32x4.add (f32x4.mul (local.get $q) (local.get $z)) (global.get $tanhQ1)))
        (local.set $q2 (f32x4.add (f32x4.mul (local.get $q2) (local.get $z2)) (global.get $tanhQ1)))
        (local.set $q (f32x4.add (f32x4.mul (local.get $q) (local.get $z)) (global.get $tanhQ0)))
        (local.set $q2 (f32x4.add (f32x4.mul (local.get $q2) (local.get $z2)) (global.get $tanhQ0)))
        (local.set $p (f32x4.div (f32x4.mul (local.get $x) (local.get $p)) (local.get $q)))
        (local.set $p2 (f32x4.div (f32x4.mul (local.get $x2) (local.get $p2)) (local.get $q2)))
        (v128.store (local.get $dst) (v128.bitselect (local.get $a) (local.get $p)
          (f32x4.lt (f32x4.abs (local.get $a)) (global.get $tanhLinearBelow))))
        (v128.store (i32.add (local.get $dst) (local.get $second)) (v128.bitselect (local.get $a2) (local.get $p2)
          (f32x4.lt (f32x4.abs (local.get $a2)) (global.get $tanhLinearBelow))))
        (local.set $src (i32.add (local.get $src) (i32.const 32)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
        (br $quads))))

  ;; ---- cells: H (Elman: n) a multiple of 4; the caller keeps the TS reference for the rest ---

  ;; LSTM forward step over B samples (cells.ts lstmStepForward): gates [B][i|f|g|o][H],
  ;; pre-activations → activations in place; cPrev, c, tanhC, h are [B][H].
  ;; c = f⊙cPrev + i⊙g ; tanhC = tanh c ; h = o⊙tanhC. Pass by pass over one sample's rows,
  ;; which stay in L1.
  (func (export "lstmForward")
    (param $gates i32) (param $cPrev i32) (param $c i32) (param $tanhC i32) (param $h i32)
    (param $B i32) (param $H i32)
    (local $gateBytes i32) (local $at i32) (local $end i32) (local $gate i32)
    (local.set $gateBytes (i32.shl (local.get $H) (i32.const 2)))
    (block $done
      (loop $samples
        (br_if $done (i32.eqz (local.get $B)))
        (call $sigmoidSpan (local.get $gates) (local.get $gates) (i32.shl (local.get $H) (i32.const 1)))
        (local.set $gate (i32.add (local.get $gates) (i32.shl (local.get $gateBytes) (i32.const 1))))
        (call $tanhSpan (local.get $gate) (local.get $gate) (local.get $H))
        (local.set $gate (i32.add (local.get $gate) (local.get $gateBytes)))
        (call $sigmoidSpan (local.get $gate) (local.get $gate) (local.get $H))
        ;; c = f⊙cPrev + i⊙g; `at` walks the sample's [H] rows, `gate` its i row.
        (local.set $end (i32.add (local.get $at) (local.get $gateBytes)))
        (local.set $gate (local.get $gates))
        (loop $cells
          (v128.store (i32.add (local.get $c) (local.get $at)) (f32x4.add
            (f32x4.mul (v128.load (i32.add (local.get $gate) (local.get $gateBytes)))
              (v128.load (i32.add (local.get $cPrev) (local.get $at))))
            (f32x4.mul (v128.load (local.get $gate))
              (v128.load (i32.add (local.get $gate) (i32.shl (local.get $gateBytes) (i32.const 1)))))))
          (local.set $gate (i32.add (local.get $gate) (i32.const 16)))
          (local.set $at (i32.add (local.get $at) (i32.const 16)))
          (br_if $cells (i32.lt_u (local.get $at) (local.get $end))))
        (local.set $at (i32.sub (local.get $at) (local.get $gateBytes)))
        (call $tanhSpan (i32.add (local.get $c) (local.get $at)) (i32.add (local.get $tanhC) (local.get $at)) (local.get $H))
        ;; h = o⊙tanh c; `gate` walks the o row.
        (local.set $gate (i32.add (local.get $gates) (i32.mul (local.get $gateBytes) (i32.const 3))))
        (loop $outputs
          (v128.store (i32.add (local.get $h) (local.get $at))
            (f32x4.mul (v128.load (local.get $gate)) (v128.load (i32.add (local.get $tanhC) (local.get $at)))))
          (local.set $gate (i32.add (local.get $gate) (i32.const 16)))
          (local.set $at (i32.add (local.get $at) (i32.const 16)))
          (br_if $outputs (i32.lt_u (local.get $at) (local.get $end))))
        (local.set $gates (i32.add (local.get $gates) (i32.shl (local.get $gateBytes) (i32.const 2))))
        (local.set $B (i32.sub (local.get $B) (i32.const 1)))
        (br $samples))))

  ;; LSTM backward step (cells.ts lstmStepBackward): dh is the gradient reaching h_t; dcCarry
  ;; holds dL/dc_t on entry and dL/dc_{t-1} on exit; writes pre-activation gradients to dGates.
  (func (export "lstmBackward")
    (param $gates i32) (param $cPrev i32) (param $tanhC i32) (param $dh i32) (param $dcCarry i32)
    (param $dGates i32) (param $B i32) (param $H i32)
    (local $gateBytes i32) (local $end i32) (local $at i32) (local $pg i32) (local $pd i32)
    (local $i v128) (local $f v128) (local $g v128) (local $o v128) (local $tc v128) (local $dhv v128)
    (local $dc v128) (local $one v128)
    (local.set $one (v128.const f32x4 1 1 1 1))
    (local.set $gateBytes (i32.shl (local.get $H) (i32.const 2)))
    (block $done
      (loop $samples
        (br_if $done (i32.eqz (local.get $B)))
        (local.set $end (i32.add (local.get $at) (local.get $gateBytes)))
        (local.set $pg (local.get $gates))
        (local.set $pd (local.get $dGates))
        (loop $quads
          (local.set $i (v128.load (local.get $pg)))
          (local.set $f (v128.load (i32.add (local.get $pg) (local.get $gateBytes))))
          (local.set $g (v128.load (i32.add (local.get $pg) (i32.shl (local.get $gateBytes) (i32.const 1)))))
          (local.set $o (v128.load (i32.add (local.get $pg) (i32.mul (local.get $gateBytes) (i32.const 3)))))
          (local.set $tc (v128.load (i32.add (local.get $tanhC) (local.get $at))))
          (local.set $dhv (v128.load (i32.add (local.get $dh) (local.get $at))))
          ;; dc = dcCarry + dh⊙o⊙(1 − tanh²c)
          (local.set $dc (f32x4.add (v128.load (i32.add (local.get $dcCarry) (local.get $at)))
            (f32x4.mul (f32x4.mul (local.get $dhv) (local.get $o))
              (f32x4.sub (local.get $one) (f32x4.mul (local.get $tc) (local.get $tc))))))
          (v128.store (i32.add (local.get $dcCarry) (local.get $at)) (f32x4.mul (local.get $dc) (local.get $f)))
          ;; di = dc⊙g⊙i(1−i) ; df = dc⊙cPrev⊙f(1−f) ; dg = dc⊙i⊙(1−g²) ; do = dh⊙tanh c⊙o(1−o)
          (v128.store (local.get $pd)
            (f32x4.mul (f32x4.mul (local.get $dc) (local.get $g))
              (f32x4.mul (local.get $i) (f32x4.sub (local.get $one) (local.get $i)))))
          (v128.store (i32.add (local.get $pd) (local.get $gateBytes))
            (f32x4.mul
              (f32x4.mul (local.get $dc) (v128.load (i32.add (local.get $cPrev) (local.get $at))))
              (f32x4.mul (local.get $f) (f32x4.sub (local.get $one) (local.get $f)))))
          (v128.store (i32.add (local.get $pd) (i32.shl (local.get $gateBytes) (i32.const 1)))
            (f32x4.mul (f32x4.mul (local.get $dc) (local.get $i))
              (f32x4.sub (local.get $one) (f32x4.mul (local.get $g) (local.get $g)))))
          (v128.store (i32.add (local.get $pd) (i32.mul (local.get $gateBytes) (i32.const 3)))
            (f32x4.mul (f32x4.mul (local.get $dhv) (local.get $tc))
              (f32x4.mul (local.get $o) (f32x4.sub (local.get $one) (local.get $o)))))
          (local.set $pg (i32.add (local.get $pg) (i32.const 16)))
          (local.set $pd (i32.add (local.get $pd) (i32.const 16)))
          (local.set $at (i32.add (local.get $at) (i32.const 16)))
          (br_if $quads (i32.lt_u (local.get $at) (local.get $end))))
        (local.set $gates (i32.add (local.get $gates) (i32.shl (local.get $gateBytes) (i32.const 2))))
        (local.set $dGates (i32.add (local.get $dGates) (i32.shl (local.get $gateBytes) (i32.const 2))))
        (local.set $B (i32.sub (local.get $B) (i32.const 1)))
        (br $samples))))

;; GRU forward step over B samples (cells.ts gruStepForward): gates [B][r|z|n][H] hold the input
  ;; projections on entry and the activations after; hh [B][r|z|n][H] the recurrent projections
  ;; (U h + b_hh, read only); hPrev and h are [B][H].
  ;; r, z = σ(gates + hh) ; n = tanh(gates_n + r⊙hh_n) ; h = (1 − z)⊙n + z⊙hPrev. Pass by pass
  ;; over one sample's rows, which stay in L1.
  (func (export "gruForward")
    (param $gates i32) (param $hh i32) (param $hPrev i32) (param $h i32) (param $B i32) (param $H i32)
    (local $gateBytes i32) (local $at i32) (local $end i32) (local $pg i32) (local $ph i32) (local $z v128)
    (local.set $gateBytes (i32.shl (local.get $H) (i32.const 2)))
    (block $done
      (loop $samples
        (br_if $done (i32.eqz (local.get $B)))
        ;; r and z rows: gates += hh, then σ in place.
        (local.set $pg (local.get $gates))
        (local.set $ph (local.get $hh))
        (local.set $end (i32.add (local.get $gates) (i32.shl (local.get $gateBytes) (i32.const 1))))
        (loop $sums
          (v128.store (local.get $pg) (f32x4.add (v128.load (local.get $pg)) (v128.load (local.get $ph))))
          (local.set $pg (i32.add (local.get $pg) (i32.const 16)))
          (local.set $ph (i32.add (local.get $ph) (i32.const 16)))
          (br_if $sums (i32.lt_u (local.get $pg) (local.get $end))))
        (call $sigmoidSpan (local.get $gates) (local.get $gates) (i32.shl (local.get $H) (i32.const 1)))
        ;; n row: gates_n += r⊙hh_n (`pg` walks n, `ph` hh_n, r is gateBytes·2 behind pg), then tanh.
        (local.set $end (i32.add (local.get $pg) (local.get $gateBytes)))
        (loop $resets
          (v128.store (local.get $pg) (f32x4.add (v128.load (local.get $pg))
            (f32x4.mul (v128.load (i32.sub (local.get $pg) (i32.shl (local.get $gateBytes) (i32.const 1))))
              (v128.load (local.get $ph)))))
          (local.set $pg (i32.add (local.get $pg) (i32.const 16)))
          (local.set $ph (i32.add (local.get $ph) (i32.const 16)))
          (br_if $resets (i32.lt_u (local.get $pg) (local.get $end))))
        (local.set $pg (i32.add (local.get $gates) (i32.shl (local.get $gateBytes) (i32.const 1))))
        (call $tanhSpan (local.get $pg) (local.get $pg) (local.get $H))
        ;; h = (1 − z)⊙n + z⊙hPrev; `at` walks the sample's [H] rows, `pg` its z row.
        (local.set $pg (i32.add (local.get $gates) (local.get $gateBytes)))
        (local.set $end (i32.add (local.get $at) (local.get $gateBytes)))
        (loop $outputs
          (local.set $z (v128.load (local.get $pg)))
          (v128.store (i32.add (local.get $h) (local.get $at)) (f32x4.add
            (f32x4.mul (f32x4.sub (v128.const f32x4 1 1 1 1) (local.get $z))
              (v128.load (i32.add (local.get $pg) (local.get $gateBytes))))
            (f32x4.mul (local.get $z) (v128.load (i32.add (local.get $hPrev) (local.get $at))))))
          (local.set $pg (i32.add (local.get $pg) (i32.const 16)))
          (local.set $at (i32.add (local.get $at) (i32.const 16)))
          (br_if $outputs (i32.lt_u (local.get $at) (local.get $end))))
        (local.set $gates (i32.add (local.get $gates) (i32.mul (local.get $gateBytes) (i32.const 3))))
        (local.set $hh (i32.add (local.get $hh) (i32.mul (local.get $gateBytes) (i32.const 3))))
        (local.set $B (i32.sub (local.get $B) (i32.const 1)))
        (br $samples))))

  ;; GRU backward step (cells.ts gruStepBackward): the gradient reaching h_t is dh + dhCarry;
  ;; dhCarry leaves holding its part through z⊙hPrev. Writes the input side's pre-activation
  ;; gradients to dGates and the recurrent side's (n scaled by r) to dGatesH.
  (func (export "gruBackward")
    (param $gates i32) (param $hh i32) (param $hPrev i32) (param $dh i32) (param $dhCarry i32)
    (param $dGates i32) (param $dGatesH i32) (param $B i32) (param $H i32)
    (local $gateBytes i32) (local $end i32) (local $at i32) (local $pg i32) (local $pd i32) (local $pdh i32)
    (local $r v128) (local $z v128) (local $n v128) (local $dhv v128) (local $dn v128) (local $dr v128) (local $dz v128)
    (local $one v128)
    (local.set $one (v128.const f32x4 1 1 1 1))
    (local.set $gateBytes (i32.shl (local.get $H) (i32.const 2)))
    (block $done
      (loop $samples
        (br_if $done (i32.eqz (local.get $B)))
        (local.set $end (i32.add (local.get $at) (local.get $gateBytes)))
        (local.set $pg (local.get $gates))
        (local.set $pd (local.get $dGates))
        (local.set $pdh (local.get $dGatesH))
        (loop $quads
          (local.set $r (v128.load (local.get $pg)))
          (local.set $z (v128.load (i32.add (local.get $pg) (local.get $gateBytes))))
          (local.set $n (v128.load (i32.add (local.get $pg) (i32.shl (local.get $gateBytes) (i32.const 1)))))
          (local.set $dhv (f32x4.add (v128.load (i32.add (local.get $dh) (local.get $at)))
            (v128.load (i32.add (local.get $dhCarry) (local.get $at)))))
          (v128.store (i32.add (local.get $dhCarry) (local.get $at)) (f32x4.mul (local.get $dhv) (local.get $z)))
          ;; dn = dh⊙(1−z)⊙(1−n²) ; dr = dn⊙hh_n⊙r(1−r) ; dz = dh⊙(hPrev−n)⊙z(1−z)
          (local.set $dn (f32x4.mul (f32x4.mul (local.get $dhv) (f32x4.sub (local.get $one) (local.get $z)))
            (f32x4.sub (local.get $one) (f32x4.mul (local.get $n) (local.get $n)))))
          (local.set $dr (f32x4.mul
            (f32x4.mul (local.get $dn)
              (v128.load (i32.add (i32.add (local.get $hh) (i32.shl (local.get $gateBytes) (i32.const 1)))
                (i32.sub (local.get $pg) (local.get $gates)))))
            (f32x4.mul (local.get $r) (f32x4.sub (local.get $one) (local.get $r)))))
          (local.set $dz (f32x4.mul
            (f32x4.mul (local.get $dhv) (f32x4.sub (v128.load (i32.add (local.get $hPrev) (local.get $at))) (local.get $n)))
            (f32x4.mul (local.get $z) (f32x4.sub (local.get $one) (local.get $z)))))
          (v128.store (local.get $pd) (local.get $dr))
          (v128.store (i32.add (local.get $pd) (local.get $gateBytes)) (local.get $dz))
          (v128.store (i32.add (local.get $pd) (i32.shl (local.get $gateBytes) (i32.const 1))) (local.get $dn))
          (v128.store (local.get $pdh) (local.get $dr))
          (v128.store (i32.add (local.get $pdh) (local.get $gateBytes)) (local.get $dz))
          (v128.store (i32.add (local.get $pdh) (i32.shl (local.get $gateBytes) (i32.const 1)))
            (f32x4.mul (local.get $dn) (local.get $r)))
          (local.set $pg (i32.add (local.get $pg) (i32.const 16)))
          (local.set $pd (i32.add (local.get $pd) (i32.const 16)))
          (local.set $pdh (i32.add (local.get $pdh) (i32.const 16)))
          (local.set $at (i32.add (local.get $at) (i32.const 16)))
          (br_if $quads (i32.lt_u (local.get $at) (local.get $end))))
        (local.set $gates (i32.add (local.get $gates) (i32.mul (local.get $gateBytes) (i32.const 3))))
        (local.set $hh (i32.add (local.get $hh) (i32.mul (local.get $gateBytes) (i32.const 3))))
        (local.set $dGates (i32.add (local.get $dGates) (i32.mul (local.get $gateBytes) (i32.const 3))))
        (local.set $dGatesH (i32.add (local.get $dGatesH) (i32.mul (local.get $gateBytes) (i32.const 3))))
        (local.set $B (i32.sub (local.get $B) (i32.const 1)))
        (br $samples))))

    ;; Elman forward step over n floats: h = tanh(pre).
  (func (export "rnnForward") (param $pre i32) (param $h i32) (param $n i32)
    (call $tanhSpan (local.get $pre) (local.get $h) (local.get $n)))

  ;; Elman backward step over n floats: dPre = dh⊙(1 − h²).
  (func (export "rnnBackward") (param $h i32) (param $dh i32) (param $dPre i32) (param $n i32)
    (local $end i32) (local $hv v128)
    (local.set $end (i32.add (local.get $h) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $quads
        (br_if $done (i32.ge_u (local.get $h) (local.get $end)))
        (local.set $hv (v128.load (local.get $h)))
        (v128.store (local.get $dPre)
          (f32x4.mul (v128.load (local.get $dh))
            (f32x4.sub (v128.const f32x4 1 1 1 1) (f32x4.mul (local.get $hv) (local.get $hv)))))
        (local.set $h (i32.add (local.get $h) (i32.const 16)))
        (local.set $dh (i32.add (local.get $dh) (i32.const 16)))
        (local.set $dPre (i32.add (local.get $dPre) (i32.const 16)))
        (br $quads))))

  ;; ---- one-hot input (any GH) --------------------------------------------------------------
  ;; The input projection of one-hot rows picks column tokens[r] of W [GH, V]. Transposed once
  ;; per optimizer step into a table [V][GH] with the bias folded in, each row's projection is
  ;; one contiguous copy; the weight gradient sums whole rows per symbol the same way, then is
  ;; transposed onto dW once.

  ;; table[v][j] = W[j][v] + bias[j]. Writes the table row by row: reading W down a column
  ;; touches GH lines that the next column reuses from cache, while writing down a column of the
  ;; table would touch a new line per element. Once per optimizer step, so scalar.
  (func (export "oneHotTable") (param $table i32) (param $w i32) (param $bias i32) (param $GH i32) (param $V i32)
    (local $v i32) (local $j i32) (local $from i32) (local $columnBytes i32)
    (local.set $columnBytes (i32.shl (local.get $V) (i32.const 2)))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_s (local.get $v) (local.get $V)))
        (local.set $from (i32.add (local.get $w) (i32.shl (local.get $v) (i32.const 2))))
        (local.set $j (i32.const 0))
        (block $rowDone
          (loop $columns
            (br_if $rowDone (i32.ge_s (local.get $j) (local.get $GH)))
            (f32.store (local.get $table) (f32.add (f32.load (local.get $from))
              (f32.load (i32.add (local.get $bias) (i32.shl (local.get $j) (i32.const 2))))))
            (local.set $table (i32.add (local.get $table) (i32.const 4)))
            (local.set $from (i32.add (local.get $from) (local.get $columnBytes)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $columns)))
        (local.set $v (i32.add (local.get $v) (i32.const 1)))
        (br $rows))))

  ;; gates[r] = table[tokens[r]] for R rows of GH floats; traps on a token outside [0, V).
  (func (export "oneHotProject")
    (param $gates i32) (param $table i32) (param $tokens i32) (param $R i32) (param $GH i32) (param $V i32)
    (local $rowBytes i32) (local $token i32)
    (local.set $rowBytes (i32.shl (local.get $GH) (i32.const 2)))
    (block $done
      (loop $rows
        (br_if $done (i32.le_s (local.get $R) (i32.const 0)))
        (local.set $token (i32.load (local.get $tokens)))
        (if (i32.ge_u (local.get $token) (local.get $V)) (then unreachable))
        (memory.copy (local.get $gates)
          (i32.add (local.get $table) (i32.mul (local.get $token) (local.get $rowBytes)))
          (local.get $rowBytes))
        (local.set $gates (i32.add (local.get $gates) (local.get $rowBytes)))
        (local.set $tokens (i32.add (local.get $tokens) (i32.const 4)))
        (local.set $R (i32.sub (local.get $R) (i32.const 1)))
        (br $rows))))

  ;; dW[j][tokens[r]] += dGates[r][j] over R rows: rows summed per token into sums [V][GH]
  ;; (scratch, zeroed here), then sums transposed onto dW [GH][V]. Traps on a token outside [0, V).
  (func (export "oneHotGradient")
    (param $dW i32) (param $sums i32) (param $dGates i32) (param $tokens i32) (param $R i32)
    (param $GH i32) (param $V i32)
    (local $rowBytes i32) (local $token i32) (local $to i32) (local $from i32) (local $quadsEnd i32)
    (local $rowEnd i32) (local $j i32) (local $v i32)
    (local.set $rowBytes (i32.shl (local.get $GH) (i32.const 2)))
    (memory.fill (local.get $sums) (i32.const 0) (i32.mul (local.get $V) (local.get $rowBytes)))
    (block $done
      (loop $rows
        (br_if $done (i32.le_s (local.get $R) (i32.const 0)))
        (local.set $token (i32.load (local.get $tokens)))
        (if (i32.ge_u (local.get $token) (local.get $V)) (then unreachable))
        (local.set $to (i32.add (local.get $sums) (i32.mul (local.get $token) (local.get $rowBytes))))
        (local.set $rowEnd (i32.add (local.get $dGates) (local.get $rowBytes)))
        (local.set $quadsEnd (i32.add (local.get $dGates) (i32.and (local.get $rowBytes) (i32.const -16))))
        (block $quadsDone
          (loop $quads
            (br_if $quadsDone (i32.ge_u (local.get $dGates) (local.get $quadsEnd)))
            (v128.store (local.get $to) (f32x4.add (v128.load (local.get $to)) (v128.load (local.get $dGates))))
            (local.set $to (i32.add (local.get $to) (i32.const 16)))
            (local.set $dGates (i32.add (local.get $dGates) (i32.const 16)))
            (br $quads)))
        (block $tailDone
          (loop $tail
            (br_if $tailDone (i32.ge_u (local.get $dGates) (local.get $rowEnd)))
            (f32.store (local.get $to) (f32.add (f32.load (local.get $to)) (f32.load (local.get $dGates))))
            (local.set $to (i32.add (local.get $to) (i32.const 4)))
            (local.set $dGates (i32.add (local.get $dGates) (i32.const 4)))
            (br $tail)))
        (local.set $tokens (i32.add (local.get $tokens) (i32.const 4)))
        (local.set $R (i32.sub (local.get $R) (i32.const 1)))
        (br $rows)))
    ;; dW row j (contiguous over v) gathers column j of the sums.
    (block $transposed
      (loop $dwRows
        (br_if $transposed (i32.ge_s (local.get $j) (local.get $GH)))
        (local.set $from (i32.add (local.get $sums) (i32.shl (local.get $j) (i32.const 2))))
        (local.set $v (i32.const 0))
        (block $rowDone
          (loop $columns
            (br_if $rowDone (i32.ge_s (local.get $v) (local.get $V)))
            (f32.store (local.get $dW) (f32.add (f32.load (local.get $dW)) (f32.load (local.get $from))))
            (local.set $dW (i32.add (local.get $dW) (i32.const 4)))
            (local.set $from (i32.add (local.get $from) (local.get $rowBytes)))
            (local.set $v (i32.add (local.get $v) (i32.const 1)))
            (br $columns)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $dwRows))))

  ;; ---- losses (src/shared/model/loss.ts) ---------------------------------------------------------
  ;; A row of O ≥ 4 floats is whole quads plus, when O isn't a multiple of 4, one last quad that
  ;; overlaps the one before it (it starts at O − 4): its repeated lanes are recomputed (the same
  ;; values, so P must not overlap Y) and are masked out of sums and of in-place updates.

  ;; The lanes of a row's overlapping last quad that no whole quad covered: lanes k > 3 − O mod 4.
  (func $tailLanes (param $O i32) (result v128)
    (i32x4.gt_s (v128.const i32x4 0 1 2 3)
      (i32x4.splat (i32.sub (i32.const 3) (i32.and (local.get $O) (i32.const 3))))))

  ;; Byte offset from the end of a row's whole quads to its overlapping last quad (negative).
  (func $tailBack (param $O i32) (result i32)
    (i32.sub (i32.shl (i32.and (local.get $O) (i32.const 3)) (i32.const 2)) (i32.const 16)))

  ;; Σ of a float32 quad's lanes, in float64, added to a float64 pair (written out again in the
  ;; softmax's sum loop, where a call per quad cost 12% of the loss).
  (func $addWide (param $sum v128) (param $q v128) (result v128)
    (f64x2.add (local.get $sum) (f64x2.add (f64x2.promote_low_f32x4 (local.get $q))
      (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $q) (local.get $q))))))

  ;; max of a row of O ≥ 4 floats. pmax keeps the running max past a NaN, as the TS `>` does
  ;; (the NaN then reaches the loss through its exp).
  (func $rowMax (param $y i32) (param $O i32) (result f32)
    (local $end i32) (local $m v128)
    (local.set $end (i32.add (local.get $y) (i32.shl (local.get $O) (i32.const 2))))
    (local.set $m (v128.load (i32.sub (local.get $end) (i32.const 16))))
    (block $done
      (loop $quads
        (br_if $done (i32.gt_u (i32.add (local.get $y) (i32.const 16)) (local.get $end)))
        (local.set $m (f32x4.pmax (local.get $m) (v128.load (local.get $y))))
        (local.set $y (i32.add (local.get $y) (i32.const 16)))
        (br $quads)))
    (local.set $m (f32x4.pmax (local.get $m)
      (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $m) (local.get $m))))
    (local.set $m (f32x4.pmax (local.get $m)
      (i8x16.shuffle 4 5 6 7 0 1 2 3 12 13 14 15 8 9 10 11 (local.get $m) (local.get $m))))
    (f32x4.extract_lane 0 (local.get $m)))

  ;; One softmax row (O ≥ 4, P not overlapping Y): p = e^(y − max) / Σ e^(y − max), the sum in
  ;; float64; with $grad, dY = scale·p (the caller subtracts scale at the target). Returns
  ;; (max, Σ e^(y − max)), which the loss needs.
  (func $softmaxRow (param $y i32) (param $p i32) (param $O i32) (param $dY i32) (param $grad i32)
    (param $scale v128) (result f32 f64)
    (local $max f32) (local $quadBytes i32) (local $back i32) (local $mask v128) (local $at i32)
    (local $wide v128) (local $sum f64) (local $inv v128) (local $q v128)
    (local.set $max (call $rowMax (local.get $y) (local.get $O)))
    (local.set $quadBytes (i32.and (i32.shl (local.get $O) (i32.const 2)) (i32.const -16)))
    (local.set $back (call $tailBack (local.get $O)))
    (local.set $mask (call $tailLanes (local.get $O)))
    ;; p = e^(y − max): the whole quads, then the last quad again if it overlaps.
    (call $expSpan (local.get $y) (local.get $p) (i32.shr_u (local.get $quadBytes) (i32.const 2))
      (f32x4.splat (local.get $max)) (v128.const f32x4 1 1 1 1) (i32.const 0))
    (if (i32.and (local.get $O) (i32.const 3))
      (then
        (call $expSpan
          (i32.add (local.get $y) (i32.add (local.get $quadBytes) (local.get $back)))
          (i32.add (local.get $p) (i32.add (local.get $quadBytes) (local.get $back)))
          (i32.const 4) (f32x4.splat (local.get $max)) (v128.const f32x4 1 1 1 1) (i32.const 0))))
    ;; Σ p in float64: with one term exactly 1 (the max), float32 lanes would lose the small terms.
    (block $summed
      (loop $sums
        (br_if $summed (i32.ge_u (local.get $at) (local.get $quadBytes)))
        (local.set $q (v128.load (i32.add (local.get $p) (local.get $at))))
        (local.set $wide (f64x2.add (local.get $wide) (f64x2.add (f64x2.promote_low_f32x4 (local.get $q))
          (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $q) (local.get $q))))))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $sums)))
    (if (i32.and (local.get $O) (i32.const 3))
      (then
        (local.set $wide (call $addWide (local.get $wide)
          (v128.and (local.get $mask) (v128.load (i32.add (local.get $p) (i32.add (local.get $at) (local.get $back)))))))))
    (local.set $sum (f64.add (f64x2.extract_lane 0 (local.get $wide)) (f64x2.extract_lane 1 (local.get $wide))))
    ;; p /= Σ (as p·(1/Σ) in float32); dY = scale·p. The overlapping quad updates only its new lanes.
    (local.set $inv (f32x4.splat (f32.demote_f64 (f64.div (f64.const 1) (local.get $sum)))))
    (local.set $at (i32.const 0))
    (block $scaled
      (loop $quads
        (br_if $scaled (i32.ge_u (local.get $at) (local.get $quadBytes)))
        (local.set $q (f32x4.mul (v128.load (i32.add (local.get $p) (local.get $at))) (local.get $inv)))
        (v128.store (i32.add (local.get $p) (local.get $at)) (local.get $q))
        (if (local.get $grad)
          (then (v128.store (i32.add (local.get $dY) (local.get $at)) (f32x4.mul (local.get $q) (local.get $scale)))))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $quads)))
    (if (i32.and (local.get $O) (i32.const 3))
      (then
        (local.set $at (i32.add (local.get $at) (local.get $back)))
        (local.set $q (v128.load (i32.add (local.get $p) (local.get $at))))
        (local.set $q (v128.bitselect (f32x4.mul (local.get $q) (local.get $inv)) (local.get $q) (local.get $mask)))
        (v128.store (i32.add (local.get $p) (local.get $at)) (local.get $q))
        (if (local.get $grad)
          (then
            (v128.store (i32.add (local.get $dY) (local.get $at))
              (v128.bitselect (f32x4.mul (local.get $q) (local.get $scale))
                (v128.load (i32.add (local.get $dY) (local.get $at))) (local.get $mask)))))))
    (local.get $max) (local.get $sum))

  ;; loss.ts softmaxCrossEntropy over R rows of O ≥ 4 (Y, P, dY rows at the same stride; P must
  ;; not overlap Y): P = softmax(Y); with $grad, dY = scale·(P − onehot(target)). Traps on a target
  ;; outside [0, O).
  ;; The loss Σ_r [log Σ_o e^(y_ro − max_r) − (y_r,target − max_r)] is returned as two float64s,
  ;; (m, rest) with loss = log m + rest, so no logarithm is needed here: the row sums (each in
  ;; [1, O]) are multiplied into m, whose binary exponent is moved into an integer after every
  ;; row (m stays in [1, 2): no overflow for any R, and each product rounds once, ~1e-16 relative),
  ;; and rest = exponents·ln 2 − Σ (y_target − max). A NaN row sum makes rest NaN (m alone would
  ;; lose it when its exponent is cleared).
  (func (export "softmaxCrossEntropy")
    (param $y i32) (param $p i32) (param $targets i32) (param $R i32) (param $O i32)
    (param $dY i32) (param $grad i32) (param $scale f32) (result f64 f64)
    (local $rowBytes i32) (local $target i32) (local $max f32) (local $sum f64) (local $m f64)
    (local $bits i64) (local $exponents i64) (local $picked f64) (local $targetAt i32)
    (local.set $rowBytes (i32.shl (local.get $O) (i32.const 2)))
    (local.set $m (f64.const 1))
    (block $done
      (loop $rows
        (br_if $done (i32.le_s (local.get $R) (i32.const 0)))
        (local.set $target (i32.load (local.get $targets)))
        (if (i32.ge_u (local.get $target) (local.get $O)) (then unreachable))
        (local.set $targetAt (i32.shl (local.get $target) (i32.const 2)))
        (call $softmaxRow (local.get $y) (local.get $p) (local.get $O) (local.get $dY) (local.get $grad)
          (f32x4.splat (local.get $scale)))
        (local.set $sum)
        (local.set $max)
        (local.set $picked (f64.add (local.get $picked)
          (f64.sub (f64.promote_f32 (f32.load (i32.add (local.get $y) (local.get $targetAt))))
            (f64.promote_f32 (local.get $max)))))
        (local.set $picked (f64.add (local.get $picked) (f64.mul (local.get $sum) (f64.const 0))))
        (local.set $bits (i64.reinterpret_f64 (f64.mul (local.get $m) (local.get $sum))))
        (local.set $exponents (i64.add (local.get $exponents)
          (i64.sub (i64.shr_u (local.get $bits) (i64.const 52)) (i64.const 1023))))
        (local.set $m (f64.reinterpret_i64 (i64.or (i64.and (local.get $bits) (i64.const 0x000fffffffffffff))
          (i64.const 0x3ff0000000000000))))
        (if (local.get $grad)
          (then
            (f32.store (i32.add (local.get $dY) (local.get $targetAt))
              (f32.sub (f32.load (i32.add (local.get $dY) (local.get $targetAt))) (local.get $scale)))))
        (local.set $y (i32.add (local.get $y) (local.get $rowBytes)))
        (local.set $p (i32.add (local.get $p) (local.get $rowBytes)))
        (local.set $dY (i32.add (local.get $dY) (local.get $rowBytes)))
        (local.set $targets (i32.add (local.get $targets) (i32.const 4)))
        (local.set $R (i32.sub (local.get $R) (i32.const 1)))
        (br $rows)))
    (local.get $m)
    (f64.sub (f64.mul (f64.convert_i64_s (local.get $exponents)) (f64.const 0x1.62e42fefa39efp-1))
      (local.get $picked)))

  ;; loss.ts softmaxRows: P = softmax(Y) over R rows of O ≥ 4 (row strides O; P must not overlap Y).
  (func (export "softmaxRows") (param $y i32) (param $p i32) (param $R i32) (param $O i32)
    (local $rowBytes i32)
    (local.set $rowBytes (i32.shl (local.get $O) (i32.const 2)))
    (block $done
      (loop $rows
        (br_if $done (i32.le_s (local.get $R) (i32.const 0)))
        (call $softmaxRow (local.get $y) (local.get $p) (local.get $O) (i32.const 0) (i32.const 0)
          (v128.const f32x4 0 0 0 0))
        (drop)
        (drop)
        (local.set $y (i32.add (local.get $y) (local.get $rowBytes)))
        (local.set $p (i32.add (local.get $p) (local.get $rowBytes)))
        (local.set $R (i32.sub (local.get $R) (i32.const 1)))
        (br $rows))))

  ;; loss.ts meanSquaredError over n floats: returns Σ (y − t)² (float64; the caller divides by
  ;; O); with $grad, dY = factor·(y − t) (factor = 2·scale/O).
  (func (export "squaredError") (param $y i32) (param $t i32) (param $n i32) (param $dY i32)
    (param $grad i32) (param $factor f32) (result f64)
    (local $end i32) (local $quadsEnd i32) (local $d v128) (local $wide v128) (local $factors v128)
    (local $ds f32) (local $sum f64)
    (local.set $end (i32.add (local.get $y) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $quadsEnd (i32.add (local.get $y) (i32.and (i32.shl (local.get $n) (i32.const 2)) (i32.const -16))))
    (local.set $factors (f32x4.splat (local.get $factor)))
    (block $quadsDone
      (loop $quads
        (br_if $quadsDone (i32.ge_u (local.get $y) (local.get $quadsEnd)))
        (local.set $d (f32x4.sub (v128.load (local.get $y)) (v128.load (local.get $t))))
        (local.set $wide (f64x2.add (local.get $wide) (f64x2.add
          (f64x2.mul (f64x2.promote_low_f32x4 (local.get $d)) (f64x2.promote_low_f32x4 (local.get $d)))
          (f64x2.mul
            (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $d) (local.get $d)))
            (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $d) (local.get $d)))))))
        (if (local.get $grad) (then (v128.store (local.get $dY) (f32x4.mul (local.get $d) (local.get $factors)))))
        (local.set $y (i32.add (local.get $y) (i32.const 16)))
        (local.set $t (i32.add (local.get $t) (i32.const 16)))
        (local.set $dY (i32.add (local.get $dY) (i32.const 16)))
        (br $quads)))
    (local.set $sum (f64.add (f64x2.extract_lane 0 (local.get $wide)) (f64x2.extract_lane 1 (local.get $wide))))
    (block $tailDone
      (loop $tail
        (br_if $tailDone (i32.ge_u (local.get $y) (local.get $end)))
        (local.set $ds (f32.sub (f32.load (local.get $y)) (f32.load (local.get $t))))
        (local.set $sum (f64.add (local.get $sum)
          (f64.mul (f64.promote_f32 (local.get $ds)) (f64.promote_f32 (local.get $ds)))))
        (if (local.get $grad) (then (f32.store (local.get $dY) (f32.mul (local.get $ds) (local.get $factor)))))
        (local.set $y (i32.add (local.get $y) (i32.const 4)))
        (local.set $t (i32.add (local.get $t) (i32.const 4)))
        (local.set $dY (i32.add (local.get $dY) (i32.const 4)))
        (br $tail)))
    (local.get $sum))

  ;; ---- bias terms (network.ts), any shape ----------------------------------------------------

  ;; out[j] += Σ_r m[r][j] over rows × cols (a bias gradient): four rows at a time, column quads
  ;; then the tail columns, so m streams by once in order and out stays in L1.
  (func (export "addColumnSums") (param $out i32) (param $m i32) (param $rows i32) (param $cols i32)
    (local $rowBytes i32) (local $quadBytes i32) (local $j i32) (local $at i32) (local $row2 i32) (local $row3 i32)
    (local.set $rowBytes (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $quadBytes (i32.and (local.get $rowBytes) (i32.const -16)))
    (local.set $row2 (i32.shl (local.get $rowBytes) (i32.const 1)))
    (local.set $row3 (i32.add (local.get $row2) (local.get $rowBytes)))
    (block $foursDone
      (loop $fours
        (br_if $foursDone (i32.lt_s (local.get $rows) (i32.const 4)))
        (local.set $j (i32.const 0))
        (block $quadsDone
          (loop $quads
            (br_if $quadsDone (i32.ge_u (local.get $j) (local.get $quadBytes)))
            (local.set $at (i32.add (local.get $m) (local.get $j)))
            (v128.store (i32.add (local.get $out) (local.get $j)) (f32x4.add (v128.load (i32.add (local.get $out) (local.get $j)))
              (f32x4.add
                (f32x4.add (v128.load (local.get $at)) (v128.load (i32.add (local.get $at) (local.get $rowBytes))))
                (f32x4.add (v128.load (i32.add (local.get $at) (local.get $row2))) (v128.load (i32.add (local.get $at) (local.get $row3)))))))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $quads)))
        (block $tailDone
          (loop $tail
            (br_if $tailDone (i32.ge_u (local.get $j) (local.get $rowBytes)))
            (local.set $at (i32.add (local.get $m) (local.get $j)))
            (f32.store (i32.add (local.get $out) (local.get $j)) (f32.add (f32.load (i32.add (local.get $out) (local.get $j)))
              (f32.add
                (f32.add (f32.load (local.get $at)) (f32.load (i32.add (local.get $at) (local.get $rowBytes))))
                (f32.add (f32.load (i32.add (local.get $at) (local.get $row2))) (f32.load (i32.add (local.get $at) (local.get $row3)))))))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $tail)))
        (local.set $m (i32.add (local.get $m) (i32.shl (local.get $rowBytes) (i32.const 2))))
        (local.set $rows (i32.sub (local.get $rows) (i32.const 4)))
        (br $fours)))
    ;; the last rows (fewer than four), one at a time
    (block $done
      (loop $rest
        (br_if $done (i32.le_s (local.get $rows) (i32.const 0)))
        (call $addRow (local.get $out) (local.get $m) (local.get $cols))
        (local.set $m (i32.add (local.get $m) (local.get $rowBytes)))
        (local.set $rows (i32.sub (local.get $rows) (i32.const 1)))
        (br $rest))))

  ;; dst[j] += v[j] over n floats (any n).
  (func $addRow (param $dst i32) (param $v i32) (param $n i32)
    (local $end i32) (local $quadsEnd i32)
    (local.set $end (i32.add (local.get $dst) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $quadsEnd (i32.add (local.get $dst) (i32.and (i32.shl (local.get $n) (i32.const 2)) (i32.const -16))))
    (block $quadsDone
      (loop $quads
        (br_if $quadsDone (i32.ge_u (local.get $dst) (local.get $quadsEnd)))
        (v128.store (local.get $dst) (f32x4.add (v128.load (local.get $dst)) (v128.load (local.get $v))))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (local.set $v (i32.add (local.get $v) (i32.const 16)))
        (br $quads)))
    (block $tailDone
      (loop $tail
        (br_if $tailDone (i32.ge_u (local.get $dst) (local.get $end)))
        (f32.store (local.get $dst) (f32.add (f32.load (local.get $dst)) (f32.load (local.get $v))))
        (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
        (local.set $v (i32.add (local.get $v) (i32.const 4)))
        (br $tail))))

  ;; m[r][j] += v[j] over rows × cols (a bias added to every row).
  (func (export "addRowVector") (param $m i32) (param $v i32) (param $rows i32) (param $cols i32)
    (local $rowBytes i32)
    (local.set $rowBytes (i32.shl (local.get $cols) (i32.const 2)))
    (block $done
      (loop $rows
        (br_if $done (i32.le_s (local.get $rows) (i32.const 0)))
        (call $addRow (local.get $m) (local.get $v) (local.get $cols))
        (local.set $m (i32.add (local.get $m) (local.get $rowBytes)))
        (local.set $rows (i32.sub (local.get $rows) (i32.const 1)))
        (br $rows))))

  ;; network.ts multiply: out = a⊙m over n floats (a dropout mask on a layer's output or on the
  ;; gradient reaching it; out may be a). Quads, then the tail one float at a time.
  (func (export "multiply") (param $out i32) (param $a i32) (param $m i32) (param $n i32)
    (local $end i32) (local $quadsEnd i32)
    (local.set $end (i32.add (local.get $a) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $quadsEnd (i32.add (local.get $a) (i32.and (i32.shl (local.get $n) (i32.const 2)) (i32.const -16))))
    (block $quadsDone
      (loop $quads
        (br_if $quadsDone (i32.ge_u (local.get $a) (local.get $quadsEnd)))
        (v128.store (local.get $out) (f32x4.mul (v128.load (local.get $a)) (v128.load (local.get $m))))
        (local.set $out (i32.add (local.get $out) (i32.const 16)))
        (local.set $a (i32.add (local.get $a) (i32.const 16)))
        (local.set $m (i32.add (local.get $m) (i32.const 16)))
        (br $quads)))
    (block $tailDone
      (loop $tail
        (br_if $tailDone (i32.ge_u (local.get $a) (local.get $end)))
        (f32.store (local.get $out) (f32.mul (f32.load (local.get $a)) (f32.load (local.get $m))))
        (local.set $out (i32.add (local.get $out) (i32.const 4)))
        (local.set $a (i32.add (local.get $a) (i32.const 4)))
        (local.set $m (i32.add (local.get $m) (i32.const 4)))
        (br $tail))))
)
