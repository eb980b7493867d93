// node-wasi.mjs - the benchmarks' node baseline: run a wasm32-wasi command with node's built-in WASI.
// usage: node --disable-warning=ExperimentalWarning bench/node-wasi.mjs module.wasm [args...]
import { readFile } from 'node:fs/promises';
import process from 'node:process';
import { WASI } from 'node:wasi';

const [file, ...args] = process.argv.slice(2);
// The guest sees the module path as argv[0], as under kernless and wasmtime.
const wasi = new WASI({ version: 'preview1', args: [file, ...args], env: {}, returnOnExit: true });
const module = await WebAssembly.compile(await readFile(file));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
process.exitCode = wasi.start(instance);
