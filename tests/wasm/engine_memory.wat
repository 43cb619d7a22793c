;; The engine's memory tests (test_memory.c): growth, the cap, accesses at
;; every boundary of a full 4 GiB memory, and a host function that crashes.
(module
  (import "host" "crash" (func $crash))
  (memory (export "mem") 1)
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "size") (result i32) (memory.size))
  ;; grows one page at a time up to $n pages or until refused; the size
  (func (export "grow_to") (param $n i32) (result i32)
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (memory.size) (local.get $n)))
        (br_if $done (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
        (br $l)))
    (memory.size))
  (func (export "i64_load") (param i32) (result i64) (i64.load (local.get 0)))
  (func (export "i32_load") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "i64_load_far") (param i32) (result i64)
    (i64.load offset=0xFFFFFFFF (local.get 0)))
  (func (export "i32_load_k") (param i32) (result i32)
    (i32.load offset=0xFFFFFFF0 (local.get 0)))
  (func (export "load8") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "i64_store") (param i32 i64) (i64.store (local.get 0) (local.get 1)))
  (func (export "i32_store") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
  (func (export "fill") (param i32 i32 i32)
    (memory.fill (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy") (param i32 i32 i32)
    (memory.copy (local.get 0) (local.get 1) (local.get 2)))
  (func (export "crash") (call $crash)))
