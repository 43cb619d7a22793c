;; Stratus conformance: direct calls, recursion, mutual recursion, indirect
;; calls through a table, and the traps calls can raise.

(module
  (type $unary (func (param i32) (result i32)))
  (type $binary (func (param i32 i32) (result i32)))
  (type $nullary_f64 (func (result f64)))

  (func $fac (export "fac") (param i64) (result i64)
    (if (result i64) (i64.le_u (local.get 0) (i64.const 1))
      (then (i64.const 1))
      (else (i64.mul (local.get 0) (call $fac (i64.sub (local.get 0) (i64.const 1)))))))

  (func $is_even (export "is_even") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 1))
      (else (call $is_odd (i32.sub (local.get 0) (i32.const 1))))))
  (func $is_odd (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 0))
      (else (call $is_even (i32.sub (local.get 0) (i32.const 1))))))

  ;; Many parameters of mixed types, with locals after them.
  (func $mix (export "mix") (param i32 i64 f32 f64 i32) (result f64)
    (local f64)
    (local.set 5 (f64.convert_i32_s (local.get 0)))
    (f64.add (local.get 5)
      (f64.add (f64.convert_i64_s (local.get 1))
        (f64.add (f64.promote_f32 (local.get 2))
          (f64.add (local.get 3) (f64.convert_i32_u (local.get 4)))))))
  (func (export "call_mix") (result f64)
    (call $mix (i32.const 1) (i64.const 20) (f32.const 0.5) (f64.const 300) (i32.const 4000)))

  ;; Locals start at zero on every call.
  (func (export "fresh_locals") (result i64)
    (local i32 i64 f32 f64)
    (i64.add
      (i64.extend_i32_u (local.get 0))
      (i64.add (local.get 1)
        (i64.add (i64.reinterpret_f64 (f64.promote_f32 (local.get 2)))
          (i64.reinterpret_f64 (local.get 3))))))

  (func $double (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
  (func $square (param i32) (result i32) (i32.mul (local.get 0) (local.get 0)))
  (func $sub (param i32 i32) (result i32) (i32.sub (local.get 0) (local.get 1)))
  (func $pi (result f64) (f64.const 3.25))

  (table $t 8 funcref)
  (elem (table $t) (i32.const 0) func $double $square $sub $pi)

  (func (export "apply") (param $f i32) (param $x i32) (result i32)
    (call_indirect (type $unary) (local.get $x) (local.get $f)))
  (func (export "apply2") (param $f i32) (param $x i32) (param $y i32) (result i32)
    (call_indirect (type $binary) (local.get $x) (local.get $y) (local.get $f)))
  (func (export "apply_f64") (param $f i32) (result f64)
    (call_indirect (type $nullary_f64) (local.get $f)))

  ;; Recursion without end: must stop with a trap, not take the host down.
  (func $forever (export "forever") (param i32) (result i32)
    (i32.add (call $forever (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
  (func $forever_indirect (export "forever_indirect") (param i32) (result i32)
    (call_indirect (type $unary) (local.get 0) (i32.const 5)))
  (elem (table $t) (i32.const 5) func $forever_indirect)
)

(assert_return (invoke "fac" (i64.const 0)) (i64.const 1))
(assert_return (invoke "fac" (i64.const 20)) (i64.const 2432902008176640000))
(assert_return (invoke "fac" (i64.const 25)) (i64.const 7034535277573963776))
(assert_return (invoke "is_even" (i32.const 1000)) (i32.const 1))
(assert_return (invoke "is_even" (i32.const 777)) (i32.const 0))
(assert_return (invoke "call_mix") (f64.const 4321.5))
(assert_return (invoke "fresh_locals") (i64.const 0))
(assert_return (invoke "apply" (i32.const 0) (i32.const 21)) (i32.const 42))
(assert_return (invoke "apply" (i32.const 1) (i32.const 12)) (i32.const 144))
(assert_return (invoke "apply2" (i32.const 2) (i32.const 50) (i32.const 8)) (i32.const 42))
(assert_return (invoke "apply_f64" (i32.const 3)) (f64.const 3.25))

;; Wrong signature at the slot.
(assert_trap (invoke "apply" (i32.const 2) (i32.const 1)) "indirect call type mismatch")
(assert_trap (invoke "apply2" (i32.const 0) (i32.const 1) (i32.const 2)) "indirect call type mismatch")
(assert_trap (invoke "apply_f64" (i32.const 1)) "indirect call type mismatch")
;; An empty slot.
(assert_trap (invoke "apply" (i32.const 4) (i32.const 1)) "uninitialized element")
(assert_trap (invoke "apply" (i32.const 7) (i32.const 1)) "uninitialized element")
;; Past the end of the table.
(assert_trap (invoke "apply" (i32.const 8) (i32.const 1)) "undefined element")
(assert_trap (invoke "apply" (i32.const -1) (i32.const 1)) "undefined element")

(assert_exhaustion (invoke "forever" (i32.const 0)) "call stack exhausted")
(assert_exhaustion (invoke "forever_indirect" (i32.const 0)) "call stack exhausted")
;; The instance still works after exhausting its stack.
(assert_return (invoke "fac" (i64.const 5)) (i64.const 120))
