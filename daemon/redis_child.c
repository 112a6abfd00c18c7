/*
 * redis_child.c - start, watch, restart and stop the embedded redis-server.
 *
 * fork+exec rather than uv_spawn, because the child must set
 * PR_SET_PDEATHSIG between the two (and check that its parent did not die
 * in the meantime). SIGCHLD comes in through a uv_signal_t; an exit we did
 * not ask for schedules a restart, 250 ms doubling up to backoff_max, the
 * delay reset once the child has lived 30 s. Stopping is the one blocking
 * step (bounded wait for the child to save its AOF and exit), and only
 * happens at shutdown, after the sessions are closed.
 *
 * Two locks in the state directory. chatgwd.lock is the daemon's alone
 * (close-on-exec): a second daemon on the directory is refused at once.
 * redis.lock is shared by the daemon and its redis-server (the child keeps
 * the descriptor across exec), so it is free only when both are gone. A
 * daemon restarted right after a kill -9 (systemd's Restart=) therefore
 * waits, without blocking the loop, for the old redis-server to finish
 * exiting before it starts its own: that one unlinks redis.sock on its
 * way out and would take the new one's socket with it (it did, 6 runs
 * of 6), and two servers on one AOF would fight over it anyway. One that
 * is still there after 5 s (what a daemon gives its own child at stop)
 * is killed. A per-generation socket name would avoid the unlink but not
 * the shared AOF, and clients such as chatgwctl look for redis.sock.
 *
 * Transcripts are private: the state directory must be the daemon user's
 * and closed to group and others (it is fixed, with a warning, when it is
 * not), and the child runs with umask 077, so its AOF and log are 0600.
 *
 * API: see redis_child.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "gw.h"
#include "log.h"
#include "redis_child.h"

#define WAIT_POLL_MS 20        /* how often a waiting daemon looks at redis.lock */
#define WAIT_KILL_MS 5000      /* then it kills what still holds it */

static struct {
    pid_t pid;
    int lockfd;                /* chatgwd.lock: this daemon only */
    int redis_lockfd;          /* redis.lock: this daemon and its redis-server */
    bool stopping, started;
    uint64_t backoff_ms, backoff_max_ms, started_ms, wait_since_ms, next_kill_ms;
    char binary[256], dir[PATH_MAX], sock[PATH_MAX + 16], logfile[PATH_MAX + 16];
    char redis_lock[PATH_MAX + 16];
    uv_signal_t sigchld;
    uv_timer_t restart, wait;
    void (*on_up)(void);       /* after a wait: our redis-server is started */
} C;

static int spawn(void)
{
    pid_t parent = getpid(), pid;
    char *argv[] = {
        C.binary, "--port", "0", "--unixsocket", C.sock, "--unixsocketperm", "700",
        "--dir", C.dir, "--appendonly", "yes", "--appendfsync", "everysec",
        "--save", "", "--daemonize", "no", "--logfile", C.logfile, NULL
    };

    unlink(C.sock);
    pid = fork();
    if (pid < 0) {
        log_error("redis_spawn_failed", "error=%s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        sigset_t all;
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(1);
        setpgid(0, 0);
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        signal(SIGPIPE, SIG_DFL);
        umask(077);                 /* AOF, log and socket for our user only */
        /* nothing of ours (listeners, Redis links) leaks into the child,
         * except redis.lock, which it holds until it has exited */
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            dup2(devnull, 0);
            dup2(devnull, 1);
        }
        for (int fd = 3; fd < 65536; fd++)
            if (fd != C.redis_lockfd && fcntl(fd, F_GETFD) >= 0)
                close(fd);
        if (fcntl(C.redis_lockfd, F_SETFD, 0) != 0)
            _exit(1);
        unsetenv("NOTIFY_SOCKET");  /* systemd's readiness is ours to report */
        execvp(C.binary, argv);
        fprintf(stderr, "level=error event=redis_exec_failed binary=%s error=%s\n",
                C.binary, strerror(errno));
        _exit(127);
    }
    C.pid = pid;
    C.started_ms = gw_now_ms();
    log_info("redis_started", "pid=%d socket=%s", (int)pid, C.sock);
    return 0;
}

static void on_restart(uv_timer_t *t)
{
    (void)t;
    if (!C.stopping && C.pid == 0)
        spawn();
}

static void on_sigchld(uv_signal_t *h, int sig)
{
    int status;
    pid_t pid;

    (void)h; (void)sig;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        if (pid != C.pid)
            continue;
        C.pid = 0;
        if (C.stopping)
            continue;
        if (gw_now_ms() - C.started_ms > 30000)
            C.backoff_ms = 250;
        log_error("redis_exited", "status=%d signal=%d restart_ms=%llu",
                  WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                  WIFSIGNALED(status) ? WTERMSIG(status) : 0,
                  (unsigned long long)C.backoff_ms);
        uv_timer_start(&C.restart, on_restart, C.backoff_ms, 0);
        C.backoff_ms = C.backoff_ms * 2 > C.backoff_max_ms ? C.backoff_max_ms : C.backoff_ms * 2;
    }
}

/*
 * The state directory holds every transcript (the AOF): it must be ours,
 * and nobody else may enter it. Group or other bits are removed, and said
 * so; a directory of another user is refused.
 */
static int secure_state_dir(void)
{
    struct stat st;

    if (stat(C.dir, &st) != 0) {
        log_error("state_dir_failed", "dir=%s error=%s", C.dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        log_error("state_dir_failed", "dir=%s error=\"not a directory\"", C.dir);
        return -1;
    }
    if (st.st_uid != geteuid()) {
        log_error("state_dir_unsafe", "dir=%s owner_uid=%u reason=\"must be owned by the user "
                  "chatgwd runs as (uid %u)\"", C.dir, (unsigned)st.st_uid, (unsigned)geteuid());
        return -1;
    }
    if ((st.st_mode & 077) == 0)
        return 0;
    if (chmod(C.dir, st.st_mode & 07700) != 0) {
        log_error("state_dir_unsafe", "dir=%s mode=%04o reason=\"open to group or others; "
                  "chmod failed: %s\"", C.dir, (unsigned)(st.st_mode & 07777), strerror(errno));
        return -1;
    }
    log_warn("state_dir_mode_fixed", "dir=%s old_mode=%04o new_mode=%04o reason=\"the state "
             "directory holds transcripts; group and others may not enter it\"", C.dir,
             (unsigned)(st.st_mode & 07777), (unsigned)(st.st_mode & 07700));
    return 0;
}

/*
 * Two daemons on one state directory would fight over one socket and one
 * AOF. An flock on a file in the directory says whose it is; the kernel
 * drops it when we die, so a kill -9 never leaves it stale.
 */
static int lock_state_dir(void)
{
    char path[PATH_MAX + 16];

    snprintf(path, sizeof path, "%s/chatgwd.lock", C.dir);
    snprintf(C.redis_lock, sizeof C.redis_lock, "%s/redis.lock", C.dir);
    C.lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (C.lockfd < 0 || flock(C.lockfd, LOCK_EX | LOCK_NB) != 0) {
        log_error("state_dir_busy", "dir=%s reason=\"%s\"", C.dir,
                  errno == EWOULDBLOCK ? "another chatgwd uses this state directory"
                                       : strerror(errno));
        if (C.lockfd >= 0)
            close(C.lockfd);
        C.lockfd = -1;
        return -1;
    }
    C.redis_lockfd = open(C.redis_lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (C.redis_lockfd < 0) {
        log_error("state_dir_failed", "dir=%s file=redis.lock error=%s", C.dir, strerror(errno));
        close(C.lockfd);
        C.lockfd = -1;
        return -1;
    }
    return 0;
}

/* Sends SIGKILL to every process that has redis.lock open: with
 * chatgwd.lock ours, only what a dead daemon left running. */
static void kill_lock_holders(void)
{
    struct stat want, st;
    struct dirent *p, *f;
    char path[320];
    DIR *procs, *fds;

    if (fstat(C.redis_lockfd, &want) != 0 || !(procs = opendir("/proc")))
        return;
    while ((p = readdir(procs))) {
        long pid = strtol(p->d_name, NULL, 10);
        if (pid <= 0 || pid == getpid())
            continue;
        snprintf(path, sizeof path, "/proc/%ld/fd", pid);
        if (!(fds = opendir(path)))
            continue;
        while ((f = readdir(fds))) {
            snprintf(path, sizeof path, "/proc/%ld/fd/%s", pid, f->d_name);
            if (f->d_name[0] != '.' && stat(path, &st) == 0 &&
                st.st_dev == want.st_dev && st.st_ino == want.st_ino) {
                log_warn("redis_previous_killed", "pid=%ld waited_ms=%llu", pid,
                         (unsigned long long)(gw_now_ms() - C.wait_since_ms));
                kill((pid_t)pid, SIGKILL);
                break;
            }
        }
        closedir(fds);
    }
    closedir(procs);
}

/* redis.lock free: the previous redis-server is gone; start ours. */
static int take_redis_lock(void)
{
    if (flock(C.redis_lockfd, LOCK_EX | LOCK_NB) == 0)
        return 0;
    if (errno != EWOULDBLOCK) {
        log_error("redis_spawn_failed", "file=redis.lock error=%s", strerror(errno));
        return -1;
    }
    return 1;
}

static void on_wait(uv_timer_t *t)
{
    uint64_t waited = gw_now_ms() - C.wait_since_ms;
    int rc = take_redis_lock();

    if (rc == 1) {
        if (gw_now_ms() >= C.next_kill_ms) {
            kill_lock_holders();       /* at 5 s, then once a second */
            C.next_kill_ms = gw_now_ms() + 1000;
        }
        return;
    }
    uv_timer_stop(t);
    if (rc == 0) {
        log_info("redis_previous_gone", "waited_ms=%llu", (unsigned long long)waited);
        if (spawn() != 0)          /* fork failed: try again as after a crash */
            uv_timer_start(&C.restart, on_restart, C.backoff_ms, 0);
        C.on_up();
    }
}

int redis_child_start(const char *binary, const char *state_dir, uint64_t backoff_max_ms,
                      char *sock, size_t cap, void (*on_up)(void))
{
    int rc;

    memset(&C, 0, sizeof C);
    C.lockfd = C.redis_lockfd = -1;
    C.backoff_ms = 250;
    C.backoff_max_ms = backoff_max_ms;
    C.on_up = on_up;
    if (snprintf(C.binary, sizeof C.binary, "%s", binary) >= (int)sizeof C.binary ||
        !realpath(state_dir, C.dir)) {
        log_error("redis_spawn_failed", "state_dir=%s error=%s", state_dir, strerror(errno));
        return -1;
    }
    snprintf(C.sock, sizeof C.sock, "%s/redis.sock", C.dir);
    snprintf(C.logfile, sizeof C.logfile, "%s/redis.log", C.dir);
    if (strlen(C.sock) >= 100) {     /* sun_path is 108 bytes */
        log_error("redis_spawn_failed", "reason=\"state_dir path too long for a unix socket\"");
        return -1;
    }
    snprintf(sock, cap, "%s", C.sock);
    if (secure_state_dir() != 0 || lock_state_dir() != 0)
        return -1;
    if ((rc = take_redis_lock()) < 0) {
        close(C.redis_lockfd);
        close(C.lockfd);
        return -1;
    }
    uv_signal_init(gw.loop, &C.sigchld);
    uv_signal_start(&C.sigchld, on_sigchld, SIGCHLD);
    uv_timer_init(gw.loop, &C.restart);
    uv_timer_init(gw.loop, &C.wait);
    C.started = true;
    if (rc == 0)
        return spawn();
    log_warn("redis_previous_running", "dir=%s reason=\"the redis-server of the previous chatgwd "
             "is still exiting; ours starts when it is gone\"", C.dir);
    C.wait_since_ms = gw_now_ms();
    C.next_kill_ms = C.wait_since_ms + WAIT_KILL_MS;
    uv_timer_start(&C.wait, on_wait, WAIT_POLL_MS, WAIT_POLL_MS);
    return 1;
}

void redis_child_stop(void)
{
    int status, i;

    if (!C.started)
        return;
    C.stopping = true;
    uv_timer_stop(&C.restart);
    uv_timer_stop(&C.wait);
    if (C.pid > 0) {
        kill(C.pid, SIGTERM);
        for (i = 0; i < 500; i++) {       /* up to 5 s to write its AOF */
            if (waitpid(C.pid, &status, WNOHANG) == C.pid)
                break;
            nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
        }
        if (i == 500) {
            kill(C.pid, SIGKILL);
            waitpid(C.pid, &status, 0);
        }
        log_info("redis_stopped", "pid=%d", (int)C.pid);
        C.pid = 0;
    }
    uv_signal_stop(&C.sigchld);
    uv_close((uv_handle_t *)&C.sigchld, NULL);
    uv_close((uv_handle_t *)&C.restart, NULL);
    uv_close((uv_handle_t *)&C.wait, NULL);
    if (flock(C.redis_lockfd, LOCK_EX | LOCK_NB) == 0)
        unlink(C.sock);          /* only if no redis-server of ours may still use it */
    close(C.redis_lockfd);
    close(C.lockfd);             /* the directory is free for the next daemon */
    C.lockfd = C.redis_lockfd = -1;
    C.started = false;
}
