import { after, before } from 'node:test';
import { startLab, type Lab } from '../../src/lab/lab.js';

/**
 * Starts the real lab for this test file and points this process's Kerberos library at it. There is no
 * skip: a machine without the lab's packages fails here, with the packages to install in the message.
 */
export function useLab(options: { kinit?: boolean } = {}): { readonly lab: Lab } {
  const holder: { lab?: Lab } = {};
  const saved: Record<string, string | undefined> = {};
  before(async () => {
    const lab = await startLab(options);
    for (const [k, v] of Object.entries(lab.env)) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
    holder.lab = lab;
  });
  after(async () => {
    await holder.lab?.stop();
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
  return {
    get lab(): Lab {
      if (!holder.lab) throw new Error('lab not started');
      return holder.lab;
    },
  };
}
