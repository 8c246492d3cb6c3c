// Writes sockdiag-exporter(1) in groff to stdout, from the installed CLI's own
// --help and `doctor --help`, so the page lists exactly the flags of the build
// it ships with. Usage: node manpage.js <cli.js> <version> <YYYY-MM-DD>
'use strict';
const { execFileSync } = require('node:child_process');

const [cli, version, date] = process.argv.slice(2);
if (!cli || !version || !date) {
  console.error('usage: node manpage.js <cli.js> <version> <YYYY-MM-DD>');
  process.exit(2);
}
const help = (args) => execFileSync(process.execPath, [cli, ...args], { encoding: 'utf8' });

/** Plain text to groff: backslashes, then a leading control character. */
function text(line) {
  return line.replace(/\\/g, '\\e').replace(/^([.'])/, '\\&$1');
}

/** A flag as the man page prints it: bold, with every hyphen a real minus. */
function flag(spec) {
  return `.B ${text(spec).replace(/-/g, '\\-')}`;
}

/** The "Flags:" block of --help as .TP entries; description lines are indented further. */
function flags(helpText) {
  const lines = helpText.split('\n');
  const start = lines.indexOf('Flags:');
  if (start < 0) throw new Error(`${cli} --help printed no "Flags:" section`);
  const out = [];
  for (const line of lines.slice(start + 1)) {
    if (!line.trim()) continue;
    const head = /^ {2}(?:(-\w), )? {0,4}(--\S+)(?: {2,}(.*))?$/.exec(line);
    if (head) {
      out.push('.TP', flag(head[1] ? `${head[1]}, ${head[2]}` : head[2]));
      if (head[3]) out.push(text(head[3]));
    } else {
      out.push(text(line.trim()));
    }
  }
  return out;
}

/** The usage lines that open --help, without "usage:". */
function synopsis(helpText) {
  const usage = helpText.split('\n\n')[0] ?? '';
  return usage
    .split('\n')
    .map((line) => text(line.replace(/^usage: |^ {7}/, '')).replace(/-/g, '\\-'));
}

const mainHelp = help(['--help']);
const doctor = help(['doctor', '--help']).split('\n\n').slice(1).join('\n\n').trim();
const page = [
  `.TH SOCKDIAG\\-EXPORTER 1 "${date}" "sockdiag-exporter ${version}" "User Commands"`,
  '.SH NAME',
  'sockdiag-exporter \\- Prometheus exporter for Linux socket statistics',
  '.SH SYNOPSIS',
  '.nf',
  ...synopsis(mainHelp),
  '.fi',
  '.SH DESCRIPTION',
  "Dumps every TCP and UDP socket through netlink inet_diag, reads the kernel's",
  'nstat counters and TCP sysctls, and serves them as Prometheus metrics on',
  '.IR /metrics ,',
  'with a report of the TCP incidents it detects on',
  '.IR /doctor .',
  'It needs no privilege to see the sockets of its own network namespace.',
  '.SH OPTIONS',
  ...flags(mainHelp),
  '.SH DOCTOR',
  ...doctor.split('\n').map(text),
  '.SH EXIT STATUS',
  '0 when done, 1 when it could not serve (for example the port is in use),',
  '2 for bad flags.',
  '.SH FILES',
  '.TP',
  '.I /etc/default/sockdiag\\-exporter',
  'Flags for the systemd service, as ARGS="...".',
  '.SH SEE ALSO',
  '.IR /usr/share/doc/sockdiag\\-exporter/README.Debian ,',
  '.BR ss (8),',
  '.BR nstat (8)',
];
process.stdout.write(`${page.join('\n')}\n`);
