# chatgw - a chat gateway for online stores.
#   make            build build/chatgwd and build/chatgwctl
#   make run        build, then run the gateway with embedded Redis and the demo store
#   make check      unit tests under ASan+UBSan, then integration tests (real Redis, real chatgwd),
#                   then browser tests (headless chromium: tests/web)
#   make fuzz       run the frame decoder fuzzer (FUZZ_SECONDS, default 60)
#   make bench      benchmarks (see bench/)
#   make install    PREFIX=/usr/local DESTDIR=  (binaries, config, pages, man, systemd, plugins,
#                   the plugin header, chatgw.pc)
#   make deps       install the Debian packages it needs (apt-get) and the browser tests' npm packages

VERSION    := 0.1.0
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
MANDIR     ?= $(PREFIX)/share/man
UNITDIR    ?= $(PREFIX)/lib/systemd/system
# the static pages; chatgwd finds them here (BIN/../share/chatgw/web) by default
WEBDIR     := $(PREFIX)/share/chatgw/web
DESTDIR    ?=
PYTHON     := /usr/bin/python3
FUZZ_SECONDS ?= 60

PKGS   := libuv libwebsockets hiredis libcrypto
# V=1 shows the full compiler lines
Q      := $(if $(V),,@)
CC     ?= gcc
CFLAGS ?= -O2 -g
WARN   := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-missing-field-initializers
PLUGINDIR  ?= $(PREFIX)/lib/chatgw/plugins
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(PREFIX)/lib/pkgconfig
CPPFLAGS_ALL := -std=c11 -D_GNU_SOURCE -DCHATGW_VERSION=\"$(VERSION)\" \
                -Idaemon -Iproto -Iplugins -Ibuild $(CPPFLAGS)
SAN    := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

# A fresh machine has none of the packages: fetch them before anything else.
MISSING := $(shell scripts/deps.sh --missing 2>/dev/null)
ifneq ($(strip $(MISSING)),)
DEPS_FIRST := deps
endif
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

DAEMON_SRC := $(wildcard daemon/*.c) proto/codec.c
DAEMON_OBJ := $(patsubst %.c,build/%.o,$(DAEMON_SRC)) build/lua_scripts.o
LUA        := $(wildcard daemon/lua/*.lua)
UNIT_TESTS := $(patsubst tests/unit/%.c,build/tests/%,$(wildcard tests/unit/test_*.c))

# Plugins: plugins/NAME/*.c -> build/plugins/NAME.so, built like an
# out-of-tree plugin would be: the ABI header only, no daemon symbol
# (-z defs fails the link on one). plugins/common/ (reading rules files)
# is compiled into each of them, not a plugin of its own.
PLUGIN_COMMON := $(wildcard plugins/common/*.c)
PLUGIN_NAMES := $(filter-out common,$(notdir $(patsubst %/,%,$(dir $(wildcard plugins/*/*.c)))))
PLUGINS      := $(patsubst %,build/plugins/%.so,$(sort $(PLUGIN_NAMES)))
# $$(wildcard ...) in the plugin rule's prerequisites
.SECONDEXPANSION:
.PHONY: all deps run check cycles unit integration web-test fuzz fuzz-deps bench install clean
# keep the ASan objects between runs (make would delete them as intermediates)
.SECONDARY:
all: $(DEPS_FIRST) build/chatgwd build/chatgwctl $(PLUGINS)

deps:
	@scripts/deps.sh
	cd tests/web && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error

PLUGIN_CFLAGS := -std=c11 -D_GNU_SOURCE -Iplugins -fPIC -fvisibility=hidden $(WARN)

build/plugins/%.so: plugins/chatgw_plugin.h $$(wildcard plugins/%/*.c plugins/%/*.h) \
                    $(PLUGIN_COMMON) $(wildcard plugins/common/*.h) | $(DEPS_FIRST)
	@mkdir -p build/plugins
	@$(if $(Q),echo "  PLUGIN  $@")
	$(Q)$(CC) $(PLUGIN_CFLAGS) $(CFLAGS) -shared -Wl,-z,defs -o $@ $(wildcard plugins/$*/*.c) $(PLUGIN_COMMON)

build/chatgwd: $(DAEMON_OBJ)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm

build/%.o: %.c $(wildcard daemon/*.h proto/*.h) | $(DEPS_FIRST)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS_ALL) $(PKG_CFLAGS) $(CFLAGS) $(WARN) -fvisibility=hidden -c -o $@ $<

# chatgwctl: its own files in tools/ctl/ and the daemon objects it shares:
# the config parser (with greet.o, which checks the greetings), the Redis
# URL parser, the token helpers, the codec's writer, and the embedded
# router.lua it runs when an agent changes store. No libuv: it talks to
# Redis with hiredis's blocking API (ctl_link.c).
CTL_SRC  := $(wildcard tools/ctl/*.c)
CTL_OBJ  := $(patsubst %.c,build/%.o,$(CTL_SRC)) \
            $(addprefix build/daemon/,config.o greet.o db_url.o token.o shift.o tz.o) \
            build/proto/codec.o build/lua_scripts.o
CTL_LIBS  = $(shell pkg-config --libs hiredis libcrypto 2>/dev/null)

$(patsubst %.c,build/%.o,$(CTL_SRC)): $(wildcard tools/ctl/*.h)

build/chatgwctl: $(CTL_OBJ)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(CTL_LIBS) -lm

build/lua_scripts.c: $(LUA) $(wildcard daemon/lua/lib/*.lua) scripts/embed-lua.sh
	@mkdir -p build
	scripts/embed-lua.sh $@ $(LUA)

build/lua_scripts.o: build/lua_scripts.c
	$(CC) $(CFLAGS) -c -o $@ $<

# Unit tests: each tests/unit/test_X.c links the daemon's objects (all but
# main.c), built once more with ASan+UBSan under build/asan/.
UNIT_SRC := $(filter-out daemon/main.c,$(DAEMON_SRC))
ASAN_OBJ := $(patsubst %.c,build/asan/%.o,$(UNIT_SRC)) build/asan/lua_scripts.o

build/asan/%.o: %.c $(wildcard daemon/*.h proto/*.h) | $(DEPS_FIRST)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC/SAN  $<")
	$(Q)$(CC) $(CPPFLAGS_ALL) $(PKG_CFLAGS) -O1 -g $(SAN) $(WARN) -c -o $@ $<

build/asan/lua_scripts.o: build/lua_scripts.c
	@mkdir -p build/asan
	$(CC) -O1 -g $(SAN) -c -o $@ $<

build/tests/%: tests/unit/%.c tests/unit/test.h $(ASAN_OBJ) | $(DEPS_FIRST)
	@mkdir -p build/tests
	@$(if $(Q),echo "  LD/SAN  $@")
	$(Q)$(CC) $(CPPFLAGS_ALL) -Itests/unit $(PKG_CFLAGS) -O1 -g $(SAN) $(WARN) -o $@ $< $(TEST_SRC) $(ASAN_OBJ) $(PKG_LIBS) -lm $(if $(filter test_codec,$*),-lmsgpackc)

# test_plugin loads small plugins (tests/unit/plugins/): good ones and broken ones
TEST_PLUGINS := $(patsubst tests/unit/plugins/%.c,build/tests/plugins/%.so,$(wildcard tests/unit/plugins/*.c))
build/tests/plugins/%.so: tests/unit/plugins/%.c plugins/chatgw_plugin.h
	@mkdir -p build/tests/plugins
	$(Q)$(CC) -std=c11 -D_GNU_SOURCE -Iplugins -O1 -g $(WARN) -fPIC -shared -fvisibility=hidden -o $@ $<
build/tests/test_plugin: $(TEST_PLUGINS)
# test_escalate compiles the plugin's source in, to reach its static functions
build/tests/test_escalate: plugins/escalate/escalate.c $(PLUGIN_COMMON) $(wildcard plugins/common/*.h)
build/tests/test_escalate: TEST_SRC := $(PLUGIN_COMMON)

unit: $(UNIT_TESTS)
	@set -e; for t in $(UNIT_TESTS); do ASAN_OPTIONS=detect_leaks=1 $$t; done

integration: build/chatgwd build/chatgwctl build/chatgw-load
	cd tests/integration && $(PYTHON) -m pytest -q -p no:cacheprovider .

# Browser tests (tests/web): Debian's chromium driven by playwright-core from
# npm (package-lock.json; never a downloaded browser), against a real
# chatgwd and redis-server. Screenshots land in tests/web/screenshots/.
tests/web/node_modules/.package-lock.json: tests/web/package.json tests/web/package-lock.json
	cd tests/web && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error

web-test: build/chatgwd build/chatgwctl $(PLUGINS) tests/web/node_modules/.package-lock.json
	cd tests/web && node --test --test-concurrency=1 --test-timeout=180000

# the daemon's modules include each other in layers, never in a cycle
cycles:
	@$(PYTHON) scripts/include-cycles daemon

check: $(DEPS_FIRST) all cycles unit integration web-test

run: $(DEPS_FIRST) build/chatgwd build/chatgwctl
	@exec scripts/run-demo.sh

build/fuzz_codec: tests/fuzz/fuzz_codec.c proto/codec.c proto/codec.h | fuzz-deps
	@mkdir -p build
	clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Iproto -o $@ tests/fuzz/fuzz_codec.c proto/codec.c

fuzz-deps:
	@scripts/deps.sh --fuzz

fuzz: fuzz-deps build/fuzz_codec
	@mkdir -p build/fuzz-corpus
	build/fuzz_codec -max_total_time=$(FUZZ_SECONDS) -max_len=8192 build/fuzz-corpus tests/fuzz/corpus

# The load generator (bench/): tools/load/, on its own (no daemon code).
LOAD_SRC := $(wildcard tools/load/*.c)
LOAD_HDR := $(wildcard tools/load/*.h)

build/chatgw-load: $(LOAD_SRC) $(LOAD_HDR) | $(DEPS_FIRST)
	@mkdir -p build
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -g $(WARN) -o $@ $(LOAD_SRC) $(shell pkg-config --cflags --libs libuv libcrypto) -lm

# The kernel's floor per message on this machine (bench/floor.c)
build/bench-floor: bench/floor.c | $(DEPS_FIRST)
	@mkdir -p build
	$(CC) -std=c11 -D_GNU_SOURCE -O2 $(WARN) -o $@ $<

bench: build/chatgwd build/chatgw-load build/bench-floor
	bench/run

# chatgw.pc names the install's directories: written again when they change
# (chatgwd finds its plugin directory at run time, beside itself)
build/installdirs: FORCE
	@mkdir -p build
	@echo '$(PREFIX) $(INCLUDEDIR) $(PLUGINDIR)' | cmp -s - $@ || \
	    echo '$(PREFIX) $(INCLUDEDIR) $(PLUGINDIR)' > $@
.PHONY: FORCE
FORCE:

build/chatgw.pc: plugins/chatgw.pc.in Makefile build/installdirs
	@mkdir -p build
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	    -e 's|@PLUGINDIR@|$(PLUGINDIR)|' -e 's|@VERSION@|$(VERSION)|' $< > $@

install: build/chatgwd build/chatgwctl $(PLUGINS) build/chatgw.pc
	install -D -m 0755 build/chatgwd $(DESTDIR)$(BINDIR)/chatgwd
	install -D -m 0755 build/chatgwctl $(DESTDIR)$(BINDIR)/chatgwctl
	install -D -m 0640 conf/chatgw.conf $(DESTDIR)$(SYSCONFDIR)/chatgw/chatgw.conf
	install -D -m 0644 man/chatgwd.8 $(DESTDIR)$(MANDIR)/man8/chatgwd.8
	install -D -m 0644 man/chatgw.conf.5 $(DESTDIR)$(MANDIR)/man5/chatgw.conf.5
	install -D -m 0644 man/chatgwctl.1 $(DESTDIR)$(MANDIR)/man1/chatgwctl.1
	cd web && find . -type f ! -name '.*' -exec install -D -m 0644 {} $(DESTDIR)$(WEBDIR)/{} \;
	install -d $(DESTDIR)$(UNITDIR)
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	    systemd/chatgwd.service > build/chatgwd.service
	install -m 0644 build/chatgwd.service $(DESTDIR)$(UNITDIR)/chatgwd.service
	install -D -m 0644 systemd/chatgw.sysusers $(DESTDIR)$(PREFIX)/lib/sysusers.d/chatgw.conf
	install -D -m 0644 systemd/chatgw.tmpfiles $(DESTDIR)$(PREFIX)/lib/tmpfiles.d/chatgw.conf
	install -D -m 0644 plugins/chatgw_plugin.h $(DESTDIR)$(INCLUDEDIR)/chatgw/chatgw_plugin.h
	install -D -m 0644 build/chatgw.pc $(DESTDIR)$(PKGCONFIGDIR)/chatgw.pc
	install -d $(DESTDIR)$(PLUGINDIR)
	install -m 0755 $(PLUGINS) $(DESTDIR)$(PLUGINDIR)/
	install -m 0644 conf/quickreply-zh.txt conf/quickreply-en.txt conf/guard-tmall.rules \
	    conf/escalate.rules $(DESTDIR)$(SYSCONFDIR)/chatgw/

clean:
	rm -rf build
