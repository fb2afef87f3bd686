# tlswatch — passive TLS handshake analyzer.
#
#   make            build build/rel/tlswatch (installs missing Debian packages first)
#   make demo       build, then analyse a bundled capture from pcaps/
#   make check      build with ASan+UBSan, then run every test; ends "N passed, N failed"
#   make CC=clang   same with clang
#   make install    PREFIX=/usr/local DESTDIR= : binary, rules, man page, systemd unit,
#                   sysusers.d, logrotate snippet, SYSCONFDIR/default/tlswatch
#   make uninstall  removes them (the default file only if unchanged)
#   make pcaps      regenerate pcaps/ from real TLS stacks (root, unshare -n)
#   make fuzz       build libFuzzer targets with clang (FUZZ_SECONDS=60 per target)
#   make bench      speed/memory ratios against baselines measured in the same run
#   make flood      connection floods against the memory budget (peak RSS)
#   make soak       SOAK_SECONDS (600) of tcpreplay loops into a veth pair (root):
#                   RSS flat after warm-up, drops reported
#   make lint       banned functions, cppcheck
#
# SAN=1 selects the sanitizer build in build/san; objects never mix.

CC      ?= cc
PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR      ?= $(PREFIX)/bin
MANDIR      ?= $(PREFIX)/share/man
SYSCONFDIR  ?= /etc
UNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
SAN     ?= 0

ifeq ($(SAN),1)
BUILD    ?= build/san
OPTFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDSAN    := -fsanitize=address,undefined
else
BUILD    ?= build/rel
# DWARF 4: valgrind 3.19 (Debian 12) cannot read clang 14's DWARF 5
OPTFLAGS := -O2 -g -gdwarf-4 -D_FORTIFY_SOURCE=2
LDSAN    :=
endif

WARN := -std=c11 -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wvla \
        -Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith -Wcast-qual
HARDEN := -fstack-protector-strong -fPIE
DEFS := -D_DEFAULT_SOURCE -D_GNU_SOURCE -DTLSWATCH_RULES_DIR='"$(PREFIX)/share/tlswatch/rules"' \
        -DTLSWATCH_SOURCE_RULES_DIR='"$(CURDIR)/rules"'
GLIB_CFLAGS := $(shell pkg-config --cflags glib-2.0 2>/dev/null)
GLIB_LIBS   := $(shell pkg-config --libs gthread-2.0 2>/dev/null)
# librdkafka (--kafka-brokers) is loaded at run time (src/output_kafka.c:
# dlopen), so tlswatch does not link it; the Kafka mock of the tests does.
# pkg-config may run before deps.sh installed it.
RDKAFKA_LIBS := $(or $(shell pkg-config --libs rdkafka 2>/dev/null),-lrdkafka)

CFLAGS_COMMON := $(WARN) $(HARDEN) $(OPTFLAGS) $(DEFS) -Idissectors -Isrc
DISSECT_CFLAGS := $(CFLAGS_COMMON) -Wconversion
SRC_CFLAGS := $(CFLAGS_COMMON)
LDFLAGS_ALL := -pie -Wl,-z,relro,-z,now $(LDSAN)
LIBS := -lnids -lnet -lpcap $(GLIB_LIBS) -lssl -lcrypto -lz -lm -ldl

DISSECT_SRCS := $(wildcard dissectors/*.c)
DISSECT_OBJS := $(patsubst dissectors/%.c,$(BUILD)/dissectors/%.o,$(DISSECT_SRCS))
LIBDISSECT   := $(BUILD)/libdissect.a

SRC_SRCS := $(filter-out src/main.c,$(wildcard src/*.c))
SRC_OBJS := $(patsubst src/%.c,$(BUILD)/src/%.o,$(SRC_SRCS))
LIBTW    := $(BUILD)/libtlswatch.a
BIN      := $(BUILD)/tlswatch

# test-only code (e.g. the JSON reader for rule fixtures): linked into the
# tests, never into the library or the program
TESTLIB_SRCS := $(wildcard tests/lib/*.c)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
REPLAY_BINS := $(patsubst tests/fuzz/fuzz_%.c,$(BUILD)/tests/replay_%,$(FUZZ_SRCS))
TOOL_SRCS := $(wildcard tests/tools/*.c)
TOOL_BINS := $(patsubst tests/tools/%.c,$(BUILD)/tools/%,$(TOOL_SRCS))

DEPS_STAMP := build/.deps-ok

.PHONY: FORCE all deps test-deps bench-deps demo check tests install uninstall clean pcaps fuzz bench flood soak lint rules-doc
.DELETE_ON_ERROR:

all: $(BIN)

# Installs missing Debian packages (as root) or says which command to run.
$(DEPS_STAMP): scripts/deps.sh
	@sh scripts/deps.sh
	@mkdir -p build && touch $@

deps: $(DEPS_STAMP)

test-deps: $(DEPS_STAMP)
	@sh scripts/deps.sh --test

$(BUILD)/dissectors/%.o: dissectors/%.c $(wildcard dissectors/*.h dissectors/*.def) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(DISSECT_CFLAGS) -c $< -o $@

$(BUILD)/src/%.o: src/%.c $(wildcard src/*.h src/*.def dissectors/*.h dissectors/*.def) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(SRC_CFLAGS) $(GLIB_CFLAGS) -c $< -o $@

# The installed rules directory is compiled in (rules.c): a build for another
# PREFIX must not keep the old path.
$(BUILD)/.prefix: FORCE
	@mkdir -p $(@D)
	@echo '$(PREFIX)' | cmp -s - $@ || echo '$(PREFIX)' > $@
$(BUILD)/src/rules.o: $(BUILD)/.prefix
FORCE:

$(LIBDISSECT): $(DISSECT_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(LIBTW): $(SRC_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(BIN): $(BUILD)/src/main.o $(LIBTW) $(LIBDISSECT)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS)

$(BUILD)/tests/test_%: tests/unit/test_%.c tests/unit/t.h $(TESTLIB_SRCS) $(wildcard tests/lib/*.h) $(LIBTW) $(LIBDISSECT)
	@mkdir -p $(@D)
	$(CC) $(SRC_CFLAGS) -Wno-missing-prototypes -Itests/unit -Itests/lib $(LDFLAGS_ALL) -o $@ $< $(TESTLIB_SRCS) $(LIBTW) $(LIBDISSECT) $(LIBS)

# libFuzzer targets replayed over their corpus without libFuzzer (any compiler).
# Linked with libtlswatch too: fuzz_pipeline, fuzz_session (and fuzz_rules)
# drive src/; the libdissect-only targets pull nothing from it.
$(BUILD)/tests/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay_main.c $(wildcard tests/fuzz/*.h) $(TESTLIB_SRCS) $(LIBTW) $(LIBDISSECT)
	@mkdir -p $(@D)
	$(CC) $(SRC_CFLAGS) $(GLIB_CFLAGS) -Wno-missing-prototypes -Itests/lib $(LDFLAGS_ALL) -o $@ $< tests/fuzz/replay_main.c $(TESTLIB_SRCS) $(LIBTW) $(LIBDISSECT) $(LIBS)

# Test helpers (e.g. a dissector dump driver for differential tests).
$(BUILD)/tools/%: tests/tools/%.c $(LIBTW) $(LIBDISSECT)
	@mkdir -p $(@D)
	$(CC) $(SRC_CFLAGS) -Wno-missing-prototypes $(LDFLAGS_ALL) -o $@ $< $(LIBTW) $(LIBDISSECT) $(LIBS) $(RDKAFKA_LIBS)

tests: $(BIN) $(UNIT_BINS) $(REPLAY_BINS) $(TOOL_BINS)

demo: $(BIN)
	@echo "== every handshake in pcaps/demo.pcap, as text =="
	$(BIN) -q -r pcaps/demo.pcap --all -F text
	@echo "== the handshakes that went wrong, as JSON lines =="
	$(BIN) -q -r pcaps/demo.pcap

# The test build runs under ASan+UBSan (gcc); clang must build it clean too.
check: test-deps
	$(MAKE) SAN=1 tests
	$(MAKE) CC=clang BUILD=build/clang all
	@sh tests/run.sh build/san

# @BINDIR@ and @SYSCONFDIR@ in the packaging files become the install paths.
SUBST = sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g'

install: $(BIN)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(PREFIX)/share/tlswatch/rules $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(SYSCONFDIR)/default \
		$(DESTDIR)$(SYSCONFDIR)/logrotate.d
	install -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/tlswatch
	if ls rules/*.rules >/dev/null 2>&1; then install -m 0644 rules/*.rules $(DESTDIR)$(PREFIX)/share/tlswatch/rules/; fi
	gzip -9n < docs/tlswatch.1 > $(DESTDIR)$(MANDIR)/man1/tlswatch.1.gz && chmod 0644 $(DESTDIR)$(MANDIR)/man1/tlswatch.1.gz
	$(SUBST) packaging/tlswatch.service.in > $(DESTDIR)$(UNITDIR)/tlswatch.service && chmod 0644 $(DESTDIR)$(UNITDIR)/tlswatch.service
	install -m 0644 packaging/tlswatch.sysusers $(DESTDIR)$(SYSUSERSDIR)/tlswatch.conf
	$(SUBST) packaging/tlswatch.logrotate > $(DESTDIR)$(SYSCONFDIR)/logrotate.d/tlswatch && chmod 0644 $(DESTDIR)$(SYSCONFDIR)/logrotate.d/tlswatch
	@# a configuration file: an existing one is the administrator's, kept
	if [ -e $(DESTDIR)$(SYSCONFDIR)/default/tlswatch ]; then echo "keeping $(DESTDIR)$(SYSCONFDIR)/default/tlswatch"; \
	else $(SUBST) packaging/tlswatch.default > $(DESTDIR)$(SYSCONFDIR)/default/tlswatch && chmod 0644 $(DESTDIR)$(SYSCONFDIR)/default/tlswatch; fi

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/tlswatch $(DESTDIR)$(MANDIR)/man1/tlswatch.1 $(DESTDIR)$(MANDIR)/man1/tlswatch.1.gz \
		$(DESTDIR)$(UNITDIR)/tlswatch.service $(DESTDIR)$(SYSUSERSDIR)/tlswatch.conf \
		$(DESTDIR)$(SYSCONFDIR)/logrotate.d/tlswatch
	rm -rf $(DESTDIR)$(PREFIX)/share/tlswatch
	@# the default file goes only if it is still the shipped one
	if $(SUBST) packaging/tlswatch.default | cmp -s - $(DESTDIR)$(SYSCONFDIR)/default/tlswatch; then \
		rm -f $(DESTDIR)$(SYSCONFDIR)/default/tlswatch; \
	elif [ -e $(DESTDIR)$(SYSCONFDIR)/default/tlswatch ]; then echo "keeping $(DESTDIR)$(SYSCONFDIR)/default/tlswatch (changed)"; fi

pcaps: test-deps
	sh tests/gen/make-pcaps.sh pcaps

FUZZ_SECONDS ?= 60
fuzz: test-deps
	sh tests/fuzz/run-fuzz.sh $(FUZZ_SECONDS)

bench-deps: $(DEPS_STAMP)
	@sh scripts/deps.sh --bench

bench: bench-deps $(BIN)
	sh tests/bench/bench.sh $(BIN)

# 1,000,000 half-open + 65,536 partial-handshake flows: peak RSS vs --max-memory
flood: test-deps $(BIN)
	sh tests/bench/flood.sh $(BIN)

# live capture on a veth pair in a private network namespace, tcpreplay at
# SOAK_PPS, RSS sampled; knobs in tests/bench/soak.sh, results in build/soak/
soak: bench-deps $(BIN)
	sh tests/bench/soak.sh $(BIN)

lint:
	@! grep -rnE '\b(strcpy|strcat|sprintf|vsprintf|gets|atoi|atol)\s*\(' --include='*.c' --include='*.h' src dissectors tests || (echo "lint: banned function" && false)
	@# cppcheck can't see that new_node() never returns NULL (rules_parse.c),
	@# that uthash's HASH_ITER only visits initialised entries (rules_storm.c),
	@# nor that of a struct fval whose kind is FV_NULL no other member is read
	@# (rules_eval.c: walk(); rules_func.c: alert_list's enc.i)
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability --inline-suppr \
		--suppress=nullPointerRedundantCheck:src/rules_parse.c --suppress=uninitvar:src/rules_storm.c \
		--suppress=uninitvar:src/rules_eval.c --suppress=uninitStructMember:src/rules_eval.c \
		--suppress=uninitvar:src/rules_func.c --suppress=uninitStructMember:src/rules_func.c \
		-Isrc -Idissectors src dissectors

clean:
	rm -rf build
