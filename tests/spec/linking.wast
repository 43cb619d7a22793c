;; Stratus conformance: imports and exports between modules: the spectest
;; host module, register, sharing of functions, globals, memories and tables
;; between instances, import type checking, and start functions.

(module
  (import "spectest" "print_i32" (func $print_i32 (param i32)))
  (import "spectest" "print_f64" (func $print_f64 (param f64)))
  (import "spectest" "print" (func $print))
  (func (export "print_things") (result i32)
    (call $print)
    (call $print_i32 (i32.const 7))
    (call $print_f64 (f64.const 2.5))
    (i32.const 1))
)
(assert_return (invoke "print_things") (i32.const 1))

;; A module that exports one of everything.
(module $provider
  (memory (export "mem") 1 4)
  (table (export "tab") 2 funcref)
  (global (export "g_mut") (mut i32) (i32.const 10))
  (global (export "g_const") f32 (f32.const 1.5))
  (func $answer (export "answer") (result i32) (i32.const 42))
  (func (export "read") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "get_g") (result i32) (global.get 0))
  (elem (i32.const 1) func $answer)
)
(register "provider" $provider)

(module $user
  (import "provider" "answer" (func $answer (result i32)))
  (import "provider" "mem" (memory 1))
  (import "provider" "tab" (table 1 funcref))
  (import "provider" "g_mut" (global $g (mut i32)))
  (import "provider" "g_const" (global $c f32))
  (type $ret_i32 (func (result i32)))
  (func (export "call_answer") (result i32) (call $answer))
  (func (export "write") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
  (func (export "call_slot") (param i32) (result i32)
    (call_indirect (type $ret_i32) (local.get 0)))
  (func (export "set_g") (param i32) (global.set $g (local.get 0)))
  (func (export "get_c") (result f32) (global.get $c))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func $local_fn (result i32) (i32.const 5))
  (elem (i32.const 0) func $local_fn)
)

(assert_return (invoke $user "call_answer") (i32.const 42))
(assert_return (invoke $user "get_c") (f32.const 1.5))
;; The memory is shared: a store through one instance is seen by the other.
(invoke $user "write" (i32.const 64) (i32.const 0x01020304))
(assert_return (invoke $provider "read" (i32.const 64)) (i32.const 0x01020304))
;; So is growth.
(assert_return (invoke $user "grow" (i32.const 1)) (i32.const 1))
(assert_return (invoke $provider "read" (i32.const 0x1fffc)) (i32.const 0))
;; The table: the user's segment wrote slot 0 of the provider's table.
(assert_return (invoke $user "call_slot" (i32.const 0)) (i32.const 5))
(assert_return (invoke $user "call_slot" (i32.const 1)) (i32.const 42))
;; The mutable global is shared too.
(invoke $user "set_g" (i32.const 77))
(assert_return (invoke $provider "get_g") (i32.const 77))
(assert_return (get $provider "g_mut") (i32.const 77))

;; Import checking.
(assert_unlinkable
  (module (import "provider" "missing" (func)))
  "unknown import")
(assert_unlinkable
  (module (import "nowhere" "answer" (func)))
  "unknown import")
(assert_unlinkable
  (module (import "provider" "answer" (func (result i64))))
  "incompatible import type")
(assert_unlinkable
  (module (import "provider" "answer" (global i32)))
  "incompatible import type")
(assert_unlinkable
  (module (import "provider" "g_mut" (global i32)))
  "incompatible import type")
(assert_unlinkable
  (module (import "provider" "g_const" (global (mut f32))))
  "incompatible import type")
(assert_unlinkable
  (module (import "provider" "mem" (memory 3)))
  "incompatible import type")
(assert_unlinkable
  (module (import "provider" "mem" (memory 1 3)))
  "incompatible import type")
(assert_unlinkable
  (module (import "provider" "tab" (table 3 funcref)))
  "incompatible import type")
(assert_unlinkable
  (module (import "spectest" "memory" (memory 1 1)))
  "incompatible import type")
(assert_unlinkable
  (module (import "spectest" "table" (table 10 externref)))
  "incompatible import type")
(assert_unlinkable
  (module (import "spectest" "print_i32" (func (param i64))))
  "incompatible import type")

;; The spectest module's own memory, table and globals.
(module
  (import "spectest" "memory" (memory 1 2))
  (import "spectest" "table" (table 10 20 funcref))
  (import "spectest" "global_i64" (global i64))
  (import "spectest" "global_f32" (global f32))
  (func (export "mem_size") (result i32) (memory.size))
  (func (export "tab_size") (result i32) (table.size 0))
  (func (export "g64") (result i64) (global.get 0))
  (func (export "g32") (result f32) (global.get 1))
)
(assert_return (invoke "mem_size") (i32.const 1))
(assert_return (invoke "tab_size") (i32.const 10))
(assert_return (invoke "g64") (i64.const 666))
(assert_return (invoke "g32") (f32.const 666.6))

;; A start function runs during instantiation.
(module
  (memory 1)
  (global $started (mut i32) (i32.const 0))
  (func $init (global.set $started (i32.const 1)) (i32.store (i32.const 8) (i32.const 123)))
  (start $init)
  (func (export "started") (result i32) (global.get $started))
  (func (export "stored") (result i32) (i32.load (i32.const 8)))
)
(assert_return (invoke "started") (i32.const 1))
(assert_return (invoke "stored") (i32.const 123))

;; A start function that traps makes instantiation fail, after the segments
;; it already wrote into an imported memory stay written.
(assert_trap
  (module
    (import "provider" "mem" (memory 1))
    (data (i32.const 128) "\2a")
    (func $boom (unreachable))
    (start $boom))
  "unreachable")
(assert_return (invoke $provider "read" (i32.const 128)) (i32.const 42))
