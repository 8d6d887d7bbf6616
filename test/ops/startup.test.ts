import { describe, expect, it } from 'vitest';
import { listenProblem, logFormat, serviceUrls, startBanner } from '../../src/ops/startup.js';

const errno = (code: string, message = `listen ${code}`) => Object.assign(new Error(message), { code });

describe('the start: log format, URLs, listen problems', () => {
  it('writes pretty lines on a terminal, JSON lines elsewhere, unless LOG_FORMAT says', () => {
    expect(logFormat(undefined, true)).toBe('pretty');
    expect(logFormat(undefined, false)).toBe('json');
    expect(logFormat('json', true)).toBe('json');
    expect(logFormat('pretty', false)).toBe('pretty');
  });

  it('prints localhost for every interface, the address otherwise', () => {
    expect(serviceUrls('0.0.0.0', 8080)).toEqual({
      api: 'http://localhost:8080/v1',
      docs: 'http://localhost:8080/docs',
      shop: 'http://localhost:8080/demo/web',
      agent: 'http://localhost:8080/demo/agent',
    });
    expect(serviceUrls('::', 80).docs).toBe('http://localhost:80/docs');
    expect(serviceUrls('127.0.0.1', 9000).shop).toBe('http://127.0.0.1:9000/demo/web');
    expect(serviceUrls('::1', 9000).agent).toBe('http://[::1]:9000/demo/agent');
    const banner = startBanner('0.0.0.0', 8080);
    for (const url of Object.values(serviceUrls('0.0.0.0', 8080))) expect(banner).toContain(url);
  });

  it('says what a failed listen means and what to do, in one line', () => {
    expect(listenProblem(errno('EADDRINUSE'), '0.0.0.0', 8080)).toBe(
      'port 8080 is in use: stop the other process or set PORT to a free port',
    );
    expect(listenProblem(errno('EADDRINUSE'), '127.0.0.1', 8080)).toContain('port 8080 is in use on 127.0.0.1');
    expect(listenProblem(errno('EACCES'), '0.0.0.0', 80)).toMatch(/^no permission to listen on port 80 .*set PORT/);
    expect(listenProblem(errno('EADDRNOTAVAIL'), '10.9.9.9', 80)).toMatch(
      /^HOST 10\.9\.9\.9 is not an address .*set HOST/,
    );
    expect(listenProblem(errno('ENOTFOUND'), 'nowhere.invalid', 80)).toMatch(/^HOST nowhere\.invalid does not resolve/);
    expect(listenProblem(errno('EMFILE', 'too many open files'), 'h', 1)).toBe(
      'cannot listen on h:1: too many open files',
    );
  });
});
