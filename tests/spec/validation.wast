;; Stratus conformance: modules the engine must refuse. assert_invalid covers
;; typing and index rules; assert_malformed covers broken binary encodings
;; (written as raw bytes, since text-form malformations are not run).

;; Typing.
(assert_invalid (module (func (result i32) (i64.const 0))) "type mismatch")
(assert_invalid (module (func (result i32))) "type mismatch")
(assert_invalid (module (func (i32.const 1))) "type mismatch")
(assert_invalid (module (func (i32.add (i32.const 1)))) "type mismatch")
(assert_invalid (module (func (param f32) (result f32) (f32.add (local.get 0) (f64.const 1)))) "type mismatch")
(assert_invalid (module (func (result i32) (block (result i32) (i64.const 1)))) "type mismatch")
(assert_invalid (module (func (result i32) (br 0 (f32.const 0)))) "type mismatch")
(assert_invalid (module (func (if (i64.const 1) (then)))) "type mismatch")
(assert_invalid (module (func (result i32) (if (result i32) (i32.const 1) (then (i32.const 1))))) "type mismatch")
(assert_invalid (module (func (br_table 0 1 (i32.const 0)))) "unknown label")
(assert_invalid
  (module (func (result i32)
    (block $a (result i32) (block $b (result i64) (br_table $a $b (i32.const 0) (i32.const 0)))) ))
  "type mismatch")
(assert_invalid (module (func (select (i32.const 1) (i64.const 1) (i32.const 0)))) "type mismatch")
(assert_invalid (module (func (drop (select (ref.null func) (ref.null func) (i32.const 0))))) "type mismatch")
(assert_invalid (module (func (result i32) (loop (result i32) (nop)))) "type mismatch")
;; A branch to a loop carries the loop's parameters, not its results.
(assert_invalid (module (func (i32.const 0) (loop (param i32) (drop) (br 0)))) "type mismatch")
(assert_invalid (module (func (call 0 (i32.const 1)))) "type mismatch")
(assert_invalid (module (func (param i32)) (func (call 0 (i64.const 1)))) "type mismatch")
(assert_invalid (module (func (memory.grow (i32.const 1)))) "unknown memory")
(assert_invalid (module (func (drop (i32.load (i32.const 0))))) "unknown memory")
(assert_invalid (module (memory 1) (func (drop (i32.load align=8 (i32.const 0))))) "alignment must not be larger than natural")
(assert_invalid (module (memory 1) (func (i64.store16 align=4 (i32.const 0) (i64.const 0)))) "alignment must not be larger than natural")
(assert_invalid (module (func (call_indirect (type 0) (i32.const 0)))) "unknown table")

;; Indices.
(assert_invalid (module (func (local.get 0) (drop))) "unknown local")
(assert_invalid (module (func (param i32) (local.set 1 (i32.const 0)))) "unknown local")
(assert_invalid (module (func (call 5))) "unknown function")
(assert_invalid (module (func (br 1))) "unknown label")
(assert_invalid (module (start 3)) "unknown function")
(assert_invalid (module (func $f (param i32)) (start $f)) "start function")
(assert_invalid (module (export "f" (func 0))) "unknown function")
(assert_invalid (module (func) (export "a" (func 0)) (export "a" (func 0))) "duplicate export name")

;; Limits.
(assert_invalid (module (memory 2 1)) "size minimum must not be greater than maximum")
(assert_invalid (module (memory 65537)) "memory size must be at most 65536 pages (4GiB)")
(assert_invalid (module (table 3 2 funcref)) "size minimum must not be greater than maximum")

;; Constant expressions.
(assert_invalid (module (global i32 (i32.add (i32.const 1) (i32.const 2)))) "constant expression required")
(assert_invalid (module (global $g (mut i32) (i32.const 0)) (global i32 (global.get $g))) "constant expression required")
(assert_invalid (module (memory 1) (data (i64.const 0) "")) "type mismatch")

;; Binary encoding. A minimal valid module, then broken variants.
(module binary "\00asm" "\01\00\00\00")
(assert_malformed (module binary "") "unexpected end")
(assert_malformed (module binary "\00asm") "unexpected end")
(assert_malformed (module binary "\00asn" "\01\00\00\00") "magic header not detected")
(assert_malformed (module binary "asm\00" "\01\00\00\00") "magic header not detected")
(assert_malformed (module binary "\00asm" "\02\00\00\00") "unknown binary version")
(assert_malformed (module binary "\00asm" "\01\00\00") "unexpected end")
;; A section id that does not exist.
(assert_malformed (module binary "\00asm" "\01\00\00\00" "\0e\00") "malformed section id")
;; A type section whose size runs past the end.
(assert_malformed (module binary "\00asm" "\01\00\00\00" "\01\05\01\60\00\00") "unexpected end")
;; A type section with a byte left over.
(assert_malformed (module binary "\00asm" "\01\00\00\00" "\01\05\01\60\00\00\00") "section size mismatch")
;; A function type that does not start with 0x60.
(assert_malformed (module binary "\00asm" "\01\00\00\00" "\01\04\01\61\00\00") "integer representation too long")
;; A LEB128 count that is longer than five bytes.
(assert_malformed
  (module binary "\00asm" "\01\00\00\00" "\01\08\81\80\80\80\80\00\60\00")
  "integer representation too long")
;; A function section without a code section.
(assert_malformed
  (module binary "\00asm" "\01\00\00\00"
    "\01\04\01\60\00\00"   ;; type section: one type [] -> []
    "\03\02\01\00")         ;; function section: one function of type 0
  "function and code section have inconsistent lengths")
;; A body whose last instruction is not `end`.
(assert_malformed
  (module binary "\00asm" "\01\00\00\00"
    "\01\04\01\60\00\00"
    "\03\02\01\00"
    "\0a\04\01\02\00\01")     ;; code: one body of 2 bytes: no locals, nop
  "section size mismatch")
;; An opcode that does not exist.
(assert_malformed
  (module binary "\00asm" "\01\00\00\00"
    "\01\04\01\60\00\00"
    "\03\02\01\00"
    "\0a\05\01\03\00\ff\0b")
  "illegal opcode")
;; Too many locals.
(assert_malformed
  (module binary "\00asm" "\01\00\00\00"
    "\01\04\01\60\00\00"
    "\03\02\01\00"
    "\0a\0c\01\0a\02\ff\ff\ff\ff\0f\7f\02\7e\0b")
  "too many locals")
;; A data count that does not match the data section.
(assert_malformed
  (module binary "\00asm" "\01\00\00\00"
    "\05\03\01\00\01"         ;; memory section: one memory, min 1
    "\0c\01\02"               ;; data count: 2
    "\0b\07\01\00\41\00\0b\01\61") ;; data: one active segment "a" at 0
  "data count and data section have inconsistent lengths")
