// The web app (src/ui) is built by Vite into dist/ui, beside what tsc builds into dist/src: `npm run build` makes
// both. Preact's JSX goes through esbuild's automatic runtime, so no framework plugin is needed (docs/adr/0015).
import { defineConfig } from 'vite';

export default defineConfig({
  root: 'src/ui',
  base: '/',
  publicDir: false,
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: '../../dist/ui',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 600,
    rollupOptions: {
      output: {
        // The consoles are loaded only when one is opened: the fleet view does not pay for xterm or noVNC.
        manualChunks: (id) => (id.includes('@xterm') ? 'xterm' : id.includes('@novnc') ? 'novnc' : undefined),
      },
    },
  },
});
