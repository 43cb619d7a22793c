;; A check of `stratus spectest` itself: every assertion below is wrong on
;; purpose, so the runner must report each one as failed (and the text-form
;; one as skipped). The test expects "0 passed, 15 failed, 1 skipped".

(module
  (func (export "one") (result i32) (i32.const 1))
  (func (export "pos_zero") (result f32) (f32.const 0))
  (func (export "nan_payload") (result f64) (f64.reinterpret_i64 (i64.const 0x7ff8000000000001)))
  (func (export "two_f64") (result f64) (f64.const 2))
  (func (export "ext") (param externref) (result externref) (local.get 0))
  (func $f (export "some_func") (result funcref) (ref.func $f))
  (func (export "trap") (unreachable))
  (func (export "div") (param i32) (result i32) (i32.div_u (i32.const 1) (local.get 0)))
  (func (export "pair") (result i32 i32) (i32.const 1) (i32.const 2))
)

(assert_return (invoke "one") (i32.const 2))
(assert_return (invoke "pos_zero") (f32.const -0))
(assert_return (invoke "nan_payload") (f64.const nan:canonical))
(assert_return (invoke "two_f64") (f64.const nan:arithmetic))
(assert_return (invoke "ext" (ref.extern 1)) (ref.extern 2))
(assert_return (invoke "some_func") (ref.null func))
(assert_return (invoke "pair") (i32.const 1) (i32.const 3))
(invoke "trap")
(assert_trap (invoke "one") "unreachable")
(assert_trap (invoke "div" (i32.const 0)) "integer overflow")
(assert_exhaustion (invoke "one") "call stack exhausted")
(assert_invalid (module (func)) "type mismatch")
(assert_malformed (module binary "\00asm" "\01\00\00\00") "unexpected end")
(assert_unlinkable (module (import "spectest" "print_i32" (func (param i32)))) "unknown import")
(assert_trap (module (memory 1) (data (i32.const 0) "x")) "out of bounds memory access")
(assert_malformed (module quote "(func") "unexpected end")
