// Reference measurement: runs one engine benchmark .wasm in Node.js (V8) with
// a JS print_u64, timing compile+instantiate and run() the way bench_engine
// does, so the two can be compared. usage: node run_node.cjs FILE.wasm
'use strict';
const fs = require('fs');

const bytes = fs.readFileSync(process.argv[2]);
const lines = [];
const imports = {
  bench: { print_u64: (v) => { lines.push(BigInt.asUintN(64, v).toString()); } },
};
const t0 = process.hrtime.bigint();
const compiled = new WebAssembly.Module(bytes);
const instance = new WebAssembly.Instance(compiled, imports);
const t1 = process.hrtime.bigint();
instance.exports.run();
const t2 = process.hrtime.bigint();
process.stdout.write(lines.map((l) => l + '\n').join(''));
process.stderr.write(`load_us=${(t1 - t0) / 1000n}\nrun_us=${(t2 - t1) / 1000n}\n`);
