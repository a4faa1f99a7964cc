;; Elementwise kernels of a training step (WebAssembly SIMD128), in place on a shared memory: the
;; LSTM and Elman cell steps, and the one-hot input projection with its weight gradient.
;; Same conventions as kernels.wat: byte pointers, row-major float32, no state, so threads may run
;; them at once on one memory as long as what they write doesn't overlap.
;; The TypeScript versions (src/shared/cells.ts, network.ts) are the reference; these compute in
;; float32 with polynomial exp/tanh (Cephes expf/tanhf, a few ulp), 4 lanes at a time.
(module
  (import "env" "memory" (memory 1 65536 shared))

  ;; ---- 4-lane math -------------------------------------------------------------------------

  ;; e^x. Clamped to [-87, 88] so 2^n stays a normal float (e^88 ≈ 1.7e38, e^-87 ≈ 1.6e-38).
  ;; n = round(x / ln 2), rounded by adding 1.5·2^23 (t's low mantissa bits are then n, so 2^n is
  ;; (bits(t) + 127) << 23: no float→int conversion); r = x − n·ln 2 in two parts (Cody–Waite,
  ;; exact for |n| ≤ 128); e^r by a degree-7 polynomial.
  (func $exp4 (param $x v128) (result v128)
    (local $n v128) (local $z v128) (local $p v128) (local $t v128)
    (local.set $x (f32x4.max (f32x4.min (local.get $x) (v128.const f32x4 88 88 88 88))
      (v128.const f32x4 -87 -87 -87 -87)))
    (local.set $t (f32x4.add
      (f32x4.mul (local.get $x) (v128.const f32x4 1.44269504088896341 1.44269504088896341 1.44269504088896341 1.44269504088896341))
      (v128.const f32x4 12582912 12582912 12582912 12582912)))
    (local.set $n (f32x4.sub (local.get $t) (v128.const f32x4 12582912 12582912 12582912 12582912)))
    (local.set $x (f32x4.sub (local.get $x)
      (f32x4.mul (local.get $n) (v128.const f32x4 0.693359375 0.693359375 0.693359375 0.693359375))))
    (local.set $x (f32x4.sub (local.get $x)
      (f32x4.mul (local.get $n) (v128.const f32x4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4))))
    (local.set $z (f32x4.mul (local.get $x) (local.get $x)))
    (local.set $p (v128.const f32x4 1.9875691500e-4 1.9875691500e-4 1.9875691500e-4 1.9875691500e-4))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $x))
      (v128.const f32x4 1.3981999507e-3 1.3981999507e-3 1.3981999507e-3 1.3981999507e-3)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $x))
      (v128.const f32x4 8.3334519073e-3 8.3334519073e-3 8.3334519073e-3 8.3334519073e-3)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $x))
      (v128.const f32x4 4.1665795894e-2 4.1665795894e-2 4.1665795894e-2 4.1665795894e-2)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $x))
      (v128.const f32x4 1.6666665459e-1 1.6666665459e-1 1.6666665459e-1 1.6666665459e-1)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $x))
      (v128.const f32x4 5.0000001201e-1 5.0000001201e-1 5.0000001201e-1 5.0000001201e-1)))
    (local.set $p (f32x4.add (f32x4.add (f32x4.mul (local.get $p) (local.get $z)) (local.get $x))
      (v128.const f32x4 1 1 1 1)))
    (f32x4.mul (local.get $p)
      (i32x4.shl (i32x4.add (local.get $t) (v128.const i32x4 127 127 127 127))
        (i32.const 23))))

  ;; ---- activations over spans --------------------------------------------------------------
  ;; V8 does not inline wasm calls and spills every v128 live across one, so the loops call
  ;; nothing but $exp4 and keep little else live around it.

  ;; dst = σ(src) = 1 / (1 + e^−src) over n floats (n a multiple of 4; dst may be src).
  ;; No cancellation anywhere, so a few ulp everywhere.
  (func $sigmoidSpan (param $src i32) (param $dst i32) (param $n i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $src) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $quads
        (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
        (v128.store (local.get $dst)
          (f32x4.div (v128.const f32x4 1 1 1 1)
            (f32x4.add (v128.const f32x4 1 1 1 1) (call $exp4 (f32x4.neg (v128.load (local.get $src)))))))
        (local.set $src (i32.add (local.get $src) (i32.const 16)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (br $quads))))

  ;; dst = tanh(src) over n floats (n a multiple of 4; dst may be src): an odd polynomial for
  ;; |x| < 0.625 (where 1 − 2/(e^2|x| + 1) would cancel), else 1 − 2/(e^2|x| + 1) with x's sign.
  (func $tanhSpan (param $src i32) (param $dst i32) (param $n i32)
    (local $end i32) (local $x v128) (local $z v128) (local $p v128) (local $far v128)
    (local.set $end (i32.add (local.get $src) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $quads
        (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
        (local.set $far (call $exp4 (f32x4.mul (f32x4.abs (v128.load (local.get $src))) (v128.const f32x4 2 2 2 2))))
        (local.set $x (v128.load (local.get $src)))
        (local.set $far (f32x4.sub (v128.const f32x4 1 1 1 1)
          (f32x4.div (v128.const f32x4 2 2 2 2) (f32x4.add (local.get $far) (v128.const f32x4 1 1 1 1)))))
        (local.set $far (v128.or (local.get $far)
          (v128.and (local.get $x) (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000))))
        (local.set $z (f32x4.mul (local.get $x) (local.get $x)))
        (local.set $p (v128.const f32x4 -5.70498872745e-3 -5.70498872745e-3 -5.70498872745e-3 -5.70498872745e-3))
        (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z))
          (v128.const f32x4 2.06390887954e-2 2.06390887954e-2 2.06390887954e-2 2.06390887954e-2)))
        (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z))
          (v128.const f32x4 -5.37397155531e-2 -5.37397155531e-2 -5.37397155531e-2 -5.37397155531e-2)))
        (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z))
          (v128.const f32x4 1.33314422036e-1 1.33314422036e-1 1.33314422036e-1 1.33314422036e-1)))
        (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $z))
          (v128.const f32x4 -3.33332819422e-1 -3.33332819422e-1 -3.33332819422e-1 -3.33332819422e-1)))
        (local.set $p (f32x4.add (f32x4.mul (f32x4.mul (local.get $p) (local.get $z)) (local.get $x)) (local.get $x)))
        (v128.store (local.get $dst) (v128.bitselect (local.get $p) (local.get $far)
          (f32x4.lt (f32x4.abs (local.get $x)) (v128.const f32x4 0.625 0.625 0.625 0.625))))
        (local.set $src (i32.add (local.get $src) (i32.const 16)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
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
        (br $dwRows)))))
