;; d2's SIMD kernels for the WebAssembly engine: the training step's memory-bound parts, which
;; run as scalar JavaScript loops otherwise (src/engine/fused-kernels.ts, src/engine/adam.ts,
;; the gradient sum of src/engine/replica.ts). The module imports a memory: the TensorFlow.js
;; wasm backend's own (the pooling, bias and batch-norm kernels then read and write tensors in place), or
;; a replica's optimizer memory (weights, moments, gradients: the sum and Adam kernels).
;;
;; Every function computes exactly what its JavaScript loop computes, bit for bit
;; (src/engine/simd-kernels.test.ts): the same comparisons in the same order, the same float64
;; sums in the same order. Arguments are byte offsets into the memory and element counts.
;;
;; src/engine/simd-kernels-binary.ts holds this file compiled (`npm run kernels` writes it; a
;; test fails when the two differ).
(module
  (import "env" "memory" (memory 1))

  ;; The gradient through ReLU then a 2×2 stride-2 max pool (valid padding), NHWC, with c a
  ;; multiple of 4. dx[n,h,w,c] gets dy at the first maximum of each window (row-major order)
  ;; when that maximum is positive; every other element is 0.
  (func (export "max_pool2_relu_grad")
    (param $x i32) (param $dy i32) (param $dx i32)
    (param $n i32) (param $h i32) (param $w i32) (param $c i32)
    (local $oh i32) (local $ow i32) (local $cs i32) (local $rs i32)
    (local $b i32) (local $i i32) (local $j i32) (local $k i32)
    (local $row i32) (local $win i32) (local $g i32) (local $p i32) (local $q i32)
    (local $va v128) (local $vb v128) (local $vc v128) (local $vd v128)
    (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local $m1 v128) (local $m2 v128) (local $gv v128)
    (local.set $oh (i32.shr_u (local.get $h) (i32.const 1)))
    (local.set $ow (i32.shr_u (local.get $w) (i32.const 1)))
    (local.set $cs (i32.shl (local.get $c) (i32.const 2)))
    (local.set $rs (i32.mul (local.get $w) (local.get $cs)))
    ;; Rows and columns no window covers (odd sizes) keep a zero gradient.
    (memory.fill (local.get $dx) (i32.const 0)
      (i32.mul (i32.mul (local.get $n) (local.get $h)) (local.get $rs)))
    (local.set $g (local.get $dy))
    (local.set $b (i32.const 0))
    (block $bdone (loop $bloop
      (br_if $bdone (i32.ge_u (local.get $b) (local.get $n)))
      (local.set $i (i32.const 0))
      (block $idone (loop $iloop
        (br_if $idone (i32.ge_u (local.get $i) (local.get $oh)))
        ;; byte offset of input row 2i of image b
        (local.set $row (i32.mul
          (i32.add (i32.mul (local.get $b) (local.get $h)) (i32.shl (local.get $i) (i32.const 1)))
          (local.get $rs)))
        (local.set $j (i32.const 0))
        (block $jdone (loop $jloop
          (br_if $jdone (i32.ge_u (local.get $j) (local.get $ow)))
          (local.set $win (i32.add (local.get $row) (i32.shl (i32.mul (local.get $j) (local.get $cs)) (i32.const 1))))
          (local.set $k (i32.const 0))
          (block $kdone (loop $kloop
            (br_if $kdone (i32.ge_u (local.get $k) (local.get $cs)))
            (local.set $p (i32.add (i32.add (local.get $x) (local.get $win)) (local.get $k)))
            (local.set $va (v128.load (local.get $p)))
            (local.set $vb (v128.load (i32.add (local.get $p) (local.get $cs))))
            (local.set $vc (v128.load (i32.add (local.get $p) (local.get $rs))))
            (local.set $vd (v128.load (i32.add (i32.add (local.get $p) (local.get $rs)) (local.get $cs))))
            ;; first maximum: a strictly greater value replaces the one before it
            (local.set $t1 (f32x4.gt (local.get $vb) (local.get $va)))
            (local.set $m1 (v128.bitselect (local.get $vb) (local.get $va) (local.get $t1)))
            (local.set $t2 (f32x4.gt (local.get $vd) (local.get $vc)))
            (local.set $m2 (v128.bitselect (local.get $vd) (local.get $vc) (local.get $t2)))
            (local.set $t3 (f32x4.gt (local.get $m2) (local.get $m1)))
            ;; the output gradient, where the window's maximum is positive (ReLU's derivative)
            (local.set $gv (v128.and
              (v128.load (i32.add (local.get $g) (local.get $k)))
              (f32x4.gt (v128.bitselect (local.get $m2) (local.get $m1) (local.get $t3)) (v128.const f32x4 0 0 0 0))))
            (local.set $q (i32.add (i32.add (local.get $dx) (local.get $win)) (local.get $k)))
            (v128.store (local.get $q)
              (v128.andnot (v128.andnot (local.get $gv) (local.get $t1)) (local.get $t3)))
            (v128.store (i32.add (local.get $q) (local.get $cs))
              (v128.andnot (v128.and (local.get $gv) (local.get $t1)) (local.get $t3)))
            (v128.store (i32.add (local.get $q) (local.get $rs))
              (v128.and (v128.andnot (local.get $gv) (local.get $t2)) (local.get $t3)))
            (v128.store (i32.add (i32.add (local.get $q) (local.get $rs)) (local.get $cs))
              (v128.and (v128.and (local.get $gv) (local.get $t2)) (local.get $t3)))
            (local.set $k (i32.add (local.get $k) (i32.const 16)))
            (br $kloop)))
          (local.set $g (i32.add (local.get $g) (local.get $cs)))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br $jloop)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $iloop)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $bloop))))

  ;; The sum over rows of a [rows, c] float32 matrix, c a multiple of 16, into out[c]: each
  ;; channel is summed in float64, row by row, then rounded to float32. Sixteen channels at a
  ;; time (eight float64x2 accumulators), so each pass reads one 64-byte line per row.
  (func (export "bias_grad")
    (param $dy i32) (param $out i32) (param $rows i32) (param $c i32)
    (local $cs i32) (local $k i32) (local $p i32) (local $end i32) (local $v v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $a4 v128) (local $a5 v128) (local $a6 v128) (local $a7 v128)
    (local.set $cs (i32.shl (local.get $c) (i32.const 2)))
    (local.set $end (i32.add (local.get $dy) (i32.mul (local.get $rows) (local.get $cs))))
    (local.set $k (i32.const 0))
    (block $kdone (loop $kloop
      (br_if $kdone (i32.ge_u (local.get $k) (local.get $cs)))
      (local.set $a0 (v128.const i64x2 0 0)) (local.set $a1 (v128.const i64x2 0 0))
      (local.set $a2 (v128.const i64x2 0 0)) (local.set $a3 (v128.const i64x2 0 0))
      (local.set $a4 (v128.const i64x2 0 0)) (local.set $a5 (v128.const i64x2 0 0))
      (local.set $a6 (v128.const i64x2 0 0)) (local.set $a7 (v128.const i64x2 0 0))
      (local.set $p (i32.add (local.get $dy) (local.get $k)))
      (block $rdone (loop $rloop
        (br_if $rdone (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $v (v128.load offset=0 (local.get $p)))
        (local.set $a0 (f64x2.add (local.get $a0) (f64x2.promote_low_f32x4 (local.get $v))))
        (local.set $a1 (f64x2.add (local.get $a1) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))))
        (local.set $v (v128.load offset=16 (local.get $p)))
        (local.set $a2 (f64x2.add (local.get $a2) (f64x2.promote_low_f32x4 (local.get $v))))
        (local.set $a3 (f64x2.add (local.get $a3) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))))
        (local.set $v (v128.load offset=32 (local.get $p)))
        (local.set $a4 (f64x2.add (local.get $a4) (f64x2.promote_low_f32x4 (local.get $v))))
        (local.set $a5 (f64x2.add (local.get $a5) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))))
        (local.set $v (v128.load offset=48 (local.get $p)))
        (local.set $a6 (f64x2.add (local.get $a6) (f64x2.promote_low_f32x4 (local.get $v))))
        (local.set $a7 (f64x2.add (local.get $a7) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))))
        (local.set $p (i32.add (local.get $p) (local.get $cs)))
        (br $rloop)))
      (local.set $p (i32.add (local.get $out) (local.get $k)))
      (v128.store offset=0 (local.get $p) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
        (f32x4.demote_f64x2_zero (local.get $a0)) (f32x4.demote_f64x2_zero (local.get $a1))))
      (v128.store offset=16 (local.get $p) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
        (f32x4.demote_f64x2_zero (local.get $a2)) (f32x4.demote_f64x2_zero (local.get $a3))))
      (v128.store offset=32 (local.get $p) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
        (f32x4.demote_f64x2_zero (local.get $a4)) (f32x4.demote_f64x2_zero (local.get $a5))))
      (v128.store offset=48 (local.get $p) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
        (f32x4.demote_f64x2_zero (local.get $a6)) (f32x4.demote_f64x2_zero (local.get $a7))))
      (local.set $k (i32.add (local.get $k) (i32.const 64)))
      (br $kloop))))

  ;; A feature-major dense layer's bias and activation: out[r, j] = act(x[r, j] + bias[r]) for
  ;; x [rows, n], n a multiple of 4: the float32 sum, then with relu v < 0 ? +0 : v (a NaN or
  ;; -0 kept), as the JavaScript loop of fused-kernels.ts.
  (func (export "bias_act")
    (param $x i32) (param $bias i32) (param $out i32) (param $rows i32) (param $n i32) (param $relu i32)
    (local $r i32) (local $end i32) (local $b v128) (local $v v128)
    (local.set $r (i32.const 0))
    (block $rdone (loop $rloop
      (br_if $rdone (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $b (f32x4.splat (f32.load (i32.add (local.get $bias) (i32.shl (local.get $r) (i32.const 2))))))
      (local.set $end (i32.add (local.get $x) (i32.shl (local.get $n) (i32.const 2))))
      (block $jdone (loop $jloop
        (br_if $jdone (i32.ge_u (local.get $x) (local.get $end)))
        (local.set $v (f32x4.add (v128.load (local.get $x)) (local.get $b)))
        (if (local.get $relu)
          (then (local.set $v (v128.andnot (local.get $v) (f32x4.lt (local.get $v) (v128.const f32x4 0 0 0 0))))))
        (v128.store (local.get $out) (local.get $v))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (local.set $out (i32.add (local.get $out) (i32.const 16)))
        (br $jloop)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rloop))))

  ;; The gradient through a ReLU whose output is y: out[i] = dy[i] × (y[i] > 0 ? 1 : 0) for count
  ;; a multiple of 4 (a product with 1 or 0: -0 for a negative dy where y ≤ 0, as the loop).
  (func (export "relu_grad")
    (param $dy i32) (param $y i32) (param $out i32) (param $count i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $out) (i32.shl (local.get $count) (i32.const 2))))
    (block $done (loop $loop
      (br_if $done (i32.ge_u (local.get $out) (local.get $end)))
      (v128.store (local.get $out)
        (f32x4.mul (v128.load (local.get $dy))
          (v128.and (f32x4.gt (v128.load (local.get $y)) (v128.const f32x4 0 0 0 0)) (v128.const f32x4 1 1 1 1))))
      (local.set $dy (i32.add (local.get $dy) (i32.const 16)))
      (local.set $y (i32.add (local.get $y) (i32.const 16)))
      (local.set $out (i32.add (local.get $out) (i32.const 16)))
      (br $loop))))

  ;; out [cols, rows] = the transpose of x [rows, cols], both multiples of 4, in 4×4 blocks (four
  ;; rows loaded, four columns stored: values moved, never computed). The inner loop walks the
  ;; longer side, so that one side's accesses are consecutive (rows of a [256, 32] input walked
  ;; across would store 1 KB apart, and ~3× slower).
  (func (export "transpose_4x4")
    (param $x i32) (param $out i32) (param $rows i32) (param $cols i32)
    (local $i i32) (local $j i32) (local $rs i32) (local $os i32) (local $p i32) (local $q i32)
    (local $r0 v128) (local $r1 v128) (local $r2 v128) (local $r3 v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local.set $rs (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $os (i32.shl (local.get $rows) (i32.const 2)))
    (if (i32.le_u (local.get $rows) (local.get $cols))
      (then
        ;; block rows outer, columns inner: loads consecutive
        (local.set $i (i32.const 0))
        (block $idone (loop $iloop
          (br_if $idone (i32.ge_u (local.get $i) (local.get $rows)))
          (local.set $j (i32.const 0))
          (block $jdone (loop $jloop
            (br_if $jdone (i32.ge_u (local.get $j) (local.get $cols)))
        (local.set $p (i32.add (local.get $x)
          (i32.shl (i32.add (i32.mul (local.get $i) (local.get $cols)) (local.get $j)) (i32.const 2))))
        (local.set $r0 (v128.load (local.get $p)))
        (local.set $r1 (v128.load (i32.add (local.get $p) (local.get $rs))))
        (local.set $r2 (v128.load (i32.add (local.get $p) (i32.shl (local.get $rs) (i32.const 1)))))
        (local.set $r3 (v128.load (i32.add (local.get $p) (i32.mul (local.get $rs) (i32.const 3)))))
        (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r0) (local.get $r1)))
        (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r0) (local.get $r1)))
        (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r2) (local.get $r3)))
        (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r2) (local.get $r3)))
        (local.set $q (i32.add (local.get $out)
          (i32.shl (i32.add (i32.mul (local.get $j) (local.get $rows)) (local.get $i)) (i32.const 2))))
        (v128.store (local.get $q) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
        (v128.store (i32.add (local.get $q) (local.get $os))
          (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
        (v128.store (i32.add (local.get $q) (i32.shl (local.get $os) (i32.const 1)))
          (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
        (v128.store (i32.add (local.get $q) (i32.mul (local.get $os) (i32.const 3)))
          (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3)))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $jloop)))
          (local.set $i (i32.add (local.get $i) (i32.const 4)))
          (br $iloop))))
      (else
        ;; block columns outer, rows inner: stores consecutive
        (local.set $j (i32.const 0))
        (block $jdone2 (loop $jloop2
          (br_if $jdone2 (i32.ge_u (local.get $j) (local.get $cols)))
          (local.set $i (i32.const 0))
          (block $idone2 (loop $iloop2
            (br_if $idone2 (i32.ge_u (local.get $i) (local.get $rows)))
        (local.set $p (i32.add (local.get $x)
          (i32.shl (i32.add (i32.mul (local.get $i) (local.get $cols)) (local.get $j)) (i32.const 2))))
        (local.set $r0 (v128.load (local.get $p)))
        (local.set $r1 (v128.load (i32.add (local.get $p) (local.get $rs))))
        (local.set $r2 (v128.load (i32.add (local.get $p) (i32.shl (local.get $rs) (i32.const 1)))))
        (local.set $r3 (v128.load (i32.add (local.get $p) (i32.mul (local.get $rs) (i32.const 3)))))
        (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r0) (local.get $r1)))
        (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r0) (local.get $r1)))
        (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r2) (local.get $r3)))
        (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r2) (local.get $r3)))
        (local.set $q (i32.add (local.get $out)
          (i32.shl (i32.add (i32.mul (local.get $j) (local.get $rows)) (local.get $i)) (i32.const 2))))
        (v128.store (local.get $q) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
        (v128.store (i32.add (local.get $q) (local.get $os))
          (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
        (v128.store (i32.add (local.get $q) (i32.shl (local.get $os) (i32.const 1)))
          (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
        (v128.store (i32.add (local.get $q) (i32.mul (local.get $os) (i32.const 3)))
          (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3)))
            (local.set $i (i32.add (local.get $i) (i32.const 4)))
            (br $iloop2)))
          (local.set $j (i32.add (local.get $j) (i32.const 4)))
          (br $jloop2))))))

  ;; out[r] = the float32 sum of x[r, 0..cols) in order from 0 (as the backend's Sum over the
  ;; last axis adds it), for x [rows, cols], both multiples of 4: four rows at a time, each 4×4
  ;; block transposed so that each lane adds its own row's values in order.
  (func (export "sum_rows")
    (param $x i32) (param $out i32) (param $rows i32) (param $cols i32)
    (local $i i32) (local $p i32) (local $end i32) (local $rs i32)
    (local $r0 v128) (local $r1 v128) (local $r2 v128) (local $r3 v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128) (local $acc v128)
    (local.set $rs (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $i (i32.const 0))
    (block $idone (loop $iloop
      (br_if $idone (i32.ge_u (local.get $i) (local.get $rows)))
      (local.set $acc (v128.const i32x4 0 0 0 0))
      (local.set $p (i32.add (local.get $x) (i32.mul (local.get $i) (local.get $rs))))
      (local.set $end (i32.add (local.get $p) (local.get $rs)))
      (block $jdone (loop $jloop
        (br_if $jdone (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $r0 (v128.load (local.get $p)))
        (local.set $r1 (v128.load (i32.add (local.get $p) (local.get $rs))))
        (local.set $r2 (v128.load (i32.add (local.get $p) (i32.shl (local.get $rs) (i32.const 1)))))
        (local.set $r3 (v128.load (i32.add (local.get $p) (i32.mul (local.get $rs) (i32.const 3)))))
        (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r0) (local.get $r1)))
        (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r0) (local.get $r1)))
        (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r2) (local.get $r3)))
        (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r2) (local.get $r3)))
        (local.set $acc (f32x4.add (local.get $acc)
          (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2))))
        (local.set $acc (f32x4.add (local.get $acc)
          (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2))))
        (local.set $acc (f32x4.add (local.get $acc)
          (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3))))
        (local.set $acc (f32x4.add (local.get $acc)
          (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3))))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br $jloop)))
      (v128.store (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 2))) (local.get $acc))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $iloop))))

  ;; The step gradient from two parts: g[i] = a[i] + b[i] in float32 (the double sum rounded to
  ;; float32, as the JavaScript loop stores it, is the same value), for count a multiple of 4.
  ;; Returns 1 when any sum is not finite (then f - f is NaN), else 0.
  (func (export "sum_parts2")
    (param $a i32) (param $b i32) (param $g i32) (param $count i32) (result i32)
    (local $i i32) (local $end i32) (local $f v128) (local $t v128) (local $bad v128)
    (local.set $end (i32.shl (local.get $count) (i32.const 2)))
    (local.set $bad (v128.const i32x4 0 0 0 0))
    (local.set $i (i32.const 0))
    (block $done (loop $loop
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $f (f32x4.add
        (v128.load (i32.add (local.get $a) (local.get $i)))
        (v128.load (i32.add (local.get $b) (local.get $i)))))
      (v128.store (i32.add (local.get $g) (local.get $i)) (local.get $f))
      (local.set $t (f32x4.sub (local.get $f) (local.get $f)))
      (local.set $bad (v128.or (local.get $bad) (f32x4.ne (local.get $t) (local.get $t))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $loop)))
    (v128.any_true (local.get $bad)))

  ;; Adam's update of count weights (count even), two at a time in float64 with exactly the
  ;; operations of src/engine/adam.ts in the same order (no fused multiply-add in WebAssembly):
  ;;   m = b1·m + a1·g;  v = b2·v + (a2·g)·g;  w = w - ((lr·m)·c1) / (sqrt(v·c2) + eps)
  ;; with m and v kept in float64 for w's line and each of m, v, w stored rounded to float32.
  (func (export "adam")
    (param $w i32) (param $m i32) (param $v i32) (param $g i32) (param $count i32)
    (param $b1 f64) (param $a1 f64) (param $b2 f64) (param $a2 f64)
    (param $lr f64) (param $c1 f64) (param $c2 f64) (param $eps f64)
    (local $i i32) (local $end i32)
    (local $B1 v128) (local $A1 v128) (local $B2 v128) (local $A2 v128)
    (local $LR v128) (local $C1 v128) (local $C2 v128) (local $EPS v128)
    (local $gi v128) (local $mi v128) (local $vi v128)
    (local.set $B1 (f64x2.splat (local.get $b1)))
    (local.set $A1 (f64x2.splat (local.get $a1)))
    (local.set $B2 (f64x2.splat (local.get $b2)))
    (local.set $A2 (f64x2.splat (local.get $a2)))
    (local.set $LR (f64x2.splat (local.get $lr)))
    (local.set $C1 (f64x2.splat (local.get $c1)))
    (local.set $C2 (f64x2.splat (local.get $c2)))
    (local.set $EPS (f64x2.splat (local.get $eps)))
    (local.set $end (i32.shl (local.get $count) (i32.const 2)))
    (local.set $i (i32.const 0))
    (block $done (loop $loop
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $gi (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $g) (local.get $i)))))
      (local.set $mi (f64x2.add
        (f64x2.mul (local.get $B1) (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $m) (local.get $i)))))
        (f64x2.mul (local.get $A1) (local.get $gi))))
      (local.set $vi (f64x2.add
        (f64x2.mul (local.get $B2) (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $v) (local.get $i)))))
        (f64x2.mul (f64x2.mul (local.get $A2) (local.get $gi)) (local.get $gi))))
      (v128.store64_lane 0 (i32.add (local.get $m) (local.get $i)) (f32x4.demote_f64x2_zero (local.get $mi)))
      (v128.store64_lane 0 (i32.add (local.get $v) (local.get $i)) (f32x4.demote_f64x2_zero (local.get $vi)))
      (v128.store64_lane 0 (i32.add (local.get $w) (local.get $i)) (f32x4.demote_f64x2_zero
        (f64x2.sub
          (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $w) (local.get $i))))
          (f64x2.div
            (f64x2.mul (f64x2.mul (local.get $LR) (local.get $mi)) (local.get $C1))
            (f64x2.add (f64x2.sqrt (f64x2.mul (local.get $vi) (local.get $C2))) (local.get $EPS))))))
      (local.set $i (i32.add (local.get $i) (i32.const 8)))
      (br $loop))))

  ;; The filter gradient of a stride-1 'valid' convolution (the input padded beforehand), NHWC,
  ;; for four rows r_j = (ky, kx, c) of the [kh·kw·ci, co] gradient at once:
  ;;   dw[r_j, o] = Σ over positions p of x[p + (ky, kx), c] · dy[p, o]
  ;; summed in float32 (each product rounded, then each sum) over the positions in the order of
  ;; three nested loops (c0 × c1 × c2 positions; after each innermost step the x and dy
  ;; pointers move by s2x and s2d bytes, after each middle step by s1x and s1d more, after each
  ;; outer step by s0x and s0d more): (b, y, x) or (y, x, b), as the caller sets them. d0..d3
  ;; are the rows' offsets in bytes from a patch's corner; co is a multiple of 8; of the four
  ;; rows only the first `rows` are stored (row j at dw + j·co·4). Eight accumulators: 4 rows ×
  ;; 8 outputs.
  (func (export "conv_filter_grad4")
    (param $x i32) (param $dy i32) (param $dw i32) (param $co i32)
    (param $c0 i32) (param $c1 i32) (param $c2 i32)
    (param $s2x i32) (param $s2d i32) (param $s1x i32) (param $s1d i32) (param $s0x i32) (param $s0d i32)
    (param $d0 i32) (param $d1 i32) (param $d2 i32) (param $d3 i32) (param $rows i32)
    (local $cs i32) (local $k i32) (local $px i32) (local $pdy i32) (local $i0 i32) (local $i1 i32) (local $i2 i32)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128) (local $v0 v128) (local $v1 v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $a4 v128) (local $a5 v128) (local $a6 v128) (local $a7 v128)
    (local $q i32)
    (local.set $cs (i32.shl (local.get $co) (i32.const 2)))
    (local.set $k (i32.const 0))
    (block $kdone (loop $kloop
      (br_if $kdone (i32.ge_u (local.get $k) (local.get $cs)))
      (local.set $a0 (v128.const i32x4 0 0 0 0)) (local.set $a1 (v128.const i32x4 0 0 0 0))
      (local.set $a2 (v128.const i32x4 0 0 0 0)) (local.set $a3 (v128.const i32x4 0 0 0 0))
      (local.set $a4 (v128.const i32x4 0 0 0 0)) (local.set $a5 (v128.const i32x4 0 0 0 0))
      (local.set $a6 (v128.const i32x4 0 0 0 0)) (local.set $a7 (v128.const i32x4 0 0 0 0))
      (local.set $px (local.get $x))
      (local.set $pdy (i32.add (local.get $dy) (local.get $k)))
      (local.set $i0 (local.get $c0))
      (block $done0 (loop $loop0
        (br_if $done0 (i32.eqz (local.get $i0)))
        (local.set $i1 (local.get $c1))
        (block $done1 (loop $loop1
          (br_if $done1 (i32.eqz (local.get $i1)))
          (local.set $i2 (local.get $c2))
          (block $done2 (loop $loop2
            (br_if $done2 (i32.eqz (local.get $i2)))
            (local.set $s0 (v128.load32_splat (i32.add (local.get $px) (local.get $d0))))
            (local.set $s1 (v128.load32_splat (i32.add (local.get $px) (local.get $d1))))
            (local.set $s2 (v128.load32_splat (i32.add (local.get $px) (local.get $d2))))
            (local.set $s3 (v128.load32_splat (i32.add (local.get $px) (local.get $d3))))
            (local.set $v0 (v128.load offset=0 (local.get $pdy)))
            (local.set $v1 (v128.load offset=16 (local.get $pdy)))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $s0) (local.get $v0))))
            (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $s0) (local.get $v1))))
            (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $s1) (local.get $v0))))
            (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $s1) (local.get $v1))))
            (local.set $a4 (f32x4.add (local.get $a4) (f32x4.mul (local.get $s2) (local.get $v0))))
            (local.set $a5 (f32x4.add (local.get $a5) (f32x4.mul (local.get $s2) (local.get $v1))))
            (local.set $a6 (f32x4.add (local.get $a6) (f32x4.mul (local.get $s3) (local.get $v0))))
            (local.set $a7 (f32x4.add (local.get $a7) (f32x4.mul (local.get $s3) (local.get $v1))))
            (local.set $px (i32.add (local.get $px) (local.get $s2x)))
            (local.set $pdy (i32.add (local.get $pdy) (local.get $s2d)))
            (local.set $i2 (i32.sub (local.get $i2) (i32.const 1)))
            (br $loop2)))
          (local.set $px (i32.add (local.get $px) (local.get $s1x)))
          (local.set $pdy (i32.add (local.get $pdy) (local.get $s1d)))
          (local.set $i1 (i32.sub (local.get $i1) (i32.const 1)))
          (br $loop1)))
        (local.set $px (i32.add (local.get $px) (local.get $s0x)))
        (local.set $pdy (i32.add (local.get $pdy) (local.get $s0d)))
        (local.set $i0 (i32.sub (local.get $i0) (i32.const 1)))
        (br $loop0)))
      (local.set $q (i32.add (local.get $dw) (local.get $k)))
      (v128.store offset=0 (local.get $q) (local.get $a0))
      (v128.store offset=16 (local.get $q) (local.get $a1))
      (if (i32.gt_u (local.get $rows) (i32.const 1)) (then
        (local.set $q (i32.add (local.get $q) (local.get $cs)))
        (v128.store offset=0 (local.get $q) (local.get $a2))
        (v128.store offset=16 (local.get $q) (local.get $a3))))
      (if (i32.gt_u (local.get $rows) (i32.const 2)) (then
        (local.set $q (i32.add (local.get $q) (local.get $cs)))
        (v128.store offset=0 (local.get $q) (local.get $a4))
        (v128.store offset=16 (local.get $q) (local.get $a5))))
      (if (i32.gt_u (local.get $rows) (i32.const 3)) (then
        (local.set $q (i32.add (local.get $q) (local.get $cs)))
        (v128.store offset=0 (local.get $q) (local.get $a6))
        (v128.store offset=16 (local.get $q) (local.get $a7))))
      (local.set $k (i32.add (local.get $k) (i32.const 32)))
      (br $kloop))))

  ;; out [m, n] = a · b for b [k, n] (n a multiple of 16), a's element (r, t) at byte
  ;; a + r·rs + t·ts: rs = 4k, ts = 4 for a [m, k]; rs = 4, ts = 4m for a stored transposed,
  ;; [k, m], read in place. Each element a float32 sum over t in order from 0, a separate multiply
  ;; and add each (as conv2d_16 and the backend's XNNPACK product add it); 2 rows × 16 columns at
  ;; a time, a lone last row computed twice and stored once.
  (func (export "matmul_16")
    (param $a i32) (param $b i32) (param $out i32) (param $m i32) (param $k i32) (param $n i32)
    (param $rs i32) (param $ts i32)
    (local $r i32) (local $pair i32) (local $cb i32) (local $ns i32) (local $t i32)
    (local $pa i32) (local $pb i32) (local $pw i32) (local $q i32)
    (local $sa v128) (local $sb v128) (local $w0 v128) (local $w1 v128) (local $w2 v128) (local $w3 v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $a4 v128) (local $a5 v128) (local $a6 v128) (local $a7 v128)
    (local.set $ns (i32.shl (local.get $n) (i32.const 2)))
    (local.set $q (local.get $out))
    (local.set $r (i32.const 0))
    (block $rdone (loop $rloop
      (br_if $rdone (i32.ge_u (local.get $r) (local.get $m)))
      ;; the second row's byte offset from the first in a (0: a lone last row)
      (local.set $pair (select (local.get $rs) (i32.const 0)
        (i32.lt_u (i32.add (local.get $r) (i32.const 1)) (local.get $m))))
      (local.set $cb (i32.const 0))
      (block $cdone (loop $cloop
        (br_if $cdone (i32.ge_u (local.get $cb) (local.get $ns)))
        (local.set $a0 (v128.const i32x4 0 0 0 0)) (local.set $a1 (v128.const i32x4 0 0 0 0))
        (local.set $a2 (v128.const i32x4 0 0 0 0)) (local.set $a3 (v128.const i32x4 0 0 0 0))
        (local.set $a4 (v128.const i32x4 0 0 0 0)) (local.set $a5 (v128.const i32x4 0 0 0 0))
        (local.set $a6 (v128.const i32x4 0 0 0 0)) (local.set $a7 (v128.const i32x4 0 0 0 0))
        (local.set $pa (i32.add (local.get $a) (i32.mul (local.get $r) (local.get $rs))))
        (local.set $pb (i32.add (local.get $pa) (local.get $pair)))
        (local.set $pw (i32.add (local.get $b) (local.get $cb)))
        (local.set $t (local.get $k))
        (block $tdone (loop $tloop
          (br_if $tdone (i32.eqz (local.get $t)))
          (local.set $sa (v128.load32_splat (local.get $pa)))
          (local.set $sb (v128.load32_splat (local.get $pb)))
          (local.set $w0 (v128.load offset=0 (local.get $pw)))
          (local.set $w1 (v128.load offset=16 (local.get $pw)))
          (local.set $w2 (v128.load offset=32 (local.get $pw)))
          (local.set $w3 (v128.load offset=48 (local.get $pw)))
          (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $sa) (local.get $w0))))
          (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $sa) (local.get $w1))))
          (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $sa) (local.get $w2))))
          (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $sa) (local.get $w3))))
          (local.set $a4 (f32x4.add (local.get $a4) (f32x4.mul (local.get $sb) (local.get $w0))))
          (local.set $a5 (f32x4.add (local.get $a5) (f32x4.mul (local.get $sb) (local.get $w1))))
          (local.set $a6 (f32x4.add (local.get $a6) (f32x4.mul (local.get $sb) (local.get $w2))))
          (local.set $a7 (f32x4.add (local.get $a7) (f32x4.mul (local.get $sb) (local.get $w3))))
          (local.set $pa (i32.add (local.get $pa) (local.get $ts)))
          (local.set $pb (i32.add (local.get $pb) (local.get $ts)))
          (local.set $pw (i32.add (local.get $pw) (local.get $ns)))
          (local.set $t (i32.sub (local.get $t) (i32.const 1)))
          (br $tloop)))
        (v128.store offset=0 (i32.add (local.get $q) (local.get $cb)) (local.get $a0))
        (v128.store offset=16 (i32.add (local.get $q) (local.get $cb)) (local.get $a1))
        (v128.store offset=32 (i32.add (local.get $q) (local.get $cb)) (local.get $a2))
        (v128.store offset=48 (i32.add (local.get $q) (local.get $cb)) (local.get $a3))
        (if (local.get $pair) (then
          (v128.store offset=0 (i32.add (i32.add (local.get $q) (local.get $ns)) (local.get $cb)) (local.get $a4))
          (v128.store offset=16 (i32.add (i32.add (local.get $q) (local.get $ns)) (local.get $cb)) (local.get $a5))
          (v128.store offset=32 (i32.add (i32.add (local.get $q) (local.get $ns)) (local.get $cb)) (local.get $a6))
          (v128.store offset=48 (i32.add (i32.add (local.get $q) (local.get $ns)) (local.get $cb)) (local.get $a7))))
        (local.set $cb (i32.add (local.get $cb) (i32.const 64)))
        (br $cloop)))
      (local.set $q (i32.add (local.get $q) (select (i32.shl (local.get $ns) (i32.const 1)) (local.get $ns) (local.get $pair))))
      (local.set $r (i32.add (local.get $r) (i32.const 2)))
      (br $rloop))))

  ;; A stride-1 'valid' correlation (the input padded beforehand), NHWC, two output positions
  ;; (x, x+1) and sixteen output channels at a time:
  ;;   out[b, y, x, o] = act(bias[o] + Σ over ky, then kx·cin + i in order, of
  ;;                     in[b, y+ky, x+kx, i] · w[ky, kx, i, o])
  ;; summed in float32 (each product rounded, then each sum), act = max(·, 0) when relu ≠ 0.
  ;; w is [kh, kw, cin, cout]; cout a multiple of 16; bias 0 means none. With ow odd, the last
  ;; position is computed as a pair with itself and stored once. The forward convolution and,
  ;; with the flipped filter over the padded output gradient, the input gradient.
  (func (export "conv2d_16")
    (param $in i32) (param $w i32) (param $bias i32) (param $out i32)
    (param $n i32) (param $ph i32) (param $pw i32) (param $cin i32)
    (param $oh i32) (param $ow i32) (param $cout i32) (param $kh i32) (param $kw i32) (param $relu i32)
    (local $b i32) (local $y i32) (local $x i32) (local $cb i32) (local $ky i32) (local $t i32)
    (local $taps i32) (local $ins i32) (local $couts i32) (local $pair i32)
    (local $pa i32) (local $pb i32) (local $pwt i32) (local $q i32)
    (local $sa v128) (local $sb v128) (local $w0 v128) (local $w1 v128) (local $w2 v128) (local $w3 v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $a4 v128) (local $a5 v128) (local $a6 v128) (local $a7 v128)
    (local.set $ins (i32.shl (local.get $cin) (i32.const 2)))
    (local.set $couts (i32.shl (local.get $cout) (i32.const 2)))
    (local.set $taps (i32.mul (local.get $kw) (local.get $cin)))
    (local.set $q (local.get $out))
    (local.set $b (i32.const 0))
    (block $bdone (loop $bloop
      (br_if $bdone (i32.ge_u (local.get $b) (local.get $n)))
      (local.set $y (i32.const 0))
      (block $ydone (loop $yloop
        (br_if $ydone (i32.ge_u (local.get $y) (local.get $oh)))
        (local.set $x (i32.const 0))
        (block $xdone (loop $xloop
          (br_if $xdone (i32.ge_u (local.get $x) (local.get $ow)))
          ;; the second position's byte offset from the first (0: a lone last position)
          (local.set $pair (select (local.get $ins) (i32.const 0)
            (i32.lt_u (i32.add (local.get $x) (i32.const 1)) (local.get $ow))))
          (local.set $cb (i32.const 0))
          (block $cdone (loop $cloop
            (br_if $cdone (i32.ge_u (local.get $cb) (local.get $couts)))
            (if (local.get $bias)
              (then
                (local.set $a0 (v128.load offset=0 (i32.add (local.get $bias) (local.get $cb))))
                (local.set $a1 (v128.load offset=16 (i32.add (local.get $bias) (local.get $cb))))
                (local.set $a2 (v128.load offset=32 (i32.add (local.get $bias) (local.get $cb))))
                (local.set $a3 (v128.load offset=48 (i32.add (local.get $bias) (local.get $cb)))))
              (else
                (local.set $a0 (v128.const i32x4 0 0 0 0)) (local.set $a1 (v128.const i32x4 0 0 0 0))
                (local.set $a2 (v128.const i32x4 0 0 0 0)) (local.set $a3 (v128.const i32x4 0 0 0 0))))
            (local.set $a4 (local.get $a0)) (local.set $a5 (local.get $a1))
            (local.set $a6 (local.get $a2)) (local.set $a7 (local.get $a3))
            (local.set $ky (i32.const 0))
            (block $kdone (loop $kloop
              (br_if $kdone (i32.ge_u (local.get $ky) (local.get $kh)))
              (local.set $pa (i32.add (local.get $in) (i32.mul
                (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $ph)) (i32.add (local.get $y) (local.get $ky))) (local.get $pw)) (local.get $x))
                (local.get $ins))))
              (local.set $pb (i32.add (local.get $pa) (local.get $pair)))
              (local.set $pwt (i32.add (i32.add (local.get $w)
                (i32.mul (i32.mul (local.get $ky) (local.get $taps)) (local.get $couts))) (local.get $cb)))
              (local.set $t (local.get $taps))
              (block $tdone (loop $tloop
                (br_if $tdone (i32.eqz (local.get $t)))
                (local.set $sa (v128.load32_splat (local.get $pa)))
                (local.set $sb (v128.load32_splat (local.get $pb)))
                (local.set $w0 (v128.load offset=0 (local.get $pwt)))
                (local.set $w1 (v128.load offset=16 (local.get $pwt)))
                (local.set $w2 (v128.load offset=32 (local.get $pwt)))
                (local.set $w3 (v128.load offset=48 (local.get $pwt)))
                (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $sa) (local.get $w0))))
                (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $sa) (local.get $w1))))
                (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $sa) (local.get $w2))))
                (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $sa) (local.get $w3))))
                (local.set $a4 (f32x4.add (local.get $a4) (f32x4.mul (local.get $sb) (local.get $w0))))
                (local.set $a5 (f32x4.add (local.get $a5) (f32x4.mul (local.get $sb) (local.get $w1))))
                (local.set $a6 (f32x4.add (local.get $a6) (f32x4.mul (local.get $sb) (local.get $w2))))
                (local.set $a7 (f32x4.add (local.get $a7) (f32x4.mul (local.get $sb) (local.get $w3))))
                (local.set $pa (i32.add (local.get $pa) (i32.const 4)))
                (local.set $pb (i32.add (local.get $pb) (i32.const 4)))
                (local.set $pwt (i32.add (local.get $pwt) (local.get $couts)))
                (local.set $t (i32.sub (local.get $t) (i32.const 1)))
                (br $tloop)))
              (local.set $ky (i32.add (local.get $ky) (i32.const 1)))
              (br $kloop)))
            (if (local.get $relu) (then
              (local.set $a0 (f32x4.max (local.get $a0) (v128.const i32x4 0 0 0 0)))
              (local.set $a1 (f32x4.max (local.get $a1) (v128.const i32x4 0 0 0 0)))
              (local.set $a2 (f32x4.max (local.get $a2) (v128.const i32x4 0 0 0 0)))
              (local.set $a3 (f32x4.max (local.get $a3) (v128.const i32x4 0 0 0 0)))
              (local.set $a4 (f32x4.max (local.get $a4) (v128.const i32x4 0 0 0 0)))
              (local.set $a5 (f32x4.max (local.get $a5) (v128.const i32x4 0 0 0 0)))
              (local.set $a6 (f32x4.max (local.get $a6) (v128.const i32x4 0 0 0 0)))
              (local.set $a7 (f32x4.max (local.get $a7) (v128.const i32x4 0 0 0 0)))))
            (v128.store offset=0 (i32.add (local.get $q) (local.get $cb)) (local.get $a0))
            (v128.store offset=16 (i32.add (local.get $q) (local.get $cb)) (local.get $a1))
            (v128.store offset=32 (i32.add (local.get $q) (local.get $cb)) (local.get $a2))
            (v128.store offset=48 (i32.add (local.get $q) (local.get $cb)) (local.get $a3))
            (if (local.get $pair) (then
              (v128.store offset=0 (i32.add (i32.add (local.get $q) (local.get $couts)) (local.get $cb)) (local.get $a4))
              (v128.store offset=16 (i32.add (i32.add (local.get $q) (local.get $couts)) (local.get $cb)) (local.get $a5))
              (v128.store offset=32 (i32.add (i32.add (local.get $q) (local.get $couts)) (local.get $cb)) (local.get $a6))
              (v128.store offset=48 (i32.add (i32.add (local.get $q) (local.get $couts)) (local.get $cb)) (local.get $a7))))
            (local.set $cb (i32.add (local.get $cb) (i32.const 64)))
            (br $cloop)))
          (local.set $q (i32.add (local.get $q) (select (i32.shl (local.get $couts) (i32.const 1)) (local.get $couts) (local.get $pair))))
          (local.set $x (i32.add (local.get $x) (i32.const 2)))
          (br $xloop)))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $yloop)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $bloop))))

  ;; Batch normalisation's statistics over z [rows, c] (c a multiple of 8), into out (float64):
  ;; out[ch] = Σ(z − K), out[c + ch] = Σ(z − K)², K the channel's value in the first row, each
  ;; summed in float64 row by row (batchNormStatsLoop). Eight channels at a time.
  (func (export "bn_stats8")
    (param $z i32) (param $rows i32) (param $c i32) (param $out i32)
    (local $cs i32) (local $k i32) (local $p i32) (local $end i32) (local $v v128) (local $d v128)
    (local $k0 v128) (local $k1 v128) (local $k2 v128) (local $k3 v128)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128)
    (local $q0 v128) (local $q1 v128) (local $q2 v128) (local $q3 v128)
    (local.set $cs (i32.shl (local.get $c) (i32.const 2)))
    (local.set $end (i32.add (local.get $z) (i32.mul (local.get $rows) (local.get $cs))))
    (local.set $k (i32.const 0))
    (block $kdone (loop $kloop
      (br_if $kdone (i32.ge_u (local.get $k) (local.get $cs)))
      (local.set $p (i32.add (local.get $z) (local.get $k)))
      (local.set $v (v128.load offset=0 (local.get $p)))
      (local.set $k0 (f64x2.promote_low_f32x4 (local.get $v)))
      (local.set $k1 (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))))
      (local.set $v (v128.load offset=16 (local.get $p)))
      (local.set $k2 (f64x2.promote_low_f32x4 (local.get $v)))
      (local.set $k3 (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))))
      (local.set $s0 (v128.const i64x2 0 0)) (local.set $s1 (v128.const i64x2 0 0))
      (local.set $s2 (v128.const i64x2 0 0)) (local.set $s3 (v128.const i64x2 0 0))
      (local.set $q0 (v128.const i64x2 0 0)) (local.set $q1 (v128.const i64x2 0 0))
      (local.set $q2 (v128.const i64x2 0 0)) (local.set $q3 (v128.const i64x2 0 0))
      (block $rdone (loop $rloop
        (br_if $rdone (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $v (v128.load offset=0 (local.get $p)))
        (local.set $d (f64x2.sub (f64x2.promote_low_f32x4 (local.get $v)) (local.get $k0)))
        (local.set $s0 (f64x2.add (local.get $s0) (local.get $d)))
        (local.set $q0 (f64x2.add (local.get $q0) (f64x2.mul (local.get $d) (local.get $d))))
        (local.set $d (f64x2.sub (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))) (local.get $k1)))
        (local.set $s1 (f64x2.add (local.get $s1) (local.get $d)))
        (local.set $q1 (f64x2.add (local.get $q1) (f64x2.mul (local.get $d) (local.get $d))))
        (local.set $v (v128.load offset=16 (local.get $p)))
        (local.set $d (f64x2.sub (f64x2.promote_low_f32x4 (local.get $v)) (local.get $k2)))
        (local.set $s2 (f64x2.add (local.get $s2) (local.get $d)))
        (local.set $q2 (f64x2.add (local.get $q2) (f64x2.mul (local.get $d) (local.get $d))))
        (local.set $d (f64x2.sub (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))) (local.get $k3)))
        (local.set $s3 (f64x2.add (local.get $s3) (local.get $d)))
        (local.set $q3 (f64x2.add (local.get $q3) (f64x2.mul (local.get $d) (local.get $d))))
        (local.set $p (i32.add (local.get $p) (local.get $cs)))
        (br $rloop)))
      ;; Channel ch's float64 at out + 8·ch = out + 2·k.
      (local.set $p (i32.add (local.get $out) (i32.shl (local.get $k) (i32.const 1))))
      (v128.store offset=0 (local.get $p) (local.get $s0))
      (v128.store offset=16 (local.get $p) (local.get $s1))
      (v128.store offset=32 (local.get $p) (local.get $s2))
      (v128.store offset=48 (local.get $p) (local.get $s3))
      (local.set $p (i32.add (local.get $p) (i32.shl (local.get $cs) (i32.const 1))))
      (v128.store offset=0 (local.get $p) (local.get $q0))
      (v128.store offset=16 (local.get $p) (local.get $q1))
      (v128.store offset=32 (local.get $p) (local.get $q2))
      (v128.store offset=48 (local.get $p) (local.get $q3))
      (local.set $k (i32.add (local.get $k) (i32.const 32)))
      (br $kloop))))

  ;; y = relu(z·a + b) over z [rows, c] (c a multiple of 4), a and b float64 per channel at coef
  ;; and coef + 8·c: z·a + b in float64, rounded to float32, then 0 where negative
  ;; (batchNormApplyLoop).
  (func (export "bn_apply4")
    (param $z i32) (param $y i32) (param $coef i32) (param $rows i32) (param $c i32)
    (local $cs i32) (local $p i32) (local $end i32) (local $j i32) (local $ca i32) (local $cb i32)
    (local $v v128) (local $r v128)
    (local.set $cs (i32.shl (local.get $c) (i32.const 2)))
    (local.set $end (i32.mul (local.get $rows) (local.get $cs)))
    (local.set $p (i32.const 0))
    (block $done (loop $rloop
      (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
      (local.set $ca (local.get $coef))
      (local.set $cb (i32.add (local.get $coef) (i32.shl (local.get $cs) (i32.const 1))))
      (local.set $j (i32.add (local.get $p) (local.get $cs)))
      (block $cdone (loop $cloop
        (br_if $cdone (i32.ge_u (local.get $p) (local.get $j)))
        (local.set $v (v128.load (i32.add (local.get $z) (local.get $p))))
        (local.set $r (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
          (f32x4.demote_f64x2_zero (f64x2.add
            (f64x2.mul (f64x2.promote_low_f32x4 (local.get $v)) (v128.load offset=0 (local.get $ca)))
            (v128.load offset=0 (local.get $cb))))
          (f32x4.demote_f64x2_zero (f64x2.add
            (f64x2.mul (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))) (v128.load offset=16 (local.get $ca)))
            (v128.load offset=16 (local.get $cb))))))
        (v128.store (i32.add (local.get $y) (local.get $p))
          (v128.bitselect (v128.const i32x4 0 0 0 0) (local.get $r) (f32x4.lt (local.get $r) (v128.const i32x4 0 0 0 0))))
        (local.set $ca (i32.add (local.get $ca) (i32.const 32)))
        (local.set $cb (i32.add (local.get $cb) (i32.const 32)))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br $cloop)))
      (br $rloop))))

  ;; Batch normalisation's backward sums over [rows, c] (c a multiple of 8), into out (float64):
  ;; out[ch] = Σ g, out[c + ch] = Σ g·(z − mean), summed in float64 row by row, g = dy, or with
  ;; $relu ≠ 0, dy where y > 0 and 0 elsewhere (batchNormGradSumsLoop). mean is float32 [c].
  (func (export "bn_grad_sums8")
    (param $dy i32) (param $y i32) (param $z i32) (param $mean i32) (param $rows i32) (param $c i32) (param $out i32) (param $relu i32)
    (local $cs i32) (local $k i32) (local $p i32) (local $end i32) (local $all v128)
    (local $g v128) (local $v v128) (local $h v128)
    (local $m0 v128) (local $m1 v128) (local $m2 v128) (local $m3 v128)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128)
    (local $q0 v128) (local $q1 v128) (local $q2 v128) (local $q3 v128)
    ;; Every lane kept when there is no ReLU to go through.
    (local.set $all (i32x4.splat (i32.sub (i32.const 0) (i32.eqz (local.get $relu)))))
    (local.set $cs (i32.shl (local.get $c) (i32.const 2)))
    (local.set $end (i32.mul (local.get $rows) (local.get $cs)))
    (local.set $k (i32.const 0))
    (block $kdone (loop $kloop
      (br_if $kdone (i32.ge_u (local.get $k) (local.get $cs)))
      (local.set $v (v128.load offset=0 (i32.add (local.get $mean) (local.get $k))))
      (local.set $m0 (f64x2.promote_low_f32x4 (local.get $v)))
      (local.set $m1 (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))))
      (local.set $v (v128.load offset=16 (i32.add (local.get $mean) (local.get $k))))
      (local.set $m2 (f64x2.promote_low_f32x4 (local.get $v)))
      (local.set $m3 (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))))
      (local.set $s0 (v128.const i64x2 0 0)) (local.set $s1 (v128.const i64x2 0 0))
      (local.set $s2 (v128.const i64x2 0 0)) (local.set $s3 (v128.const i64x2 0 0))
      (local.set $q0 (v128.const i64x2 0 0)) (local.set $q1 (v128.const i64x2 0 0))
      (local.set $q2 (v128.const i64x2 0 0)) (local.set $q3 (v128.const i64x2 0 0))
      (local.set $p (local.get $k))
      (block $rdone (loop $rloop
        (br_if $rdone (i32.ge_u (local.get $p) (local.get $end)))
        ;; Channels k .. k+3.
        (local.set $g (v128.and (v128.load offset=0 (i32.add (local.get $dy) (local.get $p)))
          (v128.or (local.get $all) (f32x4.gt (v128.load offset=0 (i32.add (local.get $y) (local.get $p))) (v128.const i32x4 0 0 0 0)))))
        (local.set $v (v128.load offset=0 (i32.add (local.get $z) (local.get $p))))
        (local.set $h (f64x2.promote_low_f32x4 (local.get $g)))
        (local.set $s0 (f64x2.add (local.get $s0) (local.get $h)))
        (local.set $q0 (f64x2.add (local.get $q0) (f64x2.mul (local.get $h) (f64x2.sub (f64x2.promote_low_f32x4 (local.get $v)) (local.get $m0)))))
        (local.set $h (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $g) (local.get $g))))
        (local.set $s1 (f64x2.add (local.get $s1) (local.get $h)))
        (local.set $q1 (f64x2.add (local.get $q1) (f64x2.mul (local.get $h) (f64x2.sub
          (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))) (local.get $m1)))))
        ;; Channels k+4 .. k+7.
        (local.set $g (v128.and (v128.load offset=16 (i32.add (local.get $dy) (local.get $p)))
          (v128.or (local.get $all) (f32x4.gt (v128.load offset=16 (i32.add (local.get $y) (local.get $p))) (v128.const i32x4 0 0 0 0)))))
        (local.set $v (v128.load offset=16 (i32.add (local.get $z) (local.get $p))))
        (local.set $h (f64x2.promote_low_f32x4 (local.get $g)))
        (local.set $s2 (f64x2.add (local.get $s2) (local.get $h)))
        (local.set $q2 (f64x2.add (local.get $q2) (f64x2.mul (local.get $h) (f64x2.sub (f64x2.promote_low_f32x4 (local.get $v)) (local.get $m2)))))
        (local.set $h (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $g) (local.get $g))))
        (local.set $s3 (f64x2.add (local.get $s3) (local.get $h)))
        (local.set $q3 (f64x2.add (local.get $q3) (f64x2.mul (local.get $h) (f64x2.sub
          (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))) (local.get $m3)))))
        (local.set $p (i32.add (local.get $p) (local.get $cs)))
        (br $rloop)))
      (local.set $p (i32.add (local.get $out) (i32.shl (local.get $k) (i32.const 1))))
      (v128.store offset=0 (local.get $p) (local.get $s0))
      (v128.store offset=16 (local.get $p) (local.get $s1))
      (v128.store offset=32 (local.get $p) (local.get $s2))
      (v128.store offset=48 (local.get $p) (local.get $s3))
      (local.set $p (i32.add (local.get $p) (i32.shl (local.get $cs) (i32.const 1))))
      (v128.store offset=0 (local.get $p) (local.get $q0))
      (v128.store offset=16 (local.get $p) (local.get $q1))
      (v128.store offset=32 (local.get $p) (local.get $q2))
      (v128.store offset=48 (local.get $p) (local.get $q3))
      (local.set $k (i32.add (local.get $k) (i32.const 32)))
      (br $kloop))))

  ;; dz = a·g + k·(z − mean) + b over [rows, c] (c a multiple of 4), in float64 left to right,
  ;; rounded to float32; g as in bn_grad_sums8; a, k, b float64 per channel at coef, coef + 8·c,
  ;; coef + 16·c; mean float32 [c] (batchNormGradApplyLoop).
  (func (export "bn_grad_apply4")
    (param $dy i32) (param $y i32) (param $z i32) (param $mean i32) (param $dz i32) (param $coef i32) (param $rows i32) (param $c i32) (param $relu i32)
    (local $cs i32) (local $p i32) (local $end i32) (local $j i32) (local $ca i32) (local $c8 i32) (local $mp i32)
    (local $all v128) (local $g v128) (local $v v128) (local $m v128)
    (local.set $all (i32x4.splat (i32.sub (i32.const 0) (i32.eqz (local.get $relu)))))
    (local.set $cs (i32.shl (local.get $c) (i32.const 2)))
    (local.set $c8 (i32.shl (local.get $cs) (i32.const 1)))
    (local.set $end (i32.mul (local.get $rows) (local.get $cs)))
    (local.set $p (i32.const 0))
    (block $done (loop $rloop
      (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
      (local.set $ca (local.get $coef))
      (local.set $mp (local.get $mean))
      (local.set $j (i32.add (local.get $p) (local.get $cs)))
      (block $cdone (loop $cloop
        (br_if $cdone (i32.ge_u (local.get $p) (local.get $j)))
        (local.set $g (v128.and (v128.load (i32.add (local.get $dy) (local.get $p)))
          (v128.or (local.get $all) (f32x4.gt (v128.load (i32.add (local.get $y) (local.get $p))) (v128.const i32x4 0 0 0 0)))))
        (local.set $v (v128.load (i32.add (local.get $z) (local.get $p))))
        (local.set $m (v128.load (local.get $mp)))
        (v128.store (i32.add (local.get $dz) (local.get $p)) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
          (f32x4.demote_f64x2_zero (f64x2.add (f64x2.add
            (f64x2.mul (v128.load offset=0 (local.get $ca)) (f64x2.promote_low_f32x4 (local.get $g)))
            (f64x2.mul (v128.load offset=0 (i32.add (local.get $ca) (local.get $c8)))
              (f64x2.sub (f64x2.promote_low_f32x4 (local.get $v)) (f64x2.promote_low_f32x4 (local.get $m)))))
            (v128.load offset=0 (i32.add (local.get $ca) (i32.shl (local.get $c8) (i32.const 1))))))
          (f32x4.demote_f64x2_zero (f64x2.add (f64x2.add
            (f64x2.mul (v128.load offset=16 (local.get $ca)) (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $g) (local.get $g))))
            (f64x2.mul (v128.load offset=16 (i32.add (local.get $ca) (local.get $c8)))
              (f64x2.sub (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))
                (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $m) (local.get $m))))))
            (v128.load offset=16 (i32.add (local.get $ca) (i32.shl (local.get $c8) (i32.const 1))))))))
        (local.set $ca (i32.add (local.get $ca) (i32.const 32)))
        (local.set $mp (i32.add (local.get $mp) (i32.const 16)))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br $cloop)))
      (br $rloop))))
)
