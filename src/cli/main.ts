#!/usr/bin/env -S node --max-old-space-size=160
// The heap cap keeps V8 from letting garbage pile up to hundreds of megabytes between major
// collections while a large transaction streams through: millrace's live set is a few tens of
// megabytes by design (bounded queue, bounded batch), so RSS stays under 256 MB.
import { enableCompileCache } from './compile-cache.js';

enableCompileCache();
// Imported only now, so that the compile cache (where Node has one) covers every module after this.
await import('./run-cli.js');
