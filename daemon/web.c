/*
 * web.c - the static pages (the buyer widget, the demo store, the desk)
 * held in memory, so serving one never touches the disk on the loop.
 *
 * web_root is read whole into one set of files: at start before the loop
 * serves, and on SIGHUP in a libuv worker thread, whose result replaces
 * the set on the loop when every file has been read (a failed load keeps
 * the old set). The walk takes regular files of the known types below
 * (others, and names starting with '.', are skipped) and stops with an
 * error past web_max_files files or web_max_bytes bytes, both checked
 * before a file is read. Lookups are a binary search over the sorted
 * paths; server.c copies the bytes into its reply, so a reload may free a
 * set at once.
 *
 * web_root "" means the pages installed next to the binary: BIN/../share/
 * chatgw/web (make install), else BIN/../web (build/chatgwd in the repo);
 * "off" serves none.
 *
 * Each file's ETag is a 64-bit FNV-1a hash of its bytes, so it stays the
 * same across reloads and nodes while the file does.
 *
 * API: web_start, web_reload, web_stop, web_find, web_etag_matches.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gw.h"
#include "log.h"
#include "web.h"

#define WEB_MAX_DEPTH 8            /* directories below web_root */

static const struct { const char *ext, *type; } types[] = {
    { ".html", "text/html; charset=utf-8" },
    { ".js", "text/javascript; charset=utf-8" },
    { ".mjs", "text/javascript; charset=utf-8" },
    { ".css", "text/css; charset=utf-8" },
    { ".json", "application/json" },
    { ".txt", "text/plain; charset=utf-8" },
    { ".svg", "image/svg+xml" },
    { ".png", "image/png" },
    { ".jpg", "image/jpeg" },
    { ".webp", "image/webp" },
    { ".ico", "image/x-icon" },
    { ".woff2", "font/woff2" },
};

struct web_set {
    struct web_file *files;       /* sorted by path */
    size_t n, cap, bytes;
};

/* One load: what it reads, what it found, and why it stopped. */
struct job {
    uv_work_t work;
    char root[PATH_MAX];
    size_t max_bytes, max_files;
    struct web_set *set;
    bool off;                     /* web_root off: no pages */
    char error[PATH_MAX + 96];    /* empty when the load succeeded */
};

static struct web_set *cur;
static struct job *running;       /* a reload in a worker */
static bool again, stopped;       /* SIGHUP while loading; web_stop called */

static void set_free(struct web_set *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->files[i].path);
        free(s->files[i].data);
    }
    free(s->files);
    free(s);
}

static const char *type_of(const char *name)
{
    const char *dot = strrchr(name, '.');

    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (strcasecmp(dot, types[i].ext) == 0)
            return types[i].type;
    return NULL;
}

static void etag_of(struct web_file *f)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    for (size_t i = 0; i < f->len; i++)
        h = (h ^ f->data[i]) * 0x100000001b3ULL;
    snprintf(f->etag, sizeof f->etag, "\"%016llx\"", (unsigned long long)h);
}

static int fail(struct job *j, const char *what, const char *path)
{
    snprintf(j->error, sizeof j->error, "%s: %s", what, path);
    return -1;
}

static int read_all(int fd, unsigned char *buf, size_t len)
{
    size_t got = 0;

    while (got < len) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    return 0;
}

static int add_file(struct job *j, int dirfd, const char *name, const char *url, size_t size)
{
    struct web_set *s = j->set;
    struct web_file *f;
    int fd;

    if (s->n >= j->max_files)
        return fail(j, "more files than web_max_files", url);
    if (size > j->max_bytes - s->bytes)
        return fail(j, "more bytes than web_max_bytes", url);
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 32;
        struct web_file *nf = realloc(s->files, cap * sizeof *nf);
        if (!nf)
            return fail(j, "out of memory", url);
        s->files = nf;
        s->cap = cap;
    }
    f = &s->files[s->n];
    memset(f, 0, sizeof *f);
    f->type = type_of(name);
    f->len = size;
    f->path = strdup(url);
    f->data = malloc(size ? size : 1);
    if (!f->path || !f->data) {
        free(f->path);
        free(f->data);
        return fail(j, "out of memory", url);
    }
    fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 || read_all(fd, f->data, size) != 0) {
        if (fd >= 0)
            close(fd);
        free(f->path);
        free(f->data);
        return fail(j, "cannot read", url);
    }
    close(fd);
    etag_of(f);
    s->n++;
    s->bytes += size;
    return 0;
}

/* Reads the directory `fd` (which it closes), known as URL path `url`. */
static int walk(struct job *j, int fd, const char *url, int depth)
{
    DIR *d = fdopendir(fd);
    struct dirent *e;
    int rc = 0;

    if (!d) {
        close(fd);
        return fail(j, "cannot open directory", url);
    }
    while (rc == 0 && (e = readdir(d))) {
        char sub[PATH_MAX];
        struct stat st;

        if (e->d_name[0] == '.')
            continue;               /* ., .., and hidden files */
        if ((size_t)snprintf(sub, sizeof sub, "%s%s", url, e->d_name) >= sizeof sub - 1)
            continue;
        if (fstatat(dirfd(d), e->d_name, &st, 0) != 0)
            continue;               /* a dangling link */
        if (S_ISDIR(st.st_mode) && depth < WEB_MAX_DEPTH) {
            int sfd = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            strcat(sub, "/");
            rc = sfd < 0 ? fail(j, "cannot open directory", sub) : walk(j, sfd, sub, depth + 1);
        } else if (S_ISREG(st.st_mode) && type_of(e->d_name)) {
            rc = add_file(j, dirfd(d), e->d_name, sub, (size_t)st.st_size);
        }
    }
    closedir(d);
    return rc;
}

static int by_path(const void *a, const void *b)
{
    return strcmp(((const struct web_file *)a)->path, ((const struct web_file *)b)->path);
}

/* web_root as configured -> the directory to read, or j->off */
static void resolve_root(struct job *j, const char *cfg_root)
{
    static const char *const beside[] = { "/../share/chatgw/web", "/../web" };
    char exe[PATH_MAX - 32];
    struct stat st;
    ssize_t n;

    if (strcmp(cfg_root, "off") == 0) {
        j->off = true;
        return;
    }
    if (cfg_root[0]) {
        snprintf(j->root, sizeof j->root, "%s", cfg_root);
        return;
    }
    n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        j->off = true;
        return;
    }
    exe[n] = '\0';
    *strrchr(exe, '/') = '\0';
    for (size_t i = 0; i < sizeof beside / sizeof beside[0]; i++) {
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s%s", exe, beside[i]);
        if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && realpath(dir, j->root))
            return;
    }
    j->off = true;                  /* nothing installed: no pages */
}

static void load(struct job *j)
{
    int fd;

    j->error[0] = '\0';
    if (j->off)
        return;
    if (!(j->set = calloc(1, sizeof *j->set))) {
        fail(j, "out of memory", j->root);
        return;
    }
    fd = open(j->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 ? fail(j, "cannot open directory", j->root) : walk(j, fd, "/", 0)) {
        set_free(j->set);
        j->set = NULL;
        return;
    }
    qsort(j->set->files, j->set->n, sizeof *j->set->files, by_path);
}

static struct job *job_new(void)
{
    struct job *j = calloc(1, sizeof *j);

    if (!j)
        return NULL;
    j->max_bytes = gw.cfg->web_max_bytes;
    j->max_files = gw.cfg->web_max_files;
    resolve_root(j, gw.cfg->web_root ? gw.cfg->web_root : "");
    return j;
}

/* On the loop: the load is done; use its pages or keep the old ones. */
static void job_finish(struct job *j, bool reload)
{
    char q[PATH_MAX + 128];

    if (j->error[0]) {
        log_error("web_load_failed", "error=%s action=%s", log_quote(q, sizeof q, j->error),
                  reload ? "kept_old_pages" : "no_pages");
    } else {
        set_free(cur);
        cur = j->set;
        if (j->off)
            log_info("web", "pages=off");
        else
            log_info("web", "root=%s files=%zu bytes=%zu", log_quote(q, sizeof q, j->root),
                     cur->n, cur->bytes);
    }
    free(j);
}

int web_start(void)
{
    struct job *j = job_new();

    stopped = false;
    if (!j) {
        log_error("web_load_failed", "error=\"out of memory\" action=no_pages");
        return 0;
    }
    load(j);
    job_finish(j, false);
    return 0;
}

static void on_work(uv_work_t *w)
{
    load((struct job *)w->data);
}

static void on_work_done(uv_work_t *w, int status)
{
    struct job *j = w->data;

    running = NULL;
    if (stopped || status != 0) {
        set_free(j->set);
        free(j);
        return;
    }
    job_finish(j, true);
    if (again) {
        again = false;
        web_reload();
    }
}

void web_reload(void)
{
    struct job *j;

    if (stopped)
        return;
    if (running) {
        again = true;               /* the config may have changed meanwhile */
        return;
    }
    if (!(j = job_new())) {
        log_error("web_load_failed", "error=\"out of memory\" action=kept_old_pages");
        return;
    }
    j->work.data = j;
    if (uv_queue_work(gw.loop, &j->work, on_work, on_work_done) != 0) {
        log_error("web_load_failed", "error=\"no worker\" action=kept_old_pages");
        free(j);
        return;
    }
    running = j;
}

void web_stop(void)
{
    stopped = true;
    again = false;
    set_free(cur);
    cur = NULL;
}

const struct web_file *web_find(const char *path, bool *redirect)
{
    char idx[PATH_MAX];
    struct web_file key = { 0 };
    const struct web_file *f;
    size_t n = strlen(path);

    *redirect = false;
    if (!cur || n == 0 || n + sizeof "/index.html" > sizeof idx)
        return NULL;
    memcpy(idx, path, n + 1);
    if (path[n - 1] == '/')
        strcat(idx, "index.html");
    key.path = idx;
    f = bsearch(&key, cur->files, cur->n, sizeof *cur->files, by_path);
    if (f || path[n - 1] == '/')
        return f;
    strcat(idx, "/index.html");
    *redirect = bsearch(&key, cur->files, cur->n, sizeof *cur->files, by_path) != NULL;
    return NULL;
}

bool web_etag_matches(const char *inm, const char *etag)
{
    size_t elen = strlen(etag);

    while (*inm) {
        size_t n;

        while (*inm == ' ' || *inm == '\t' || *inm == ',')
            inm++;
        if (strncmp(inm, "W/", 2) == 0)
            inm += 2;               /* If-None-Match compares weakly */
        n = strcspn(inm, ", \t");
        if ((n == 1 && *inm == '*') || (n == elen && memcmp(inm, etag, n) == 0))
            return true;
        inm += n;
    }
    return false;
}
