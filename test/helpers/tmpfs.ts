/** A small tmpfs as a full disk for fault tests (we run as root in CI; elsewhere the mount fails and the tests skip with `why`). */
import { execSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';

export function mountTmpfs(path: string, size = '200k', readOnly = false): { mounted: boolean; why: string } {
  mkdirSync(path, { recursive: true });
  try {
    execSync(`mount -t tmpfs -o ${readOnly ? 'ro,' : ''}size=${size} tmpfs ${JSON.stringify(path)}`, { stdio: 'pipe' });
    return { mounted: true, why: '' };
  } catch (e) {
    return { mounted: false, why: String((e as { stderr?: Buffer }).stderr ?? e).trim().split('\n')[0] };
  }
}

export function unmountTmpfs(path: string): void {
  execSync(`umount ${JSON.stringify(path)}`);
}
