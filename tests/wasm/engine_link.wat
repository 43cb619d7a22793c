;; Second module for the linking test: imports the first one's exports.
(module
  (import "base" "fac" (func $fac (param i64) (result i64)))
  (import "base" "mem" (memory 1))
  (import "base" "counter" (global $c (mut i32)))
  (func (export "fac_plus_counter") (param i64) (result i64)
    (i64.add (call $fac (local.get 0)) (i64.extend_i32_u (global.get $c))))
  (func (export "peek") (param i32) (result i32) (i32.load8_u (local.get 0)))
)
