import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));
// `npm run dev` serves the app with hot reload and hands API and Git calls to a running
// `sluice serve` (SLUICE_URL, default http://127.0.0.1:8080).
const server = process.env.SLUICE_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  root,
  plugins: [react()],
  build: { outDir: fileURLToPath(new URL('../dist/web', import.meta.url)), emptyOutDir: true },
  server: { proxy: { '/api': server, '/git': server } },
  logLevel: 'warn',
});
