import { defineConfig } from "vite";

// No plugin needed: esbuild compiles the JSX for preact (jsxImportSource in web/tsconfig.json).
export default defineConfig({
  root: import.meta.dirname,
  base: "/",
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false, target: "es2022" },
});
