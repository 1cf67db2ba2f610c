// Builds the window into dist/, which the Tauri shell embeds at compile
// time: the app needs no network and no dev server to run.
import { defineConfig } from "vitest/config";

export default defineConfig({
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: { outDir: "dist", emptyOutDir: true, target: "es2021" },
  test: { environment: "node", include: ["src/**/*.test.ts"] },
  clearScreen: false,
});
