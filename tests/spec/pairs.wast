;; Stratus conformance: instruction pairs (ops.h SW_PAIR_OPS, pairs.c), two
;; instructions in a row that the fast loop runs with one dispatch, must
;; behave exactly as the two: results, traps in either half, and a branch
;; to the second instruction's position (which then must not be paired).
(module
  (memory 1)
  ;; i32.add then i32.add of a constant; i32.add then i32.add
  (func (export "add_addk") (param i32 i32) (result i32)
    (local i32 i32)
    (local.set 2 (i32.add (local.get 0) (local.get 1)))
    (local.set 3 (i32.add (local.get 2) (i32.const 1000)))
    (i32.add (local.get 2) (local.get 3)))
  (func (export "add_add") (param i32 i32 i32 i32) (result i32)
    (local i32 i32)
    (local.set 4 (i32.add (local.get 0) (local.get 1)))
    (local.set 5 (i32.add (local.get 2) (local.get 3)))
    (i32.sub (local.get 4) (local.get 5)))
  ;; a counted loop: i += K then branch while i != n (I32_ADD_K, BRIF_NE)
  (func (export "count") (param i32 i32) (result i32)
    (local i32 i32)
    (loop
      (local.set 3 (i32.add (local.get 3) (local.get 2)))
      (local.set 2 (i32.add (local.get 2) (local.get 1)))
      (br_if 0 (i32.ne (local.get 2) (local.get 0))))
    (local.get 3))
  ;; the loop starts at what would be the second half of a pair: the add
  ;; before the loop runs once, the one in it every time
  (func (export "loop_at_second") (param i32) (result i32)
    (local i32 i32)
    (local.set 1 (i32.add (local.get 0) (local.get 0)))
    (loop
      (local.set 1 (i32.add (local.get 1) (i32.const 3)))
      (local.set 2 (i32.add (local.get 2) (i32.const 1)))
      (br_if 0 (i32.lt_u (local.get 2) (i32.const 10))))
    (local.get 1))
  ;; an add of a constant, then a store / a load at the sum: the second half
  ;; traps out of bounds after the first half's result is written
  (func (export "addk_store") (param i32 i32) (result i32)
    (local i32)
    (local.set 2 (i32.add (local.get 0) (i32.const 4)))
    (i32.store (local.get 1) (local.get 2))
    (i32.load (local.get 1)))
  (func (export "addk_load") (param i32) (result i32)
    (local i32)
    (local.set 1 (i32.add (local.get 0) (i32.const 8)))
    (i32.add (i32.load (local.get 1)) (local.get 1)))
  ;; f64: a product then a sum; a difference then a store
  (func (export "mul_add") (param f64 f64 f64 f64) (result f64)
    (local f64)
    (local.set 4 (f64.mul (local.get 0) (local.get 1)))
    (f64.add (local.get 2) (local.get 3))
    (f64.add (local.get 4)))
  (func (export "sub_store") (param i32 f64 f64) (result f64)
    (f64.store (local.get 0) (f64.sub (local.get 1) (local.get 2)))
    (f64.load (local.get 0)))
  ;; i64: x * K1 + K2 (a linear congruential step), n times
  (func (export "lcg") (param i64 i32) (result i64)
    (loop
      (local.set 0 (i64.add (i64.mul (local.get 0) (i64.const 6364136223846793005))
                            (i64.const 1442695040888963407)))
      (local.set 1 (i32.add (local.get 1) (i32.const -1)))
      (br_if 0 (local.get 1)))
    (local.get 0)))
(assert_return (invoke "add_addk" (i32.const 5) (i32.const 7)) (i32.const 1024))
(assert_return (invoke "add_addk" (i32.const 0xFFFFFFFF) (i32.const 1)) (i32.const 1000))
(assert_return (invoke "add_add" (i32.const 10) (i32.const 20) (i32.const 3) (i32.const 4)) (i32.const 23))
(assert_return (invoke "count" (i32.const 12) (i32.const 3)) (i32.const 18))
(assert_return (invoke "count" (i32.const 100) (i32.const 1)) (i32.const 4950))
(assert_return (invoke "loop_at_second" (i32.const 7)) (i32.const 44))
(assert_return (invoke "addk_store" (i32.const 1) (i32.const 64)) (i32.const 5))
(assert_trap (invoke "addk_store" (i32.const 1) (i32.const 65533)) "out of bounds memory access")
(assert_return (invoke "addk_load" (i32.const 0)) (i32.const 8))
(assert_trap (invoke "addk_load" (i32.const 65528)) "out of bounds memory access")
(assert_return (invoke "mul_add" (f64.const 1.5) (f64.const 4) (f64.const 0.25) (f64.const 0.5)) (f64.const 6.75))
(assert_return (invoke "sub_store" (i32.const 16) (f64.const 10) (f64.const 0.5)) (f64.const 9.5))
(assert_trap (invoke "sub_store" (i32.const 65532) (f64.const 1) (f64.const 2)) "out of bounds memory access")
(assert_return (invoke "lcg" (i64.const 1) (i32.const 5)) (i64.const -3773323019221358096))
