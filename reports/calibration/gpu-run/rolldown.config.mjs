export default {
  input: 'dist/src/cli/main.js',
  platform: 'node',
  external: ['onnxruntime-node', 'onnxruntime-common'],
  output: { dir: 'reports/gpu-carry/app-unpacked', format: 'esm', inlineDynamicImports: true, entryFileNames: 'moesim.mjs' },
};
