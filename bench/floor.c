/*
 * floor.c - what one message costs the kernel on this machine, whatever
 * the program: the floor under the gateway's CPU per message.
 *
 * Two processes on 127.0.0.1 TCP (TCP_NODELAY) play ping-pong with
 * `size`-byte messages, `count` round trips. The server side does what a
 * gateway must do at the very least for a message in and a message out:
 * epoll_wait, recv, send, nothing else. Each side's CPU (utime + stime,
 * getrusage) divided by the messages it received is printed as JSON:
 *
 *   {"messages":N,"server_us_per_msg":X,"server_user_us_per_msg":U,
 *    "client_us_per_msg":Y,"size":S}
 *
 * bench/run pins the two sides to the CPUs the gateway and the load
 * generator use. Loopback only; bounded by count and by a 60 s alarm.
 *
 * Usage: floor [count] [size] [server_cpu client_cpu]
 */
#include <errno.h>
#include <sched.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* Pins the calling process to one CPU (-1: leave it). */
static void pin(int cpu)
{
    cpu_set_t set;

    if (cpu < 0)
        return;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0)
        perror("sched_setaffinity");
}

static void die(const char *what)
{
    perror(what);
    exit(2);
}

static double cpu_us(const struct rusage *r, int user_only)
{
    double u = (double)r->ru_utime.tv_sec * 1e6 + (double)r->ru_utime.tv_usec;
    double s = (double)r->ru_stime.tv_sec * 1e6 + (double)r->ru_stime.tv_usec;
    return user_only ? u : u + s;
}

/* Reads exactly n bytes from a blocking socket. */
static int read_full(int fd, char *buf, size_t n)
{
    while (n > 0) {
        ssize_t r = recv(fd, buf, n, 0);
        if (r <= 0) {
            if (r < 0 && errno == EINTR)
                continue;
            return -1;
        }
        buf += r;
        n -= (size_t)r;
    }
    return 0;
}

/* The server: an epoll loop that echoes whatever arrives (non-blocking). */
static long serve(int fd)
{
    char buf[65536];
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd }, out[16];
    int ep = epoll_create1(0);
    long msgs = 0;

    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0)
        die("epoll");
    for (;;) {
        int n = epoll_wait(ep, out, 16, -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die("epoll_wait");
        ssize_t r = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (r == 0)
            break;
        if (r < 0) {
            if (errno == EAGAIN || errno == EINTR)
                continue;
            break;
        }
        msgs++;
        if (send(fd, buf, (size_t)r, MSG_NOSIGNAL) != r)
            break;
    }
    close(ep);
    return msgs;
}

int main(int argc, char **argv)
{
    long count = argc > 1 ? atol(argv[1]) : 100000;
    size_t size = argc > 2 ? (size_t)atol(argv[2]) : 100;
    int server_cpu = argc > 4 ? atoi(argv[3]) : -1, client_cpu = argc > 4 ? atoi(argv[4]) : -1;
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t alen = sizeof a;
    int one = 1, lfd, cfd, sfd, status;
    struct rusage self, child;
    char *buf;
    pid_t pid;

    if (count <= 0 || size == 0 || size > 65536) {
        fprintf(stderr, "usage: floor [count] [size (1..65536)]\n");
        return 2;
    }
    alarm(60);
    lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(lfd, 1) != 0 ||
        getsockname(lfd, (struct sockaddr *)&a, &alen) != 0)
        die("listen");
    pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        pin(server_cpu);
        sfd = accept(lfd, NULL, NULL);
        if (sfd < 0)
            die("accept");
        setsockopt(sfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        close(lfd);
        struct rusage r0, r1;
        getrusage(RUSAGE_SELF, &r0);
        long msgs = serve(sfd);
        getrusage(RUSAGE_SELF, &r1);
        printf("{\"messages\":%ld,\"server_us_per_msg\":%.2f,\"server_user_us_per_msg\":%.2f",
               msgs, (cpu_us(&r1, 0) - cpu_us(&r0, 0)) / (double)(msgs ? msgs : 1),
               (cpu_us(&r1, 1) - cpu_us(&r0, 1)) / (double)(msgs ? msgs : 1));
        fflush(stdout);
        _exit(0);
    }
    close(lfd);
    pin(client_cpu);
    cfd = socket(AF_INET, SOCK_STREAM, 0);
    if (cfd < 0 || connect(cfd, (struct sockaddr *)&a, sizeof a) != 0)
        die("connect");
    setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    buf = calloc(1, size);
    if (!buf)
        die("calloc");
    getrusage(RUSAGE_SELF, &self);
    double c0 = cpu_us(&self, 0);
    for (long i = 0; i < count; i++)
        if (send(cfd, buf, size, MSG_NOSIGNAL) != (ssize_t)size || read_full(cfd, buf, size) != 0)
            die("ping");
    getrusage(RUSAGE_SELF, &self);
    double c1 = cpu_us(&self, 0);
    close(cfd);
    if (wait4(pid, &status, 0, &child) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        die("server");
    printf(",\"client_us_per_msg\":%.2f,\"size\":%zu}\n", (c1 - c0) / (double)count, size);
    free(buf);
    return 0;
}
