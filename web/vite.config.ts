// Builds the web UI into web/dist, served by `harrow serve` at /ui/ (src/apiserver/ui.ts).
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const webRoot = fileURLToPath(new URL('.', import.meta.url));

// Vite loads a config file's default export only.
export default defineConfig({
  root: webRoot,
  base: '/ui/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: true,
  },
  server: {
    // The UI imports the pure MAC module from src/mac, outside web/.
    fs: { allow: [fileURLToPath(new URL('..', import.meta.url))] },
  },
});
