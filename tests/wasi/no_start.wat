;; A module without _start: `stratus exec` must refuse it with status 125.
(module
  (memory (export "memory") 1)
  (func (export "main") (result i32) (i32.const 0)))
