;; Stratus conformance: structured control flow: block, loop, if, br, br_if,
;; br_table, return, select, nop, unreachable, and multi-value blocks with
;; parameters.

(module
  (type $i32_to_i32_i32 (func (param i32) (result i32 i32)))

  ;; Sum 1..n with a loop and a conditional back-edge.
  (func (export "sum_to") (param $n i32) (result i32)
    (local $acc i32)
    (block $done
      (loop $again
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $acc (i32.add (local.get $acc) (local.get $n)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $again)))
    (local.get $acc))

  ;; A loop whose value leaves through br_if with a value.
  (func (export "first_power_above") (param $limit i32) (result i32)
    (local $p i32)
    (local.set $p (i32.const 1))
    (block $out (result i32)
      (loop $grow
        (local.set $p (i32.shl (local.get $p) (i32.const 1)))
        (br_if $out (local.get $p) (i32.gt_u (local.get $p) (local.get $limit)))
        (br $grow))
      (unreachable)))

  (func (export "sign") (param i32) (result i32)
    (if (result i32) (i32.lt_s (local.get 0) (i32.const 0))
      (then (i32.const -1))
      (else
        (if (result i32) (local.get 0)
          (then (i32.const 1))
          (else (i32.const 0))))))

  ;; if without else leaves the value untouched.
  (func (export "abs") (param i32) (result i32)
    (if (i32.lt_s (local.get 0) (i32.const 0))
      (then (local.set 0 (i32.sub (i32.const 0) (local.get 0)))))
    (local.get 0))

  ;; A branch out of nested blocks discards the operands in between.
  (func (export "nested_break") (param i32) (result i32)
    (block $outer (result i32)
      (i32.const 100)
      (block $inner (result i32)
        (i32.const 7)
        (br_if $outer (i32.const 1) (local.get 0))
        (drop)
        (drop)
        (i32.const 2))
      (i32.add)))

  (func (export "switch") (param i32) (result i32)
    (block $default
      (block $c2
        (block $c1
          (block $c0
            (br_table $c0 $c1 $c2 $default (local.get 0)))
          (return (i32.const 10)))
        (return (i32.const 11)))
      (return (i32.const 12)))
    (i32.const 99))

  ;; br_table carrying a value; an index past the end takes the default.
  (func (export "switch_value") (param i32) (result i32)
    (block $b (result i32)
      (block $a (result i32)
        (br_table $a $b $a (i32.const 50) (local.get 0)))
      (i32.add (i32.const 1)))
    (i32.add (i32.const 1000)))

  (func (export "early_return") (param i32) (result i32)
    (block
      (loop
        (if (i32.gt_u (local.get 0) (i32.const 10)) (then (return (i32.const -1))))
        (local.set 0 (i32.add (local.get 0) (i32.const 3)))
        (br 0)))
    (i32.const 0))

  (func (export "select_i32") (param i32 i32 i32) (result i32)
    (select (local.get 0) (local.get 1) (local.get 2)))
  (func (export "select_f64") (param f64 f64 i32) (result f64)
    (select (result f64) (local.get 0) (local.get 1) (local.get 2)))
  (func (export "nop") (result i32) (nop) (i32.const 5) (nop))

  ;; Multi-value: functions and blocks returning several values, blocks
  ;; with parameters, and a block type given by type index.
  (func $divmod (export "divmod") (param i32 i32) (result i32 i32)
    (i32.div_u (local.get 0) (local.get 1))
    (i32.rem_u (local.get 0) (local.get 1)))
  (func (export "swap") (param i64 f32) (result f32 i64)
    (local.get 1) (local.get 0))
  (func (export "block_params") (param i32) (result i32)
    (local.get 0)
    (i32.const 3)
    (block (param i32 i32) (result i32)
      (i32.mul)))
  (func (export "loop_params") (param i32) (result i32)
    ;; Counts down: the loop's parameter is the counter, its result the final count.
    (i32.const 0)
    (local.get 0)
    (loop $l (param i32 i32) (result i32 i32)
      (if (param i32 i32) (result i32 i32) (i32.eqz (local.get 0))
        (then)
        (else
          (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
          (drop)
          (i32.add (i32.const 2))
          (local.get 0)
          (br $l))))
    (drop))
  (func (export "typed_block") (param i32) (result i32 i32)
    (local.get 0)
    (block (type $i32_to_i32_i32)
      (i32.const 1)
      (i32.add)
      (i32.const 7)))
  (func (export "call_multi") (result i32)
    (call $divmod (i32.const 47) (i32.const 10))
    (i32.sub))
  (func (export "br_multi") (param i32) (result i32 i32)
    (block (result i32 i32)
      (i32.const 1) (i32.const 2)
      (br_if 0 (local.get 0))
      (drop) (drop)
      (i32.const 3) (i32.const 4)))

  (func (export "unreachable") (result i32) (unreachable))
  (func (export "unreachable_in_branch") (param i32) (result i32)
    (if (local.get 0) (then (unreachable)))
    (i32.const 1))
)

(assert_return (invoke "sum_to" (i32.const 0)) (i32.const 0))
(assert_return (invoke "sum_to" (i32.const 100)) (i32.const 5050))
(assert_return (invoke "first_power_above" (i32.const 1000)) (i32.const 1024))
(assert_return (invoke "sign" (i32.const -9)) (i32.const -1))
(assert_return (invoke "sign" (i32.const 0)) (i32.const 0))
(assert_return (invoke "sign" (i32.const 9)) (i32.const 1))
(assert_return (invoke "abs" (i32.const -9)) (i32.const 9))
(assert_return (invoke "abs" (i32.const 9)) (i32.const 9))
(assert_return (invoke "nested_break" (i32.const 0)) (i32.const 102))
(assert_return (invoke "nested_break" (i32.const 1)) (i32.const 1))
(assert_return (invoke "switch" (i32.const 0)) (i32.const 10))
(assert_return (invoke "switch" (i32.const 1)) (i32.const 11))
(assert_return (invoke "switch" (i32.const 2)) (i32.const 12))
(assert_return (invoke "switch" (i32.const 3)) (i32.const 99))
(assert_return (invoke "switch" (i32.const -1)) (i32.const 99))
(assert_return (invoke "switch_value" (i32.const 0)) (i32.const 1051))
(assert_return (invoke "switch_value" (i32.const 1)) (i32.const 1050))
(assert_return (invoke "switch_value" (i32.const 2)) (i32.const 1051))
(assert_return (invoke "switch_value" (i32.const 100)) (i32.const 1051))
(assert_return (invoke "early_return" (i32.const 0)) (i32.const -1))
(assert_return (invoke "select_i32" (i32.const 1) (i32.const 2) (i32.const 0)) (i32.const 2))
(assert_return (invoke "select_i32" (i32.const 1) (i32.const 2) (i32.const -5)) (i32.const 1))
(assert_return (invoke "select_f64" (f64.const 1.5) (f64.const -0) (i32.const 0)) (f64.const -0))
(assert_return (invoke "nop") (i32.const 5))
(assert_return (invoke "divmod" (i32.const 47) (i32.const 10)) (i32.const 4) (i32.const 7))
(assert_return (invoke "swap" (i64.const -1) (f32.const 2.5)) (f32.const 2.5) (i64.const -1))
(assert_return (invoke "block_params" (i32.const 14)) (i32.const 42))
(assert_return (invoke "loop_params" (i32.const 5)) (i32.const 10))
(assert_return (invoke "typed_block" (i32.const 41)) (i32.const 42) (i32.const 7))
(assert_return (invoke "call_multi") (i32.const -3))
(assert_return (invoke "br_multi" (i32.const 1)) (i32.const 1) (i32.const 2))
(assert_return (invoke "br_multi" (i32.const 0)) (i32.const 3) (i32.const 4))
(assert_trap (invoke "unreachable") "unreachable")
(assert_trap (invoke "unreachable_in_branch" (i32.const 1)) "unreachable")
(assert_return (invoke "unreachable_in_branch" (i32.const 0)) (i32.const 1))

;; Code after an unconditional branch is checked against a polymorphic stack.
(module
  (func (export "after_br") (result i32)
    (block (result i32)
      (br 0 (i32.const 8))
      (i32.add)
      (i32.const 1)
      (i32.add)))
)
(assert_return (invoke "after_br") (i32.const 8))
