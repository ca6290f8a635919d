import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The Rust build (crates/dashboard/build.rs) runs `vite build --outDir <dir> --emptyOutDir`,
// so nothing here may depend on the output directory.
export default defineConfig({
  base: '/dashboard/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    // AG Grid alone is larger than the default warning limit.
    chunkSizeWarningLimit: 2500,
  },
  server: {
    // For `npm run dev`: forward API calls to a running Reparse server.
    proxy: {
      '/dashboard/api': {
        target: process.env.REPARSE_DEV_SERVER ?? 'http://127.0.0.1:1337',
        changeOrigin: true,
      },
    },
  },
});
