/*
 * chatgwctl.c - manage who may log in to chatgwd's agent and supervisor
 * desks: the command line.
 *
 *   chatgwctl [--redis URL | -c FILE] COMMAND ...     (see man/chatgwctl.1)
 *
 * How: one table, commands[], names every command with the options it
 * takes, which of them it needs, its synopsis for --help, and its function.
 * main parses all options at once (they may come before or after the
 * command words, whatever POSIXLY_CORRECT says), checks them against that
 * row and checks their values, and only then reads the config and
 * connects, so a usage error never waits on Redis. The commands live in
 * ctl_ident.c, ctl_list.c and ctl_demo.c (see ctl.h).
 */
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "ctl.h"

#define MAX_WORDS 8               /* command words: "agent add ID" is 3 */

static const struct { unsigned bit; const char *name; } opt_names[] = {
    { O_NAME, "--name" }, { O_STORE, "--store" }, { O_GROUP, "--group" },
    { O_CAPACITY, "--capacity" }, { O_JSON, "--json" }, { O_CSV, "--csv" },
    { O_DAYS, "--days" }, { O_DATE, "--date" },
    { O_DAY, "--day" }, { O_AGENT, "--agent" }, { O_SHIFT, "--shift" },
};

struct command {
    const char *noun, *verb;      /* verb NULL: a one-word command */
    const struct kind *kind;
    bool takes_id;
    unsigned allowed, required;   /* O_* bits */
    bool needs_change;            /* at least one allowed option */
    command_fn *run;
    const char *synopsis;
    int args;                     /* words after the id */
    bool any_word;                /* the id is any word (a file name), not an id */
};

static const struct command commands[] = {
    { "agent", "add", &AGENT, true, O_NAME | O_STORE | O_GROUP | O_CAPACITY, O_NAME, false, cmd_add,
      "agent add ID --name NAME [--store S] [--group G]... [--capacity N]" },
    { "agent", "set", &AGENT, true, O_NAME | O_STORE | O_GROUP | O_CAPACITY, 0, true, cmd_set,
      "agent set ID [--name NAME] [--store S] [--group G]... [--capacity N]" },
    { "agent", "token", &AGENT, true, 0, 0, false, cmd_token, "agent token ID" },
    { "agent", "del", &AGENT, true, 0, 0, false, cmd_del, "agent del ID" },
    { "agent", "list", &AGENT, false, O_JSON, 0, false, cmd_list, "agent list [--json]" },
    { "supervisor", "add", &SUPERVISOR, true, O_NAME | O_STORE, O_NAME, false, cmd_add,
      "supervisor add ID --name NAME [--store S|*]" },
    { "supervisor", "set", &SUPERVISOR, true, O_NAME | O_STORE, 0, true, cmd_set,
      "supervisor set ID [--name NAME] [--store S|*]" },
    { "supervisor", "token", &SUPERVISOR, true, 0, 0, false, cmd_token, "supervisor token ID" },
    { "supervisor", "del", &SUPERVISOR, true, 0, 0, false, cmd_del, "supervisor del ID" },
    { "supervisor", "list", &SUPERVISOR, false, O_JSON, 0, false, cmd_list,
      "supervisor list [--json]" },
    { "demo", NULL, NULL, false, O_STORE, 0, false, cmd_demo, "demo [--store S]" },
    { "nodes", NULL, NULL, false, O_JSON | O_CSV, 0, false, cmd_nodes, "nodes [--json | --csv]" },
    { "agents", NULL, NULL, false, O_STORE | O_JSON | O_CSV, 0, false, cmd_agents,
      "agents [--store S] [--json | --csv]" },
    { "queue", NULL, NULL, false, O_STORE | O_JSON | O_CSV, 0, false, cmd_queue,
      "queue [--store S] [--json | --csv]" },
    { "roster", "set", &AGENT, true, O_DAYS | O_DATE, 0, false, cmd_roster_set,
      "roster set AGENT SHIFT[,SHIFT...]|- [--days mon-fri | --date YYYY-MM-DD]", 1, false },
    { "roster", "del", &AGENT, true, O_DAYS | O_DATE, 0, false, cmd_roster_del,
      "roster del AGENT [--days mon-fri | --date YYYY-MM-DD]" },
    { "roster", "show", NULL, false, O_DATE | O_JSON, 0, false, cmd_roster_show,
      "roster show [--date YYYY-MM-DD] [--json]" },
    { "roster", "import", NULL, true, 0, 0, false, cmd_roster_import,
      "roster import FILE.csv   (agent,shifts,days,date; shifts ;-separated)", 0, true },
    { "roster", "export", NULL, false, 0, 0, false, cmd_roster_export, "roster export" },
    { "stats", NULL, NULL, false, O_STORE | O_DAY | O_AGENT | O_SHIFT | O_JSON | O_CSV, 0, false,
      cmd_stats, "stats [--store S] [--day YYYY-MM-DD] [--agent A | --shift NAME] [--json | --csv]" },
    { "chat", "show", NULL, true, O_JSON | O_CSV, 0, false, cmd_chat_show,
      "chat show ID [--json | --csv]" },
    { "chat", "close", NULL, true, 0, 0, false, cmd_chat_close, "chat close ID" },
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

int ctl_fail(int code, const char *fmt, ...)
{
    va_list ap;

    fputs("chatgwctl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

bool ctl_id_valid(const char *s)
{
    size_t n = strlen(s);

    return n >= 1 && n <= CTL_ID_MAX &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: chatgwctl [--redis URL | -c FILE] COMMAND ...\n\ncommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %s\n", commands[i].synopsis);
    fprintf(out,
        "\noptions:\n"
        "      --redis URL   redis://[:password@]host[:port][/db] or unix:///path[?db=N]\n"
        "  -c, --config FILE chatgwd's config file: its stores and groups, its listen address,\n"
        "                    and its Redis unless --redis is given (redis \"\": the embedded\n"
        "                    one, unix://<state_dir>/redis.sock)\n"
        "                    neither: ./var/redis.sock (make run) if it exists,\n"
        "                    else unix:///var/lib/chatgw/redis.sock\n"
        "      --json        list as JSON;  --csv  as CSV (a header line, then a row each)\n"
        "      --day D       stats: the UTC day YYYY-MM-DD (default: today, on Redis's clock)\n"
        "      --agent A     stats: that agent's figures only\n"
        "      --shift NAME  stats: that shift's figures only (each store's)\n"
        "  -h, --help        this text;  --version  print the version\n"
        "\nA new token is printed once, alone on its line on stdout; Redis keeps its SHA-256 only.\n"
        "\nexit status:\n");
#define CTL_EXIT_HELP(name, value, text) fprintf(out, "  %d  %s\n", value, text);
    CTL_EXIT_MAP(CTL_EXIT_HELP)
#undef CTL_EXIT_HELP
}

static int parse_capacity(const char *s, int *out)
{
    char *end;
    long v;

    if (s[0] < '0' || s[0] > '9')
        return -1;
    v = strtol(s, &end, 10);
    if (*end || v < 1 || v > CTL_CAPACITY_MAX)
        return -1;
    *out = (int)v;
    return 0;
}

/* Adds each comma-separated group of arg (split in place), once. */
static void add_groups(struct opts *o, char *arg)
{
    char *g;

    while ((g = strsep(&arg, ",")) != NULL) {
        bool dup = false;
        for (int i = 0; i < o->ngroups; i++)
            dup = dup || strcmp(o->groups[i], g) == 0;
        if (dup)
            continue;
        if (o->ngroups == CONFIG_MAX_GROUPS)
            o->too_many_groups = true;
        else
            o->groups[o->ngroups++] = g;
    }
}

/*
 * All options, wherever they are; the other words go to words[]. Returns
 * -1 to go on, else the exit code (--help, --version, a bad option).
 */
static int parse_args(int argc, char **argv, struct opts *o, const char **words, int *nwords)
{
    enum { OPT_REDIS = 256, OPT_NAME, OPT_STORE, OPT_GROUP, OPT_CAPACITY, OPT_JSON, OPT_CSV,
           OPT_VERSION, OPT_DAYS, OPT_DATE,
           OPT_DAY, OPT_AGENT, OPT_SHIFT };
    static const struct option longopts[] = {
        { "redis", required_argument, NULL, OPT_REDIS },
        { "config", required_argument, NULL, 'c' },
        { "name", required_argument, NULL, OPT_NAME },
        { "store", required_argument, NULL, OPT_STORE },
        { "group", required_argument, NULL, OPT_GROUP },
        { "capacity", required_argument, NULL, OPT_CAPACITY },
        { "json", no_argument, NULL, OPT_JSON },
        { "csv", no_argument, NULL, OPT_CSV },
        { "days", required_argument, NULL, OPT_DAYS },
        { "date", required_argument, NULL, OPT_DATE },
        { "day", required_argument, NULL, OPT_DAY },
        { "agent", required_argument, NULL, OPT_AGENT },
        { "shift", required_argument, NULL, OPT_SHIFT },
        { "version", no_argument, NULL, OPT_VERSION },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    int ch;

    *nwords = 0;
    opterr = 0;
    /* "-": words come back in order as ch 1, whatever POSIXLY_CORRECT says */
    while ((ch = getopt_long(argc, argv, "-:c:h", longopts, NULL)) != -1) {
        switch (ch) {
        case 1:
            if (*nwords < MAX_WORDS)
                words[(*nwords)++] = optarg;
            else
                return ctl_fail(CTL_USAGE, "unexpected argument \"%s\"", optarg);
            break;
        case OPT_REDIS: o->redis = optarg; break;
        case 'c': o->config = optarg; break;
        case OPT_NAME: o->name = optarg; o->given |= O_NAME; break;
        case OPT_STORE: o->store = optarg; o->given |= O_STORE; break;
        case OPT_GROUP: add_groups(o, optarg); o->given |= O_GROUP; break;
        case OPT_CAPACITY:
            o->given |= O_CAPACITY;
            if (parse_capacity(optarg, &o->capacity) != 0)
                return ctl_fail(CTL_USAGE, "--capacity must be a whole number from 1 to %d, "
                                "got \"%s\"", CTL_CAPACITY_MAX, optarg);
            break;
        case OPT_JSON: o->given |= O_JSON; break;
        case OPT_CSV: o->given |= O_CSV; break;
        case OPT_DAYS: o->days = optarg; o->given |= O_DAYS; break;
        case OPT_DATE: o->date = optarg; o->given |= O_DATE; break;
        case OPT_DAY: o->day = optarg; o->given |= O_DAY; break;
        case OPT_AGENT: o->agent = optarg; o->given |= O_AGENT; break;
        case OPT_SHIFT: o->shift = optarg; o->given |= O_SHIFT; break;
        case OPT_VERSION: printf("chatgwctl %s\n", CHATGW_VERSION); return CTL_OK;
        case 'h': usage(stdout); return CTL_OK;
        case ':':
            return ctl_fail(CTL_USAGE, "option %s needs a value (see chatgwctl --help)",
                            argv[optind - 1]);
        default:
            return ctl_fail(CTL_USAGE, "unknown option \"%s\" (see chatgwctl --help)",
                            argv[optind - 1]);
        }
    }
    for (; optind < argc; optind++) {         /* the words after "--" */
        if (*nwords == MAX_WORDS)
            return ctl_fail(CTL_USAGE, "unexpected argument \"%s\"", argv[optind]);
        words[(*nwords)++] = argv[optind];
    }
    return -1;
}

/* A display name: 1..64 UTF-8 characters, no control characters. */
static bool name_valid(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || !proto_utf8_valid(s, n) || proto_utf8_chars(s, n) > CTL_NAME_MAX_CHARS)
        return false;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

/* The values of the options a command takes (their presence is checked). */
static int check_values(const struct command *c, const struct opts *o)
{
    if ((o->given & O_NAME) && !name_valid(o->name))
        return ctl_fail(CTL_USAGE, "--name must be 1 to %d characters of UTF-8 text without "
                        "control characters", CTL_NAME_MAX_CHARS);
    if ((o->given & O_STORE) && !ctl_id_valid(o->store) &&
        !(c->kind == &SUPERVISOR && strcmp(o->store, "*") == 0))
        return ctl_fail(CTL_USAGE, "bad store id \"%s\": 1 to %d of A-Z a-z 0-9 _ . -%s",
                        o->store, CTL_ID_MAX, c->kind == &SUPERVISOR ? ", or * for all stores" : "");
    if ((o->given & O_AGENT) && !ctl_id_valid(o->agent))
        return ctl_fail(CTL_USAGE, "bad agent id \"%s\": 1 to %d of A-Z a-z 0-9 _ . -",
                        o->agent, CTL_ID_MAX);
    if ((o->given & O_SHIFT) && !ctl_id_valid(o->shift))
        return ctl_fail(CTL_USAGE, "bad shift name \"%s\": 1 to %d of A-Z a-z 0-9 _ . -",
                        o->shift, CTL_ID_MAX);
    if ((o->given & O_SHIFT) && (o->given & O_AGENT))
        return ctl_fail(CTL_USAGE, "--shift and --agent: one or the other (a shift's figures "
                        "are its store's)");
    if ((o->given & O_DAY) && !ctl_day_valid(o->day))
        return ctl_fail(CTL_USAGE, "--day must be a date as YYYY-MM-DD (UTC), got \"%s\"", o->day);
    if ((o->given & O_JSON) && (o->given & O_CSV))
        return ctl_fail(CTL_USAGE, "--json and --csv: one or the other");
    if (o->too_many_groups)
        return ctl_fail(CTL_USAGE, "at most %d groups", CONFIG_MAX_GROUPS);
    for (int i = 0; i < o->ngroups; i++)
        if (!ctl_id_valid(o->groups[i]))
            return ctl_fail(CTL_USAGE, "bad group name \"%s\": 1 to %d of A-Z a-z 0-9 _ . -",
                            o->groups[i], CTL_ID_MAX);
    return CTL_OK;
}

/* Finds the command for words[], checks its id and options. */
static int find_command(const char **words, int n, const struct opts *o,
                        const struct command **out, const char **id)
{
    const struct command *c = NULL;
    int used;

    *out = NULL;
    *id = NULL;
    if (n == 0) {
        usage(stderr);
        return CTL_USAGE;
    }
    for (size_t i = 0; i < NCOMMANDS && !c; i++) {
        if (strcmp(commands[i].noun, words[0]) != 0)
            continue;
        if (!commands[i].verb || (n > 1 && strcmp(commands[i].verb, words[1]) == 0))
            c = &commands[i];
    }
    if (!c) {
        bool noun = false;
        for (size_t i = 0; i < NCOMMANDS; i++)
            noun = noun || strcmp(commands[i].noun, words[0]) == 0;
        if (!noun)
            return ctl_fail(CTL_USAGE, "unknown command \"%s\" (see chatgwctl --help)", words[0]);
        if (n == 1)
            return ctl_fail(CTL_USAGE, "%s what? %s", words[0], strcmp(words[0], "chat") == 0 ?
                            "show or close" : "add, set, token, del or list");
        return ctl_fail(CTL_USAGE, "unknown command \"%s %s\" (see chatgwctl --help)",
                        words[0], words[1]);
    }
    used = c->verb ? 2 : 1;
    if (c->takes_id) {
        if (n <= used)
            return ctl_fail(CTL_USAGE, "usage: chatgwctl %s", c->synopsis);
        *id = words[used++];
        if (c->any_word)
            ;                         /* a file name: any word */
        else if (!c->kind && !ctl_chat_valid(*id))
            return ctl_fail(CTL_USAGE, "bad chat id \"%s\": 32 hex digits", *id);
        else if (c->kind && !ctl_id_valid(*id))
            return ctl_fail(CTL_USAGE, "bad %s id \"%s\": 1 to %d of A-Z a-z 0-9 _ . -",
                            c->kind->noun, *id, CTL_ID_MAX);
    }
    if (c->args > 0) {
        if (n <= used)
            return ctl_fail(CTL_USAGE, "usage: chatgwctl %s", c->synopsis);
        ((struct opts *)o)->arg = words[used++];
    }
    if (n > used)
        return ctl_fail(CTL_USAGE, "unexpected argument \"%s\"; usage: chatgwctl %s",
                        words[used], c->synopsis);
    for (size_t i = 0; i < sizeof opt_names / sizeof opt_names[0]; i++) {
        unsigned bit = opt_names[i].bit;
        if ((o->given & bit) && !(c->allowed & bit))
            return ctl_fail(CTL_USAGE, "%s does not apply to \"%s%s%s\"", opt_names[i].name,
                            c->noun, c->verb ? " " : "", c->verb ? c->verb : "");
        if ((c->required & bit) && !(o->given & bit))
            return ctl_fail(CTL_USAGE, "%s is required; usage: chatgwctl %s", opt_names[i].name,
                            c->synopsis);
    }
    if (c->needs_change && !(o->given & c->allowed))
        return ctl_fail(CTL_USAGE, "nothing to change; usage: chatgwctl %s", c->synopsis);
    *out = c;
    return check_values(c, o);
}

/* The stores known to the config (with -c) or to Redis, read once. */
int ctl_need_stores(struct ctl *x)
{
    int rc;

    if (x->have_stores)
        return CTL_OK;
    rc = x->have_cfg ? stores_from_config(&x->stores, &x->cfg)
                     : stores_from_redis(&x->stores, &x->link);
    if (rc == CTL_OK)
        x->have_stores = true;
    else
        stores_free(&x->stores);
    return rc;
}

int main(int argc, char **argv)
{
    struct ctl x;
    const struct command *c;
    const char *words[MAX_WORDS], *id;
    int nwords, rc;

    memset(&x, 0, sizeof x);
    /* a closed Redis socket or stdout is an error to report, not a silent death */
    signal(SIGPIPE, SIG_IGN);
    if ((rc = parse_args(argc, argv, &x.o, words, &nwords)) >= 0)
        return rc;
    if ((rc = find_command(words, nwords, &x.o, &c, &id)) != CTL_OK)
        return rc;
    if (x.o.config) {
        config_defaults(&x.cfg);
        x.have_cfg = true;
        if (config_load(&x.cfg, x.o.config, stderr) != 0) {
            rc = ctl_fail(CTL_USAGE, "%s: not a valid chatgwd config (problems above)", x.o.config);
            goto out;
        }
    }
    rc = link_open(&x.link, x.o.redis, x.have_cfg ? &x.cfg : NULL,
                   x.have_cfg ? x.cfg.redis_connect_timeout_ms : 2000);
    if (rc == CTL_OK)
        rc = c->run(&x, c->kind, id);
    link_close(&x.link);
out:
    if (x.have_stores)
        stores_free(&x.stores);
    if (x.have_cfg)
        config_free(&x.cfg);
    return rc;
}
