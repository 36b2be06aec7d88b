// A second OS process for eventstore-embedded.test.ts: opens the embedded data directory given as argv[2] and reports
// one JSON line on stdout. With "hold" as argv[3] it keeps the directory open until stdin closes, then closes it.
import { once } from 'node:events';
import { openEmbeddedDatabase } from '../../infra/eventstore/embedded.ts';

const [dataDir, mode] = process.argv.slice(2);
if (dataDir === undefined) throw new Error('usage: eventstore-embedded-child.ts <dataDir> [hold]');
try {
  const db = await openEmbeddedDatabase(dataDir);
  console.log(JSON.stringify({ opened: true, pid: process.pid }));
  if (mode === 'hold') {
    process.stdin.resume();
    await once(process.stdin, 'end');
  }
  await db.close();
  console.log(JSON.stringify({ closed: true }));
} catch (error) {
  console.log(JSON.stringify({ error: (error as Error).name, message: (error as Error).message }));
}
