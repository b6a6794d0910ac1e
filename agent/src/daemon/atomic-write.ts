// The state directory's files are written atomically with their final mode;
// the writer is shared with the server (@vigil/runtime).
export { writeFileAtomic } from '@vigil/runtime';
