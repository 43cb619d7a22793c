// Reference measurement: runs one engine benchmark .wasm in Node.js (V8) with
// a JS print_u64, timing compile+instantiate and run() the way bench_engine
// does, so the two can be compared.
//   node run_node.cjs FILE.wasm               prints checksums; times on stderr
//   node run_node.cjs --startup N FILE.wasm   N x compile + instantiate with
//                                              stub imports; best and median
'use strict';
const fs = require('fs');

function stubImports(compiled) {
  const imports = {};
  for (const imp of WebAssembly.Module.imports(compiled)) {
    imports[imp.module] = imports[imp.module] || {};
    let value;
    if (imp.kind === 'function') value = () => { throw new Error('stub import called'); };
    else if (imp.kind === 'memory') value = new WebAssembly.Memory({ initial: 1 });
    else if (imp.kind === 'table') value = new WebAssembly.Table({ initial: 1, element: 'anyfunc' });
    else value = new WebAssembly.Global({ value: 'i32', mutable: false }, 0);
    imports[imp.module][imp.name] = value;
  }
  return imports;
}

if (process.argv[2] === '--startup') {
  const rounds = Number(process.argv[3]);
  const bytes = fs.readFileSync(process.argv[4]);
  const times = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = process.hrtime.bigint();
    const compiled = new WebAssembly.Module(bytes);
    new WebAssembly.Instance(compiled, stubImports(compiled));
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  console.log(`  node: ${bytes.length} bytes, ${rounds} rounds: compile+instantiate ` +
              `best ${times[0].toFixed(3)} ms, median ${times[rounds >> 1].toFixed(3)} ms ` +
              `(V8 compiles function bodies lazily, on first call)`);
} else {
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
}
