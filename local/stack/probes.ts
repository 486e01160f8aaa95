import { request } from 'node:http';

/** True when `url` answers with `status` (or with anything, when no status is given). */
export function httpAnswersWith(url: string, status?: number, headers: Record<string, string> = {}): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'GET', timeout: 1000, headers }, (res) => {
      res.resume();
      resolve(status === undefined || res.statusCode === status);
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(false));
    req.end();
  });
}
