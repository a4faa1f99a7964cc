;; Float32 GEMM kernels (WebAssembly SIMD128) working in place on a shared memory.
;; Every pointer is a byte offset into that memory; matrices are plain row-major (C row stride = N).
;; Nothing here touches state outside the caller's operands, so any number of threads may run
;; these functions at once on the same memory, as long as their outputs and scratch don't overlap.
;;
;; Packed B ("panels"): B[K,N] is cut into 16-column panels, stored one after another:
;;   panel p = [K][16] floats, row k holds B[k, 16p .. 16p+15]; columns past N are zero.
;; So one 64-byte row of a panel is exactly what the micro-kernel multiplies per k, and consecutive
;; k are adjacent (a panel row never sits N floats away from the next, which defeats the cache at
;; large N). Total size: ceil(N/16)·16·K floats.
;;
;; Packed pairs (gemmAtB only): A[K,M] enters as Aᵀ, so its columns m, m+1 (the factors of C's rows
;; m, m+1) are packed side by side per chunk of kc rows: [ceil(M/2)][kc][2]; a missing last column
;; is zero.
(module
  (import "env" "memory" (memory 1 65536 shared))

  ;; K is processed in chunks of this many k so that a panel's chunk (kChunk·64 bytes) stays in L1
  ;; while every row pair of A streams past it. gemmAtB's scratch holds one chunk of each operand.
  (global $kChunk (export "kChunk") i32 (i32.const 256))

  ;; Micro-kernel: one 2×16 tile of C += (rows m, m+1 of A) · (one panel of B) over kCount k.
  ;; Per k: one 64-byte panel row in 4 v128, each A value broadcast once, 8 mul+add into 8 v128
  ;; accumulators acc<row><quarter> (8 accumulators + 4 B + 1 broadcast fit x64's 16 registers;
  ;; bigger tiles spill). The k loop is deliberately not unrolled: unrolled, V8 hoists loads across
  ;; iterations and spills.
  ;; A is addressed generically: row m's value at k is at pa + k·aStep, row m+1's is aRowOff further
  ;; (row-major A: aStep 4, aRowOff 4K; packed pairs: aStep 8, aRowOff 4). rows (1 or 2) says how
  ;; many rows to store; for a single row pass aRowOff 0 (the second row repeats the first and is
  ;; dropped), width (1..16) how many columns.
  (func $tile2x16
    (param $pc i32) (param $ldc i32) (param $pa i32) (param $aRowOff i32) (param $aStep i32)
    (param $pb i32) (param $kCount i32) (param $beta i32) (param $rows i32) (param $width i32)
    (local $acc00 v128) (local $acc01 v128) (local $acc02 v128) (local $acc03 v128)
    (local $acc10 v128) (local $acc11 v128) (local $acc12 v128) (local $acc13 v128)
    (local $b0 v128) (local $b1 v128) (local $b2 v128) (local $b3 v128)
    (local $x v128)
    (local $pbEnd i32)
    (local.set $pbEnd (i32.add (local.get $pb) (i32.shl (local.get $kCount) (i32.const 6))))
    (if (local.get $kCount)
      (then
        (loop $k
          (local.set $b0 (v128.load offset=0 (local.get $pb)))
          (local.set $b1 (v128.load offset=16 (local.get $pb)))
          (local.set $b2 (v128.load offset=32 (local.get $pb)))
          (local.set $b3 (v128.load offset=48 (local.get $pb)))
          (local.set $x (v128.load32_splat (local.get $pa)))
          (local.set $acc00 (f32x4.add (local.get $acc00) (f32x4.mul (local.get $x) (local.get $b0))))
          (local.set $acc01 (f32x4.add (local.get $acc01) (f32x4.mul (local.get $x) (local.get $b1))))
          (local.set $acc02 (f32x4.add (local.get $acc02) (f32x4.mul (local.get $x) (local.get $b2))))
          (local.set $acc03 (f32x4.add (local.get $acc03) (f32x4.mul (local.get $x) (local.get $b3))))
          (local.set $x (v128.load32_splat (i32.add (local.get $pa) (local.get $aRowOff))))
          (local.set $acc10 (f32x4.add (local.get $acc10) (f32x4.mul (local.get $x) (local.get $b0))))
          (local.set $acc11 (f32x4.add (local.get $acc11) (f32x4.mul (local.get $x) (local.get $b1))))
          (local.set $acc12 (f32x4.add (local.get $acc12) (f32x4.mul (local.get $x) (local.get $b2))))
          (local.set $acc13 (f32x4.add (local.get $acc13) (f32x4.mul (local.get $x) (local.get $b3))))
          (local.set $pa (i32.add (local.get $pa) (local.get $aStep)))
          (local.set $pb (i32.add (local.get $pb) (i32.const 64)))
          (br_if $k (i32.ne (local.get $pb) (local.get $pbEnd))))))
    (call $storeRow (local.get $pc)
      (local.get $acc00) (local.get $acc01) (local.get $acc02) (local.get $acc03)
      (local.get $beta) (local.get $width))
    (if (i32.eq (local.get $rows) (i32.const 2))
      (then
        (call $storeRow (i32.add (local.get $pc) (local.get $ldc))
          (local.get $acc10) (local.get $acc11) (local.get $acc12) (local.get $acc13)
          (local.get $beta) (local.get $width)))))

;; The single row of an M = 1 product (one vector times a weight: batch-1 inference) against
  ;; two adjacent panels, 32 columns, over kCount k. $tile2x16 with one row does the work of two
  ;; and keeps one add chain per register; here 8 independent chains over two panels keep the
  ;; adders busy while B streams. Every column is the same sum in the same order as $tile2x16's
  ;; (from 0, k ascending, one mul then one add per k), so the result is bit for bit the same.
  ;; width (17..32): columns of C to store.
  (func $row1x32
    (param $pc i32) (param $pa i32) (param $pb i32) (param $panelStride i32) (param $kCount i32)
    (param $beta i32) (param $width i32)
    (local $acc0 v128) (local $acc1 v128) (local $acc2 v128) (local $acc3 v128)
    (local $acc4 v128) (local $acc5 v128) (local $acc6 v128) (local $acc7 v128)
    (local $x v128) (local $pb2 i32) (local $pbEnd i32)
    (local.set $pb2 (i32.add (local.get $pb) (local.get $panelStride)))
    (local.set $pbEnd (i32.add (local.get $pb) (i32.shl (local.get $kCount) (i32.const 6))))
    (if (local.get $kCount)
      (then
        (loop $k
          (local.set $x (v128.load32_splat (local.get $pa)))
          (local.set $acc0 (f32x4.add (local.get $acc0) (f32x4.mul (local.get $x) (v128.load offset=0 (local.get $pb)))))
          (local.set $acc1 (f32x4.add (local.get $acc1) (f32x4.mul (local.get $x) (v128.load offset=16 (local.get $pb)))))
          (local.set $acc2 (f32x4.add (local.get $acc2) (f32x4.mul (local.get $x) (v128.load offset=32 (local.get $pb)))))
          (local.set $acc3 (f32x4.add (local.get $acc3) (f32x4.mul (local.get $x) (v128.load offset=48 (local.get $pb)))))
          (local.set $acc4 (f32x4.add (local.get $acc4) (f32x4.mul (local.get $x) (v128.load offset=0 (local.get $pb2)))))
          (local.set $acc5 (f32x4.add (local.get $acc5) (f32x4.mul (local.get $x) (v128.load offset=16 (local.get $pb2)))))
          (local.set $acc6 (f32x4.add (local.get $acc6) (f32x4.mul (local.get $x) (v128.load offset=32 (local.get $pb2)))))
          (local.set $acc7 (f32x4.add (local.get $acc7) (f32x4.mul (local.get $x) (v128.load offset=48 (local.get $pb2)))))
          (local.set $pa (i32.add (local.get $pa) (i32.const 4)))
          (local.set $pb2 (i32.add (local.get $pb2) (i32.const 64)))
          (local.set $pb (i32.add (local.get $pb) (i32.const 64)))
          (br_if $k (i32.ne (local.get $pb) (local.get $pbEnd))))))
    (call $storeRow (local.get $pc)
      (local.get $acc0) (local.get $acc1) (local.get $acc2) (local.get $acc3)
      (local.get $beta) (i32.const 16))
    (call $storeRow (i32.add (local.get $pc) (i32.const 64))
      (local.get $acc4) (local.get $acc5) (local.get $acc6) (local.get $acc7)
      (local.get $beta) (i32.sub (local.get $width) (i32.const 16))))

  ;; One k-chunk of an M = 1 product: C[1,N] = beta·C + a · B over kc values of k, B in panels at
  ;; pb (panelStride bytes apart). Panel pairs by $row1x32; a last single panel by $tile2x16 with
  ;; one row.
  (func $rowChunk
    (param $c i32) (param $N i32) (param $a i32) (param $pb i32) (param $panelStride i32)
    (param $kc i32) (param $beta i32)
    (local $n0 i32) (local $width i32)
    (block $done
      (loop $pairs
        (local.set $width (i32.sub (local.get $N) (local.get $n0)))
        (br_if $done (i32.le_s (local.get $width) (i32.const 16)))
        (if (i32.gt_s (local.get $width) (i32.const 32)) (then (local.set $width (i32.const 32))))
        (call $row1x32 (i32.add (local.get $c) (i32.shl (local.get $n0) (i32.const 2)))
          (local.get $a) (local.get $pb) (local.get $panelStride) (local.get $kc)
          (local.get $beta) (local.get $width))
        (local.set $n0 (i32.add (local.get $n0) (i32.const 32)))
        (local.set $pb (i32.add (local.get $pb) (i32.shl (local.get $panelStride) (i32.const 1))))
        (br $pairs)))
    (if (i32.gt_s (local.get $width) (i32.const 0))
      (then
        (call $tile2x16 (i32.add (local.get $c) (i32.shl (local.get $n0) (i32.const 2)))
          (i32.const 0) (local.get $a) (i32.const 0) (i32.const 4) (local.get $pb) (local.get $kc)
          (local.get $beta) (i32.const 1) (local.get $width)))))

  ;; Writes (beta 0) or adds (beta 1) 16 columns v0..v3 of a tile row at pc, only the first
  ;; width of them at the right edge of C.
  (func $storeRow
    (param $pc i32) (param $v0 v128) (param $v1 v128) (param $v2 v128) (param $v3 v128)
    (param $beta i32) (param $width i32)
    (if (i32.eq (local.get $width) (i32.const 16))
      (then
        (if (local.get $beta)
          (then
            (local.set $v0 (f32x4.add (local.get $v0) (v128.load offset=0 (local.get $pc))))
            (local.set $v1 (f32x4.add (local.get $v1) (v128.load offset=16 (local.get $pc))))
            (local.set $v2 (f32x4.add (local.get $v2) (v128.load offset=32 (local.get $pc))))
            (local.set $v3 (f32x4.add (local.get $v3) (v128.load offset=48 (local.get $pc))))))
        (v128.store offset=0 (local.get $pc) (local.get $v0))
        (v128.store offset=16 (local.get $pc) (local.get $v1))
        (v128.store offset=32 (local.get $pc) (local.get $v2))
        (v128.store offset=48 (local.get $pc) (local.get $v3))
        (return)))
    (call $storeLanes (local.get $pc) (local.get $v0) (local.get $width) (local.get $beta))
    (call $storeLanes (i32.add (local.get $pc) (i32.const 16)) (local.get $v1)
      (i32.sub (local.get $width) (i32.const 4)) (local.get $beta))
    (call $storeLanes (i32.add (local.get $pc) (i32.const 32)) (local.get $v2)
      (i32.sub (local.get $width) (i32.const 8)) (local.get $beta))
    (call $storeLanes (i32.add (local.get $pc) (i32.const 48)) (local.get $v3)
      (i32.sub (local.get $width) (i32.const 12)) (local.get $beta)))

  ;; Stores the first `count` lanes of v at p (all 4 if count ≥ 4, none if count ≤ 0), one at a
  ;; time: store lane 0, rotate the next lane down, repeat.
  (func $storeLanes (param $p i32) (param $v v128) (param $count i32) (param $beta i32)
    (local $lane f32)
    (if (i32.gt_s (local.get $count) (i32.const 4)) (then (local.set $count (i32.const 4))))
    (block $done
      (loop $lanes
        (br_if $done (i32.le_s (local.get $count) (i32.const 0)))
        (local.set $lane (f32x4.extract_lane 0 (local.get $v)))
        (if (local.get $beta)
          (then (local.set $lane (f32.add (local.get $lane) (f32.load (local.get $p))))))
        (f32.store (local.get $p) (local.get $lane))
        (local.set $v (i8x16.shuffle 4 5 6 7 8 9 10 11 12 13 14 15 0 1 2 3
          (local.get $v) (local.get $v)))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (local.set $count (i32.sub (local.get $count) (i32.const 1)))
        (br $lanes))))

  ;; One k-chunk of a product: C[M,N] = beta·C + A·B over kc values of k, B in panels at pb
  ;; (panelStride bytes apart), A addressed as in $tile2x16 with row pairs aPairStride bytes apart.
  ;; Panels outer, row pairs inner: the panel chunk stays in L1 while A streams from L2.
  (func $gemmChunk
    (param $c i32) (param $M i32) (param $N i32)
    (param $a i32) (param $aPairStride i32) (param $aRowOff i32) (param $aStep i32)
    (param $pb i32) (param $panelStride i32) (param $kc i32) (param $beta i32)
    (local $n0 i32) (local $m i32) (local $pa i32) (local $pc i32) (local $ldc i32)
    (local $width i32) (local $rows i32)
    (local.set $ldc (i32.shl (local.get $N) (i32.const 2)))
    (block $panelsDone
      (loop $panels
        (br_if $panelsDone (i32.ge_s (local.get $n0) (local.get $N)))
        (local.set $width (i32.sub (local.get $N) (local.get $n0)))
        (if (i32.gt_s (local.get $width) (i32.const 16)) (then (local.set $width (i32.const 16))))
        (local.set $m (i32.const 0))
        (local.set $pa (local.get $a))
        (local.set $pc (i32.add (local.get $c) (i32.shl (local.get $n0) (i32.const 2))))
        (block $rowsDone
          (loop $rowPairs
            (br_if $rowsDone (i32.ge_s (local.get $m) (local.get $M)))
            (local.set $rows (select (i32.const 2) (i32.const 1)
              (i32.lt_s (i32.add (local.get $m) (i32.const 1)) (local.get $M))))
            (call $tile2x16 (local.get $pc) (local.get $ldc) (local.get $pa)
              (select (local.get $aRowOff) (i32.const 0) (i32.eq (local.get $rows) (i32.const 2)))
              (local.get $aStep) (local.get $pb) (local.get $kc) (local.get $beta)
              (local.get $rows) (local.get $width))
            (local.set $m (i32.add (local.get $m) (i32.const 2)))
            (local.set $pa (i32.add (local.get $pa) (local.get $aPairStride)))
            (local.set $pc (i32.add (local.get $pc) (i32.shl (local.get $ldc) (i32.const 1))))
            (br $rowPairs)))
        (local.set $n0 (i32.add (local.get $n0) (i32.const 16)))
        (local.set $pb (i32.add (local.get $pb) (local.get $panelStride)))
        (br $panels))))

  ;; Packs rows [K] of B (row stride N floats) into panels at dst (panel stride K·64 bytes).
  ;; Full panels copy 4 v128 per row; the last, partial panel copies lane by lane and zero-fills.
  (func $packRows (param $dst i32) (param $src i32) (param $K i32) (param $N i32)
    (local $n0 i32) (local $k i32) (local $j i32) (local $width i32)
    (local $from i32) (local $to i32) (local $ldb i32)
    (local.set $ldb (i32.shl (local.get $N) (i32.const 2)))
    (block $panelsDone
      (loop $panels
        (br_if $panelsDone (i32.ge_s (local.get $n0) (local.get $N)))
        (local.set $width (i32.sub (local.get $N) (local.get $n0)))
        (local.set $from (i32.add (local.get $src) (i32.shl (local.get $n0) (i32.const 2))))
        (local.set $k (i32.const 0))
        (block $rowsDone
          (loop $rows
            (br_if $rowsDone (i32.ge_s (local.get $k) (local.get $K)))
            (if (i32.ge_s (local.get $width) (i32.const 16))
              (then
                (v128.store offset=0 (local.get $dst) (v128.load offset=0 (local.get $from)))
                (v128.store offset=16 (local.get $dst) (v128.load offset=16 (local.get $from)))
                (v128.store offset=32 (local.get $dst) (v128.load offset=32 (local.get $from)))
                (v128.store offset=48 (local.get $dst) (v128.load offset=48 (local.get $from))))
              (else
                (local.set $j (i32.const 0))
                (loop $lanes
                  (local.set $to (i32.add (local.get $dst) (i32.shl (local.get $j) (i32.const 2))))
                  (if (i32.lt_s (local.get $j) (local.get $width))
                    (then (f32.store (local.get $to)
                      (f32.load (i32.add (local.get $from) (i32.shl (local.get $j) (i32.const 2))))))
                    (else (f32.store (local.get $to) (f32.const 0))))
                  (local.set $j (i32.add (local.get $j) (i32.const 1)))
                  (br_if $lanes (i32.lt_s (local.get $j) (i32.const 16))))))
            (local.set $dst (i32.add (local.get $dst) (i32.const 64)))
            (local.set $from (i32.add (local.get $from) (local.get $ldb)))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $rows)))
        (local.set $n0 (i32.add (local.get $n0) (i32.const 16)))
        (br $panels))))

  ;; B[K,N] row-major → panels.
  (func (export "packB") (param $dst i32) (param $src i32) (param $K i32) (param $N i32)
    (call $packRows (local.get $dst) (local.get $src) (local.get $K) (local.get $N)))

  ;; B given transposed, W[N,K] row-major (a PyTorch weight [out,in]) → panels of Wᵀ.
  ;; Walks W row by row (contiguous reads) and scatters into the panel's column j = n mod 16;
  ;; columns past N are zero-filled. Runs once per optimizer step, so scalar is fine.
  (func (export "packBT") (param $dst i32) (param $src i32) (param $N i32) (param $K i32)
    (local $n i32) (local $k i32) (local $nPadded i32) (local $column i32) (local $from i32)
    (local.set $nPadded (i32.and (i32.add (local.get $N) (i32.const 15)) (i32.const -16)))
    (block $done
      (loop $cols
        (br_if $done (i32.ge_s (local.get $n) (local.get $nPadded)))
        ;; first float of column n in its panel: panel (n / 16) · K·64 bytes + (n mod 16)·4
        (local.set $column (i32.add (local.get $dst)
          (i32.add
            (i32.mul (i32.shr_u (local.get $n) (i32.const 4)) (i32.shl (local.get $K) (i32.const 6)))
            (i32.shl (i32.and (local.get $n) (i32.const 15)) (i32.const 2)))))
        (local.set $from (i32.add (local.get $src)
          (i32.shl (i32.mul (local.get $n) (local.get $K)) (i32.const 2))))
        (local.set $k (i32.const 0))
        (block $rowDone
          (loop $row
            (br_if $rowDone (i32.ge_s (local.get $k) (local.get $K)))
            (f32.store (local.get $column)
              (if (result f32) (i32.lt_s (local.get $n) (local.get $N))
                (then (f32.load (i32.add (local.get $from) (i32.shl (local.get $k) (i32.const 2)))))
                (else (f32.const 0))))
            (local.set $column (i32.add (local.get $column) (i32.const 64)))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $row)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $cols))))

  ;; C[M,N] = beta·C + A[M,K] · B, B packed (packB / packBT). A is read in place (row m at
  ;; a + 4mK), chunk by chunk of K; chunks after the first accumulate. A single row (M = 1) takes
  ;; $rowChunk: the same sums, about twice as fast.
  (func (export "gemmPacked")
    (param $c i32) (param $a i32) (param $bp i32) (param $M i32) (param $N i32) (param $K i32)
    (param $beta i32)
    (local $k0 i32) (local $kc i32) (local $chunkA i32) (local $chunkB i32) (local $chunkBeta i32)
    (loop $chunks
      (local.set $kc (i32.sub (local.get $K) (local.get $k0)))
      (if (i32.gt_s (local.get $kc) (global.get $kChunk)) (then (local.set $kc (global.get $kChunk))))
      (local.set $chunkA (i32.add (local.get $a) (i32.shl (local.get $k0) (i32.const 2))))
      (local.set $chunkB (i32.add (local.get $bp) (i32.shl (local.get $k0) (i32.const 6))))
      (local.set $chunkBeta (i32.or (local.get $beta) (i32.ne (local.get $k0) (i32.const 0))))
      (if (i32.eq (local.get $M) (i32.const 1))
        (then
          (call $rowChunk (local.get $c) (local.get $N) (local.get $chunkA) (local.get $chunkB)
            (i32.shl (local.get $K) (i32.const 6)) (local.get $kc) (local.get $chunkBeta)))
        (else
          (call $gemmChunk (local.get $c) (local.get $M) (local.get $N)
            (local.get $chunkA)
            (i32.shl (local.get $K) (i32.const 3))
            (i32.shl (local.get $K) (i32.const 2))
            (i32.const 4)
            (local.get $chunkB)
            (i32.shl (local.get $K) (i32.const 6))
            (local.get $kc)
            (local.get $chunkBeta))))
      (local.set $k0 (i32.add (local.get $k0) (local.get $kc)))
      (br_if $chunks (i32.lt_s (local.get $k0) (local.get $K)))))

  ;; Packs kc rows of A[·,M] (row stride M floats) into column pairs [ceil(M/2)][kc][2] at dst.
  ;; Blocks of 8 k: each pair's 8 k fill one 64-byte line of dst in turn, while the 8 source rows
  ;; are read left to right (writing k-row by k-row instead scatters across all pairs' lines).
  (func $packPairs (param $dst i32) (param $src i32) (param $kc i32) (param $M i32)
    (local $k0 i32) (local $kEnd i32) (local $m i32) (local $from i32) (local $to i32)
    (local $pairStride i32) (local $ldaBytes i32) (local $fromEnd i32)
    (local.set $pairStride (i32.shl (local.get $kc) (i32.const 3)))
    (local.set $ldaBytes (i32.shl (local.get $M) (i32.const 2)))
    (block $done
      (loop $blocks
        (br_if $done (i32.ge_s (local.get $k0) (local.get $kc)))
        (local.set $kEnd (i32.add (local.get $k0) (i32.const 8)))
        (if (i32.gt_s (local.get $kEnd) (local.get $kc)) (then (local.set $kEnd (local.get $kc))))
        (local.set $m (i32.const 0))
        (block $pairsDone
          (loop $pairs
            (br_if $pairsDone (i32.ge_s (local.get $m) (local.get $M)))
            (local.set $from (i32.add (local.get $src)
              (i32.shl (i32.add (i32.mul (local.get $k0) (local.get $M)) (local.get $m)) (i32.const 2))))
            (local.set $fromEnd (i32.add (local.get $src)
              (i32.shl (i32.add (i32.mul (local.get $kEnd) (local.get $M)) (local.get $m)) (i32.const 2))))
            (local.set $to (i32.add (local.get $dst)
              (i32.add (i32.mul (i32.shr_u (local.get $m) (i32.const 1)) (local.get $pairStride))
                (i32.shl (local.get $k0) (i32.const 3)))))
            (if (i32.lt_s (i32.add (local.get $m) (i32.const 1)) (local.get $M))
              (then
                (loop $ks
                  (i64.store (local.get $to) (i64.load (local.get $from)))
                  (local.set $to (i32.add (local.get $to) (i32.const 8)))
                  (local.set $from (i32.add (local.get $from) (local.get $ldaBytes)))
                  (br_if $ks (i32.ne (local.get $from) (local.get $fromEnd)))))
              (else ;; M odd: the last pair is (A[k, M-1], 0)
                (loop $ks
                  (f32.store offset=0 (local.get $to) (f32.load (local.get $from)))
                  (f32.store offset=4 (local.get $to) (f32.const 0))
                  (local.set $to (i32.add (local.get $to) (i32.const 8)))
                  (local.set $from (i32.add (local.get $from) (local.get $ldaBytes)))
                  (br_if $ks (i32.ne (local.get $from) (local.get $fromEnd))))))
            (local.set $m (i32.add (local.get $m) (i32.const 2)))
            (br $pairs)))
        (local.set $k0 (local.get $kEnd))
        (br $blocks))))

  ;; C[M,N] = beta·C + A[K,M]ᵀ · B[K,N] (weight gradients; K is long). Per chunk of kChunk rows,
  ;; packs A's chunk into column pairs and B's into panels in scratch, then runs the same micro-kernel.
  ;; Scratch: (roundUp(M,2) + roundUp(N,16)) · min(K, kChunk) floats.
  (func (export "gemmAtB")
    (param $c i32) (param $a i32) (param $b i32) (param $M i32) (param $N i32) (param $K i32)
    (param $beta i32) (param $scratch i32)
    (local $k0 i32) (local $kc i32) (local $panels i32)
    (local.set $panels (i32.add (local.get $scratch)
      (i32.shl (i32.mul (i32.and (i32.add (local.get $M) (i32.const 1)) (i32.const -2))
        (select (global.get $kChunk) (local.get $K) (i32.gt_s (local.get $K) (global.get $kChunk))))
        (i32.const 2))))
    (loop $chunks
      (local.set $kc (i32.sub (local.get $K) (local.get $k0)))
      (if (i32.gt_s (local.get $kc) (global.get $kChunk)) (then (local.set $kc (global.get $kChunk))))
      (call $packPairs (local.get $scratch)
        (i32.add (local.get $a) (i32.shl (i32.mul (local.get $k0) (local.get $M)) (i32.const 2)))
        (local.get $kc) (local.get $M))
      (call $packRows (local.get $panels)
        (i32.add (local.get $b) (i32.shl (i32.mul (local.get $k0) (local.get $N)) (i32.const 2)))
        (local.get $kc) (local.get $N))
      (call $gemmChunk (local.get $c) (local.get $M) (local.get $N)
        (local.get $scratch)
        (i32.shl (local.get $kc) (i32.const 3))
        (i32.const 4)
        (i32.const 8)
        (local.get $panels)
        (i32.shl (local.get $kc) (i32.const 6))
        (local.get $kc)
        (i32.or (local.get $beta) (i32.ne (local.get $k0) (i32.const 0))))
      (local.set $k0 (i32.add (local.get $k0) (local.get $kc)))
      (br_if $chunks (i32.lt_s (local.get $k0) (local.get $K))))))
