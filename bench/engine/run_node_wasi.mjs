// Reference measurement: runs one engine benchmark program built as a WASI
// command (bench/engine/wasi/*.wasm) under Node.js's node:wasi, as
// `stratus exec` runs it. The program times its own run() and reports
// run_us=N on stderr, so both are measured the same way.
//   node run_node_wasi.mjs FILE.wasm
import { readFileSync } from 'node:fs';
import { WASI } from 'node:wasi';
import process from 'node:process';

const file = process.argv[2];
const wasi = new WASI({ version: 'preview1', args: [file], returnOnExit: true });
const module = await WebAssembly.compile(readFileSync(file));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
process.exitCode = wasi.start(instance);
