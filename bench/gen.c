// gen: fill the current network namespace with loopback TCP sockets.
//
// Creates N ESTABLISHED pairs (client on 127.1.B.k -> listener on
// 127.0.0.1:PORT), optionally M TIME_WAIT sockets and L idle listeners,
// prints "ready N" on stdout and holds everything until stdin reaches EOF or a
// SIGTERM/SIGINT/SIGHUP arrives. Run it inside a namespace you created
// (`ip netns exec NS gen ...`): it only ever talks to 127.0.0.0/8.
//
// One process may hold at most RLIMIT_NOFILE descriptors (20 000 on the
// benchmark machine, hard limit), so a pair costs two and N is capped at 9 900
// per process; bench/table.sh runs several processes for bigger tables.

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24  // Linux 4.2+
#endif

enum { kMaxPairs = 9900, kBacklog = 65535, kBatch = 1000, kHosts = 254 };

struct options {
  long pairs;           // -n
  int port;             // -p: main listener port on 127.0.0.1
  int block;            // -b: clients use 127.1.BLOCK.1 .. 127.1.BLOCK.254
  long timewait;        // -t
  int extra_listeners;  // -l
  int extra_port;       // -x: first port of the extra listeners
  int ignore_stdin;     // -D: hold until a signal only
};

static void die(const char* what) {
  fprintf(stderr, "gen: %s: %s\n", what, strerror(errno));
  exit(1);
}

static void usage(void) {
  fprintf(stderr,
          "usage: gen [-n PAIRS] [-p PORT] [-b BLOCK] [-t TIMEWAIT]\n"
          "           [-l EXTRA_LISTENERS] [-x EXTRA_PORT] [-D]\n"
          "  -n PAIRS    ESTABLISHED pairs to create (0..%d, default 1000)\n"
          "  -p PORT     listener port on 127.0.0.1 (default 20000)\n"
          "  -b BLOCK    client addresses 127.1.BLOCK.1-254 (0..255, "
          "default 0)\n"
          "  -t N        also leave N TIME_WAIT sockets (client closes "
          "first)\n"
          "  -l N        N extra idle listeners on 127.0.0.1:EXTRA_PORT+i\n"
          "  -x PORT     first extra listener port (default PORT+1)\n"
          "  -D          ignore stdin; hold until SIGTERM/SIGINT/SIGHUP\n",
          kMaxPairs);
  exit(2);
}

static long parse_long(const char* text, long min, long max) {
  char* end = NULL;
  errno = 0;
  long value = strtol(text, &end, 0);
  if (errno != 0 || end == text || *end != '\0' || value < min || value > max) {
    fprintf(stderr, "gen: expected an integer in [%ld, %ld], got '%s'\n", min,
            max, text);
    exit(2);
  }
  return value;
}

static void parse_options(int argc, char** argv, struct options* opt) {
  *opt = (struct options){.pairs = 1000, .port = 20000, .extra_port = -1};
  int c;
  while ((c = getopt(argc, argv, "n:p:b:t:l:x:Dh")) != -1) {
    switch (c) {
      case 'n':
        opt->pairs = parse_long(optarg, 0, kMaxPairs);
        break;
      case 'p':
        opt->port = (int)parse_long(optarg, 1, 65535);
        break;
      case 'b':
        opt->block = (int)parse_long(optarg, 0, 255);
        break;
      case 't':
        opt->timewait = parse_long(optarg, 0, 10000000);
        break;
      case 'l':
        opt->extra_listeners = (int)parse_long(optarg, 0, 1000);
        break;
      case 'x':
        opt->extra_port = (int)parse_long(optarg, 1, 65535);
        break;
      case 'D':
        opt->ignore_stdin = 1;
        break;
      default:
        usage();
    }
  }
  if (optind != argc) usage();
  if (opt->extra_port < 0) opt->extra_port = opt->port + 1;
  if (opt->extra_port + opt->extra_listeners - 1 > 65535) {
    fprintf(stderr, "gen: extra listener ports exceed 65535\n");
    exit(2);
  }
}

// Pairs need two descriptors each; the TIME_WAIT loop needs two more at a
// time, plus stdio, the listeners and the signalfd.
static void raise_fd_limit(const struct options* opt) {
  struct rlimit lim;
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) die("getrlimit");
  lim.rlim_cur = lim.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &lim) != 0) die("setrlimit");
  rlim_t needed = (rlim_t)(2 * opt->pairs + opt->extra_listeners + 16);
  if (needed > lim.rlim_cur) {
    fprintf(stderr, "gen: need %lu descriptors, RLIMIT_NOFILE is %lu\n",
            (unsigned long)needed, (unsigned long)lim.rlim_cur);
    exit(2);
  }
}

static struct sockaddr_in loopback(uint32_t host_order_addr, int port) {
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_port = htons((uint16_t)port),
                           .sin_addr.s_addr = htonl(host_order_addr)};
  return sa;
}

static int make_listener(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket(listener)");
  int one = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0)
    die("SO_REUSEADDR");
  struct sockaddr_in sa = loopback(INADDR_LOOPBACK, port);
  if (bind(fd, (struct sockaddr*)&sa, sizeof sa) != 0) {
    fprintf(stderr, "gen: bind 127.0.0.1:%d: %s\n", port, strerror(errno));
    exit(1);
  }
  // The effective backlog is min(kBacklog, net.core.somaxconn); connects are
  // batched below so a default somaxconn (4096) works too.
  if (listen(fd, kBacklog) != 0) die("listen");
  return fd;
}

// Client sockets rotate over 127.1.BLOCK.1..254. IP_BIND_ADDRESS_NO_PORT
// defers the port choice to connect(), which then only needs the full
// 4-tuple to be unique: no bind()-time port exhaustion, and short ephemeral
// port searches because each source address carries few connections.
static int connect_client(const struct options* opt, long serial) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket(client)");
  int one = 1;
  if (setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one))
    die("IP_BIND_ADDRESS_NO_PORT");
  uint32_t host = (uint32_t)(serial % kHosts) + 1;
  struct sockaddr_in src = loopback(
      (127u << 24) | (1u << 16) | ((uint32_t)opt->block << 8) | host, 0);
  if (bind(fd, (struct sockaddr*)&src, sizeof src) != 0) die("bind(client)");
  struct sockaddr_in dst = loopback(INADDR_LOOPBACK, opt->port);
  if (connect(fd, (struct sockaddr*)&dst, sizeof dst) != 0) die("connect");
  return fd;
}

static int accept_one(int listener) {
  for (;;) {
    int fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
    if (fd >= 0) return fd;
    if (errno != EINTR) die("accept");
  }
}

// Returns the descriptors in fds[0 .. 2*pairs).
static int* make_pairs(const struct options* opt, int listener) {
  int* fds = calloc((size_t)(2 * opt->pairs + 1), sizeof *fds);
  if (fds == NULL) die("calloc");
  for (long done = 0; done < opt->pairs;) {
    long batch = opt->pairs - done < kBatch ? opt->pairs - done : kBatch;
    for (long i = 0; i < batch; i++)
      fds[2 * (done + i)] = connect_client(opt, done + i);
    for (long i = 0; i < batch; i++)
      fds[2 * (done + i) + 1] = accept_one(listener);
    done += batch;
  }
  return fds;
}

// TIME_WAIT belongs to whoever closes first: the client closes, the server
// sees the FIN (CLOSE_WAIT) and closes too, so the client side ends in
// TIME_WAIT for 60 s holding no descriptor. The serial continues after the
// pairs so the 4-tuples stay spread over the 254 source addresses.
static void make_timewait(const struct options* opt, int listener) {
  for (long i = 0; i < opt->timewait; i++) {
    int client = connect_client(opt, opt->pairs + i);
    int server = accept_one(listener);
    if (close(client) != 0) die("close(client)");
    if (close(server) != 0) die("close(server)");
  }
}

// A plain exit would close the clients first and leave every pair's client
// in TIME_WAIT for 60 s, in the global ehash that every other namespace's
// dump walks. SO_LINGER {1, 0} makes close() send a RST and free the socket.
static void abort_pairs(int* fds, long pairs) {
  struct linger abort_on_close = {.l_onoff = 1, .l_linger = 0};
  for (long i = 0; i < 2 * pairs; i++) {
    setsockopt(fds[i], SOL_SOCKET, SO_LINGER, &abort_on_close,
               sizeof abort_on_close);
    close(fds[i]);
  }
}

// Blocks the hold signals and returns a signalfd for them.
static int hold_signals(void) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  if (sigprocmask(SIG_BLOCK, &set, NULL) != 0) die("sigprocmask");
  int fd = signalfd(-1, &set, SFD_CLOEXEC);
  if (fd < 0) die("signalfd");
  return fd;
}

static void hold(int sigfd, int watch_stdin) {
  struct pollfd fds[2] = {{.fd = sigfd, .events = POLLIN},
                          {.fd = watch_stdin ? 0 : -1, .events = POLLIN}};
  char buf[512];
  for (;;) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      die("poll");
    }
    if (fds[0].revents) return;
    if (fds[1].revents) {
      ssize_t n = read(0, buf, sizeof buf);
      if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) return;
    }
  }
}

int main(int argc, char** argv) {
  struct options opt;
  parse_options(argc, argv, &opt);
  raise_fd_limit(&opt);
  signal(SIGPIPE, SIG_IGN);
  int sigfd = hold_signals();  // before any work: a SIGTERM is never lost

  int listener = make_listener(opt.port);
  for (int i = 0; i < opt.extra_listeners; i++)
    make_listener(opt.extra_port + i);  // idle on purpose, fd kept open
  int* fds = make_pairs(&opt, listener);
  // Last, so the 60 s TIME_WAIT lifetime starts as late as possible.
  make_timewait(&opt, listener);

  fprintf(stderr,
          "gen: pid %d: %ld pairs (%ld sockets) 127.1.%d.0/24 -> "
          "127.0.0.1:%d, %ld TIME_WAIT, %d extra listeners\n",
          (int)getpid(), opt.pairs, 2 * opt.pairs, opt.block, opt.port,
          opt.timewait, opt.extra_listeners);
  printf("ready %ld\n", opt.pairs);
  if (fflush(stdout) != 0) die("stdout");

  hold(sigfd, !opt.ignore_stdin);
  abort_pairs(fds, opt.pairs);
  free(fds);
  return 0;
}
