;; Stratus conformance: reference types and tables: ref.null, ref.is_null,
;; ref.func, externref values, table.get/set/size/grow/fill/copy/init,
;; elem.drop, several tables in one module, and table traps.

(module
  (type $ret_i32 (func (result i32)))
  (table $funcs 4 10 funcref)
  (table $externs 3 externref)
  (elem $seg funcref (ref.func $one) (ref.func $two) (ref.null func) (ref.func $three))
  (elem declare func $four)

  (func $one (result i32) (i32.const 1))
  (func $two (result i32) (i32.const 2))
  (func $three (result i32) (i32.const 3))
  (func $four (result i32) (i32.const 4))

  (func (export "is_null_extern") (param externref) (result i32) (ref.is_null (local.get 0)))
  (func (export "is_null_func") (param funcref) (result i32) (ref.is_null (local.get 0)))
  (func (export "null_func") (result funcref) (ref.null func))
  (func (export "null_extern") (result externref) (ref.null extern))
  (func (export "func_four") (result funcref) (ref.func $four))
  (func (export "pass_extern") (param externref) (result externref) (local.get 0))

  (func (export "get_extern") (param i32) (result externref) (table.get $externs (local.get 0)))
  (func (export "set_extern") (param i32 externref) (table.set $externs (local.get 0) (local.get 1)))
  (func (export "get_func") (param i32) (result funcref) (table.get $funcs (local.get 0)))
  (func (export "set_four") (param i32) (table.set $funcs (local.get 0) (ref.func $four)))
  (func (export "set_null") (param i32) (table.set $funcs (local.get 0) (ref.null func)))
  (func (export "call") (param i32) (result i32)
    (call_indirect $funcs (type $ret_i32) (local.get 0)))

  (func (export "size_funcs") (result i32) (table.size $funcs))
  (func (export "size_externs") (result i32) (table.size $externs))
  (func (export "grow_funcs") (param i32) (result i32)
    (table.grow $funcs (ref.func $two) (local.get 0)))
  (func (export "grow_externs") (param externref i32) (result i32)
    (table.grow $externs (local.get 0) (local.get 1)))
  (func (export "fill_externs") (param i32 externref i32)
    (table.fill $externs (local.get 0) (local.get 1) (local.get 2)))
  (func (export "init") (param i32 i32 i32)
    (table.init $funcs $seg (local.get 0) (local.get 1) (local.get 2)))
  (func (export "drop") (elem.drop $seg))
  (func (export "copy") (param i32 i32 i32)
    (table.copy $funcs $funcs (local.get 0) (local.get 1) (local.get 2)))
)

(assert_return (invoke "is_null_extern" (ref.null extern)) (i32.const 1))
(assert_return (invoke "is_null_extern" (ref.extern 0)) (i32.const 0))
(assert_return (invoke "is_null_func" (ref.null func)) (i32.const 1))
(assert_return (invoke "null_func") (ref.null func))
(assert_return (invoke "null_extern") (ref.null extern))
(assert_return (invoke "func_four") (ref.func))
(assert_return (invoke "pass_extern" (ref.extern 42)) (ref.extern 42))
(assert_return (invoke "pass_extern" (ref.null extern)) (ref.null extern))

;; Tables start out null; an empty slot cannot be called.
(assert_return (invoke "get_extern" (i32.const 2)) (ref.null extern))
(assert_return (invoke "get_func" (i32.const 0)) (ref.null func))
(assert_trap (invoke "call" (i32.const 0)) "uninitialized element")
(invoke "set_extern" (i32.const 1) (ref.extern 7))
(assert_return (invoke "get_extern" (i32.const 1)) (ref.extern 7))
(assert_trap (invoke "get_extern" (i32.const 3)) "out of bounds table access")
(assert_trap (invoke "set_extern" (i32.const 3) (ref.null extern)) "out of bounds table access")
(assert_trap (invoke "get_func" (i32.const -1)) "out of bounds table access")

;; table.init from the passive segment, then calls through it.
(invoke "init" (i32.const 0) (i32.const 0) (i32.const 4))
(assert_return (invoke "call" (i32.const 0)) (i32.const 1))
(assert_return (invoke "call" (i32.const 1)) (i32.const 2))
(assert_trap (invoke "call" (i32.const 2)) "uninitialized element")
(assert_return (invoke "call" (i32.const 3)) (i32.const 3))
(assert_return (invoke "get_func" (i32.const 3)) (ref.func))
(invoke "set_four" (i32.const 2))
(assert_return (invoke "call" (i32.const 2)) (i32.const 4))
;; A slot set to null explicitly is a null reference again.
(invoke "set_null" (i32.const 2))
(assert_trap (invoke "call" (i32.const 2)) "uninitialized element")
(assert_trap (invoke "init" (i32.const 2) (i32.const 0) (i32.const 3)) "out of bounds table access")
(assert_trap (invoke "init" (i32.const 0) (i32.const 3) (i32.const 2)) "out of bounds table access")

;; table.copy handles overlap in both directions.
(invoke "copy" (i32.const 1) (i32.const 0) (i32.const 2))
(assert_return (invoke "call" (i32.const 1)) (i32.const 1))
(assert_return (invoke "call" (i32.const 2)) (i32.const 2))
(invoke "copy" (i32.const 0) (i32.const 2) (i32.const 2))
(assert_return (invoke "call" (i32.const 0)) (i32.const 2))
(assert_return (invoke "call" (i32.const 1)) (i32.const 3))
(assert_trap (invoke "copy" (i32.const 3) (i32.const 0) (i32.const 2)) "out of bounds table access")

;; elem.drop empties the segment.
(invoke "drop")
(invoke "init" (i32.const 0) (i32.const 0) (i32.const 0))
(assert_trap (invoke "init" (i32.const 0) (i32.const 0) (i32.const 1)) "out of bounds table access")

;; Growing returns the old size, or -1 past the maximum.
(assert_return (invoke "size_funcs") (i32.const 4))
(assert_return (invoke "grow_funcs" (i32.const 2)) (i32.const 4))
(assert_return (invoke "size_funcs") (i32.const 6))
(assert_return (invoke "call" (i32.const 5)) (i32.const 2))
(assert_return (invoke "grow_funcs" (i32.const 5)) (i32.const -1))
(assert_return (invoke "grow_funcs" (i32.const 4)) (i32.const 6))
(assert_return (invoke "size_funcs") (i32.const 10))
(assert_return (invoke "grow_externs" (ref.extern 5) (i32.const 2)) (i32.const 3))
(assert_return (invoke "get_extern" (i32.const 4)) (ref.extern 5))
(assert_return (invoke "size_externs") (i32.const 5))

(invoke "fill_externs" (i32.const 1) (ref.extern 9) (i32.const 3))
(assert_return (invoke "get_extern" (i32.const 0)) (ref.null extern))
(assert_return (invoke "get_extern" (i32.const 1)) (ref.extern 9))
(assert_return (invoke "get_extern" (i32.const 3)) (ref.extern 9))
(assert_return (invoke "get_extern" (i32.const 4)) (ref.extern 5))
(assert_trap (invoke "fill_externs" (i32.const 4) (ref.null extern) (i32.const 2)) "out of bounds table access")
(invoke "fill_externs" (i32.const 5) (ref.null extern) (i32.const 0))

;; Active element segments that do not fit make instantiation fail.
(assert_trap
  (module (table 2 funcref) (func $f) (elem (i32.const 1) func $f $f))
  "out of bounds table access")

;; ref.func needs the function declared in an element segment or export.
(assert_invalid
  (module (func $f) (func (drop (ref.func $f))))
  "undeclared function reference")
(assert_invalid
  (module (table 1 externref) (func (result funcref) (table.get 0 (i32.const 0))))
  "type mismatch")
