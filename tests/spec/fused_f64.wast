;; Stratus conformance: f64 sequences the translator fuses into one
;; instruction (a product feeding an add or a sub, a load feeding a mul or an
;; add) must behave exactly as the separate instructions: two roundings (no
;; fused multiply-add), operands in either order, NaNs, and traps of the load.

(module
  (memory 1)
  (data (i32.const 8) "\00\00\00\00\00\00\08\40") ;; 3.0 at address 8
  (func (export "mul_add") (param f64 f64 f64) (result f64)
    (f64.add (f64.mul (local.get 0) (local.get 1)) (local.get 2)))
  (func (export "add_mul") (param f64 f64 f64) (result f64)
    (f64.add (local.get 2) (f64.mul (local.get 0) (local.get 1))))
  (func (export "mul_sub") (param f64 f64 f64) (result f64)
    (f64.sub (f64.mul (local.get 0) (local.get 1)) (local.get 2)))
  (func (export "sub_mul") (param f64 f64 f64) (result f64)
    (f64.sub (local.get 2) (f64.mul (local.get 0) (local.get 1))))
  (func (export "mul_load") (param f64 i32) (result f64)
    (f64.mul (local.get 0) (f64.load (local.get 1))))
  (func (export "load_mul") (param f64 i32) (result f64)
    (f64.mul (f64.load offset=8 (local.get 1)) (local.get 0)))
  (func (export "add_load") (param f64 i32) (result f64)
    (f64.add (local.get 0) (f64.load (local.get 1))))
  ;; the product is kept in a local too: not fused, same result
  (func (export "mul_tee_add") (param f64 f64 f64) (result f64) (local f64)
    (f64.add (local.tee 3 (f64.mul (local.get 0) (local.get 1))) (local.get 2)))
)

(assert_return (invoke "mul_add" (f64.const 2) (f64.const 3) (f64.const 1)) (f64.const 7))
(assert_return (invoke "add_mul" (f64.const 2) (f64.const 3) (f64.const 1)) (f64.const 7))
(assert_return (invoke "mul_sub" (f64.const 2) (f64.const 3) (f64.const 1)) (f64.const 5))
(assert_return (invoke "sub_mul" (f64.const 2) (f64.const 3) (f64.const 1)) (f64.const -5))
;; (1+2^-52)^2 - (1+2^-51) is 2^-104 with one rounding, 0 with two
(assert_return (invoke "mul_add" (f64.const 0x1.0000000000001p0) (f64.const 0x1.0000000000001p0)
                                 (f64.const -0x1.0000000000002p0)) (f64.const 0))
(assert_return (invoke "mul_sub" (f64.const 0x1.0000000000001p0) (f64.const 0x1.0000000000001p0)
                                 (f64.const 0x1.0000000000002p0)) (f64.const 0))
(assert_return (invoke "sub_mul" (f64.const 0x1.0000000000001p0) (f64.const 0x1.0000000000001p0)
                                 (f64.const 0x1.0000000000002p0)) (f64.const 0))
(assert_return (invoke "mul_tee_add" (f64.const 0x1.0000000000001p0) (f64.const 0x1.0000000000001p0)
                                     (f64.const -0x1.0000000000002p0)) (f64.const 0))
(assert_return (invoke "mul_add" (f64.const nan) (f64.const 1) (f64.const 1)) (f64.const nan:arithmetic))
(assert_return (invoke "mul_add" (f64.const inf) (f64.const 0) (f64.const 1)) (f64.const nan:canonical))
(assert_return (invoke "mul_add" (f64.const -0) (f64.const 1) (f64.const -0)) (f64.const -0))
(assert_return (invoke "mul_load" (f64.const 2) (i32.const 8)) (f64.const 6))
(assert_return (invoke "load_mul" (f64.const 2) (i32.const 0)) (f64.const 6))
(assert_return (invoke "add_load" (f64.const 2) (i32.const 8)) (f64.const 5))
(assert_return (invoke "add_load" (f64.const 2) (i32.const 0)) (f64.const 2))
(assert_trap (invoke "mul_load" (f64.const 2) (i32.const 65529)) "out of bounds memory access")
(assert_trap (invoke "load_mul" (f64.const 2) (i32.const 65521)) "out of bounds memory access")
(assert_trap (invoke "add_load" (f64.const 2) (i32.const -1)) "out of bounds memory access")
(assert_return (invoke "add_load" (f64.const 1) (i32.const 65528)) (f64.const 1))
