;; Test module of benchmarking/opcodes: a hand-written mix whose counts are
;; known: 5 x (i32.add, i32.lt_u, br_if) in a loop, then memory.fill once,
;; memory.copy twice and i32.trunc_sat_f32_s once (0xFC-prefixed).
(module
  (memory (export "memory") 1)
  (func (export "_start") (local $i i32)
    (local.set $i (i32.const 0))
    (block $done
      (loop $again
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $again (i32.lt_u (local.get $i) (i32.const 5)))))
    (memory.fill (i32.const 0) (i32.const 7) (i32.const 16))
    (memory.copy (i32.const 32) (i32.const 0) (i32.const 16))
    (memory.copy (i32.const 64) (i32.const 0) (i32.const 16))
    (drop (i32.trunc_sat_f32_s (f32.const 2.5)))))
