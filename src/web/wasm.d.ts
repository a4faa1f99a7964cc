// A .wasm file imported by the browser bundle: esbuild's binary loader gives its bytes.
declare module '*.wasm' {
  const bytes: Uint8Array;
  export default bytes;
}
