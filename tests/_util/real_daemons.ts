/**
 * Real daemons for tests (Debian's nginx-light, redis-server, and
 * systemd-notify from the systemd package): where to find them, a free
 * loopback port, and configurations that keep every file of an instance in
 * the test's own temp dir. `.ci/run` installs the packages when it runs as
 * root; elsewhere the tests that need them skip with {@linkcode skipReason}.
 *
 * Every instance listens on 127.0.0.1 only. The test that starts one ends
 * it by the PID it recorded (never by name).
 */

/** Absolute paths where Debian puts each program (PATH is not trusted: tests may run as root). */
const PROGRAMS: Record<string, string[]> = {
  nginx: ["/usr/sbin/nginx", "/usr/bin/nginx"],
  "redis-server": ["/usr/bin/redis-server", "/usr/sbin/redis-server"],
  "redis-cli": ["/usr/bin/redis-cli"],
  "systemd-notify": ["/usr/bin/systemd-notify", "/bin/systemd-notify"],
};

/** The absolute path of a daemon's program, or `undefined` when it is not installed. */
export function findDaemon(name: keyof typeof PROGRAMS | string): string | undefined {
  for (const path of PROGRAMS[name] ?? []) {
    try {
      const info = Deno.statSync(path);
      if (info.isFile && ((info.mode ?? 0) & 0o111) !== 0) return path;
    } catch {
      // not here; try the next place
    }
  }
  return undefined;
}

/**
 * Why a test that needs `programs` cannot run here (a line to print before
 * returning), or `undefined` when it can.
 */
export function skipReason(test: string, ...programs: string[]): string | undefined {
  const missing = programs.filter((p) => findDaemon(p) === undefined);
  if (missing.length === 0) return undefined;
  return `skipped: ${test} needs ${
    missing.join(", ")
  } (Debian packages; .ci/run installs them as root)`;
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
export async function acceptsTcp(port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.close();
    return true;
  } catch {
    return false;
  }
}

/** What {@linkcode nginxConfig} wrote: the config file and the PID file nginx will write. */
export interface NginxFiles {
  /** The configuration, for `nginx -c CONF -p DIR`. */
  conf: string;
  /** The PID file named in the configuration (nginx writes it without a lock). */
  pidFile: string;
  /** The prefix directory (`-p`). */
  prefix: string;
}

/**
 * Write a minimal nginx configuration under `dir` listening on
 * 127.0.0.1:`port` with `workers` worker processes. `daemon` chooses
 * whether nginx forks into the background (its default) or stays in the
 * foreground. Start it with `[nginx, "-c", conf, "-p", prefix]`.
 */
export function nginxConfig(
  dir: string,
  port: number,
  options: { workers?: number; daemon?: boolean } = {},
): NginxFiles {
  const prefix = `${dir}/nginx`;
  Deno.mkdirSync(`${prefix}/logs`, { recursive: true });
  Deno.mkdirSync(`${prefix}/html`, { recursive: true });
  Deno.writeTextFileSync(`${prefix}/html/index.html`, "pidkit test\n");
  const pidFile = `${prefix}/nginx.pid`;
  const conf = `${prefix}/nginx.conf`;
  const user = Deno.uid() === 0 ? "user root;\n" : "";
  Deno.writeTextFileSync(
    conf,
    `${user}daemon ${options.daemon === false ? "off" : "on"};
worker_processes ${options.workers ?? 2};
pid ${pidFile};
error_log ${prefix}/logs/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${prefix}/tmp_body;
  proxy_temp_path ${prefix}/tmp_proxy;
  fastcgi_temp_path ${prefix}/tmp_fastcgi;
  uwsgi_temp_path ${prefix}/tmp_uwsgi;
  scgi_temp_path ${prefix}/tmp_scgi;
  server { listen 127.0.0.1:${port}; root ${prefix}/html; }
}
`,
  );
  return { conf, pidFile, prefix };
}

/**
 * Arguments for `redis-server` on 127.0.0.1:`port` with every file in
 * `dir`, no persistence. Add `["--daemonize", "yes"]` to make it fork, or
 * `["--supervised", "systemd"]` to make it speak sd_notify.
 */
export function redisArgs(dir: string, port: number, pidFile = `${dir}/redis.pid`): string[] {
  return [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--dir",
    dir,
    "--pidfile",
    pidFile,
    "--save",
    "",
    "--appendonly",
    "no",
    "--logfile",
    `${dir}/redis.log`,
  ];
}
