/*
 * main.c - chatgwd's command line.
 *
 *   chatgwd [-c FILE] [--listen HOST:PORT] [--redis URL] [--state-dir DIR]
 *           [--reuseport] [--check-config] [--print-config[=man]] [--version] [-v|-q]
 *           [--test-clock]
 *
 * Everything else happens in gateway.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "gateway.h"
#include "plugin.h"

static void usage(FILE *out)
{
    fprintf(out,
        "usage: chatgwd [-c FILE] [--listen HOST:PORT] [--redis URL] [--state-dir DIR]\n"
        "               [--reuseport] [--check-config] [--print-config[=man]] [--version] [-v|-q]\n"
        "  -c, --config FILE   configuration file (every option: conf/chatgw.conf)\n"
        "      --listen H:P    listen address, overrides `listen`\n"
        "      --redis URL     redis://[:password@]host[:port][/db] or unix:///path[?db=N];\n"
        "                      none: run an embedded redis-server in the state directory\n"
        "      --state-dir DIR where the embedded Redis keeps its data\n"
        "      --reuseport     share the port with other chatgwd processes (SO_REUSEPORT)\n"
        "      --check-config  validate the configuration and exit (0 valid, 1 not)\n"
        "      --print-config  print a commented configuration with every default;\n"
        "                      =man: the same as the manual page chatgw.conf(5)\n"
        "      --version       print the version and exit\n"
        "  -v, --verbose       debug logging;  -q, --quiet  warnings and errors only\n"
        "      --test-clock    FOR TESTS ONLY: allow the option test_clock_offset\n");
}

static int check_config(const char *path)
{
    struct config c;
    int rc;

    if (!path) {
        fprintf(stderr, "chatgwd: --check-config needs -c FILE\n");
        return 1;
    }
    config_defaults(&c);
    rc = config_load(&c, path, stderr);
    /* each plugin is loaded and unloaded: a line for each, failures on stderr */
    if (rc == 0 && plugin_check(&c, stdout, stderr) > 0)
        rc = -1;
    if (rc == 0)
        printf("%s: ok (%zu store%s)\n", path, c.nstores, c.nstores == 1 ? "" : "s");
    config_free(&c);
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    enum { OPT_LISTEN = 256, OPT_REDIS, OPT_STATE, OPT_REUSE, OPT_CHECK, OPT_PRINT, OPT_VERSION,
           OPT_TEST_CLOCK };
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' },
        { "listen", required_argument, NULL, OPT_LISTEN },
        { "redis", required_argument, NULL, OPT_REDIS },
        { "state-dir", required_argument, NULL, OPT_STATE },
        { "reuseport", no_argument, NULL, OPT_REUSE },
        { "check-config", no_argument, NULL, OPT_CHECK },
        { "print-config", optional_argument, NULL, OPT_PRINT },
        { "version", no_argument, NULL, OPT_VERSION },
        { "test-clock", no_argument, NULL, OPT_TEST_CLOCK },
        { "verbose", no_argument, NULL, 'v' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    struct cli_opts cli = { 0 };
    bool check = false;
    int ch;

    while ((ch = getopt_long(argc, argv, "c:vqh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c': cli.config_path = optarg; break;
        case OPT_LISTEN: cli.listen = optarg; break;
        case OPT_REDIS: cli.redis = optarg; break;
        case OPT_STATE: cli.state_dir = optarg; break;
        case OPT_REUSE: cli.reuseport = true; break;
        case OPT_TEST_CLOCK: cli.test_clock = true; break;
        case OPT_CHECK: check = true; break;
        case OPT_PRINT:
            if (optarg && strcmp(optarg, "man") != 0) {
                usage(stderr);
                return 2;
            }
            (optarg ? config_write_man : config_write_defaults)(stdout);
            return 0;
        case OPT_VERSION: printf("chatgwd %s\n", CHATGW_VERSION); return 0;
        case 'v': cli.verbosity = 1; break;
        case 'q': cli.verbosity = -1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        usage(stderr);
        return 2;
    }
    if (check)
        return check_config(cli.config_path);
    setvbuf(stderr, NULL, _IOLBF, 0);
    return gateway_run(&cli);
}
