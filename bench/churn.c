// churn: short TCP connections at a steady rate on loopback, for the closed
// collector's benchmark (bench/lib/churn.js). Each connection carries one
// small request and its answer and closes with FIN both ways: the client
// sends UP bytes, the server reads them and answers DOWN bytes, the client
// reads them and closes, the server reads the FIN and closes.
//
//   churn RATE SECONDS [THREADS] [PORT] [UP] [DOWN]
//
// THREADS client threads pace themselves to RATE/THREADS connections per
// second each (no catching up after a stall beyond one second); as many
// server threads accept on one listener. Prints one line at the end:
//   churn made=N failed=N seconds=S rate=R utime=S stime=S
// (CPU seconds of the whole process, both ends' kernel work on loopback
// included). Run it where net.ipv4.tcp_max_tw_buckets is 0, so that no
// TIME_WAIT socket piles up in the kernel's shared hash.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int listener = -1;
static double rate, seconds;
static int threads = 2, up = 100, down = 200;
static atomic_long made, failed;
static atomic_int stopping;
static struct sockaddr_in address;
static char buffer_up[65536], buffer_down[65536];

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int read_exactly(int fd, int count) {
  char buffer[65536];
  int got = 0;
  while (got < count) {
    ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n <= 0) return -1;
    got += (int)n;
  }
  return 0;
}

static int write_all(int fd, const char *data, int count) {
  int sent = 0;
  while (sent < count) {
    ssize_t n = write(fd, data + sent, count - sent);
    if (n <= 0) return -1;
    sent += (int)n;
  }
  return 0;
}

static void *serve(void *unused) {
  (void)unused;
  char buffer[16];
  for (;;) {
    int fd = accept(listener, NULL, NULL);
    if (fd < 0) {
      if (atomic_load(&stopping)) return NULL;
      continue;
    }
    if (read_exactly(fd, up) == 0 && write_all(fd, buffer_down, down) == 0) {
      while (read(fd, buffer, sizeof(buffer)) > 0) {
      }
    }
    close(fd);
  }
}

static int one(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  int ok = connect(fd, (struct sockaddr *)&address, sizeof(address)) == 0 &&
           write_all(fd, buffer_up, up) == 0 && read_exactly(fd, down) == 0;
  close(fd);
  return ok ? 0 : -1;
}

static void *client(void *unused) {
  (void)unused;
  double interval = threads / rate;
  double start = now();
  double next = start;
  while (now() - start < seconds) {
    double wait = next - now();
    if (wait > 0) {
      struct timespec ts = {(time_t)wait, (long)((wait - (time_t)wait) * 1e9)};
      nanosleep(&ts, NULL);
    } else if (wait < -1) {
      next = now();  // behind by over a second: drop the backlog
    }
    next += interval;
    if (one() == 0)
      atomic_fetch_add(&made, 1);
    else
      atomic_fetch_add(&failed, 1);
  }
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: churn RATE SECONDS [THREADS] [PORT] [UP] [DOWN]\n");
    return 2;
  }
  rate = atof(argv[1]);
  seconds = atof(argv[2]);
  if (argc > 3) threads = atoi(argv[3]);
  int port = argc > 4 ? atoi(argv[4]) : 8080;
  if (argc > 5) up = atoi(argv[5]);
  if (argc > 6) down = atoi(argv[6]);
  if (rate <= 0 || seconds <= 0 || threads < 1 || up < 1 || up > 65536 || down < 1 ||
      down > 65536) {
    fprintf(stderr, "churn: bad arguments\n");
    return 2;
  }
  memset(buffer_up, 'u', sizeof(buffer_up));
  memset(buffer_down, 'd', sizeof(buffer_down));
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  listener = socket(AF_INET, SOCK_STREAM, 0);
  int one_value = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one_value, sizeof(one_value));
  if (bind(listener, (struct sockaddr *)&address, sizeof(address)) != 0 ||
      listen(listener, 4096) != 0) {
    perror("churn: listen");
    return 1;
  }
  pthread_t servers[64], clients[64];
  if (threads > 64) threads = 64;
  for (int i = 0; i < threads; i++) pthread_create(&servers[i], NULL, serve, NULL);
  double started = now();
  for (int i = 0; i < threads; i++) pthread_create(&clients[i], NULL, client, NULL);
  for (int i = 0; i < threads; i++) pthread_join(clients[i], NULL);
  double elapsed = now() - started;
  atomic_store(&stopping, 1);
  shutdown(listener, SHUT_RDWR);
  for (int i = 0; i < threads; i++) pthread_join(servers[i], NULL);
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  printf("churn made=%ld failed=%ld seconds=%.3f rate=%.1f utime=%.3f stime=%.3f\n",
         atomic_load(&made), atomic_load(&failed), elapsed, atomic_load(&made) / elapsed,
         usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6,
         usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6);
  return 0;
}
