;; Stratus conformance: bulk memory operations: memory.fill, memory.copy
;; (both directions of overlap), memory.init from passive segments, data.drop,
;; and their bounds checks.

(module
  (memory 1)
  (data $hello "hello, world")
  (data $digits "0123456789")
  (data (i32.const 1000) "active")

  (func (export "load8") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "fill") (param i32 i32 i32) (memory.fill (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy") (param i32 i32 i32) (memory.copy (local.get 0) (local.get 1) (local.get 2)))
  (func (export "init_hello") (param i32 i32 i32)
    (memory.init $hello (local.get 0) (local.get 1) (local.get 2)))
  (func (export "init_digits") (param i32 i32 i32)
    (memory.init $digits (local.get 0) (local.get 1) (local.get 2)))
  (func (export "drop_hello") (data.drop $hello))
  (func (export "init_active") (param i32 i32 i32)
    (memory.init 2 (local.get 0) (local.get 1) (local.get 2)))
)

(invoke "fill" (i32.const 10) (i32.const 0x1ab) (i32.const 4))
(assert_return (invoke "load8" (i32.const 9)) (i32.const 0))
(assert_return (invoke "load8" (i32.const 10)) (i32.const 0xab))
(assert_return (invoke "load8" (i32.const 13)) (i32.const 0xab))
(assert_return (invoke "load8" (i32.const 14)) (i32.const 0))
;; Zero-length fills are fine up to and including the end of memory.
(invoke "fill" (i32.const 0x10000) (i32.const 1) (i32.const 0))
(assert_trap (invoke "fill" (i32.const 0x10001) (i32.const 1) (i32.const 0)) "out of bounds memory access")
(assert_trap (invoke "fill" (i32.const 0xffff) (i32.const 1) (i32.const 2)) "out of bounds memory access")
;; A fill that traps writes nothing.
(assert_return (invoke "load8" (i32.const 0xffff)) (i32.const 0))

(invoke "init_hello" (i32.const 100) (i32.const 0) (i32.const 12))
(assert_return (invoke "load8" (i32.const 100)) (i32.const 0x68))
(assert_return (invoke "load8" (i32.const 111)) (i32.const 0x64))
(invoke "init_digits" (i32.const 200) (i32.const 7) (i32.const 3))
(assert_return (invoke "load8" (i32.const 200)) (i32.const 0x37))
(assert_return (invoke "load8" (i32.const 202)) (i32.const 0x39))
(assert_return (invoke "load8" (i32.const 203)) (i32.const 0))
(assert_trap (invoke "init_digits" (i32.const 0) (i32.const 8) (i32.const 3)) "out of bounds memory access")
(assert_trap (invoke "init_digits" (i32.const 0xfffe) (i32.const 0) (i32.const 3)) "out of bounds memory access")
(invoke "init_digits" (i32.const 0x10000) (i32.const 10) (i32.const 0))

;; Overlapping copies behave like memmove.
(invoke "copy" (i32.const 101) (i32.const 100) (i32.const 5))
(assert_return (invoke "load8" (i32.const 100)) (i32.const 0x68))
(assert_return (invoke "load8" (i32.const 101)) (i32.const 0x68))
(assert_return (invoke "load8" (i32.const 102)) (i32.const 0x65))
(assert_return (invoke "load8" (i32.const 105)) (i32.const 0x6f))
(invoke "copy" (i32.const 100) (i32.const 101) (i32.const 5))
(assert_return (invoke "load8" (i32.const 100)) (i32.const 0x68))
(assert_return (invoke "load8" (i32.const 101)) (i32.const 0x65))
(assert_return (invoke "load8" (i32.const 104)) (i32.const 0x6f))
(assert_return (invoke "load8" (i32.const 105)) (i32.const 0x6f))
(assert_trap (invoke "copy" (i32.const 0xfffc) (i32.const 0) (i32.const 5)) "out of bounds memory access")
(assert_trap (invoke "copy" (i32.const 0) (i32.const 0xfffc) (i32.const 5)) "out of bounds memory access")
(assert_trap (invoke "copy" (i32.const 0) (i32.const 0) (i32.const -1)) "out of bounds memory access")
(invoke "copy" (i32.const 0x10000) (i32.const 0x10000) (i32.const 0))

;; After data.drop a segment has length zero; dropping twice is allowed.
(invoke "drop_hello")
(invoke "drop_hello")
(invoke "init_hello" (i32.const 0) (i32.const 0) (i32.const 0))
(assert_trap (invoke "init_hello" (i32.const 0) (i32.const 0) (i32.const 1)) "out of bounds memory access")
;; Active segments are dropped once applied.
(assert_return (invoke "load8" (i32.const 1000)) (i32.const 0x61))
(invoke "init_active" (i32.const 0) (i32.const 0) (i32.const 0))
(assert_trap (invoke "init_active" (i32.const 0) (i32.const 0) (i32.const 1)) "out of bounds memory access")

;; memory.init needs a data count section and a memory.
(assert_invalid
  (module (func (data.drop 0)))
  "unknown data segment")
(assert_invalid
  (module (func (memory.fill (i32.const 0) (i32.const 0) (i32.const 0))))
  "unknown memory")
